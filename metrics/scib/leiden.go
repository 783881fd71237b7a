package scib

import (
	"math"
	"math/rand/v2"
	"sort"
)

// leidenBeta is the randomness of Leiden's refinement (igraph's default
// beta = 0.01), halved because scib-metrics gives igraph every edge twice
// (Weighted_Adjacency(mode="directed") then to_undirected(mode="each")),
// which doubles every modularity difference that exp(diff/β) sees.
const leidenBeta = 0.01 / 2

// leidenIterations is igraph's community_leiden n_iterations default.
const leidenIterations = 2

// Leiden partitions g by the Leiden algorithm (Traag, Waltman & van Eck
// 2019, Sci. Rep. 9:5233) maximising modularity with resolution γ, the
// objective of Louvain's doc comment, as scib-metrics 0.6 calls it
// (metrics/_nmi_ari.py _compute_clustering_leiden: python-igraph
// community_leiden(objective_function="modularity", weights, resolution),
// defaults beta = 0.01, n_iterations = 2). It follows igraph's
// implementation (src/community/leiden.c): each level moves nodes with a
// queue ("fast local moving": nodes in random order, each to the
// neighbouring or empty community of largest strictly positive gain, the
// neighbours of a moved node re-queued), refines every community from
// singletons (a singleton node that is well connected to its community
// joins a well-connected sub-community with probability ∝ exp(gain/β)
// among gains ≥ 0), aggregates by the refined partition starting from the
// unrefined one, and stops when every aggregate node is its own
// community (a level whose refinement merges nothing is aggregated by the
// unrefined partition, as igraph does); the whole is run twice, the second time from the first
// result. Random numbers come from PCG(seed, seed), not igraph's RNG, so
// partitions differ from scib-metrics' run for run; every community is
// connected (Leiden's guarantee). Communities are numbered by their
// smallest member. O(edges) memory.
func Leiden(g *Graph, resolution float64, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, seed))
	n := g.N
	var total float64
	for _, w := range g.W {
		total += w
	}
	part := make([]int, n)
	for i := range part {
		part[i] = i
	}
	if total == 0 {
		return part
	}
	for it := 0; it < leidenIterations; it++ {
		part = leidenRun(g, part, resolution/total, rng)
	}
	return canonical(part)
}

// levelGraph is one aggregation level of Leiden: a graph without self
// loops, with node weights (the degrees of the original nodes it holds).
type levelGraph struct {
	n   int
	ptr []int
	adj []int32
	w   []float64
	nw  []float64
}

// leidenRun is one Leiden run from the partition start of g's nodes; gamma
// is the resolution divided by 2m (igraph's CPM form of modularity).
func leidenRun(g *Graph, start []int, gamma float64, rng *rand.Rand) []int {
	lg := &levelGraph{n: g.N, ptr: g.Ptr, adj: g.Adj, w: g.W, nw: make([]float64, g.N)}
	for i := 0; i < g.N; i++ {
		for p := g.Ptr[i]; p < g.Ptr[i+1]; p++ {
			lg.nw[i] += g.W[p]
		}
	}
	memb := append([]int(nil), start...)
	toLevel := make([]int, g.N) // original node → node of the current level
	for i := range toLevel {
		toLevel[i] = i
	}
	for {
		leidenMove(lg, memb, gamma, rng)
		nc := renumber(memb)
		if nc == lg.n {
			break
		}
		refined := leidenRefine(lg, memb, gamma, rng)
		nr := renumber(refined)
		if nr == lg.n {
			// The refinement merged nothing: aggregate by the unrefined
			// partition instead (as igraph does), so each level shrinks.
			copy(refined, memb)
			nr = nc
		}
		next, nextMemb := leidenAggregate(lg, refined, nr, memb)
		for i := range toLevel {
			toLevel[i] = refined[toLevel[i]]
		}
		lg, memb = next, nextMemb
	}
	out := make([]int, g.N)
	for i, v := range toLevel {
		out[i] = memb[v]
	}
	return out
}

