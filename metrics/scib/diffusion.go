package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
	"gonum.org/v1/gonum/mat"
)

// diffusionEps is scib-metrics' _EPS, added to the eigenvalues (in float32)
// before the multiscale scaling.
const diffusionEps = 1e-8

// induced returns the subgraph of g induced by cells (ascending node ids),
// renumbered 0 … len(cells)−1 in that order.
func (g *Graph) induced(cells []int) *Graph {
	pos := make(map[int32]int32, len(cells))
	for p, i := range cells {
		pos[int32(i)] = int32(p)
	}
	s := &Graph{N: len(cells), Ptr: make([]int, len(cells)+1)}
	for p, i := range cells {
		for q := g.Ptr[i]; q < g.Ptr[i+1]; q++ {
			if r, ok := pos[g.Adj[q]]; ok {
				s.Adj = append(s.Adj, r)
				s.W = append(s.W, g.W[q])
			}
		}
		s.Ptr[p+1] = len(s.Adj)
	}
	return s
}

// diffusionTransitions returns scanpy's symmetric diffusion transition
// matrix of the connectivities g (scib-metrics utils/_diffusion_nn.py
// _compute_transitions, density_normalize=True; Coifman et al. 2005):
//
//	q_i = Σ_j W_ij,  K_ij = W_ij / (q_i q_j),
//	z_i = √(Σ_j K_ij),  T_ij = K_ij / (z_i z_j).
//
// Every node must have an edge (q_i > 0); it panics otherwise.
func diffusionTransitions(g *Graph) *symCSR {
	q := make([]float64, g.N)
	for i := 0; i < g.N; i++ {
		for p := g.Ptr[i]; p < g.Ptr[i+1]; p++ {
			q[i] += g.W[p]
		}
		if q[i] <= 0 {
			panic(fmt.Sprintf("scib: diffusionTransitions: node %d has no edge", i))
		}
	}
	t := &symCSR{n: g.N, ptr: g.Ptr, col: g.Adj, val: make([]float64, len(g.W))}
	z := make([]float64, g.N)
	for i := 0; i < g.N; i++ {
		for p := g.Ptr[i]; p < g.Ptr[i+1]; p++ {
			t.val[p] = g.W[p] / (q[i] * q[g.Adj[p]])
			z[i] += t.val[p]
		}
	}
	for i := range z {
		z[i] = math.Sqrt(z[i])
	}
	for i := 0; i < g.N; i++ {
		for p := g.Ptr[i]; p < g.Ptr[i+1]; p++ {
			t.val[p] /= z[i] * z[g.Adj[p]]
		}
	}
	return t
}

// diffusionSpectrum returns the nComps eigenpairs of largest magnitude of
// the diffusion transitions of g (eigenLM), in decreasing eigenvalue order,
// as an n × nComps matrix of unit eigenvectors. A graph of several
// connected components is block diagonal: each block is solved on its own
// (its top min(nComps, size) pairs) and the union's top nComps by
// magnitude are kept, so the eigenvalue 1 of every component is found
// (single-vector Krylov solvers can miss repeated eigenvalues).
func diffusionSpectrum(g *Graph, nComps int) ([]float64, *mat.Dense, error) {
	all := make([]int, g.N)
	for i := range all {
		all[i] = i
	}
	comp, count := g.components(all)
	if count == 1 {
		return topEigen(diffusionTransitions(g), nComps)
	}
	members := make([][]int, count)
	for i, c := range comp {
		members[c] = append(members[c], i)
	}
	type pair struct {
		val  float64
		comp int
		col  int
	}
	var pairs []pair
	vecsOf := make([]*mat.Dense, count)
	for c, cells := range members {
		if len(cells) < 2 {
			return nil, nil, fmt.Errorf("diffusion map: isolated node in a graph of %d nodes", g.N)
		}
		vals, vecs, err := topEigen(diffusionTransitions(g.induced(cells)), min(nComps, len(cells)))
		if err != nil {
			return nil, nil, err
		}
		vecsOf[c] = vecs
		for j, v := range vals {
			pairs = append(pairs, pair{v, c, j})
		}
	}
	theta := make([]float64, len(pairs))
	for i, p := range pairs {
		theta[i] = p.val
	}
	sel := largestMagnitude(theta, min(nComps, len(pairs)))
	return pickEigenpairs(theta, sel, func(s int, dst []float64) {
		clear(dst)
		p := pairs[s]
		for r, i := range members[p.comp] {
			dst[i] = vecsOf[p.comp].At(r, p.col)
		}
	}, g.N)
}

