package scib

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/cellbench/cellbench/internal/par"
)

// Graph is an undirected weighted graph in compressed-row form: the
// neighbours of node i are Adj[Ptr[i]:Ptr[i+1]] (ascending, no self loops)
// with weights W[Ptr[i]:Ptr[i+1]] > 0; every edge is stored in both rows.
type Graph struct {
	N   int
	Ptr []int
	Adj []int32
	W   []float64
}

// FuzzyConnectivities returns UMAP's fuzzy simplicial set of a neighbour
// table, as scanpy/scib-metrics compute `connectivities` (umap-learn 0.5
// `smooth_knn_dist` + `compute_membership_strengths` + fuzzy union,
// local_connectivity = 1, set_op_mix_ratio = 1):
//
//	ρ_i = distance to the nearest neighbour at distance > 0;
//	σ_i by bisection (64 steps, tolerance 1e-5) so that
//	Σ_{j ≥ 1} exp(−max(0, d_ij − ρ_i)/σ_i) = log2(K), K counting self,
//	floored at 1e-3 × the mean neighbour distance;
//	a_ij = exp(−(d_ij − ρ_i)/σ_i) (1 when d_ij ≤ ρ_i), 0 for j = i;
//	w_ij = a_ij + a_ji − a_ij·a_ji.
//
// Entries that are exactly 0 (self, or underflow) are dropped, as
// scipy's eliminate_zeros. The union looks each reverse weight up by
// binary search in its (target-sorted) row: O(N·k·log k) time, O(N·k)
// memory. The per-cell σ bisections run on workers goroutines (≤ 0:
// GOMAXPROCS); the result does not depend on workers.
func FuzzyConnectivities(nb *Neighbors, workers int) *Graph {
	return fuzzyUnion(nb.N, fuzzyMemberships(nb, workers))
}

// weightedEdge is a directed edge u → v of weight w.
type weightedEdge struct {
	u, v int32
	w    float64
}

// fuzzyMemberships returns umap's directed membership strengths a_ij of
// FuzzyConnectivities, grouped by source row in table order (self left
// out). Rows are split over workers goroutines (≤ 0: GOMAXPROCS); each
// row is computed alone, so the result does not depend on workers.
func fuzzyMemberships(nb *Neighbors, workers int) []weightedEdge {
	n, k := nb.N, nb.K
	target := math.Log2(float64(k))
	var meanAll float64
	for _, d := range nb.Distances {
		meanAll += d
	}
	meanAll /= float64(len(nb.Distances))
	slots := make([]weightedEdge, n*k) // row i's entries start at i·k
	count := make([]int, n)
	par.Range(n, par.Workers(workers), 256, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			count[i] = fuzzyRow(nb, i, target, meanAll, slots[i*k:(i+1)*k])
		}
	})
	edges := slots[:0]
	for i := 0; i < n; i++ {
		edges = append(edges, slots[i*k:i*k+count[i]]...) // in place: i·k ≥ len(edges)
	}
	return edges
}

// fuzzyRow writes the membership strengths of row i of nb into dst and
// returns how many it wrote (see FuzzyConnectivities).
func fuzzyRow(nb *Neighbors, i int, target, meanAll float64, dst []weightedEdge) int {
	k := nb.K
	w := 0
	idx, dist := nb.Row(i)
	rho := 0.0
	for _, d := range dist {
		if d > 0 {
			rho = d
			break
		}
	}
	lo, hi, mid := 0.0, math.Inf(1), 1.0
	for it := 0; it < 64; it++ {
		psum := 0.0
		for r := 1; r < k; r++ {
			d := dist[r] - rho
			if d > 0 {
				psum += math.Exp(-d / mid)
			} else {
				psum += 1
			}
		}
		if math.Abs(psum-target) < 1e-5 {
			break
		}
		if psum > target {
			hi = mid
			mid = (lo + hi) / 2
		} else {
			lo = mid
			if math.IsInf(hi, 1) {
				mid *= 2
			} else {
				mid = (lo + hi) / 2
			}
		}
	}
	sigma := mid
	if rho > 0 {
		m := 0.0
		for _, d := range dist {
			m += d
		}
		m /= float64(k)
		sigma = math.Max(sigma, 1e-3*m)
	} else {
		sigma = math.Max(sigma, 1e-3*meanAll)
	}
	for r, j := range idx {
		if int(j) == i {
			continue
		}
		var a float64
		if dist[r]-rho <= 0 || sigma == 0 {
			a = 1
		} else {
			a = math.Exp(-(dist[r] - rho) / sigma)
		}
		dst[w] = weightedEdge{int32(i), j, a}
		w++
	}
	return w
}

