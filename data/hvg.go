package data

import (
	"fmt"
	"math"
	"sort"
)

// HVGResult holds per-gene statistics of HighlyVariableGenes.
type HVGResult struct {
	Means          []float64 // log1p of the mean of expm1(x)
	Dispersions    []float64 // log of var/mean of expm1(x); NaN when var is 0
	NormDispersion []float64 // dispersion z-scored within its mean bin
	Selected       []int     // indices of the chosen genes, in gene order
}

// HighlyVariableGenes selects the nTop most variable genes of a log1p
// matrix with scanpy's flavor="seurat" dispersion method
// (scanpy.pp.highly_variable_genes, n_bins = 20):
//
//	x̃ = expm1(x); μ_g = mean x̃; σ²_g = var x̃ (ddof 1);
//	disp_g = log(σ²_g / μ_g) (μ_g = 0 → 1e-12; σ² = 0 → NaN);
//	mean_g = log1p(μ_g); genes are cut into 20 equal-width bins of mean_g;
//	norm_g = (disp_g − mean_bin) / std_bin (ddof 1; a bin with one gene
//	uses mean 0 and std = its dispersion, as scanpy does).
//
// Genes are ranked by norm_g descending (NaN last, ties by gene index) and
// the first nTop kept, returned in gene order. It errors when nTop is not
// in [1, Cols].
func HighlyVariableGenes(m *CSR, nTop int) (*HVGResult, error) {
	if nTop < 1 || nTop > m.Cols {
		return nil, fmt.Errorf("hvg: n_top %d out of range [1, %d]", nTop, m.Cols)
	}
	if m.Rows < 2 {
		return nil, fmt.Errorf("hvg: need at least 2 cells, have %d", m.Rows)
	}
	G := m.Cols
	sum := make([]float64, G)
	sumsq := make([]float64, G)
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for k, j := range idx {
			v := math.Expm1(float64(val[k]))
			sum[j] += v
			sumsq[j] += v * v
		}
	}
	n := float64(m.Rows)
	res := &HVGResult{Means: make([]float64, G), Dispersions: make([]float64, G), NormDispersion: make([]float64, G)}
	for j := 0; j < G; j++ {
		mu := sum[j] / n
		v := (sumsq[j]/n - mu*mu) * n / (n - 1)
		if v < 0 {
			v = 0
		}
		if mu == 0 {
			mu = 1e-12
		}
		d := v / mu
		if d == 0 {
			res.Dispersions[j] = math.NaN()
		} else {
			res.Dispersions[j] = math.Log(d)
		}
		res.Means[j] = math.Log1p(mu)
	}
	// 20 equal-width bins over the range of means (pandas.cut semantics: the
	// lowest edge is extended by 0.1 % of the range, so the minimum falls in bin 0).
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range res.Means {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	const nBins = 20
	bin := make([]int, G)
	width := (hi - lo) / nBins
	for j, x := range res.Means {
		b := 0
		if width > 0 {
			b = int(math.Ceil((x-lo)/width)) - 1
			if b < 0 {
				b = 0
			}
			if b >= nBins {
				b = nBins - 1
			}
		}
		bin[j] = b
	}
	bsum := make([]float64, nBins)
	bsq := make([]float64, nBins)
	bcount := make([]float64, nBins)
	for j, d := range res.Dispersions {
		if math.IsNaN(d) {
			continue
		}
		bsum[bin[j]] += d
		bsq[bin[j]] += d * d
		bcount[bin[j]]++
	}
	for j, d := range res.Dispersions {
		b := bin[j]
		c := bcount[b]
		var mean, sd float64
		switch {
		case c == 1:
			mean, sd = 0, bsum[b]
		case c > 1:
			mean = bsum[b] / c
			sd = math.Sqrt(math.Max(0, (bsq[b]-c*mean*mean)/(c-1)))
		default:
			mean, sd = math.NaN(), math.NaN()
		}
		res.NormDispersion[j] = (d - mean) / sd
	}
	order := make([]int, G)
	for j := range order {
		order[j] = j
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := res.NormDispersion[order[a]], res.NormDispersion[order[b]]
		if math.IsNaN(x) {
			return false
		}
		if math.IsNaN(y) {
			return true
		}
		return x > y
	})
	res.Selected = append([]int(nil), order[:nTop]...)
	sort.Ints(res.Selected)
	return res, nil
}