// renumber renumbers part in place as canonical does (0 … c−1 in order of
// first appearance) and returns the number of communities c.
func renumber(part []int) int {
	copy(part, canonical(part))
	c := 0
	for _, v := range part {
		c = max(c, v+1)
	}
	return c
}

// leidenMove is igraph's fast local moving of the nodes of lg, updating
// memb (community ids in [0, n)) in place.
func leidenMove(lg *levelGraph, memb []int, gamma float64, rng *rand.Rand) {
	n := lg.n
	cw := make([]float64, n) // community weights
	count := make([]int, n)
	for i, c := range memb {
		cw[c] += lg.nw[i]
		count[c]++
	}
	var empty []int
	for c := n - 1; c >= 0; c-- {
		if count[c] == 0 {
			empty = append(empty, c)
		}
	}
	// Queue of unstable nodes (ring buffer; a node is queued at most once).
	queue := make([]int, n)
	for p, i := range rng.Perm(n) {
		queue[p] = i
	}
	head, size := 0, n
	stable := make([]bool, n)
	toComm := make([]float64, n)
	seen := make([]bool, n)
	var touched []int
	for size > 0 {
		v := queue[head]
		head = (head + 1) % n
		size--
		cur := memb[v]
		cw[cur] -= lg.nw[v]
		count[cur]--
		if count[cur] == 0 {
			empty = append(empty, cur)
		}
		// Candidate communities: an empty one first, then the neighbours'.
		touched = append(touched[:0], empty[len(empty)-1])
		seen[touched[0]] = true
		for p := lg.ptr[v]; p < lg.ptr[v+1]; p++ {
			c := memb[lg.adj[p]]
			if !seen[c] {
				seen[c] = true
				touched = append(touched, c)
			}
			toComm[c] += lg.w[p]
		}
		best := cur
		bestDiff := toComm[cur] - lg.nw[v]*cw[cur]*gamma
		for _, c := range touched {
			if d := toComm[c] - lg.nw[v]*cw[c]*gamma; d > bestDiff {
				best, bestDiff = c, d
			}
		}
		for _, c := range touched {
			toComm[c], seen[c] = 0, false
		}
		toComm[cur] = 0
		cw[best] += lg.nw[v]
		count[best]++
		if count[best] == 1 { // it was the empty community on top
			empty = empty[:len(empty)-1]
		}
		stable[v] = true
		if best != cur {
			memb[v] = best
			for p := lg.ptr[v]; p < lg.ptr[v+1]; p++ {
				u := int(lg.adj[p])
				if stable[u] && memb[u] != best {
					stable[u] = false
					queue[(head+size)%n] = u
					size++
				}
			}
		}
	}
}

