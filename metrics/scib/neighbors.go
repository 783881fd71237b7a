package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
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
// Memory: the result holds N·k int32 indices and N·k float64 distances
// (12·N·k bytes); the tree adds N int32 + about N/4·D float64 (boxes); the
// scan adds one length-N float64 buffer per worker; each worker keeps one
// k-entry heap. No N × N matrix is ever held. ExactKNN panics
// if k < 1 or k > N (a programmer error: Benchmark clamps k first).
func ExactKNN(x *data.Dense, k, workers int) *Neighbors {
	n, d := x.Rows, x.Cols
	if k < 1 || k > n {
		panic(fmt.Sprintf("scib: ExactKNN: k = %d with %d cells", k, n))
	}
	workers = workerCount(workers)
	nb := &Neighbors{N: n, K: k, Indices: make([]int32, n*k), Distances: make([]float64, n*k)}
	if d <= kdMaxDims {
		t := buildKDTree(x)
		lists := make([]nearest, workers)
		stacks := make([][]kdItem, workers)
		bufs := make([][]float64, workers)
		for w := range bufs {
			bufs[w] = make([]float64, t.maxLeaf)
		}
		// Queries in tree order: consecutive queries are neighbours, which
		// keeps the visited leaves in cache.
		parallelRange(n, workers, 64, func(w, lo, hi int) {
			for pos := lo; pos < hi; pos++ {
				i := int(t.perm[pos])
				t.knn(i, k, &lists[w], &stacks[w], bufs[w])
				lists[w].write(nb, i)
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
	parallelRange(n, workers, 64, func(w, lo, hi int) {
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
// index) order, sorted in that order (d[r], j[r]). It is a sorted array
// with binary-search insertion: for m ≈ 90 and a few hundred accepted
// offers per query this beats a binary heap plus the final sort (measured
// on the retina embedding). Distances are kept as their IEEE-754 bits:
// for non-negative floats the bit patterns order like the values, and
// integer comparisons let the compiler make the search branch-free.
type nearest struct {
	m int
	d []uint64 // math.Float64bits of squared distances (all ≥ 0)
	j []int32
}

// reset empties the list and sets its capacity m ≥ 0.
func (h *nearest) reset(m int) {
	h.m = m
	if cap(h.d) < m {
		h.d, h.j = make([]uint64, 0, m), make([]int32, 0, m)
	}
	h.d, h.j = h.d[:0], h.j[:0]
}

// bound is the largest squared distance an offer can have and still enter:
// the m-th smallest so far (a tie enters if its index is smaller), +Inf
// while fewer than m are kept, −Inf when m = 0.
func (h *nearest) bound() float64 {
	switch {
	case h.m == 0:
		return math.Inf(-1)
	case len(h.d) < h.m:
		return math.Inf(1)
	}
	return math.Float64frombits(h.d[h.m-1])
}

// offer inserts (s, j) (s ≥ 0) if fewer than m are kept or it precedes the
// last kept candidate.
func (h *nearest) offer(s float64, j int32) {
	d, js := h.d, h.j
	n := len(d)
	key := math.Float64bits(s)
	// First position whose distance exceeds s (branch-free binary search).
	lo := 0
	if n > 0 {
		for m := n; m > 1; {
			half := m >> 1
			lo += half & -b2i(d[lo+half] <= key) // SETcc, not a branch
			m -= half
		}
		lo += b2i(d[lo] <= key)
	}
	// Equal distances are ordered by index.
	for lo > 0 && d[lo-1] == key && js[lo-1] > j {
		lo--
	}
	if n == h.m {
		if lo == n {
			return
		}
		copy(d[lo+1:], d[lo:n-1])
		copy(js[lo+1:], js[lo:n-1])
	} else {
		d, js = append(d, 0), append(js, 0)
		copy(d[lo+1:], d[lo:n])
		copy(js[lo+1:], js[lo:n])
		h.d, h.j = d, js
	}
	d[lo], js[lo] = key, j
}

// write stores row i of nb: i itself at distance 0, then the kept
// candidates with plain (square-rooted) distances.
func (h *nearest) write(nb *Neighbors, i int) {
	idx, dst := nb.Row(i)
	idx[0], dst[0] = int32(i), 0
	for r, s := range h.d {
		idx[r+1] = h.j[r]
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
