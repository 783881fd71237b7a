package scib

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// diffusionOperator returns the diffusion transitions of the fuzzy 15-NN
// graph of one synthetic blob of n cells in dims dimensions.
func diffusionOperator(seed uint64, n, dims int) *symCSR {
	x, _, _ := blobs(seed, 1, 1, n, dims, 0)
	return diffusionTransitions(FuzzyConnectivities(ExactKNN(x, 15, 1), 2))
}

// TestEigenLMLanczosMatchesDense checks thick-restart Lanczos against
// gonum's dense mat.EigenSym (LAPACK dsyev) on diffusion operators of kNN
// graphs: the k eigenvalues of largest magnitude to 1e-10 (negative ones
// included: at k = 100 the last is ≈ −0.5), every Lanczos pair's residual
// ‖A·y − λ·y‖ ≤ 1e-10, and the invariant subspace: for each eigenvalue
// separated from the others by > 1e-6, |y_lanczos · y_dense| = 1 to 1e-6.
func TestEigenLMLanczosMatchesDense(t *testing.T) {
	for _, c := range []struct{ n, k int }{{500, 20}, {500, 100}, {400, 7}} {
		t.Run(fmt.Sprintf("n=%d,k=%d", c.n, c.k), func(t *testing.T) {
			a := diffusionOperator(3, c.n, 5)
			lv, lvec, err := eigenLMLanczos(a, c.k, max(2*c.k+1, 20), 0)
			if err != nil {
				t.Fatal(err)
			}
			dv, dvec, err := eigenLMDense(a, c.k)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(lv[0]-1) > 1e-12 {
				t.Errorf("top eigenvalue %v, want 1 (connected graph)", lv[0])
			}
			col, dcol, av := make([]float64, a.n), make([]float64, a.n), make([]float64, a.n)
			for j := range lv {
				if math.Abs(lv[j]-dv[j]) > 1e-10 {
					t.Errorf("λ_%d = %.15g, dense %.15g", j, lv[j], dv[j])
				}
				mat.Col(col, j, lvec)
				a.mulVec(av, col)
				var r float64
				for i := range av {
					d := av[i] - lv[j]*col[i]
					r += d * d
				}
				if math.Sqrt(r) > 1e-10 {
					t.Errorf("pair %d: residual %g", j, math.Sqrt(r))
				}
				gap := math.Inf(1)
				if j > 0 {
					gap = dv[j-1] - dv[j]
				}
				if j+1 < len(dv) {
					gap = math.Min(gap, dv[j]-dv[j+1])
				}
				if gap > 1e-6 {
					mat.Col(dcol, j, dvec)
					if d := math.Abs(mat.Dot(mat.NewVecDense(a.n, col), mat.NewVecDense(a.n, dcol))); math.Abs(d-1) > 1e-6 {
						t.Errorf("eigenvector %d: |y·y_dense| = %v", j, d)
					}
				}
			}
		})
	}
}

