package scib

import (
	"fmt"
	"math"
	"sync"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/par"
)

// SilhouetteSamples returns the silhouette width of every cell of x with
// respect to the grouping c, with Euclidean distance:
//
//	a_i = mean distance from i to the other cells of its group,
//	b_i = min over other groups G of the mean distance from i to G,
//	s_i = (b_i − a_i) / max(a_i, b_i),
//
// and s_i = 0 when i's group has one cell or max(a_i, b_i) = 0 (as sklearn
// 1.2 silhouette_samples and scib-metrics' nan_to_num). It panics if c has
// fewer than 2 groups or its length differs from x.Rows.
//
// Cells are copied once, grouped by code, into a dims-major matrix
// (8·N·D bytes) so that distances from a cell to a run of cells of one
// group are a contiguous vector scan (AVX-512 / AVX2 with GOEXPERIMENT=simd,
// scalar otherwise; see distkernel.go). Each unordered pair is computed once
// (O(N²·D/2)): the grouped positions are cut into tiles of 256; a tile pair
// (I, J > I) adds each distance to the row cell's sum for the column cell's
// group and to the column cell's sum for the row cell's group; diagonal
// tiles are scanned in both orders. Tile rows are dealt to workers
// goroutines (≤ 0 means GOMAXPROCS) round-robin — a fixed assignment, so
// the floating-point sums, and the result, do not depend on scheduling —
// each with its own two N × groups tables of sums (as tile row and as tile
// column: 16·workers·N·groups bytes; 10,000 cells, 31 labels, 2 workers:
// 10 MB), added in worker order at the end. When they would exceed
// 256 MiB, every ordered pair is computed instead (twice the distances)
// with O(workers·groups) memory. No N × N matrix is ever held.
func SilhouetteSamples(x *data.Dense, c Codes, workers int) []float64 {
	n, L := x.Rows, len(c.Names)
	if len(c.Code) != n {
		panic(fmt.Sprintf("scib: SilhouetteSamples: %d labels for %d cells", len(c.Code), n))
	}
	if L < 2 {
		panic("scib: SilhouetteSamples: fewer than 2 groups")
	}
	workers = par.Workers(workers)
	g := groupCells(x, c)
	if 16*workers*n*L > 256<<20 {
		return silhouetteRows(x, c, g, workers)
	}
	return silhouetteTiles(x, c, g, workers)
}

// groupedCells is x's cells sorted by group code (stable), dims-major.
type groupedCells struct {
	start []int   // group l occupies positions start[l] … start[l+1]−1
	order []int32 // order[p] is the cell at position p
	code  []int32 // code[p] is the group of position p
	t     dimsMajor
}

func groupCells(x *data.Dense, c Codes) groupedCells {
	n, L := x.Rows, len(c.Names)
	g := groupedCells{start: make([]int, L+1), order: make([]int32, n), code: make([]int32, n)}
	for _, l := range c.Code {
		g.start[l+1]++
	}
	for l := 0; l < L; l++ {
		g.start[l+1] += g.start[l]
	}
	fill := append([]int(nil), g.start[:L]...)
	for i, l := range c.Code {
		g.order[fill[l]] = int32(i)
		g.code[fill[l]] = int32(l)
		fill[l]++
	}
	g.t = newDimsMajor(x, g.order)
	return g
}

// segments calls fn(l, lo, hi) for each group l with positions in [lo, hi),
// clipped to [lo, hi).
func (g *groupedCells) segments(lo, hi int, fn func(l, lo, hi int)) {
	for p := lo; p < hi; {
		l := int(g.code[p])
		e := min(hi, g.start[l+1])
		fn(l, p, e)
		p = e
	}
}

// silhouetteRows computes every ordered pair, cell by cell.
func silhouetteRows(x *data.Dense, c Codes, g groupedCells, workers int) []float64 {
	n, L := x.Rows, len(c.Names)
	out := make([]float64, n)
	sums := make([][]float64, workers)
	for w := range sums {
		sums[w] = make([]float64, L)
	}
	par.Range(n, workers, 64, func(w, lo, hi int) {
		s := sums[w]
		for i := lo; i < hi; i++ {
			q := x.Row(i)
			for l := range s {
				s[l] = sumDists(q, g.t, g.start[l], g.start[l+1])
			}
			out[i] = silhouetteFromSums(s, c, c.Code[i])
		}
	})
	return out
}

// silhouetteTile is the tile size (positions) of silhouetteTiles.
const silhouetteTile = 256

