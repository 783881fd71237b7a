package scib

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/par"
)

// KMeansResult is the outcome of KMeans.
type KMeansResult struct {
	Labels  []int       // cluster of each cell, in [0, k)
	Centers [][]float64 // k × D
	Inertia float64     // Σ_i ‖x_i − center(label_i)‖²
	Iter    int         // Lloyd iterations run
}

// KMeansPlusPlusInit picks k initial centres by greedy k-means++ as sklearn
// 1.2 `_kmeans_plusplus` does: the first centre uniformly at random; each
// next one the best (lowest total potential) of 2 + ⌊ln k⌋ candidates drawn
// with probability ∝ squared distance to the nearest chosen centre. Random
// numbers come from rng (PCG-seeded by the caller). It panics if k is not in
// [1, N].
func KMeansPlusPlusInit(x *data.Dense, k int, rng *rand.Rand) [][]float64 {
	n, d := x.Rows, x.Cols
	if k < 1 || k > n {
		panic(fmt.Sprintf("scib: KMeansPlusPlusInit: k = %d with %d cells", k, n))
	}
	trials := 2 + int(math.Log(float64(k)))
	centers := make([][]float64, 0, k)
	first := rng.IntN(n)
	centers = append(centers, append([]float64(nil), x.Row(first)...))
	cols := newDimsMajor[int](x, nil) // vector distance kernel, same values as sqDist
	closest := make([]float64, n)
	sqDists(centers[0], cols, 0, n, closest)
	pot := 0.0
	for _, v := range closest {
		pot += v
	}
	cum := make([]float64, n)
	cand := make([]float64, n)
	best := make([]float64, n)
	for len(centers) < k {
		s := 0.0
		for i, v := range closest {
			s += v
			cum[i] = s
		}
		bestPot, bestID := math.Inf(1), -1
		for t := 0; t < trials; t++ {
			r := rng.Float64() * pot
			id := sort.SearchFloat64s(cum, r) // first index with cum ≥ r (numpy searchsorted 'left')
			if id >= n {
				id = n - 1
			}
			cp := 0.0
			sqDists(x.Row(id), cols, 0, n, cand)
			for i, v := range cand {
				if closest[i] < v { // min(closest, v); all values ≥ 0, no NaN
					v = closest[i]
				}
				cand[i] = v
				cp += v
			}
			if cp < bestPot {
				bestPot, bestID = cp, id
				copy(best, cand)
			}
		}
		pot = bestPot
		copy(closest, best)
		centers = append(centers, append([]float64(nil), x.Row(bestID)...))
	}
	_ = d
	return centers
}

// KMeans runs Lloyd's algorithm from the given initial centres, as sklearn
// 1.2 KMeans(algorithm="lloyd", n_init=1): each iteration assigns every cell
// to its nearest centre (ties to the lower index) and moves each centre to
// the mean of its cells; it stops when the assignment no longer changes, or
// when the total squared centre shift is ≤ tol·mean_d(var(x_d)), or after
// maxIter iterations; unless the assignment converged strictly, cells are
// finally reassigned to the final centres. An empty cluster is relocated to
// the cell farthest from its centre (sklearn's `_relocate_empty_clusters`).
// The assignment step runs on workers goroutines, blocks of 512 cells
// against one centre at a time with the vector distance kernel
// (distkernel.go; the same squared distances as the scalar loop).
func KMeans(x *data.Dense, init [][]float64, maxIter int, tol float64, workers int) KMeansResult {
	n, d := x.Rows, x.Cols
	k := len(init)
	centers := make([][]float64, k)
	for c := range init {
		centers[c] = append([]float64(nil), init[c]...)
	}
	tolAbs := tol * meanColumnVariance(x)
	labels := make([]int, n)
	old := make([]int, n)
	for i := range old {
		old[i] = -1
	}
	workers = par.Workers(workers)
	// Assignment: blocks of cells against one centre at a time with the
	// vector distance kernel (same squared distances as sqDist).
	const block = 512
	cols := newDimsMajor[int](x, nil)
	best := make([][]float64, workers)
	dist := make([][]float64, workers)
	arg := make([][]int64, workers)
	for w := range best {
		best[w], dist[w], arg[w] = make([]float64, block), make([]float64, block), make([]int64, block)
	}
	assign := func() {
		par.Range(n, workers, block, func(w, lo, hi int) {
			bd, dd, ad := best[w][:hi-lo], dist[w][:hi-lo], arg[w][:hi-lo]
			for p := range bd {
				bd[p], ad[p] = math.Inf(1), 0
			}
			for c, ce := range centers {
				sqDists(ce, cols, lo, hi, dd)
				minUpdate(dd, bd, ad, int64(c)) // ties keep the lower centre index
			}
			for p, a := range ad {
				labels[lo+p] = int(a)
			}
		})
	}
	newC := make([][]float64, k)
	for c := range newC {
		newC[c] = make([]float64, d)
	}
	counts := make([]int, k)
	strict := false
	it := 0
	for it = 1; it <= maxIter; it++ {
		assign()
		for c := range newC {
			clear(newC[c])
			counts[c] = 0
		}
		for i, l := range labels {
			counts[l]++
			for j, v := range x.Row(i) {
				newC[l][j] += v
			}
		}
		relocateEmpty(x, labels, centers, newC, counts)
		shift := 0.0
		for c := range newC {
			if counts[c] > 0 {
				for j := range newC[c] {
					newC[c][j] /= float64(counts[c])
				}
			}
			shift += sqDist(newC[c], centers[c])
			copy(centers[c], newC[c])
		}
		same := true
		for i := range labels {
			if labels[i] != old[i] {
				same = false
				break
			}
		}
		if same {
			strict = true
			break
		}
		if shift <= tolAbs {
			break
		}
		copy(old, labels)
	}
	if it > maxIter {
		it = maxIter
	}
	if !strict {
		assign()
	}
	inertia := 0.0
	for i, l := range labels {
		inertia += sqDist(x.Row(i), centers[l])
	}
	return KMeansResult{Labels: labels, Centers: centers, Inertia: inertia, Iter: it}
}

// relocateEmpty moves each empty cluster onto the cell farthest from its
// assigned centre (largest distances first), taking that cell out of its
// old cluster's sums, as sklearn's `_relocate_empty_clusters_dense`.
func relocateEmpty(x *data.Dense, labels []int, centers, sums [][]float64, counts []int) {
	var empty []int
	for c, n := range counts {
		if n == 0 {
			empty = append(empty, c)
		}
	}
	if len(empty) == 0 {
		return
	}
	type far struct {
		d float64
		i int
	}
	fs := make([]far, len(labels))
	for i, l := range labels {
		fs[i] = far{sqDist(x.Row(i), centers[l]), i}
	}
	sort.SliceStable(fs, func(a, b int) bool { return fs[a].d > fs[b].d })
	for k, c := range empty {
		i := fs[k].i
		old := labels[i]
		for j, v := range x.Row(i) {
			sums[old][j] -= v
			sums[c][j] = v
		}
		counts[old]--
		counts[c] = 1
	}
}

func meanColumnVariance(x *data.Dense) float64 {
	n, d := x.Rows, x.Cols
	if n == 0 || d == 0 {
		return 0
	}
	total := 0.0
	for j := 0; j < d; j++ {
		var m float64
		for i := 0; i < n; i++ {
			m += x.Data[i*d+j]
		}
		m /= float64(n)
		var v float64
		for i := 0; i < n; i++ {
			t := x.Data[i*d+j] - m
			v += t * t
		}
		total += v / float64(n)
	}
	return total / float64(d)
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		t := v - b[i]
		s += t * t
	}
	return s
}