// TestDiffusionEmbeddingSolverInvariant: the Lanczos and the dense
// eigenpairs give the same diffusion-map distances (the quantity kBET
// uses; eigenvector signs and bases differ) to float32 resolution, and the
// same 11-NN sets.
func TestDiffusionEmbeddingSolverInvariant(t *testing.T) {
	a := diffusionOperator(9, 500, 4)
	lv, lvec, err := eigenLMLanczos(a, 100, 201, 0)
	if err != nil {
		t.Fatal(err)
	}
	dv, dvec, err := eigenLMDense(a, 100)
	if err != nil {
		t.Fatal(err)
	}
	el, ed := scaleDiffusion(lv, lvec).Embedding, scaleDiffusion(dv, dvec).Embedding
	var worst float64
	for i := 0; i < el.Rows; i += 7 {
		for j := 0; j < el.Rows; j += 5 {
			x, y := math.Sqrt(sqDist(el.Row(i), el.Row(j))), math.Sqrt(sqDist(ed.Row(i), ed.Row(j)))
			worst = math.Max(worst, math.Abs(x-y)/math.Max(y, 1e-3))
		}
	}
	if worst > 1e-5 {
		t.Errorf("diffusion distances differ by %g (relative) between solvers", worst)
	}
	nl, nd := ExactKNN(el, 11, 1), ExactKNN(ed, 11, 1)
	diff := 0
	for p := range nl.Indices {
		if nl.Indices[p] != nd.Indices[p] {
			diff++
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d neighbour entries differ between solvers", diff, len(nl.Indices))
	}
}

// TestDiffusionSpectrumComponents: a graph of two components has the
// eigenvalue 1 twice (once per component), which the per-component solve
// finds; the result equals the dense solve of the whole block-diagonal
// matrix (eigenvalues 1e-10).
func TestDiffusionSpectrumComponents(t *testing.T) {
	x, _, _ := blobs(4, 2, 1, 150, 3, 0) // two blobs 10 apart: no shared 15-NN edges
	g := FuzzyConnectivities(ExactKNN(x, 15, 1), 2)
	all := make([]int, g.N)
	for i := range all {
		all[i] = i
	}
	if _, c := g.components(all); c != 2 {
		t.Fatalf("%d components, want 2", c)
	}
	vals, _, err := diffusionSpectrum(g, 30)
	if err != nil {
		t.Fatal(err)
	}
	dv, _, err := eigenLMDense(diffusionTransitions(g), 30)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(vals[0]-1) > 1e-12 || math.Abs(vals[1]-1) > 1e-12 {
		t.Errorf("top eigenvalues %v, want 1, 1", vals[:3])
	}
	for j := range vals {
		if math.Abs(vals[j]-dv[j]) > 1e-10 {
			t.Errorf("λ_%d = %v, dense %v", j, vals[j], dv[j])
		}
	}
	dm, err := DiffusionEmbedding(g, 30)
	if err != nil {
		t.Fatal(err)
	}
	if dm.Embedding.Rows != 300 || dm.Embedding.Cols != 30 || dm.Eigenvalues[0] != 1 {
		t.Errorf("embedding %d×%d, λ_0 = %v", dm.Embedding.Rows, dm.Embedding.Cols, dm.Eigenvalues[0])
	}
}

// TestScaleDiffusion checks the float32 rounding and multiscale scaling by
// hand: λ = 1 keeps scale 1; 0.5 → float32(0.5 + 1e-8) = 0.5 →
// 0.5/(1 − 0.5) = 1; −0.5 → −1/3; 0.9 → float32 0.9/(1 − 0.9) ≈ 9.
func TestScaleDiffusion(t *testing.T) {
	vecs := mat.NewDense(2, 4, []float64{1, 1, 1, 1, 0.5, -2, 0.25, 1})
	dm := scaleDiffusion([]float64{1, 0.9, 0.5, -0.5}, vecs)
	e := float32(0.9) + float32(1e-8)
	s09 := float64(e / (1 - e))
	want := []float64{1, s09, 1, float64(float32(-0.5) / float32(1.5)),
		0.5, float64(float32(-2) * (e / (1 - e))), 0.25, float64(float32(-0.5) / float32(1.5))}
	for p, w := range want {
		if dm.Embedding.Data[p] != w {
			t.Errorf("entry %d = %v, want %v", p, dm.Embedding.Data[p], w)
		}
	}
	if math.Abs(s09-9) > 1e-5 {
		t.Errorf("scale of 0.9 = %v, want ≈ 9", s09)
	}
	if _, err := DiffusionEmbedding(&Graph{N: 1, Ptr: []int{0, 0}}, 5); err == nil {
		t.Error("diffusion map of one node: no error")
	}
	iso := &Graph{N: 3, Ptr: []int{0, 1, 2, 2}, Adj: []int32{1, 0}, W: []float64{1, 1}}
	if _, err := DiffusionEmbedding(iso, 2); err == nil {
		t.Error("diffusion map with an isolated node: no error")
	}
}

// fuzzyUnionMap is the earlier map-based fuzzy union of FuzzyConnectivities
// (a naive twin): every directed weight keyed by its unordered pair.
func fuzzyUnionMap(n int, edges []weightedEdge) *Graph {
	type key struct{ u, v int32 }
	half := map[key][2]float64{}
	for _, e := range edges {
		u, v, w := e.u, e.v, e.w
		if u < v {
			p := half[key{u, v}]
			p[0] = w
			half[key{u, v}] = p
		} else {
			p := half[key{v, u}]
			p[1] = w
			half[key{v, u}] = p
		}
	}
	type edge struct {
		u, v int32
		w    float64
	}
	var und []edge
	for k, p := range half {
		if w := p[0] + p[1] - p[0]*p[1]; w > 0 {
			und = append(und, edge{k.u, k.v, w}, edge{k.v, k.u, w})
		}
	}
	sort.Slice(und, func(a, b int) bool {
		if und[a].u != und[b].u {
			return und[a].u < und[b].u
		}
		return und[a].v < und[b].v
	})
	g := &Graph{N: n, Ptr: make([]int, n+1)}
	for _, e := range und {
		g.Ptr[e.u+1]++
		g.Adj = append(g.Adj, e.v)
		g.W = append(g.W, e.w)
	}
	for i := 0; i < n; i++ {
		g.Ptr[i+1] += g.Ptr[i]
	}
	return g
}

// TestFuzzyUnionMatchesMap: the binary-search union of FuzzyConnectivities
// equals the map-based one bit for bit (same weights, same order), on a
// table with duplicated points (zero distances) and non-mutual neighbours.
func TestFuzzyUnionMatchesMap(t *testing.T) {
	x, _, _ := blobs(8, 3, 2, 40, 3, 1)
	copy(x.Row(5), x.Row(6)) // a duplicate: distance 0 besides self
	nb := ExactKNN(x, 12, 1)
	g := FuzzyConnectivities(nb, 2)
	want := fuzzyUnionMap(nb.N, fuzzyMemberships(nb, 1))
	if len(want.Adj) != len(g.Adj) {
		t.Fatalf("%d entries, map union %d", len(g.Adj), len(want.Adj))
	}
	for i := range g.Ptr {
		if g.Ptr[i] != want.Ptr[i] {
			t.Fatalf("row pointers differ at %d", i)
		}
	}
	for p := range g.Adj {
		if g.Adj[p] != want.Adj[p] || g.W[p] != want.W[p] {
			t.Fatalf("entry %d: (%d, %v), map union (%d, %v)", p, g.Adj[p], g.W[p], want.Adj[p], want.W[p])
		}
	}
}
