package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/par"
)

// Neighbors is an exact k-nearest-neighbour table of an embedding.
//
// Row i lists K cells in increasing Euclidean distance, with ties broken by
// cell index, except that cell i itself is always first (distance 0), as in
// scib-metrics' NeighborsResults. Indices and Distances are row-major
// N × K. Distances are plain (not squared) Euclidean distances.
type Neighbors struct {
	N, K      int
	Indices   []int32
	Distances []float64
}

// Row returns the neighbour indices and distances of cell i, sharing storage.
func (nb *Neighbors) Row(i int) ([]int32, []float64) {
	return nb.Indices[i*nb.K : (i+1)*nb.K], nb.Distances[i*nb.K : (i+1)*nb.K]
}

// First returns the table restricted to the first k neighbours of every cell
// (self included), copying. It panics if k is not in [1, K].
func (nb *Neighbors) First(k int) *Neighbors {
	if k < 1 || k > nb.K {
		panic(fmt.Sprintf("scib: Neighbors.First(%d) with K = %d", k, nb.K))
	}
	out := &Neighbors{N: nb.N, K: k, Indices: make([]int32, nb.N*k), Distances: make([]float64, nb.N*k)}
	for i := 0; i < nb.N; i++ {
		copy(out.Indices[i*k:(i+1)*k], nb.Indices[i*nb.K:i*nb.K+k])
		copy(out.Distances[i*k:(i+1)*k], nb.Distances[i*nb.K:i*nb.K+k])
	}
	return out
}

// ExactKNN returns the exact k nearest neighbours (Euclidean) of every row of
// x among all rows of x, each list starting with the row itself. For
// D ≤ 32 it searches a k-d tree with per-node bounding boxes (pruning only
// boxes strictly farther than the current k-th candidate, so the result is
// identical to brute force, ties included); otherwise it scans all rows
// (O(N²·D)). Queries are split over workers goroutines (≤ 0 means
// GOMAXPROCS).
//
// Leaves (≤ 64 points) are scanned with the vector distance kernel
// (distkernel.go), queries run in tree order, and each worker keeps its
// k − 1 best candidates in a max-heap (see nearest).
//
// Memory: the result holds N·k int32 indices and N·k float64 distances
// (12·N·k bytes); the tree adds N int32, a dims-major copy of x (8·N·D
// bytes) and about N/20 nodes with 2·D float64 boxes each; the scan adds a
// dims-major copy of x and one length-N float64 buffer per worker; each
// worker keeps one (k−1)-entry heap. No N × N matrix is ever held. ExactKNN
// panics if k < 1 or k > N (a programmer error: Benchmark clamps k first).
func ExactKNN(x *data.Dense, k, workers int) *Neighbors {
	n, d := x.Rows, x.Cols
	if k < 1 || k > n {
		panic(fmt.Sprintf("scib: ExactKNN: k = %d with %d cells", k, n))
	}
	workers = par.Workers(workers)
	nb := &Neighbors{N: n, K: k, Indices: make([]int32, n*k), Distances: make([]float64, n*k)}
	if d <= kdMaxDims {
		t := buildKDTree(x)
		scratch := make([]*knnScratch, workers)
		for w := range scratch {
			scratch[w] = newKNNScratch(t)
		}
		// Queries in tree order: consecutive queries are neighbours, which
		// keeps the visited leaves in cache.
		par.Range(n, workers, 64, func(w, lo, hi int) {
			sc := scratch[w]
			for pos := lo; pos < hi; pos++ {
				i := int(t.perm[pos])
				t.knn(i, k, sc)
				sc.list.write(nb, i)
			}
		})
		return nb
	}
	return bruteKNN(x, nb, k, workers)
}

// bruteKNN fills nb by scanning all rows for every query (vector kernel
// over a dims-major copy of x).
func bruteKNN(x *data.Dense, nb *Neighbors, k, workers int) *Neighbors {
	n := x.Rows
	t := newDimsMajor[int](x, nil)
	dist := make([][]float64, workers)
	lists := make([]nearest, workers)
	for w := range dist {
		dist[w] = make([]float64, n)
	}
	par.Range(n, workers, 64, func(w, lo, hi int) {
		dw := dist[w]
		l := &lists[w]
		for i := lo; i < hi; i++ {
			sqDists(x.Row(i), t, 0, n, dw)
			l.reset(k - 1)
			for j, v := range dw {
				if j != i && v <= l.bound() {
					l.offer(v, int32(j))
				}
			}
			l.write(nb, i)
		}
	})
	return nb
}

