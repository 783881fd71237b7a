package baselines

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/tasks"
)

// KNNImputeParams is the table of the kNN-smoothing imputer.
var KNNImputeParams = &hparams.Table{
	Model: "knn",
	Params: []hparams.Param{
		{Key: "k", Default: 5, Doc: "neighbours averaged (sCT paper: k = 5)", Check: hparams.Positive},
		{Key: "pca_dim", Default: 50, Doc: "principal components of the neighbour space (capped at training cells − 1 and genes)", Check: hparams.Positive},
	},
}

// KNNImputer is the kNN-smoothing baseline of imputation ("knn"; Wagner et
// al. 2017, as the sCT paper's "per-gene heuristic … k-NN estimator with
// k = 5"; the paper does not say in which space neighbours are found).
//
// Gene masking: Fit computes the PCA (metrics/scib.PCA, pca_dim
// components, seed of the spec) of the training cells' log1p(CP10k). For a
// test cell c, its observed genes O(c) (those not masked) are normalised
// to CP10k over O(c), log1p'd, and its masked genes take the training
// mean; it is projected on the training PCA and its k nearest training
// cells (Euclidean, ties by row) are its neighbours. The prediction at a
// masked gene g is the neighbours' mean count rescaled to c's depth,
//
//	ĉ_g = mean_n x_{n,g} · (Σ_{h∈O(c)} x_{c,h}) / (Σ_{h∈O(c)} x_{n,h}),
//
// returned as log1p(ĉ_g) (the task bins it with the true cell's edges).
//
// Whole-cell masking (a cell with every gene masked has no profile):
// spatial data (CoordCols) — the mean counts of its k nearest spots by
// coordinate among the imputed cells that are not fully masked;
// single-cell data — the mean counts of the bag's cells that are not fully
// masked (bags are random cells, so this is a population mean). With no
// such cell, the training mean counts.
type KNNImputer struct {
	k, comps int
	genes    int
	train    *data.CSR // counts
	mean     []float64 // training mean of log1p(CP10k) per gene
	loadings []float64 // genes × comps
	scores   []float64 // train cells × comps
	meanCnt  []float64 // training mean counts per gene
	nComps   int
}

// NewKNNImputerFromConfig returns an unfitted KNNImputer with the k and
// pca_dim of a resolved KNNImputeParams configuration.
func NewKNNImputerFromConfig(c hparams.Config) *KNNImputer {
	return &KNNImputer{k: c.Int("k"), comps: c.Int("pca_dim")}
}

// Name implements tasks.Imputer.
func (m *KNNImputer) Name() string { return "knn" }

// Fit implements tasks.Imputer.
func (m *KNNImputer) Fit(_ context.Context, train *data.Dataset, spec tasks.ImputeSpec) error {
	if train == nil || train.X == nil || train.X.Rows < 2 {
		return errors.New("knn: need at least 2 training cells")
	}
	x := train.X
	m.genes, m.train = x.Cols, x
	norm := data.NormalizeLog1p(x, data.DefaultTargetSum)
	m.nComps = min(m.comps, x.Rows-1, x.Cols)
	pca, err := scib.PCA(norm, m.nComps, spec.Seed)
	if err != nil {
		return fmt.Errorf("knn: %w", err)
	}
	G, C := x.Cols, m.nComps
	m.mean = make([]float64, G)
	m.meanCnt = make([]float64, G)
	for i := 0; i < x.Rows; i++ {
		idx, val := norm.Row(i)
		for t, j := range idx {
			m.mean[j] += float64(val[t])
		}
		idx, val = x.Row(i)
		for t, j := range idx {
			m.meanCnt[j] += float64(val[t])
		}
	}
	for j := range m.mean {
		m.mean[j] /= float64(x.Rows)
		m.meanCnt[j] /= float64(x.Rows)
	}
	m.loadings = make([]float64, G*C)
	for j := range G {
		for c := range C {
			m.loadings[j*C+c] = pca.Loadings.At(j, c)
		}
	}
	m.scores = slices.Clone(pca.Scores.Data)
	return nil
}

