package baselines

import (
	"context"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// Default hyperparameters of Linear, as in scPerturBench
// (bm2-lab/scPerturBench Perturbation_generalization/Genetic/linearModel.r:
// pca_dim = 10, ridge_penalty = 0.1).
const (
	DefaultLinearPCADim = 10
	DefaultLinearRidge  = 0.1
)

// Linear is the linear ridge baseline of Ahlmann-Eltze et al. 2025 (Nature
// Methods, "Deep-learning-based gene perturbation effect prediction does not
// yet outperform simple linear baselines"), as used by STATE (§5.3) and
// scPerturBench (linearModel.r): a perturbation is a low-rank, gene-wide
// displacement of the context's control expression.
//
// Fit builds Y (genes × T), the mean log1p change of each of the T
// training perturbations against the control mean of the same context,
// averaged over the contexts where it was measured (the δ_p of
// PerturbationMean). With b = the row means of Y (gene-wise bias, "center"
// in solve_y_axb) and Yc = Y − b·1ᵀ, the thin SVD Yc = U S Vᵀ gives the gene
// embedding G = U_K S_K^½ (genes × K) and the perturbation embedding
// P = S_K^½ V_Kᵀ (K × T), K = min(PCADim, rank). The map is the closed-form
// ridge solution
//
//	W = (GᵀG + λI)⁻¹ Gᵀ Yc Pᵀ (PPᵀ + λI)⁻¹,   λ = Ridge.
//
// Deviation from linearModel.r, stated: there the embeddings are PCA scores
// of the training pseudobulk expression and a perturbation is embedded by
// its target gene's row, which needs every target among the measured genes;
// in perturbench devel no target is among the 500 HVGs, so the
// perturbation embedding here is the perturbation's own principal-component
// coordinates of the training change matrix.
//
// Predict for (c, p): shift = b + G W e_p, with e_p = P's column for a
// seen p; for an unseen combination "A+B" the sum of its parts' embeddings
// (additivity in embedding space); for an unseen single the zero vector,
// i.e. the bias b alone (noted in Notes). Cells are NCells control cells of
// c drawn with replacement plus the shift, clamped at 0 (see shiftedControls).
type Linear struct {
	PCADim int     // K, number of principal components (> 0)
	Ridge  float64 // λ ≥ 0

	genes   int
	seed    uint64
	control string
	bias    []float64
	gw      *mat.Dense           // G·W, genes × K
	embed   map[string][]float64 // perturbation → e_p (length K)
	k       int
	notes   notes
}

// NewLinear returns an unfitted linear baseline with the given
// hyperparameters. It panics on pcaDim ≤ 0 or ridge < 0 (programmer error).
func NewLinear(pcaDim int, ridge float64) *Linear {
	if pcaDim <= 0 || ridge < 0 || math.IsNaN(ridge) {
		panic(fmt.Sprintf("baselines: NewLinear(pcaDim=%d, ridge=%g): need pcaDim > 0 and ridge ≥ 0", pcaDim, ridge))
	}
	return &Linear{PCADim: pcaDim, Ridge: ridge}
}

// Name returns "linear".
func (m *Linear) Name() string { return "linear" }

// Fit solves the ridge problem on the training pseudobulk changes.
func (m *Linear) Fit(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	offsets, err := globalOffsets(train, spec)
	if err != nil {
		return fmt.Errorf("linear: %w", err)
	}
	names := make([]string, 0, len(offsets))
	for p := range offsets {
		names = append(names, p)
	}
	sort.Strings(names)
	genes, T := train.X.Cols, len(names)
	m.genes, m.seed, m.control = genes, spec.Seed, spec.Control

	Y := mat.NewDense(genes, T, nil)
	for t, p := range names {
		Y.SetCol(t, offsets[p])
	}
	m.bias = make([]float64, genes)
	for j := 0; j < genes; j++ {
		m.bias[j] = mat.Sum(Y.RowView(j)) / float64(T)
	}
	Yc := mat.NewDense(genes, T, nil)
	Yc.Apply(func(i, _ int, v float64) float64 { return v - m.bias[i] }, Y)

	var svd mat.SVD
	if !svd.Factorize(Yc, mat.SVDThin) {
		return fmt.Errorf("linear: SVD of the %d×%d change matrix did not converge", genes, T)
	}
	s := svd.Values(nil)
	k := 0
	for k < len(s) && k < m.PCADim && s[k] > 1e-12*math.Max(s[0], 1e-300) {
		k++
	}
	m.k = k
	m.embed = map[string][]float64{}
	if k == 0 {
		// Every training perturbation has the same change: the bias is the model.
		m.gw = mat.NewDense(genes, 1, nil)
		m.k = 1
		for _, p := range names {
			m.embed[p] = []float64{0}
		}
		return nil
	}
	var U, V mat.Dense
	svd.UTo(&U)
	svd.VTo(&V)
	G := mat.NewDense(genes, k, nil)
	P := mat.NewDense(k, T, nil)
	for c := 0; c < k; c++ {
		r := math.Sqrt(s[c])
		for i := 0; i < genes; i++ {
			G.Set(i, c, U.At(i, c)*r)
		}
		for t := 0; t < T; t++ {
			P.Set(c, t, V.At(t, c)*r)
		}
	}
	W, err := ridgeMap(G, Yc, P, m.Ridge)
	if err != nil {
		return fmt.Errorf("linear: %w", err)
	}
	m.gw = mat.NewDense(genes, k, nil)
	m.gw.Mul(G, W)
	for t, p := range names {
		m.embed[p] = mat.Col(nil, t, P)
	}
	return nil
}

// ridgeMap returns W = (GᵀG + λI)⁻¹ Gᵀ Y Pᵀ (PPᵀ + λI)⁻¹.
func ridgeMap(G, Y, P *mat.Dense, lambda float64) (*mat.Dense, error) {
	_, k := G.Dims()
	kp, _ := P.Dims()
	var gtg mat.Dense
	gtg.Mul(G.T(), G)
	for i := 0; i < k; i++ {
		gtg.Set(i, i, gtg.At(i, i)+lambda)
	}
	var ppt mat.Dense
	ppt.Mul(P, P.T())
	for i := 0; i < kp; i++ {
		ppt.Set(i, i, ppt.At(i, i)+lambda)
	}
	var gty, gtyp mat.Dense
	gty.Mul(G.T(), Y)
	gtyp.Mul(&gty, P.T())
	var left mat.Dense
	if err := left.Solve(&gtg, &gtyp); err != nil {
		return nil, fmt.Errorf("ridge solve (GᵀG+λI): %w", err)
	}
	// W = left · (PPᵀ+λI)⁻¹  ⇔  Wᵀ = (PPᵀ+λI)⁻ᵀ leftᵀ; PPᵀ+λI is symmetric.
	var wt mat.Dense
	if err := wt.Solve(&ppt, left.T()); err != nil {
		return nil, fmt.Errorf("ridge solve (PPᵀ+λI): %w", err)
	}
	return mat.DenseCopyOf(wt.T()), nil
}

// embedding resolves e_p as documented on Linear; ok is false when p (or a
// part of it) had to fall back to the zero vector.
func (m *Linear) embedding(p string) []float64 {
	if p == m.control {
		return nil
	}
	if e, ok := m.embed[p]; ok {
		return e
	}
	if ps := parts(p); len(ps) > 1 {
		sum := make([]float64, m.k)
		for _, q := range ps {
			if e := m.embedding(q); e != nil {
				addTo(sum, e)
			}
		}
		return sum
	}
	m.notes.add("linear: %q unseen in training, predicted the bias (mean change) alone", p)
	return make([]float64, m.k)
}

// shift returns b + G W e_p (zero for the control label).
func (m *Linear) shift(p string) []float64 {
	out := make([]float64, m.genes)
	e := m.embedding(p)
	if e == nil {
		return out
	}
	copy(out, m.bias)
	for i := 0; i < m.genes; i++ {
		row := m.gw.RawRowView(i)
		var v float64
		for c, x := range e {
			v += row[c] * x
		}
		out[i] += v
	}
	return out
}

// Predict returns shifted control cells for each request.
func (m *Linear) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	if m.gw == nil {
		return nil, fmt.Errorf("linear: Predict before Fit")
	}
	out := make([]*data.CSR, len(reqs))
	for i, req := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := checkRequest("linear", req, m.genes, true); err != nil {
			return nil, err
		}
		out[i] = shiftedControls(req.Controls, m.shift(req.Perturbation), req.NCells, tasks.RequestRNG(m.seed, req))
	}
	return out, nil
}

// Notes returns (and clears) the fallbacks taken since the last call.
func (m *Linear) Notes() []string { return m.notes.take() }
