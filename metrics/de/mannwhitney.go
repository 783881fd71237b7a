package de

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/par"
)

// geneBlock is the number of genes one NewReference task gathers at a time
// (tasks are gene blocks, so the reference is built in parallel over genes).
const geneBlock = 256

// Reference is the reference (control) group of a Mann–Whitney comparison,
// ranked once per gene so that every target group can be tested against it
// without re-sorting the controls.
//
// For gene g it keeps the distinct values of the reference cells in ascending
// order (the implicit zeros of the sparse matrix form one tied block, stored
// as the value 0), the number of reference cells strictly below each distinct
// value, the reference's own tie term Σ(t³ − t) over its tied blocks, and the
// mean of the values.
type Reference struct {
	nCells int
	nGenes int
	offset []int64   // gene g's distinct values are uniq[offset[g]:offset[g+1]]
	uniq   []uint32  // distinct values per gene as order keys (sortKey), ascending
	below  []int32   // below[offset[g]+g+i] = #reference cells < uniq[offset[g]+i]; one extra entry = nCells
	tie    []float64 // Σ(t³ − t) over the reference's tied blocks, per gene
	mean   []float64 // mean value per gene (float64 sum in row order / nCells)
	zero   []int32   // per gene: index of the first distinct value ≥ 0
}

// NCells returns the number of reference cells.
func (r *Reference) NCells() int { return r.nCells }

// NGenes returns the number of genes (columns).
func (r *Reference) NGenes() int { return r.nGenes }

// Mean returns the per-gene mean of the reference cells' values (shared; do
// not modify).
func (r *Reference) Mean() []float64 { return r.mean }

// distinct returns gene g's distinct sorted values and the below counts (one
// longer than the values, ending with nCells).
func (r *Reference) distinct(g int) ([]uint32, []int32) {
	a, b := r.offset[g], r.offset[g+1]
	return r.uniq[a:b], r.below[a+int64(g) : b+int64(g)+1]
}

// NewReference ranks the cells rows of x (cells × genes) gene by gene, using
// up to threads goroutines (≤ 0 means GOMAXPROCS). It returns an error if
// rows is empty or a stored value is NaN; it panics on a row index out of
// range. Memory: 8 bytes per distinct (gene, value) pair of the reference,
// never a dense copy of x.
func NewReference(x *data.CSR, rows []int, threads int) (*Reference, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("de: reference group has no cells")
	}
	checkRows(x, rows)
	nb := (x.Cols + geneBlock - 1) / geneBlock
	type blockOut struct {
		uniq  []uint32
		below []int32
		count []int64 // distinct values per gene of the block
		tie   []float64
		mean  []float64
	}
	outs := make([]blockOut, nb)
	var firstErr error
	var errOnce sync.Once
	parallel(nb, threads, func(worker int, task int, s *scratch) {
		a := task * geneBlock
		b := min(a+geneBlock, x.Cols)
		if err := s.gather(x, rows, a, b); err != nil {
			errOnce.Do(func() { firstErr = err })
			return
		}
		o := blockOut{count: make([]int64, b-a), tie: make([]float64, b-a), mean: make([]float64, b-a)}
		n := len(rows)
		for g := a; g < b; g++ {
			vals := s.values(g - a)
			o.mean[g-a] = s.sums[g-a] / float64(n)
			sortKeys(vals, &s.tmp)
			zeros := n - len(vals)
			start := len(o.uniq)
			cum := int32(0)
			tie := 0.0
			emit := func(v uint32, c int) {
				o.uniq = append(o.uniq, v)
				o.below = append(o.below, cum)
				cum += int32(c)
				t := float64(c)
				tie += t*t*t - t
			}
			zeroDone := zeros == 0
			for i := 0; i < len(vals); {
				v := vals[i]
				j := i + 1
				for j < len(vals) && vals[j] == v {
					j++
				}
				if !zeroDone && v > zeroKey {
					emit(zeroKey, zeros)
					zeroDone = true
				}
				emit(v, j-i)
				i = j
			}
			if !zeroDone {
				emit(zeroKey, zeros)
			}
			o.below = append(o.below, cum) // = n
			o.count[g-a] = int64(len(o.uniq) - start)
			o.tie[g-a] = tie
		}
		outs[task] = o
	})
	if firstErr != nil {
		return nil, firstErr
	}
	r := &Reference{nCells: len(rows), nGenes: x.Cols, offset: make([]int64, x.Cols+1),
		tie: make([]float64, 0, x.Cols), mean: make([]float64, 0, x.Cols)}
	total := 0
	for _, o := range outs {
		total += len(o.uniq)
	}
	r.zero = make([]int32, x.Cols)
	r.uniq = make([]uint32, 0, total)
	r.below = make([]int32, 0, total+x.Cols)
	g := 0
	for _, o := range outs {
		for _, c := range o.count {
			r.offset[g+1] = r.offset[g] + c
			g++
		}
		r.uniq = append(r.uniq, o.uniq...)
		r.below = append(r.below, o.below...)
		r.tie = append(r.tie, o.tie...)
		r.mean = append(r.mean, o.mean...)
	}
	for g := range r.zero {
		uniq, _ := r.distinct(g)
		r.zero[g] = int32(lowerBound(uniq, 0, zeroKey))
	}
	return r, nil
}