// nearest keeps the m candidates that are smallest in (squared distance,
// index) order. It is a binary max-heap on the distance alone (the worst
// kept candidate on top, so an offer that cannot enter costs one
// comparison), sorted by heapsort when the row is written. Distances are
// kept as their IEEE-754 bits — for non-negative floats the bit patterns
// order like the values — so comparisons are single integer comparisons
// the compiler turns into SETcc rather than unpredictable branches.
//
// Equal distances are ordered by index. The heap ignores indices, so the
// rare ties are handled apart: the candidates at the top distance form a
// subtree containing the root, among which the one with the largest index
// is the worst kept candidate (evicted first); and write orders runs of
// equal distances by index. Measured on the retina embedding (k = 90,
// ~240 accepted offers per query) this beat a float heap with (distance,
// index) comparisons plus a final sort, a sorted array with binary-search
// insertion, Floyd's bottom-up sift, and an append buffer compacted by
// quickselect every m (or m/4) offers (its looser bound lets more
// candidates and leaves through).
type nearest struct {
	m   int
	key []uint64 // math.Float64bits of squared distances (all ≥ 0)
	j   []int32
}

// reset empties the list and sets its capacity m ≥ 0.
func (h *nearest) reset(m int) {
	h.m = m
	if cap(h.key) < m {
		h.key, h.j = make([]uint64, 0, m), make([]int32, 0, m)
	}
	h.key, h.j = h.key[:0], h.j[:0]
}

// bound is the largest squared distance an offer can have and still enter:
// the m-th smallest so far (a tie enters if its index is smaller), +Inf
// while fewer than m are kept, −Inf when m = 0.
func (h *nearest) bound() float64 {
	switch {
	case h.m == 0:
		return math.Inf(-1)
	case len(h.key) < h.m:
		return math.Inf(1)
	}
	return math.Float64frombits(h.key[0])
}

// offer adds (s, j) (s ≥ 0) if fewer than m are kept or it comes before
// the worst kept candidate in (distance, index) order, which it replaces.
func (h *nearest) offer(s float64, j int32) {
	key := math.Float64bits(s)
	ks, js := h.key, h.j
	n := len(ks)
	if n < h.m {
		ks, js = append(ks, key), append(js, j)
		h.key, h.j = ks, js
		for i := n; i > 0; { // sift up
			p := (i - 1) / 2
			if ks[p] >= ks[i] {
				break
			}
			ks[i], ks[p] = ks[p], ks[i]
			js[i], js[p] = js[p], js[i]
			i = p
		}
		return
	}
	if n == 0 || key > ks[0] {
		return
	}
	// The worst kept candidate: the root unless a child ties with it.
	w := 0
	if (n > 1 && ks[1] == ks[0]) || (n > 2 && ks[2] == ks[0]) {
		w = worstOfTies(ks, js)
	}
	if key == ks[0] {
		if j < js[w] {
			js[w] = j // same distance: the heap order is unchanged
		}
		return
	}
	siftDown(ks, js, w, key, j)
}

// worstOfTies returns the position of the largest index among the kept
// candidates whose distance equals the root's.
func worstOfTies(ks []uint64, js []int32) int {
	w := 0
	for p, k := range ks {
		if k == ks[0] && js[p] > js[w] {
			w = p
		}
	}
	return w
}

// siftDown puts (key, j) at position i of the max-heap ks, js (replacing
// what was there, whose key was ≥ key) and restores the heap order below.
func siftDown(ks []uint64, js []int32, i int, key uint64, j int32) {
	n := len(ks)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n {
			c += b2i(ks[r] > ks[l])
		}
		if ks[c] <= key {
			break
		}
		ks[i], js[i] = ks[c], js[c]
		i = c
	}
	ks[i], js[i] = key, j
}

// write sorts the kept candidates (heapsort on distance, then each run of
// equal distances by index) and stores row i of nb: i itself at distance
// 0, then the candidates with plain (square-rooted) distances in
// increasing (distance, index) order.
func (h *nearest) write(nb *Neighbors, i int) {
	ks, js := h.key, h.j
	for end := len(ks) - 1; end > 0; end-- {
		k, j := ks[end], js[end]
		ks[end], js[end] = ks[0], js[0]
		siftDown(ks[:end], js[:end], 0, k, j)
	}
	for r := 1; r < len(ks); r++ { // insertion sort within equal distances
		for p := r; p > 0 && ks[p-1] == ks[p] && js[p-1] > js[p]; p-- {
			js[p-1], js[p] = js[p], js[p-1]
		}
	}
	idx, dst := nb.Row(i)
	idx[0], dst[0] = int32(i), 0
	for r, s := range ks {
		idx[r+1] = js[r]
		dst[r+1] = math.Sqrt(math.Float64frombits(s))
	}
}

// b2i is 1 for true and 0 for false (compiled to SETcc).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
