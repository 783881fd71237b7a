package pert

import (
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cellbench/cellbench/data"
)

// parallelFor runs fn(i) for i in [0, n) on up to threads goroutines.
func parallelFor(n, threads int, fn func(i int)) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, n)
	if threads <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// Pseudobulk returns the arithmetic mean over the given rows of x of every
// gene (log1p values; float64 sums in row order), i.e. μ(t) of
// SPEC-metrics.md. It panics on an empty row set.
func Pseudobulk(x *data.CSR, rows []int) []float64 {
	if len(rows) == 0 {
		panic("pert: Pseudobulk of no cells")
	}
	sum := make([]float64, x.Cols)
	for _, r := range rows {
		idx, val := x.Row(r)
		for k, j := range idx {
			sum[j] += float64(val[k])
		}
	}
	n := float64(len(rows))
	for j := range sum {
		sum[j] /= n
	}
	return sum
}

func pseudobulks(x *data.CSR, groups [][]int, threads int) [][]float64 {
	out := make([][]float64, len(groups))
	parallelFor(len(groups), threads, func(i int) { out[i] = Pseudobulk(x, groups[i]) })
	return out
}

// meanAbsSq returns mean |a−b| and mean (a−b)² over the genes.
func meanAbsSq(a, b []float64) (mae, mse float64) {
	for j := range a {
		d := a[j] - b[j]
		mae += math.Abs(d)
		mse += d * d
	}
	n := float64(len(a))
	return mae / n, mse / n
}

func sub(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for j := range a {
		out[j] = a[j] - b[j]
	}
	return out
}

// keepSegments returns the gene ranges [lo, hi) that remain after removing
// the genes named in the perturbation label (split on "+"), as cell-eval's
// exclude_target_gene does for the discrimination score.
func keepSegments(pert string, geneIndex map[string]int, nGenes int) [][2]int {
	excluded := map[int]bool{}
	for _, part := range strings.Split(pert, "+") {
		if j, ok := geneIndex[part]; ok {
			excluded[j] = true
		}
	}
	var segs [][2]int
	lo := 0
	for j := 0; j <= nGenes; j++ {
		if j == nGenes || excluded[j] {
			if j > lo {
				segs = append(segs, [2]int{lo, j})
			}
			lo = j + 1
		}
	}
	return segs
}

// discriminationRanks returns, per distance kind requested, r_t = #{q ≠ t :
// d(δP[t], δR[q]) < d(δP[t], δR[t])} for every t, distances over the genes
// kept by segs[t]. Kinds: 0 = L1 (manhattan), 1 = L2 (Euclidean), 2 = cosine
// distance 1 − cos clipped to [0, 2] (a zero vector has cosine similarity 0,
// as sklearn's cosine_distances).
func discriminationRanks(dP, dR [][]float64, segs [][][2]int, kinds [3]bool, threads int) [3][]int {
	n := len(dP)
	var ranks [3][]int
	for k := range kinds {
		if kinds[k] {
			ranks[k] = make([]int, n)
		}
	}
	parallelFor(n, threads, func(t int) {
		var dist [3][]float64
		for k := range kinds {
			if kinds[k] {
				dist[k] = make([]float64, n)
			}
		}
		a := dP[t]
		for q := 0; q < n; q++ {
			b := dR[q]
			l1, l2, dot, na, nb := 0.0, 0.0, 0.0, 0.0, 0.0
			for _, s := range segs[t] {
				as, bs := a[s[0]:s[1]], b[s[0]:s[1]]
				bs = bs[:len(as)]
				switch {
				case kinds[0] && kinds[1]:
					for j, x := range as {
						d := x - bs[j]
						l1 += math.Abs(d)
						l2 += d * d
					}
				case kinds[0]:
					l1 += l1Dist(as, bs)
				case kinds[1]:
					for j, x := range as {
						d := x - bs[j]
						l2 += d * d
					}
				}
				if kinds[2] {
					for j, x := range as {
						y := bs[j]
						dot += x * y
						na += x * x
						nb += y * y
					}
				}
			}
			if kinds[0] {
				dist[0][q] = l1
			}
			if kinds[1] {
				dist[1][q] = math.Sqrt(l2)
			}
			if kinds[2] {
				sim := 0.0
				if na > 0 && nb > 0 {
					sim = dot / (math.Sqrt(na) * math.Sqrt(nb))
				}
				dist[2][q] = math.Min(math.Max(1-sim, 0), 2)
			}
		}
		for k := range kinds {
			if !kinds[k] {
				continue
			}
			self := dist[k][t]
			r := 0
			for q, d := range dist[k] {
				if q != t && d < self {
					r++
				}
			}
			ranks[k][t] = r
		}
	})
	return ranks
}

