package scib

import (
	"fmt"
	"math"
	"slices"

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
		heaps := make([]candHeap, workers)
		stacks := make([][]kdItem, workers)
		// Queries in tree order: consecutive queries are neighbours, which
		// keeps the visited leaves in cache.
		parallelRange(n, workers, 64, func(w, lo, hi int) {
			for pos := lo; pos < hi; pos++ {
				i := int(t.perm[pos])
				t.knn(i, k, &heaps[w], &stacks[w])
				idx, dst := nb.Row(i)
				for r, c := range heaps[w] {
					idx[r] = int32(c.j)
					dst[r] = math.Sqrt(c.d)
				}
			}
		})
		return nb
	}
	return bruteKNN(x, nb, k, workers)
}

// bruteKNN fills nb by scanning all rows for every query.
func bruteKNN(x *data.Dense, nb *Neighbors, k, workers int) *Neighbors {
	n, d := x.Rows, x.Cols
	dist := make([][]float64, workers)
	heaps := make([]*candHeap, workers)
	for w := range dist {
		dist[w] = make([]float64, n)
		heaps[w] = &candHeap{}
	}
	_ = d
	parallelRange(n, workers, 64, func(w, lo, hi int) {
		dw := dist[w]
		h := heaps[w]
		for i := lo; i < hi; i++ {
			squaredDistancesTo(x, i, dw, d)
			selectNearest(dw, i, k, h)
			idx, dst := nb.Row(i)
			for r, c := range *h {
				idx[r] = int32(c.j)
				dst[r] = math.Sqrt(c.d)
			}
		}
	})
	return nb
}

// squaredDistancesTo fills dst[j] = ‖x_i − x_j‖² for every row j.
func squaredDistancesTo(x *data.Dense, i int, dst []float64, d int) {
	xi := x.Data[i*d : (i+1)*d]
	for j := range dst {
		xj := x.Data[j*d : (j+1)*d]
		var s float64
		for c, v := range xi {
			t := v - xj[c]
			s += t * t
		}
		dst[j] = s
	}
}

// cand is a neighbour candidate: squared distance and index.
type cand struct {
	d float64
	j int
}

// candHeap is a max-heap on (distance, index): the worst kept candidate is
// on top, so a new candidate replaces it when strictly better. It is
// specialised (no container/heap) because it sits in the kNN inner loop.
type candHeap []cand

func worse(a, b cand) bool { return a.d > b.d || (a.d == b.d && a.j > b.j) }

// offer adds c if fewer than m candidates are kept or c beats the worst.
func (h *candHeap) offer(c cand, m int) {
	s := *h
	if len(s) < m {
		s = append(s, c)
		for i := len(s) - 1; i > 0; {
			p := (i - 1) / 2
			if !worse(s[i], s[p]) {
				break
			}
			s[i], s[p] = s[p], s[i]
			i = p
		}
		*h = s
		return
	}
	if !worse(s[0], c) {
		return
	}
	s[0] = c
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && worse(s[r], s[l]) {
			m = r
		}
		if !worse(s[m], s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}

// finish sorts the kept candidates by (distance, index) and puts self first.
func (h *candHeap) finish(self int) {
	slices.SortFunc(*h, func(a, b cand) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	*h = append(*h, cand{})
	copy((*h)[1:], (*h)[:len(*h)-1])
	(*h)[0] = cand{0, self}
}

// selectNearest leaves in *h the row's own index followed by its k−1
// nearest other rows in increasing (squared distance, index) order.
func selectNearest(dist []float64, self, k int, h *candHeap) {
	*h = (*h)[:0]
	if k > 1 {
		for j, v := range dist {
			if j != self {
				h.offer(cand{v, j}, k-1)
			}
		}
	}
	h.finish(self)
}