// topEigen is eigenLM with seed 0, also for k ≥ n (every eigenpair,
// densely).
func topEigen(a *symCSR, k int) ([]float64, *mat.Dense, error) {
	if k >= a.n {
		return eigenLMDense(a, a.n)
	}
	return eigenLM(a, k, 0)
}

// DiffusionMap is a diffusion-map embedding and its scaled eigenvalues.
type DiffusionMap struct {
	// Eigenvalues are λ_c rounded to float32 plus 1e-8 (in float32), in
	// decreasing order, as scib-metrics scales them.
	Eigenvalues []float64
	Embedding   *data.Dense // cells × components
}

// DiffusionEmbedding is scib-metrics' diffusion map of a connectivity graph
// (utils/_diffusion_nn.py diffusion_nn before its neighbour search): the
// nComps eigenpairs (λ_c, φ_c) of largest |λ| of the symmetric diffusion
// transitions of g (see diffusionTransitions), rounded to float32 as
// scib-metrics' _compute_eigen does, λ_c += 1e-8 (in float32), and
//
//	embedding[:, c] = φ_c · s_c,  s_c = 1 if λ_c = 1, else λ_c / (1 − λ_c),
//
// computed in float32 ("multiscale" scaling, which sums the diffusion over
// all time steps). Eigenvector signs and the basis of a repeated
// eigenvalue are arbitrary; distances in the embedding do not depend on
// them when the repeated eigenvalues share one scale (e.g. λ = 1 once per
// connected component). nComps is capped at n − 1 (as scib-metrics); every
// node must have an edge. Errors come from the eigensolver.
func DiffusionEmbedding(g *Graph, nComps int) (*DiffusionMap, error) {
	if g.N < 2 {
		return nil, fmt.Errorf("diffusion map of %d nodes", g.N)
	}
	nComps = min(nComps, g.N-1)
	if nComps < 1 {
		return nil, fmt.Errorf("diffusion map with %d components", nComps)
	}
	for i := 0; i < g.N; i++ {
		if g.Ptr[i] == g.Ptr[i+1] {
			return nil, fmt.Errorf("diffusion map: node %d of %d has no edge", i, g.N)
		}
	}
	vals, vecs, err := diffusionSpectrum(g, nComps)
	if err != nil {
		return nil, err
	}
	return scaleDiffusion(vals, vecs), nil
}

// scaleDiffusion applies scib-metrics' float32 rounding and multiscale
// scaling (see DiffusionEmbedding) to eigenpairs in decreasing order.
func scaleDiffusion(vals []float64, vecs *mat.Dense) *DiffusionMap {
	n, c := vecs.Dims()
	dm := &DiffusionMap{Eigenvalues: make([]float64, c), Embedding: &data.Dense{Rows: n, Cols: c, Data: make([]float64, n*c)}}
	for j, v := range vals {
		e := float32(v) + float32(diffusionEps)
		dm.Eigenvalues[j] = float64(e)
		s := e
		if e != 1 {
			s = e / (1 - e)
		}
		for i := 0; i < n; i++ {
			dm.Embedding.Data[i*c+j] = float64(float32(vecs.At(i, j)) * s)
		}
	}
	return dm
}