// leidenRefine is igraph's refinement (mergenodes) of each community of
// memb: it returns the refined partition (ids in [0, n)).
func leidenRefine(lg *levelGraph, memb []int, gamma float64, rng *rand.Rand) []int {
	n := lg.n
	refined := make([]int, n)
	cw := make([]float64, n)  // refined community weights
	ext := make([]float64, n) // weight from a refined community to the rest of its community
	nonSingleton := make([]bool, n)
	commTotal := map[int]float64{}
	members := map[int][]int{}
	for v := 0; v < n; v++ {
		refined[v] = v
		cw[v] = lg.nw[v]
		for p := lg.ptr[v]; p < lg.ptr[v+1]; p++ {
			if memb[lg.adj[p]] == memb[v] {
				ext[v] += lg.w[p]
			}
		}
		commTotal[memb[v]] += lg.nw[v]
		members[memb[v]] = append(members[memb[v]], v)
	}
	comms := make([]int, 0, len(members))
	for c := range members {
		comms = append(comms, c)
	}
	sort.Ints(comms)
	toComm := make([]float64, n)
	seen := make([]bool, n)
	var touched []int
	var cum []float64
	for _, c := range comms {
		nodes := members[c]
		total := commTotal[c]
		order := rng.Perm(len(nodes))
		wellConnected := func(r int) bool { return ext[r] >= cw[r]*(total-cw[r])*gamma }
		for _, o := range order {
			v := nodes[o]
			r0 := refined[v]
			if nonSingleton[r0] || !wellConnected(r0) {
				continue
			}
			cw[r0], ext[r0] = 0, 0
			touched = append(touched[:0], r0)
			seen[r0] = true
			for p := lg.ptr[v]; p < lg.ptr[v+1]; p++ {
				u := lg.adj[p]
				if memb[u] != c {
					continue
				}
				r := refined[u]
				if !seen[r] {
					seen[r] = true
					touched = append(touched, r)
				}
				toComm[r] += lg.w[p]
			}
			maxDiff, maxR := 0.0, r0
			var sum float64
			cum = cum[:0]
			for _, r := range touched {
				if wellConnected(r) {
					d := toComm[r] - lg.nw[v]*cw[r]*gamma
					if d > maxDiff {
						maxDiff, maxR = d, r
					}
					if d >= 0 {
						sum += math.Exp(d / leidenBeta)
					}
				}
				cum = append(cum, sum)
			}
			chosen := maxR
			if !math.IsInf(sum, 1) {
				x := rng.Float64() * sum
				chosen = touched[sort.SearchFloat64s(cum, x)]
			}
			for _, r := range touched {
				toComm[r], seen[r] = 0, false
			}
			cw[chosen] += lg.nw[v]
			for p := lg.ptr[v]; p < lg.ptr[v+1]; p++ {
				u := lg.adj[p]
				if memb[u] != c {
					continue
				}
				if refined[u] == chosen {
					ext[chosen] -= lg.w[p]
				} else {
					ext[chosen] += lg.w[p]
				}
			}
			if chosen != r0 {
				refined[v] = chosen
				nonSingleton[chosen] = true
			}
		}
	}
	return refined
}

// leidenAggregate collapses lg by the refined partition (ids 0 … nr−1): node
// weights and edge weights are summed, edges inside a refined community
// dropped; the aggregate node's community is the unrefined community memb
// of its members. Each aggregate row lists its neighbours in order of
// first appearance (nodes of lg in order, their edges in order): a fixed
// order, so runs are reproducible, found in O(edges) without sorting.
func leidenAggregate(lg *levelGraph, refined []int, nr int, memb []int) (*levelGraph, []int) {
	next := &levelGraph{n: nr, ptr: make([]int, nr+1), nw: make([]float64, nr)}
	nextMemb := make([]int, nr)
	// Bucket lg's nodes by refined community, keeping node order.
	start := make([]int, nr+1)
	for v := 0; v < lg.n; v++ {
		start[refined[v]+1]++
	}
	for r := 0; r < nr; r++ {
		start[r+1] += start[r]
	}
	nodes := make([]int, lg.n)
	fill := append([]int(nil), start[:nr]...)
	for v := 0; v < lg.n; v++ {
		r := refined[v]
		nodes[fill[r]] = v
		fill[r]++
		next.nw[r] += lg.nw[v]
		nextMemb[r] = memb[v]
	}
	acc := make([]float64, nr)
	seen := make([]bool, nr)
	var touched []int
	for r := 0; r < nr; r++ {
		touched = touched[:0]
		for _, v := range nodes[start[r]:start[r+1]] {
			for p := lg.ptr[v]; p < lg.ptr[v+1]; p++ {
				s := refined[lg.adj[p]]
				if s == r {
					continue
				}
				if !seen[s] {
					seen[s] = true
					touched = append(touched, s)
				}
				acc[s] += lg.w[p]
			}
		}
		for _, s := range touched {
			next.adj = append(next.adj, int32(s))
			next.w = append(next.w, acc[s])
			acc[s], seen[s] = 0, false
		}
		next.ptr[r+1] = len(next.adj)
	}
	return next, nextMemb
}