// fuzzyUnion is the fuzzy union of FuzzyConnectivities over directed
// edges grouped by source row (sorted in place by target within a row).
func fuzzyUnion(n int, edges []weightedEdge) *Graph {
	// Fuzzy union: pair each directed weight with its reverse, found by
	// binary search in the reverse edge's source row (sorted by target).
	rowStart := make([]int, n+1)
	for _, e := range edges {
		rowStart[e.u+1]++
	}
	for i := 0; i < n; i++ {
		rowStart[i+1] += rowStart[i]
	}
	for i := 0; i < n; i++ {
		row := edges[rowStart[i]:rowStart[i+1]]
		sort.Slice(row, func(a, b int) bool { return row[a].v < row[b].v })
	}
	reverse := func(u, v int32) (float64, bool) {
		row := edges[rowStart[u]:rowStart[u+1]]
		p := sort.Search(len(row), func(q int) bool { return row[q].v >= v })
		if p < len(row) && row[p].v == v {
			return row[p].w, true
		}
		return 0, false
	}
	und := make([]weightedEdge, 0, 2*len(edges))
	for _, e := range edges {
		r, mutual := reverse(e.v, e.u)
		p0, p1 := e.w, r // p0: the weight from the lower to the higher node
		if e.u > e.v {
			p0, p1 = r, e.w
		}
		if w := p0 + p1 - p0*p1; w > 0 {
			und = append(und, weightedEdge{e.u, e.v, w})
			if !mutual { // the reverse row will not emit this pair
				und = append(und, weightedEdge{e.v, e.u, w})
			}
		}
	}
	slices.SortFunc(und, func(a, b weightedEdge) int {
		if a.u != b.u {
			return cmp.Compare(a.u, b.u)
		}
		return cmp.Compare(a.v, b.v)
	})
	g := &Graph{N: n, Ptr: make([]int, n+1), Adj: make([]int32, len(und)), W: make([]float64, len(und))}
	for p, e := range und {
		g.Ptr[e.u+1]++
		g.Adj[p] = e.v
		g.W[p] = e.w
	}
	for i := 0; i < n; i++ {
		g.Ptr[i+1] += g.Ptr[i]
	}
	return g
}

// components labels the connected components of the subgraph of g induced
// by the cells in sub (nil = every node); it returns, for each position in
// sub, its component id in [0, count).
func (g *Graph) components(sub []int) ([]int, int) {
	pos := make(map[int32]int, len(sub))
	for p, i := range sub {
		pos[int32(i)] = p
	}
	comp := make([]int, len(sub))
	for p := range comp {
		comp[p] = -1
	}
	count := 0
	stack := []int{}
	for p := range sub {
		if comp[p] >= 0 {
			continue
		}
		comp[p] = count
		stack = append(stack[:0], p)
		for len(stack) > 0 {
			q := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			i := sub[q]
			for _, j := range g.Adj[g.Ptr[i]:g.Ptr[i+1]] {
				if r, ok := pos[j]; ok && comp[r] < 0 {
					comp[r] = count
					stack = append(stack, r)
				}
			}
		}
		count++
	}
	return comp, count
}

// GraphConnectivity is scib-metrics' graph_connectivity (SPEC name
// `graph_connectivity`, higher is better, in (0, 1]): for each label, the
// directed k-NN graph (edge i → j when j is among i's nb.K neighbours)
// restricted to the label's cells is split into strongly connected
// components; the label scores |largest component| / |label|; the result is
// the mean over labels. nb is the 15-NN table.
func GraphConnectivity(nb *Neighbors, labels Codes) float64 {
	var scores []float64
	for _, cells := range labels.members() {
		scores = append(scores, largestSCCFraction(nb, cells))
	}
	return mean(scores)
}

// largestSCCFraction runs Tarjan's algorithm (iteratively) on the k-NN
// subgraph induced by cells.
func largestSCCFraction(nb *Neighbors, cells []int) float64 {
	m := len(cells)
	pos := make(map[int32]int32, m)
	for p, i := range cells {
		pos[int32(i)] = int32(p)
	}
	// Local adjacency.
	adj := make([][]int32, m)
	for p, i := range cells {
		idx, _ := nb.Row(i)
		for _, j := range idx {
			if q, ok := pos[j]; ok && int(q) != p {
				adj[p] = append(adj[p], q)
			}
		}
	}
	index := make([]int32, m)
	low := make([]int32, m)
	onStack := make([]bool, m)
	for p := range index {
		index[p] = -1
	}
	var stack []int32
	type frame struct{ v, e int32 }
	var call []frame
	next := int32(0)
	largest := 0
	for s := 0; s < m; s++ {
		if index[s] >= 0 {
			continue
		}
		call = append(call[:0], frame{int32(s), 0})
		index[s], low[s] = next, next
		next++
		stack = append(stack, int32(s))
		onStack[s] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if int(f.e) < len(adj[v]) {
				w := adj[v][f.e]
				f.e++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[v] = min(low[v], index[w])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				low[u] = min(low[u], low[v])
			}
			if low[v] == index[v] {
				size := 0
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					size++
					if w == v {
						break
					}
				}
				largest = max(largest, size)
			}
		}
	}
	return float64(largest) / float64(m)
}