// GroupStats is the raw Mann–Whitney result of one target group against a
// Reference, gene by gene.
type GroupStats struct {
	NTarget, NRef int
	Mean          []float64 // per-gene mean of the target cells' values
	U             []float64 // U statistic of the target group (scipy's statistic)
	P             []float64 // two-sided asymptotic p-value, clipped to [0, 1]
}

// TestGroups runs the two-sided Mann–Whitney U test of every group (rows of
// x) against ref for every gene, in parallel over (group, gene block) tasks
// with up to threads goroutines (≤ 0 means GOMAXPROCS). x must have
// ref.NGenes() columns (panics otherwise). A group with no cells is an
// error; so is a NaN value.
//
// The statistic and p-value equal scipy.stats.mannwhitneyu(target, reference,
// alternative="two-sided", method="asymptotic", use_continuity=True): with
// U1 = R1 − n1(n1+1)/2 (R1 the target's rank sum, ties averaged),
// U = max(U1, n1·n2 − U1), T = Σ(t³ − t) over tied blocks of the pooled
// sample, σ = sqrt(n1·n2/12 · ((n+1) − T/(n(n−1)))), z = (U − n1·n2/2 − ½)/σ,
// p = 2·Φ̄(z) clipped to [0, 1]. When every pooled value is equal σ = 0 and
// p = 1.
//
// Cost per (group, gene): sorting the group's non-zero values and one binary
// search per distinct target value in the reference's distinct values —
// the reference is never re-sorted and its zeros are one block.
func TestGroups(x *data.CSR, groups [][]int, ref *Reference, threads int) ([]GroupStats, error) {
	if x.Cols != ref.nGenes {
		panic(fmt.Sprintf("de: TestGroups: matrix has %d genes, reference %d", x.Cols, ref.nGenes))
	}
	out := make([]GroupStats, len(groups))
	for i, rows := range groups {
		if len(rows) == 0 {
			return nil, fmt.Errorf("de: target group %d has no cells", i)
		}
		checkRows(x, rows)
		out[i] = GroupStats{NTarget: len(rows), NRef: ref.nCells,
			Mean: make([]float64, x.Cols), U: make([]float64, x.Cols), P: make([]float64, x.Cols)}
	}
	// Groups are processed in batches. Each group of a batch is first
	// transposed to gene-major order (its own non-zeros grouped by gene, in
	// row order: one pass, no search); then genes run in parallel blocks and
	// every group of the batch is tested against a gene while that gene's
	// reference values are in cache.
	var firstErr error
	var errOnce sync.Once
	for b0 := 0; b0 < len(groups); {
		b1, budget := b0, int64(0)
		for b1 < len(groups) && (b1 == b0 || budget < batchValues) {
			for _, r := range groups[b1] {
				budget += x.Indptr[r+1] - x.Indptr[r]
			}
			b1++
		}
		cols := make([]groupCols, b1-b0)
		parallel(b1-b0, threads, func(_, k int, _ *scratch) {
			c, err := transposeGroup(x, groups[b0+k])
			if err != nil {
				errOnce.Do(func() { firstErr = err })
			}
			cols[k] = c
		})
		if firstErr != nil {
			return nil, firstErr
		}
		nb := (x.Cols + testBlock - 1) / testBlock
		parallel(nb, threads, func(_, blk int, _ *scratch) {
			for g := blk * testBlock; g < min((blk+1)*testBlock, x.Cols); g++ {
				uniq, below := ref.distinct(g)
				zeroAt := int(ref.zero[g])
				var tmp []uint32
				for k := range cols {
					c := &cols[k]
					res := &out[b0+k]
					n1 := res.NTarget
					vals := c.vals[c.start[g]:c.start[g+1]]
					res.Mean[g] = c.sums[g] / float64(n1)
					sortKeys(vals, &tmp)
					u1, tieExtra := rankAgainst(uniq, below, zeroAt, vals, n1-len(vals))
					res.U[g] = u1
					res.P[g] = pValue(u1, n1, ref.nCells, ref.tie[g]+tieExtra)
				}
			}
		})
		b0 = b1
	}
	return out, nil
}