// EnergyDistance returns the energy distance between the cells xRows of x
// and the cells yRows of y (log1p vectors, Euclidean):
//
//	2·mean_{i,j} ‖x_i − y_j‖ − mean_{i,i'} ‖x_i − x_i'‖ − mean_{j,j'} ‖y_j − y_j'‖
//
// with every mean over all ordered pairs including i = i' (scperturb's
// edist and cell-eval's pairwise-distance form). Distances are computed
// exactly on the sparse rows (merge of the non-zeros, no expansion of
// ‖x‖² + ‖y‖² − 2x·y), so identical cells are at distance 0. Cost:
// (n+m)²·(non-zeros per row); nothing is densified. Panics on an empty set.
func EnergyDistance(x *data.CSR, xRows []int, y *data.CSR, yRows []int) float64 {
	if len(xRows) == 0 || len(yRows) == 0 {
		panic("pert: EnergyDistance of an empty cell set")
	}
	cross := 0.0
	for _, i := range xRows {
		ai, av := x.Row(i)
		for _, j := range yRows {
			bi, bv := y.Row(j)
			cross += math.Sqrt(sqDist(ai, av, bi, bv))
		}
	}
	within := func(m *data.CSR, rows []int) float64 {
		s := 0.0
		for p, i := range rows {
			ai, av := m.Row(i)
			for _, j := range rows[p+1:] {
				bi, bv := m.Row(j)
				s += math.Sqrt(sqDist(ai, av, bi, bv))
			}
		}
		return 2 * s // ordered pairs; the diagonal contributes 0
	}
	nx, ny := float64(len(xRows)), float64(len(yRows))
	return 2*cross/(nx*ny) - within(x, xRows)/(nx*nx) - within(y, yRows)/(ny*ny)
}

// sqDist is Σ_g (a_g − b_g)² of two sparse rows (sorted indices).
func sqDist(ai []int32, av []float32, bi []int32, bv []float32) float64 {
	s := 0.0
	p, q := 0, 0
	for p < len(ai) && q < len(bi) {
		switch {
		case ai[p] == bi[q]:
			d := float64(av[p]) - float64(bv[q])
			s += d * d
			p++
			q++
		case ai[p] < bi[q]:
			d := float64(av[p])
			s += d * d
			p++
		default:
			d := float64(bv[q])
			s += d * d
			q++
		}
	}
	for ; p < len(ai); p++ {
		d := float64(av[p])
		s += d * d
	}
	for ; q < len(bi); q++ {
		d := float64(bv[q])
		s += d * d
	}
	return s
}

// l1Dist is Σ|a_j − b_j| with four independent accumulators (the loop is
// bound by floating-point add latency otherwise). len(b) ≥ len(a).
func l1Dist(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(a); j += 4 {
		s0 += math.Abs(a[j] - b[j])
		s1 += math.Abs(a[j+1] - b[j+1])
		s2 += math.Abs(a[j+2] - b[j+2])
		s3 += math.Abs(a[j+3] - b[j+3])
	}
	for ; j < len(a); j++ {
		s0 += math.Abs(a[j] - b[j])
	}
	return (s0 + s1) + (s2 + s3)
}
