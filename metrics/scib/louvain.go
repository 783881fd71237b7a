package scib

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/cellbench/cellbench/internal/par"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/community"
	"gonum.org/v1/gonum/graph/iterator"
	"gonum.org/v1/gonum/graph/simple"
)

// LouvainGonum partitions g by gonum's Louvain modularity optimisation
// (graph/community.Modularize, Reichardt–Bornholdt resolution γ) with a
// PCG(seed, seed) random source, and returns the community of every node.
// It is the reference for Louvain (same objective); it is ~50× slower on a
// 10,000-cell 15-NN graph because gonum stores edge weights in maps.
// Communities are numbered by their smallest member, so the labelling does
// not depend on gonum's internal order. The adapter below iterates nodes
// and neighbours in ascending order, so the result is deterministic for a
// given (g, resolution, seed).
func LouvainGonum(g *Graph, resolution float64, seed uint64) []int {
	src := rand.NewPCG(seed, seed)
	red := community.Modularize(csrGraph{g}, resolution, src)
	comms := red.Communities()
	type cm struct {
		minID int64
		nodes []graph.Node
	}
	list := make([]cm, len(comms))
	for c, nodes := range comms {
		m := int64(math.MaxInt64)
		for _, nd := range nodes {
			m = min(m, nd.ID())
		}
		list[c] = cm{m, nodes}
	}
	sort.Slice(list, func(a, b int) bool { return list[a].minID < list[b].minID })
	out := make([]int, g.N)
	for c, l := range list {
		for _, nd := range l.nodes {
			out[nd.ID()] = c
		}
	}
	return out
}

// LouvainSweep is the SPEC `nmi_louvain` / `ari_louvain` procedure (scib's
// opt_louvain): Louvain on g at each resolution, NMI against the labels;
// it returns the best NMI, the ARI of that clustering and its resolution
// (the first resolution wins ties). Resolutions run on workers goroutines.
// useGonum selects LouvainGonum instead of Louvain.
func LouvainSweep(g *Graph, labels Codes, resolutions []float64, seed uint64, workers int, useGonum bool) (nmi, ari, best float64) {
	run := Louvain
	if useGonum {
		run = LouvainGonum
	}
	return clusterSweep(g, labels, resolutions, seed, workers, run)
}

// LeidenSweep is scib-metrics 0.6 nmi_ari_cluster_labels_leiden with
// optimize_resolution=True (metrics/_nmi_ari.py; SPEC-style names
// `nmi_leiden` / `ari_leiden`): Leiden on g (the fuzzy 15-NN
// connectivities) at each resolution (LeidenResolutions: 0.2, 0.4, …,
// 2.0), NMI (arithmetic) against the labels; it returns the best NMI, the
// ARI of that clustering (numpy argmax: the first resolution wins ties)
// and its resolution. Resolutions run on workers goroutines.
func LeidenSweep(g *Graph, labels Codes, resolutions []float64, seed uint64, workers int) (nmi, ari, best float64) {
	return clusterSweep(g, labels, resolutions, seed, workers, Leiden)
}

// clusterSweep runs cluster(g, resolution, seed) at each resolution and
// returns the best NMI against labels, the ARI of that clustering and its
// resolution (first wins ties).
func clusterSweep(g *Graph, labels Codes, resolutions []float64, seed uint64, workers int, cluster func(*Graph, float64, uint64) []int) (nmi, ari, best float64) {
	type res struct{ nmi, ari float64 }
	out := make([]res, len(resolutions))
	par.Range(len(resolutions), par.Workers(workers), 1, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			cl := encodeInts(cluster(g, resolutions[r], seed))
			out[r] = res{NMI(labels, cl), ARI(labels, cl)}
		}
	})
	nmi, ari, best = math.Inf(-1), math.NaN(), math.NaN()
	for r, v := range out {
		if v.nmi > nmi {
			nmi, ari, best = v.nmi, v.ari, resolutions[r]
		}
	}
	return nmi, ari, best
}

// DefaultResolutions is 0.1, 0.2, …, 2.0 (scib's opt_louvain grid).
func DefaultResolutions() []float64 {
	out := make([]float64, 20)
	for i := range out {
		out[i] = float64(i+1) / 10
	}
	return out
}

// LeidenResolutions is 0.2, 0.4, …, 2.0 (scib-metrics' grid: 2·x/10 for
// x = 1 … 10).
func LeidenResolutions() []float64 {
	out := make([]float64, 10)
	for i := range out {
		out[i] = 2 * float64(i+1) / 10
	}
	return out
}

// csrGraph adapts Graph to gonum's graph.WeightedUndirected with ascending
// node and neighbour iteration (gonum's simple graphs iterate maps, which
// would make Louvain depend on map order).
type csrGraph struct{ g *Graph }

func (c csrGraph) Node(id int64) graph.Node {
	if id < 0 || id >= int64(c.g.N) {
		return nil
	}
	return simple.Node(id)
}

func (c csrGraph) Nodes() graph.Nodes {
	ns := make([]graph.Node, c.g.N)
	for i := range ns {
		ns[i] = simple.Node(i)
	}
	return iterator.NewOrderedNodes(ns)
}

func (c csrGraph) From(id int64) graph.Nodes {
	if id < 0 || id >= int64(c.g.N) {
		return graph.Empty
	}
	adj := c.g.Adj[c.g.Ptr[id]:c.g.Ptr[id+1]]
	if len(adj) == 0 {
		return graph.Empty
	}
	ns := make([]graph.Node, len(adj))
	for k, j := range adj {
		ns[k] = simple.Node(j)
	}
	return iterator.NewOrderedNodes(ns)
}

func (c csrGraph) find(x, y int64) (float64, bool) {
	if x < 0 || y < 0 || x >= int64(c.g.N) || y >= int64(c.g.N) {
		return 0, false
	}
	adj := c.g.Adj[c.g.Ptr[x]:c.g.Ptr[x+1]]
	k := sort.Search(len(adj), func(k int) bool { return int64(adj[k]) >= y })
	if k < len(adj) && int64(adj[k]) == y {
		return c.g.W[c.g.Ptr[x]+k], true
	}
	return 0, false
}

func (c csrGraph) HasEdgeBetween(x, y int64) bool { _, ok := c.find(x, y); return ok }

func (c csrGraph) Edge(u, v int64) graph.Edge { return c.WeightedEdgeBetween(u, v) }

func (c csrGraph) EdgeBetween(x, y int64) graph.Edge { return c.WeightedEdgeBetween(x, y) }

func (c csrGraph) WeightedEdge(u, v int64) graph.WeightedEdge { return c.WeightedEdgeBetween(u, v) }

func (c csrGraph) WeightedEdgeBetween(x, y int64) graph.WeightedEdge {
	w, ok := c.find(x, y)
	if !ok {
		return nil
	}
	return simple.WeightedEdge{F: simple.Node(x), T: simple.Node(y), W: w}
}

// Weight returns the weight of edge x–y; a node's self weight is 0.
func (c csrGraph) Weight(x, y int64) (float64, bool) {
	if x == y && x >= 0 && x < int64(c.g.N) {
		return 0, true
	}
	return c.find(x, y)
}