// batchValues bounds the non-zeros of the groups transposed at once
// (4 bytes each), and testBlock is the number of genes per parallel task.
const (
	batchValues = 32 << 20
	testBlock   = 16
)

// groupCols is one target group in gene-major order: gene g's non-zero
// values are vals[start[g]:start[g+1]] (row order until sorted), sums[g]
// their float64 sum in row order.
type groupCols struct {
	start []int32
	vals  []uint32 // order keys of the values (sortKey)
	sums  []float64
}

// transposeGroup gathers the non-zero values of rows by gene (counting
// sort). Explicit zeros are dropped (they join the zero block); NaN is an
// error.
func transposeGroup(x *data.CSR, rows []int) (groupCols, error) {
	c := groupCols{start: make([]int32, x.Cols+1), sums: make([]float64, x.Cols)}
	for _, r := range rows {
		for p := x.Indptr[r]; p < x.Indptr[r+1]; p++ {
			v := x.Data[p]
			if v != v {
				return c, fmt.Errorf("de: NaN value at cell %d, gene %d", r, x.Indices[p])
			}
			if v != 0 {
				c.start[x.Indices[p]+1]++
			}
		}
	}
	for g := 0; g < x.Cols; g++ {
		c.start[g+1] += c.start[g]
	}
	c.vals = make([]uint32, c.start[x.Cols])
	fill := append([]int32(nil), c.start[:x.Cols]...)
	for _, r := range rows {
		for p := x.Indptr[r]; p < x.Indptr[r+1]; p++ {
			if v := x.Data[p]; v != 0 {
				g := x.Indices[p]
				c.vals[fill[g]] = sortKey(v)
				fill[g]++
				c.sums[g] += float64(v)
			}
		}
	}
	return c, nil
}

// rankAgainst returns the target's U statistic U1 = Σ_{x in target}
// (#ref < x + #ref == x / 2) and the change in the pooled tie term caused by
// adding the target to the reference: Σ over the target's distinct values v
// with multiplicity a and reference multiplicity c of (a+c)³−(a+c) − (c³−c).
// sorted holds the target's non-zero values ascending; zeros counts its zeros.
// zeroAt is the index of the first distinct reference value ≥ 0.
func rankAgainst(uniq []uint32, below []int32, zeroAt int, sorted []uint32, zeros int) (u1, tieExtra float64) {
	add := func(i int, v uint32, a int) {
		less := float64(below[i])
		eq := 0.0
		if i < len(uniq) && uniq[i] == v {
			eq = float64(below[i+1] - below[i])
		}
		af := float64(a)
		u1 += af * (less + eq/2)
		t := af + eq
		tieExtra += (t*t*t - t) - (eq*eq*eq - eq)
	}
	if zeros > 0 {
		add(zeroAt, zeroKey, zeros)
	}
	lo := 0
	for i := 0; i < len(sorted); {
		v := sorted[i]
		j := i + 1
		for j < len(sorted) && sorted[j] == v {
			j++
		}
		lo = lowerBound(uniq, lo, v)
		add(lo, v, j-i)
		i = j
	}
	return u1, tieExtra
}

