package scib

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// Louvain partitions g by the Louvain method (Blondel et al. 2008, J. Stat.
// Mech. P10008) maximising the modularity with resolution γ
// (Reichardt–Bornholdt), the objective gonum's community.Modularize uses:
//
//	Q = 1/2m Σ_ij [A_ij − γ k_i k_j / 2m] δ(c_i, c_j).
//
// Each level visits the nodes in a random order (PCG(seed, seed)), moves
// each to the neighbouring community with the largest positive gain
// k_{i,C} − γ k_i Σ_C / 2m (staying wins ties, then the lower community
// id), repeats until a pass moves nothing, then aggregates communities into
// nodes; it stops when a level moves nothing. Communities are numbered by
// their smallest member. Deterministic for a given (g, resolution, seed).
// Storage is compressed rows throughout (O(edges) memory).
func Louvain(g *Graph, resolution float64, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, seed))
	n := g.N
	// Current level graph (symmetric, self-loop weights separate).
	ptr, adj, w := g.Ptr, g.Adj, g.W
	self := make([]float64, n)
	member := make([]int, n) // original node → current-level node
	for i := range member {
		member[i] = i
	}
	var twoM float64
	for _, v := range w {
		twoM += v
	}
	if twoM == 0 {
		return canonical(member)
	}
	for {
		nn := len(self)
		k := make([]float64, nn)
		for i := 0; i < nn; i++ {
			k[i] = 2 * self[i]
			for p := ptr[i]; p < ptr[i+1]; p++ {
				k[i] += w[p]
			}
		}
		comm := make([]int, nn)
		tot := make([]float64, nn)
		for i := range comm {
			comm[i] = i
			tot[i] = k[i]
		}
		order := rng.Perm(nn)
		toComm := make([]float64, nn)
		touched := make([]int, 0, 64)
		movedLevel := false
		for {
			moved := 0
			for _, i := range order {
				ci := comm[i]
				// Weights from i to each neighbouring community.
				touched = touched[:0]
				for p := ptr[i]; p < ptr[i+1]; p++ {
					c := comm[adj[p]]
					if toComm[c] == 0 {
						touched = append(touched, c)
					}
					toComm[c] += w[p]
				}
				tot[ci] -= k[i]
				bestC := ci
				bestGain := toComm[ci] - resolution*k[i]*tot[ci]/twoM
				for _, c := range touched {
					if c == ci {
						continue
					}
					gain := toComm[c] - resolution*k[i]*tot[c]/twoM
					if gain > bestGain || (gain == bestGain && bestC != ci && c < bestC) {
						bestC, bestGain = c, gain
					}
				}
				tot[bestC] += k[i]
				if bestC != ci {
					comm[i] = bestC
					moved++
				}
				for _, c := range touched {
					toComm[c] = 0
				}
			}
			if moved == 0 {
				break
			}
			movedLevel = true
		}
		if !movedLevel {
			break
		}
		// Renumber communities 0..c−1 by first appearance in node order.
		renum := make([]int, nn)
		for i := range renum {
			renum[i] = -1
		}
		nc := 0
		for i := 0; i < nn; i++ {
			if renum[comm[i]] < 0 {
				renum[comm[i]] = nc
				nc++
			}
		}
		for i := range member {
			member[i] = renum[comm[member[i]]]
		}
		// Aggregate.
		newSelf := make([]float64, nc)
		type e struct {
			u, v int32
			w    float64
		}
		var edges []e
		for i := 0; i < nn; i++ {
			ci := renum[comm[i]]
			newSelf[ci] += self[i]
			for p := ptr[i]; p < ptr[i+1]; p++ {
				cj := renum[comm[adj[p]]]
				if ci == cj {
					newSelf[ci] += w[p] / 2 // each internal edge is seen from both ends
				} else {
					edges = append(edges, e{int32(ci), int32(cj), w[p]})
				}
			}
		}
		// slices.SortFunc runs the same pdqsort as sort.Slice (both are
		// generated from one template, so the order — ties included — is
		// the same), without reflection.
		slices.SortFunc(edges, func(a, b e) int {
			if a.u != b.u {
				return cmp.Compare(a.u, b.u)
			}
			return cmp.Compare(a.v, b.v)
		})
		nptr := make([]int, nc+1)
		nadj := make([]int32, 0, len(edges))
		nw := make([]float64, 0, len(edges))
		for p := 0; p < len(edges); {
			q := p
			s := 0.0
			for q < len(edges) && edges[q].u == edges[p].u && edges[q].v == edges[p].v {
				s += edges[q].w
				q++
			}
			nadj = append(nadj, edges[p].v)
			nw = append(nw, s)
			nptr[edges[p].u+1]++
			p = q
		}
		for c := 0; c < nc; c++ {
			nptr[c+1] += nptr[c]
		}
		ptr, adj, w, self = nptr, nadj, nw, newSelf
		if nc == nn {
			break
		}
	}
	return canonical(member)
}

// canonical renumbers a partition so that communities are numbered in the
// order of their smallest member.
func canonical(part []int) []int {
	m := map[int]int{}
	out := make([]int, len(part))
	for i, c := range part {
		v, ok := m[c]
		if !ok {
			v = len(m)
			m[c] = v
		}
		out[i] = v
	}
	return out
}

// Modularity returns Q of the partition part of g at the given resolution
// (the formula in Louvain's doc comment).
func Modularity(g *Graph, part []int, resolution float64) float64 {
	var twoM float64
	nc := 0
	for _, c := range part {
		nc = max(nc, c+1)
	}
	tot := make([]float64, nc)
	var in float64
	for i := 0; i < g.N; i++ {
		for p := g.Ptr[i]; p < g.Ptr[i+1]; p++ {
			twoM += g.W[p]
			tot[part[i]] += g.W[p]
			if part[g.Adj[p]] == part[i] {
				in += g.W[p]
			}
		}
	}
	if twoM == 0 {
		return 0
	}
	var exp float64
	for _, t := range tot {
		exp += t * t
	}
	return in/twoM - resolution*exp/(twoM*twoM)
}
