package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
)

// PCR is scib-metrics' principal_component_regression with a categorical
// covariate and all components (n_components = None):
//
//	pcr = Σ_i R²(PC_i ~ onehot(batch)) · var_i / Σ_i var_i.
//
// With every component kept the PCs are an orthogonal rotation of the
// centred data, and R²_i·var_i = (between-batch sum of squares of PC_i)/(n−1),
// so the sum is rotation invariant and equals
//
//	pcr = Σ_b n_b ‖mean_b − mean‖² / Σ_i ‖x_i − mean‖²,
//
// the fraction of total variance explained by batch, which is what this
// function computes exactly (no eigendecomposition, no sign ambiguity).
// It panics on a length mismatch; it returns NaN when x has zero variance
// or its variance is not finite (see pcr for the reason).
func PCR(x *data.Dense, batches Codes) float64 {
	v, _ := pcr(x, batches)
	return v
}

// pcr is PCR with the reason of a NaN.
func pcr(x *data.Dense, batches Codes) (float64, string) {
	n, d := x.Rows, x.Cols
	if len(batches.Code) != n {
		panic(fmt.Sprintf("scib: PCR: %d batches for %d cells", len(batches.Code), n))
	}
	mu := columnMeans(x)
	bm := make([][]float64, len(batches.Names))
	for b := range bm {
		bm[b] = make([]float64, d)
	}
	var total float64
	for i := 0; i < n; i++ {
		row := x.Row(i)
		b := batches.Code[i]
		for j, v := range row {
			t := v - mu[j]
			total += t * t
			bm[b][j] += t
		}
	}
	if total == 0 {
		return math.NaN(), "zero variance"
	}
	if math.IsInf(total, 0) || math.IsNaN(total) {
		return math.NaN(), "its total variance overflows float64"
	}
	var between float64
	for b, s := range bm {
		cnt := float64(batches.Count[b])
		if cnt == 0 {
			continue
		}
		for _, v := range s {
			between += v * v / cnt
		}
	}
	return between / total, ""
}

// PCRComparison is SPEC `pcr_comparison` (higher is better, in [0, 1]):
// (pcr_pre − pcr_post)/pcr_pre with pcr as in PCR on the pre-integration
// embedding (e.g. unintegrated PCA) and on the integrated one, clipped at 0
// (scib-metrics pcr_comparison, scale=True). NaN with a reason when
// pcr_pre = 0 (no batch variance to remove, e.g. a single batch).
func PCRComparison(pre, post *data.Dense, batches Codes) (float64, string) {
	a, whyA := pcr(pre, batches)
	b, whyB := pcr(post, batches)
	if math.IsNaN(a) {
		return math.NaN(), "the pre-integration embedding: " + whyA
	}
	if math.IsNaN(b) {
		return math.NaN(), "the embedding: " + whyB
	}
	if a == 0 {
		return math.NaN(), "batch explains no variance of the pre-integration embedding (pcr_pre = 0)"
	}
	v := (a - b) / a
	if v < 0 {
		return 0, fmt.Sprintf("clipped at 0: batch explains more variance after integration (pcr_pre = %.4g, pcr_post = %.4g)", a, b)
	}
	return v, ""
}

func columnMeans(x *data.Dense) []float64 {
	mu := make([]float64, x.Cols)
	for i := 0; i < x.Rows; i++ {
		for j, v := range x.Row(i) {
			mu[j] += v
		}
	}
	for j := range mu {
		mu[j] /= float64(x.Rows)
	}
	return mu
}