// lowerBound returns the first index i ≥ lo with uniq[i] ≥ v (len(uniq) if
// none). The loop is branch-free in its comparison (the halving step
// compiles to a conditional move), which matters because the probes are
// unpredictable.
func lowerBound(uniq []uint32, lo int, v uint32) int {
	base, n := lo, len(uniq)-lo
	if n <= 0 {
		return len(uniq)
	}
	for n > 1 {
		half := n >> 1
		if uniq[base+half-1] < v {
			base += half
		}
		n -= half
	}
	if uniq[base] < v {
		base++
	}
	return base
}

// pValue is scipy 1.10's asymptotic two-sided Mann–Whitney p-value with tie
// and continuity correction, with the operations in scipy's order so that
// results agree to rounding. tie is Σ(t³ − t) over the pooled tied blocks.
func pValue(u1 float64, n1i, n2i int, tie float64) float64 {
	n1, n2 := float64(n1i), float64(n2i)
	u2 := n1*n2 - u1
	u := math.Max(u1, u2)
	mu := n1 * n2 / 2
	n := n1 + n2
	s := math.Sqrt(n1 * n2 / 12 * ((n + 1) - tie/(n*(n-1))))
	z := (u - mu - 0.5) / s
	// 2·Φ̄(z) = erfc(z/√2); σ = 0 gives z = −Inf and p = 2 → 1.
	p := math.Erfc(z / math.Sqrt2)
	if p > 1 {
		p = 1
	}
	if p < 0 {
		p = 0
	}
	return p
}

// MannWhitney is the plain two-sided asymptotic Mann–Whitney U test of x
// against y (tie and continuity correction), equal to
// scipy.stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True).
// It returns U1 (the statistic of x) and the p-value. It is the simple
// single-gene form of TestGroups, for small inputs and cross-checks; it
// panics if either sample is empty or holds NaN.
func MannWhitney(x, y []float64) (u1, p float64) {
	if len(x) == 0 || len(y) == 0 {
		panic("de: MannWhitney: empty sample")
	}
	ys := slices.Clone(y)
	for _, v := range ys {
		if math.IsNaN(v) {
			panic("de: MannWhitney: NaN in sample")
		}
	}
	slices.Sort(ys)
	// Distinct values of y with counts below.
	var uniq []float64
	var below []int
	tie := 0.0
	for i := 0; i < len(ys); {
		j := i + 1
		for j < len(ys) && ys[j] == ys[i] {
			j++
		}
		uniq = append(uniq, ys[i])
		below = append(below, i)
		t := float64(j - i)
		tie += t*t*t - t
		i = j
	}
	below = append(below, len(ys))
	xs := slices.Clone(x)
	slices.Sort(xs)
	for i := 0; i < len(xs); {
		v := xs[i]
		if math.IsNaN(v) {
			panic("de: MannWhitney: NaN in sample")
		}
		j := i + 1
		for j < len(xs) && xs[j] == v {
			j++
		}
		k, _ := slices.BinarySearch(uniq, v)
		less := float64(below[k])
		eq := 0.0
		if k < len(uniq) && uniq[k] == v {
			eq = float64(below[k+1] - below[k])
		}
		a := float64(j - i)
		u1 += a * (less + eq/2)
		t := a + eq
		tie += (t*t*t - t) - (eq*eq*eq - eq)
		i = j
	}
	return u1, pValue(u1, len(x), len(y), tie)
}

func checkRows(x *data.CSR, rows []int) {
	for _, r := range rows {
		if r < 0 || r >= x.Rows {
			panic(fmt.Sprintf("de: row %d out of range [0, %d)", r, x.Rows))
		}
	}
}

// scratch is one worker's reusable buffers for gathering a gene block.
type scratch struct {
	start []int32   // start[k] = offset of gene a+k's values in vals; len block+1
	fill  []int32   // write cursor per gene
	vals  []uint32  // order keys of the non-zero values, grouped by gene, in row order
	tmp   []uint32  // radix-sort buffer
	sums  []float64 // per-gene sum of the values in row order
	pos   []int64   // per row: first entry with column ≥ a
}