// Impute implements tasks.Imputer.
func (m *KNNImputer) Impute(ctx context.Context, d *data.Dataset, masked []tasks.Position, spec tasks.ImputeSpec) (tasks.Imputation, error) {
	if m.train == nil {
		return tasks.Imputation{}, errors.New("knn: Impute before Fit")
	}
	G, C := m.genes, m.nComps
	if d.NGenes() != G {
		return tasks.Imputation{}, fmt.Errorf("knn: fitted on %d genes, asked for %d", G, d.NGenes())
	}
	n := d.NCells()
	maskedGenes := make([][]int, n)
	for _, p := range masked {
		maskedGenes[p.Cell] = append(maskedGenes[p.Cell], p.Gene)
	}
	full := make([]bool, n)
	for i := range n {
		full[i] = len(maskedGenes[i]) == G
	}
	var coords [][2]float64
	if len(spec.CoordCols) > 0 {
		var err error
		if coords, err = tasks.Coords(d, spec.CoordCols); err != nil {
			return tasks.Imputation{}, fmt.Errorf("knn: %w", err)
		}
	}
	bagOf := make([]int, n)
	for i := range bagOf {
		bagOf[i] = -1
	}
	for b, bag := range spec.Bags {
		for _, i := range bag {
			if i >= 0 && i < n {
				bagOf[i] = b
			}
		}
	}
	// per cell: predicted counts of its masked genes
	pred := make(map[int][]float64, n)
	isMasked := make([]bool, G)
	row := make([]float32, G)
	for i := range n {
		if len(maskedGenes[i]) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return tasks.Imputation{}, err
		}
		p := make([]float64, len(maskedGenes[i]))
		if full[i] {
			m.fromOtherCells(i, maskedGenes[i], p, d, full, coords, spec.Bags, bagOf)
			pred[i] = p
			continue
		}
		for _, g := range maskedGenes[i] {
			isMasked[g] = true
		}
		d.X.DenseRow(row, i)
		var lib float64
		for g, v := range row {
			if !isMasked[g] {
				lib += float64(v)
			}
		}
		// profile: log1p(CP10k over observed genes), training mean elsewhere
		z := make([]float64, C)
		for g, v := range row {
			var val float64
			if isMasked[g] {
				continue // mean − mean = 0
			} else if lib > 0 {
				val = math.Log1p(float64(v) * data.DefaultTargetSum / lib)
			}
			dv := val - m.mean[g]
			if dv != 0 {
				for c := range C {
					z[c] += dv * m.loadings[g*C+c]
				}
			}
		}
		nb := m.nearestTrain(z)
		factor := make([]float64, len(nb))
		for t, r := range nb {
			factor[t] = m.depthFactor(r, lib, isMasked)
		}
		for t, g := range maskedGenes[i] {
			var s float64
			for u, r := range nb {
				s += float64(m.train.At(r, g)) * factor[u]
			}
			p[t] = s / float64(len(nb))
		}
		for _, g := range maskedGenes[i] {
			isMasked[g] = false
		}
		pred[i] = p
	}
	out := tasks.Imputation{Log1p: make([]float64, len(masked))}
	next := make([]int, n)
	for k, p := range masked {
		out.Log1p[k] = math.Log1p(pred[p.Cell][next[p.Cell]])
		next[p.Cell]++
	}
	return out, nil
}

// depthFactor is lib / (training cell r's counts over the observed genes);
// 1 when either is 0.
func (m *KNNImputer) depthFactor(r int, lib float64, isMasked []bool) float64 {
	idx, val := m.train.Row(r)
	var s float64
	for t, j := range idx {
		if !isMasked[j] {
			s += float64(val[t])
		}
	}
	if s == 0 || lib == 0 {
		return 1
	}
	return lib / s
}

// nearestTrain returns the k training cells nearest to z (PCA scores).
func (m *KNNImputer) nearestTrain(z []float64) []int {
	C := m.nComps
	N := len(m.scores) / max(C, 1)
	type cand struct {
		r int
		d float64
	}
	cs := make([]cand, N)
	for r := range N {
		var s float64
		for c := range C {
			d := m.scores[r*C+c] - z[c]
			s += d * d
		}
		cs[r] = cand{r, s}
	}
	sort.Slice(cs, func(a, b int) bool {
		if cs[a].d != cs[b].d {
			return cs[a].d < cs[b].d
		}
		return cs[a].r < cs[b].r
	})
	k := min(m.k, N)
	out := make([]int, k)
	for t := range k {
		out[t] = cs[t].r
	}
	return out
}

// fromOtherCells fills p (the masked genes of fully masked cell i) with
// the mean counts of its k nearest spots (spatial) or of its bag's other
// cells (single-cell) that are not fully masked; the training mean when
// there is none.
func (m *KNNImputer) fromOtherCells(i int, genes []int, p []float64, d *data.Dataset, full []bool, coords [][2]float64, bags [][]int, bagOf []int) {
	var from []int
	if coords != nil {
		type cand struct {
			r int
			d float64
		}
		var cs []cand
		for r := range full {
			if !full[r] {
				cs = append(cs, cand{r, math.Hypot(coords[r][0]-coords[i][0], coords[r][1]-coords[i][1])})
			}
		}
		sort.Slice(cs, func(a, b int) bool {
			if cs[a].d != cs[b].d {
				return cs[a].d < cs[b].d
			}
			return cs[a].r < cs[b].r
		})
		for _, c := range cs[:min(m.k, len(cs))] {
			from = append(from, c.r)
		}
	} else if b := bagOf[i]; b >= 0 {
		for _, r := range bags[b] {
			if !full[r] {
				from = append(from, r)
			}
		}
	}
	if len(from) == 0 {
		for t, g := range genes {
			p[t] = m.meanCnt[g]
		}
		return
	}
	for t, g := range genes {
		var s float64
		for _, r := range from {
			s += float64(d.X.At(r, g))
		}
		p[t] = s / float64(len(from))
	}
}