// silhouetteTiles computes each unordered pair once (see SilhouetteSamples).
func silhouetteTiles(x *data.Dense, c Codes, g groupedCells, workers int) []float64 {
	n, L := x.Rows, len(c.Names)
	const B = silhouetteTile
	nt := (n + B - 1) / B
	// Per worker: rows[p·L + l] sums the distances from position p to group
	// l met as a tile row; cols[l·n + p] those met as a tile column (group
	// major, so that a run's 256 column terms are added contiguously).
	rows := make([][]float64, workers)
	cols := make([][]float64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		rows[w], cols[w] = make([]float64, n*L), make([]float64, n*L)
		wg.Add(1)
		go func(R, C []float64) {
			defer wg.Done()
			col := make([]float64, B)
			for I := w; I < nt; I += workers {
				a0, a1 := I*B, min(n, I*B+B)
				// Diagonal tile: both orders, row sums only.
				for i := a0; i < a1; i++ {
					q := x.Row(int(g.order[i]))
					ri := R[i*L : i*L+L]
					g.segments(a0, a1, func(l, lo, hi int) {
						ri[l] += sumDists(q, g.t, lo, hi)
					})
				}
				for J := I + 1; J < nt; J++ {
					b0, b1 := J*B, min(n, J*B+B)
					// Rows of one group at a time, so that the column terms
					// of the run all go to that group.
					g.segments(a0, a1, func(A, r0, r1 int) {
						cb := col[:b1-b0]
						clear(cb)
						for i := r0; i < r1; i++ {
							q := x.Row(int(g.order[i]))
							ri := R[i*L : i*L+L]
							g.segments(b0, b1, func(l, lo, hi int) {
								ri[l] += sumDistsAcc(q, g.t, lo, hi, cb[lo-b0:hi-b0])
							})
						}
						dst := C[A*n+b0 : A*n+b1]
						for j, v := range cb {
							dst[j] += v
						}
					})
				}
			}
		}(rows[w], cols[w])
	}
	wg.Wait()
	out := make([]float64, n)
	s := make([]float64, L)
	for p := 0; p < n; p++ {
		for l := range s {
			var v float64
			for w := 0; w < workers; w++ { // fixed order: deterministic
				v += rows[w][p*L+l] + cols[w][l*n+p]
			}
			s[l] = v
		}
		out[g.order[p]] = silhouetteFromSums(s, c, int(g.code[p]))
	}
	return out
}

// silhouetteFromSums turns a cell's per-group distance sums into its width.
func silhouetteFromSums(s []float64, c Codes, own int) float64 {
	if c.Count[own] == 1 {
		return 0
	}
	a := s[own] / float64(c.Count[own]-1)
	b := math.Inf(1)
	for l, v := range s {
		if l != own && c.Count[l] > 0 {
			b = math.Min(b, v/float64(c.Count[l]))
		}
	}
	m := math.Max(a, b)
	if m == 0 {
		return 0
	}
	return (b - a) / m
}

// SilhouetteLabel is scib-metrics' silhouette_label (SPEC name
// `silhouette_label`, higher is better, in [0, 1]): (mean_i s_i + 1)/2 with
// s the silhouette widths of cells with respect to their cell-type labels.
// The caller passes precomputed widths from SilhouetteSamples.
func SilhouetteLabel(widths []float64) float64 {
	return (mean(widths) + 1) / 2
}

// SilhouetteBatch is scib-metrics 0.6 silhouette_batch (SPEC name
// `silhouette_batch`, higher is better, in [0, 1]): for each label with
// between 2 and (cells − 1) batches, the silhouette widths s_i of its cells
// with respect to batch, computed within the label only; the label's score
// is mean_i (1 − |s_i|); the result is the mean over scored labels. It
// returns NaN and a reason when no label qualifies (e.g. a single batch).
func SilhouetteBatch(x *data.Dense, labels, batches Codes, workers int) (float64, string) {
	var scores []float64
	for _, cells := range labels.members() {
		b := batches.subset(cells)
		if len(b.Names) == 1 || len(b.Names) == len(cells) {
			continue
		}
		sub := subsetRows(x, cells)
		w := SilhouetteSamples(sub, b, workers)
		var s float64
		for _, v := range w {
			s += 1 - math.Abs(v)
		}
		scores = append(scores, s/float64(len(w)))
	}
	if len(scores) == 0 {
		return math.NaN(), "no label has between 2 and (cells − 1) batches (single batch?)"
	}
	return mean(scores), ""
}

// IsolatedLabels is scib-metrics 0.6 isolated_labels, ASW variant (SPEC name
// `isolated_labels`, higher is better, in [0, 1]). A label is isolated when
// it occurs in the fewest batches (≤ the minimum over labels of the number
// of batches it occurs in); for each isolated label the rescaled widths
// (s_i + 1)/2 of its cells (silhouette over all labels) are averaged, then
// the mean is taken over isolated labels. widths are SilhouetteSamples of
// x with respect to labels.
func IsolatedLabels(widths []float64, labels, batches Codes) (float64, []string) {
	nb := batchesPerLabel(labels, batches)
	minB := math.MaxInt
	for _, v := range nb {
		minB = min(minB, v)
	}
	sum := make([]float64, len(labels.Names))
	for i, l := range labels.Code {
		sum[l] += (widths[i] + 1) / 2
	}
	var scores []float64
	var iso []string
	for l, v := range nb {
		if v <= minB {
			scores = append(scores, sum[l]/float64(labels.Count[l]))
			iso = append(iso, labels.Names[l])
		}
	}
	return mean(scores), iso
}

// batchesPerLabel returns the number of distinct batches each label occurs in.
func batchesPerLabel(labels, batches Codes) []int {
	seen := map[[2]int]bool{}
	out := make([]int, len(labels.Names))
	for i, l := range labels.Code {
		k := [2]int{l, batches.Code[i]}
		if !seen[k] {
			seen[k] = true
			out[l]++
		}
	}
	return out
}

func subsetRows(x *data.Dense, rows []int) *data.Dense {
	out := &data.Dense{Rows: len(rows), Cols: x.Cols, Data: make([]float64, len(rows)*x.Cols)}
	for k, r := range rows {
		copy(out.Data[k*x.Cols:(k+1)*x.Cols], x.Row(r))
	}
	return out
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