func (s *scratch) values(k int) []uint32 { return s.vals[s.start[k]:s.start[k+1]] }

// gather collects, for genes [a, b), the non-zero values of the given rows of
// x, grouped by gene (counting sort, two passes) and their float64 sums.
// Explicit zeros are skipped (they belong to the zero block). NaN is an error.
func (s *scratch) gather(x *data.CSR, rows []int, a, b int) error {
	w := b - a
	s.start = resize(s.start, w+1)
	clear(s.start)
	s.sums = resizeF(s.sums, w)
	clear(s.sums)
	s.pos = resize64(s.pos, len(rows))
	ia, ib := int32(a), int32(b)
	for k, r := range rows {
		lo, hi := x.Indptr[r], x.Indptr[r+1]
		// binary search for the first column ≥ a
		for lo < hi {
			m := int64(uint64(lo+hi) >> 1)
			if x.Indices[m] < ia {
				lo = m + 1
			} else {
				hi = m
			}
		}
		s.pos[k] = lo
		end := x.Indptr[r+1]
		for p := lo; p < end && x.Indices[p] < ib; p++ {
			v := x.Data[p]
			if v != 0 {
				s.start[x.Indices[p]-ia+1]++
			}
			if v != v {
				return fmt.Errorf("de: NaN value at cell %d, gene %d", r, x.Indices[p])
			}
		}
	}
	for k := 0; k < w; k++ {
		s.start[k+1] += s.start[k]
	}
	s.vals = resizeU32(s.vals, int(s.start[w]))
	s.fill = resize(s.fill, w)
	copy(s.fill, s.start[:w])
	for k, r := range rows {
		end := x.Indptr[r+1]
		for p := s.pos[k]; p < end && x.Indices[p] < ib; p++ {
			if v := x.Data[p]; v != 0 {
				g := x.Indices[p] - ia
				s.vals[s.fill[g]] = sortKey(v)
				s.fill[g]++
				s.sums[g] += float64(v)
			}
		}
	}
	return nil
}

func resize(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

func resize64(b []int64, n int) []int64 {
	if cap(b) < n {
		return make([]int64, n)
	}
	return b[:n]
}

func resizeF(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func resizeU32(b []uint32, n int) []uint32 {
	if cap(b) < n {
		return make([]uint32, n)
	}
	return b[:n]
}

// parallel runs fn(worker, task, scratch) for task in [0, n) on up to threads
// goroutines (≤ 0 means GOMAXPROCS, internal/par), each worker with its own
// scratch buffers.
func parallel(n, threads int, fn func(worker, task int, s *scratch)) {
	scr := make([]*scratch, min(par.Workers(threads), max(n, 1)))
	par.ForWorker(n, len(scr), func(w, t int) {
		if scr[w] == nil {
			scr[w] = &scratch{}
		}
		fn(w, t, scr[w])
	})
}

// sortKey maps a float32 to a uint32 whose unsigned order is the float
// order (for non-NaN values): the sign bit is flipped for positives and
// every bit for negatives. Sorting and searching integer keys is cheaper
// than float comparisons (no NaN branch), and key equality is value
// equality for the non-zero, non-NaN values stored here.
func sortKey(v float32) uint32 {
	b := math.Float32bits(v)
	if b>>31 != 0 {
		return ^b
	}
	return b | 0x80000000
}

// zeroKey is sortKey(0).
const zeroKey = 0x80000000

// sortKeys sorts a ascending: insertion/pdqsort for short slices, LSD radix
// sort (8-bit digits, constant digits skipped) for long ones. *tmp is a
// reusable buffer.
func sortKeys(a []uint32, tmp *[]uint32) {
	if len(a) < 128 {
		slices.Sort(a)
		return
	}
	if cap(*tmp) < len(a) {
		*tmp = make([]uint32, len(a))
	}
	src, dst := a, (*tmp)[:len(a)]
	for shift := uint(0); shift < 32; shift += 8 {
		var count [257]int
		for _, k := range src {
			count[(k>>shift)&0xff+1]++
		}
		if count[(src[0]>>shift)&0xff+1] == len(src) {
			continue // every key has this digit
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for _, k := range src {
			d := (k >> shift) & 0xff
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}
