package tasks

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/recon"
)

// Names of the imputation tasks (KindImputation; sCT paper §4).
const (
	// ImputeGenes masks a fraction of the genes of every held-out cell
	// (uniformly, without replacement, the same fraction in every cell)
	// and scores the masked positions (sCT Table 1).
	ImputeGenes = "impute-genes"
	// ImputeCells masks every gene of a fraction of the cells of each bag
	// and scores them; the model predicts them from the bag's other cells
	// (sCT Table 2: 1, 10, 20, 40 of 50 cells or spots).
	ImputeCells = "impute-cells"
)

// Defaults of the imputation tasks.
var (
	DefaultGeneMaskRatios = []float64{0.15, 0.3, 0.8}
	DefaultCellMaskRatios = []float64{0.02, 0.2, 0.4, 0.8} // 1, 10, 20, 40 of 50
)

const (
	DefaultBagSize            = 50
	DefaultImputeTestFraction = 0.25
)

// ImputeConfig returns c with the imputation defaults filled in (mask
// ratios of its task, bag size 50, test fraction 0.25) and checks the
// values; it errors for a task that is not an imputation task.
func ImputeConfig(c TaskConfig) (TaskConfig, error) {
	switch c.Name {
	case ImputeGenes:
		if len(c.MaskRatios) == 0 {
			c.MaskRatios = slices.Clone(DefaultGeneMaskRatios)
		}
	case ImputeCells:
		if len(c.MaskRatios) == 0 {
			c.MaskRatios = slices.Clone(DefaultCellMaskRatios)
		}
	default:
		return c, fmt.Errorf("task %q is not an imputation task (%s, %s)", c.Name, ImputeGenes, ImputeCells)
	}
	if c.BagSize == 0 {
		c.BagSize = DefaultBagSize
	}
	if c.TestFraction == 0 {
		c.TestFraction = DefaultImputeTestFraction
	}
	switch {
	case c.BagSize < 1:
		return c, fmt.Errorf("%s: bag_size %d must be ≥ 1", c.Name, c.BagSize)
	case !(c.TestFraction > 0 && c.TestFraction < 1):
		return c, fmt.Errorf("%s: test_fraction %g not in (0, 1)", c.Name, c.TestFraction)
	case c.MaxGenes < 0:
		return c, fmt.Errorf("%s: max_genes %d must be ≥ 0", c.Name, c.MaxGenes)
	case c.TrainFraction != 0:
		return c, fmt.Errorf("%s: train_fraction does not apply (test_fraction sets the held-out cells)", c.Name)
	case c.Holdout != "" && c.Holdout != "cells" && c.Holdout != "region":
		return c, fmt.Errorf("%s: holdout %q: want cells (random cells) or region (a spatial block; needs coordinates)", c.Name, c.Holdout)
	}
	seen := map[float64]bool{}
	for _, r := range c.MaskRatios {
		if !(r > 0 && r <= 1) || seen[r] {
			return c, fmt.Errorf("%s: mask_ratios %v: each must be in (0, 1] and listed once", c.Name, c.MaskRatios)
		}
		seen[r] = true
	}
	return c, nil
}

// Coords reads two numeric obs columns (x, y) of d as coordinates; a
// missing column, a non-numeric one or a NaN is an error naming it.
func Coords(d *data.Dataset, cols []string) ([][2]float64, error) {
	if len(cols) != 2 {
		return nil, fmt.Errorf("coordinates: want two obs columns (x, y), got %q", cols)
	}
	out := make([][2]float64, d.NCells())
	for a, name := range cols {
		c, err := d.Obs.Column(name)
		if err != nil {
			return nil, fmt.Errorf("coordinates: %w", err)
		}
		for i := range out {
			var v float64
			switch c.Kind {
			case data.Float:
				v = c.Floats[i]
			case data.Int:
				v = float64(c.Ints[i])
			default:
				f, err := strconv.ParseFloat(c.StringAt(i), 64)
				if err != nil {
					return nil, fmt.Errorf("coordinates: obs column %q is %s, not numeric (row %d: %q)", name, c.Kind, i, c.StringAt(i))
				}
				v = f
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("coordinates: obs column %q has a missing or infinite value at row %d", name, i)
			}
			out[i][a] = v
		}
	}
	return out, nil
}

// ImputeSetup is a dataset made ready for an imputation task: the gene
// panel, the held-out (test) cells and their bags, and the true bins of
// every test cell. It depends only on the data, the TaskConfig and the seed.
type ImputeSetup struct {
	Config TaskConfig // with ImputeConfig's defaults
	Seed   uint64
	// Data is the dataset restricted to the gene panel (raw counts).
	Data *data.Dataset
	// Panel lists the panel's gene indices in the original dataset.
	Panel []int
	// CoordCols are the coordinate columns (nil for single-cell data).
	CoordCols []string
	// Holdout is "cells" or "region"; Train and Test are sorted rows of
	// Data; Bags groups positions in Test (indices into Test).
	Holdout     string
	Train, Test []int
	Bags        [][]int
	// Truth holds one binning per test cell (metrics/recon, Bins levels).
	Truth []recon.CellBins
	Bins  int
}

// NewImputeSetup prepares d (raw counts; data.DetectScale must call it
// counts) for the task cfg: the held-out cells (holdout "cells": a random
// TestFraction of cells; "region", the default when coordCols is set:
// the TestFraction of spots farthest along a random direction — a
// contiguous block), the gene panel (every gene, or the MaxGenes most
// variable genes of the training cells, scanpy seurat flavour on
// log1p(CP10k), kept in dataset order) and the test bags (random cells,
// or for spatial data greedy neighbourhoods: a random unassigned spot and
// its BagSize−1 nearest unassigned spots). Randomness: PCG(seed,
// fnv64("impute-split")), so both imputation tasks of one seed share the
// split.
func NewImputeSetup(d *data.Dataset, coordCols []string, cfg TaskConfig, bins int, seed uint64) (*ImputeSetup, error) {
	cfg, err := ImputeConfig(cfg)
	if err != nil {
		return nil, err
	}
	if bins < 2 {
		return nil, fmt.Errorf("%s: bins %d must be ≥ 2", cfg.Name, bins)
	}
	if d == nil || d.X == nil || d.NCells() < 4 {
		return nil, fmt.Errorf("%s: need at least 4 cells", cfg.Name)
	}
	rep, err := data.DetectScale(d.X)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Name, err)
	}
	if rep.Scale != data.Counts {
		return nil, fmt.Errorf("%s: X is %s, but imputation bins raw counts (log1p of counts per cell, no normalisation): give a counts matrix", cfg.Name, rep.Scale)
	}
	var coords [][2]float64
	if len(coordCols) > 0 {
		if coords, err = Coords(d, coordCols); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Name, err)
		}
	}
	holdout := cfg.Holdout
	if holdout == "" {
		holdout = "cells"
		if coords != nil {
			holdout = "region"
		}
	}
	if holdout == "region" && coords == nil {
		return nil, fmt.Errorf("%s: holdout region needs coordinate columns", cfg.Name)
	}
	h := fnv.New64a()
	h.Write([]byte("impute-split"))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	n := d.NCells()
	nTest := max(1, min(n-1, int(math.Round(cfg.TestFraction*float64(n)))))
	var test []int
	if holdout == "cells" {
		test = rng.Perm(n)[:nTest]
	} else {
		theta := rng.Float64() * 2 * math.Pi
		ux, uy := math.Cos(theta), math.Sin(theta)
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		proj := func(i int) float64 { return coords[i][0]*ux + coords[i][1]*uy }
		sort.SliceStable(order, func(a, b int) bool { return proj(order[a]) > proj(order[b]) })
		test = order[:nTest]
	}
	slices.Sort(test)
	isTest := make([]bool, n)
	for _, i := range test {
		isTest[i] = true
	}
	var train []int
	for i := range n {
		if !isTest[i] {
			train = append(train, i)
		}
	}
	s := &ImputeSetup{Config: cfg, Seed: seed, CoordCols: coordCols, Holdout: holdout, Train: train, Test: test, Bins: bins}
	// gene panel
	s.Panel = make([]int, d.NGenes())
	for j := range s.Panel {
		s.Panel[j] = j
	}
	if cfg.MaxGenes > 0 && cfg.MaxGenes < d.NGenes() {
		tr := d.X.SubsetRows(train)
		hv, err := data.HighlyVariableGenes(data.NormalizeLog1p(tr, data.DefaultTargetSum), cfg.MaxGenes)
		if err != nil {
			return nil, fmt.Errorf("%s: gene panel: %w", cfg.Name, err)
		}
		s.Panel = hv.Selected
	}
	if len(s.Panel) == d.NGenes() {
		s.Data = d
	} else {
		out := *d
		out.X = d.X.SubsetCols(s.Panel)
		out.Var = d.Var.Subset(s.Panel)
		out.Layers = nil
		s.Data = &out
	}
	// bags over the test cells
	if coords == nil {
		perm := rng.Perm(len(test))
		for start := 0; start < len(perm); start += cfg.BagSize {
			bag := slices.Clone(perm[start:min(start+cfg.BagSize, len(perm))])
			slices.Sort(bag)
			s.Bags = append(s.Bags, bag)
		}
	} else {
		s.Bags = spatialBags(test, coords, cfg.BagSize, rng)
	}
	// true bins of every test cell
	G := s.Data.NGenes()
	row := make([]float32, G)
	x := make([]float64, G)
	s.Truth = make([]recon.CellBins, len(test))
	for k, i := range test {
		s.Data.X.DenseRow(row, i)
		for j, v := range row {
			x[j] = math.Log1p(float64(v))
		}
		s.Truth[k] = recon.NewCellBins(x, bins)
	}
	return s, nil
}

// spatialBags partitions test (rows) into neighbourhoods of at most size
// spots: repeatedly a random unassigned spot and its size−1 nearest
// unassigned spots (Euclidean, ties by row). Bags hold indices into test.
func spatialBags(test []int, coords [][2]float64, size int, rng *rand.Rand) [][]int {
	left := make([]bool, len(test))
	for i := range left {
		left[i] = true
	}
	var bags [][]int
	for _, start := range rng.Perm(len(test)) {
		if !left[start] {
			continue
		}
		type cand struct {
			k int
			d float64
		}
		var cs []cand
		c0 := coords[test[start]]
		for k := range test {
			if left[k] {
				c := coords[test[k]]
				cs = append(cs, cand{k, math.Hypot(c[0]-c0[0], c[1]-c0[1])})
			}
		}
		sort.Slice(cs, func(a, b int) bool {
			if cs[a].d != cs[b].d {
				return cs[a].d < cs[b].d
			}
			return cs[a].k < cs[b].k
		})
		bag := make([]int, 0, size)
		for _, c := range cs[:min(size, len(cs))] {
			bag = append(bag, c.k)
			left[c.k] = false
		}
		slices.Sort(bag)
		bags = append(bags, bag)
	}
	return bags
}

// TrainData returns the training cells (panel genes, raw counts).
func (s *ImputeSetup) TrainData() *data.Dataset { return s.Data.SubsetCells(s.Train) }

// ImputeMask is one masking of the test cells at one level.
type ImputeMask struct {
	Ratio float64
	// Positions are rows/columns of the masked test dataset (row k = test
	// cell k), sorted by cell then gene.
	Positions []Position
}

// Mask draws the masked positions of one level (PCG(seed,
// fnv64(task ∥ ratio))): impute-genes masks round(ratio·G) genes of every
// test cell (at least 1), chosen uniformly without replacement per cell;
// impute-cells masks every gene of round(ratio·n) cells of each bag of n
// (at least 1, at most n−1 when n ≥ 2), chosen uniformly.
func (s *ImputeSetup) Mask(ratio float64) ImputeMask {
	h := fnv.New64a()
	h.Write([]byte(s.Config.Name))
	h.Write([]byte(strconv.FormatFloat(ratio, 'g', -1, 64)))
	rng := rand.New(rand.NewPCG(s.Seed, h.Sum64()))
	G := s.Data.NGenes()
	m := ImputeMask{Ratio: ratio}
	if s.Config.Name == ImputeGenes {
		k := max(1, min(G, int(math.Round(ratio*float64(G)))))
		for c := range s.Test {
			genes := rng.Perm(G)[:k]
			slices.Sort(genes)
			for _, g := range genes {
				m.Positions = append(m.Positions, Position{Cell: c, Gene: g})
			}
		}
		return m
	}
	var cells []int
	for _, bag := range s.Bags {
		n := len(bag)
		k := max(1, int(math.Round(ratio*float64(n))))
		if n >= 2 {
			k = min(k, n-1)
		}
		k = min(k, n)
		for _, p := range rng.Perm(n)[:k] {
			cells = append(cells, bag[p])
		}
	}
	slices.Sort(cells)
	for _, c := range cells {
		for g := range G {
			m.Positions = append(m.Positions, Position{Cell: c, Gene: g})
		}
	}
	return m
}

// MaskedTest returns the test cells (row k = test cell k, panel genes, raw
// counts) with the masked entries removed from X.
func (s *ImputeSetup) MaskedTest(m ImputeMask) *data.Dataset {
	t := s.Data.SubsetCells(s.Test)
	x := t.X
	masked := make([]bool, x.Rows*x.Cols)
	for _, p := range m.Positions {
		masked[p.Cell*x.Cols+p.Gene] = true
	}
	out := &data.CSR{Rows: x.Rows, Cols: x.Cols, Indptr: make([]int64, 1, x.Rows+1)}
	for i := 0; i < x.Rows; i++ {
		idx, val := x.Row(i)
		for k, j := range idx {
			if !masked[i*x.Cols+int(j)] {
				out.Indices = append(out.Indices, j)
				out.Data = append(out.Data, val[k])
			}
		}
		out.Indptr = append(out.Indptr, int64(len(out.Indices)))
	}
	t.X = out
	return t
}

// Spec returns the ImputeSpec of Impute calls (with the test bags).
func (s *ImputeSetup) Spec() ImputeSpec {
	return ImputeSpec{Bins: s.Bins, CoordCols: s.CoordCols, Seed: s.Seed, Bags: s.Bags}
}

// Score turns a model's answer for mask m into scored positions
// (metrics/recon): the predicted bin is the argmax of Probs (ties to the
// lower bin) and the predicted count expm1 of the probability-weighted
// bin medians of the true cell; for a Log1p answer (or a position whose
// Probs entry is nil when both are given) the bin is the value binned with
// the true cell's edges and the count expm1 of it. A
// malformed answer (wrong length, probabilities not ≥ 0 or not summing to
// 1 within 1e-3, a non-finite or negative log1p value) is an error.
func (s *ImputeSetup) Score(m ImputeMask, imp Imputation) ([]recon.Position, recon.Scores, error) {
	n := len(m.Positions)
	if imp.Probs == nil && imp.Log1p == nil {
		return nil, recon.Scores{}, errors.New("answer has neither probabilities nor values")
	}
	if imp.Probs != nil && len(imp.Probs) != n || imp.Log1p != nil && len(imp.Log1p) != n {
		return nil, recon.Scores{}, fmt.Errorf("answer has %d predictions for %d masked positions", max(len(imp.Probs), len(imp.Log1p)), n)
	}
	out := make([]recon.Position, n)
	for k, p := range m.Positions {
		cell := s.Test[p.Cell]
		tb := s.Truth[p.Cell]
		trueCount := float64(s.Data.X.At(cell, p.Gene))
		rp := recon.Position{Cell: s.Data.Obs.Index[cell], Gene: s.Data.Var.Index[p.Gene], TrueCount: trueCount,
			TrueBin: tb.Bin(math.Log1p(trueCount))}
		if imp.Probs != nil && (imp.Probs[k] != nil || imp.Log1p == nil) {
			pr := imp.Probs[k]
			if len(pr) != s.Bins {
				return nil, recon.Scores{}, fmt.Errorf("position %d: %d probabilities for %d bins", k, len(pr), s.Bins)
			}
			var sum float64
			best := 0
			for b, v := range pr {
				if !(v >= 0) || math.IsInf(float64(v), 0) {
					return nil, recon.Scores{}, fmt.Errorf("position %d: probability %g", k, v)
				}
				sum += float64(v)
				if v > pr[best] {
					best = b
				}
			}
			if math.Abs(sum-1) > 1e-3 {
				return nil, recon.Scores{}, fmt.Errorf("position %d: probabilities sum to %g", k, sum)
			}
			rp.PredBin = best
			rp.PredCount = math.Expm1(tb.Expectation(pr))
		} else {
			v := imp.Log1p[k]
			if !(v >= 0) || math.IsInf(v, 0) {
				return nil, recon.Scores{}, fmt.Errorf("position %d: log1p value %g (want finite, ≥ 0)", k, v)
			}
			rp.PredBin = tb.Bin(v)
			rp.PredCount = math.Expm1(v)
		}
		out[k] = rp
	}
	sc, err := recon.Score(out, s.Bins)
	return out, sc, err
}

// ImputeLevel is the outcome of one masking level.
type ImputeLevel struct {
	Ratio     float64
	Positions []recon.Position
	Scores    recon.Scores
	Seconds   float64 // Impute's wall time
}

// ImputeOutput is what RunImpute produces.
type ImputeOutput struct {
	Levels     []ImputeLevel
	FitSeconds float64
	Notes      []string // model fallbacks (Noter), if any
}

// RunImpute fits model on the training cells once, then for every mask
// ratio of the setup masks the test cells, asks the model for the masked
// positions and scores them. An ImputeBatchModel is asked for every level
// in one call (each level's Seconds is then that call's time divided by
// the number of levels). Errors carry the model's name.
func RunImpute(ctx context.Context, model Imputer, s *ImputeSetup) (*ImputeOutput, error) {
	t0 := time.Now()
	spec := s.Spec()
	fitSpec := spec
	fitSpec.Bags = nil
	if err := model.Fit(ctx, s.TrainData(), fitSpec); err != nil {
		return nil, fmt.Errorf("%s: fit: %w", model.Name(), err)
	}
	out := &ImputeOutput{FitSeconds: time.Since(t0).Seconds()}
	masks := make([]ImputeMask, len(s.Config.MaskRatios))
	for i, r := range s.Config.MaskRatios {
		masks[i] = s.Mask(r)
	}
	imps := make([]Imputation, len(masks))
	secs := make([]float64, len(masks))
	if b, ok := model.(ImputeBatchModel); ok {
		reqs := make([]ImputeRequest, len(masks))
		for i, m := range masks {
			reqs[i] = ImputeRequest{Ratio: m.Ratio, Data: s.MaskedTest(m), Masked: m.Positions}
		}
		t1 := time.Now()
		got, err := b.ImputeLevels(ctx, reqs, spec)
		if err != nil {
			return nil, fmt.Errorf("%s: impute (mask ratios %v): %w", model.Name(), s.Config.MaskRatios, err)
		}
		if len(got) != len(masks) {
			return nil, fmt.Errorf("%s: %d answers for %d masking levels", model.Name(), len(got), len(masks))
		}
		copy(imps, got)
		for i := range secs {
			secs[i] = time.Since(t1).Seconds() / float64(len(masks))
		}
	} else {
		for i, m := range masks {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t1 := time.Now()
			imp, err := model.Impute(ctx, s.MaskedTest(m), m.Positions, spec)
			if err != nil {
				return nil, fmt.Errorf("%s: impute (mask ratio %g): %w", model.Name(), m.Ratio, err)
			}
			imps[i], secs[i] = imp, time.Since(t1).Seconds()
		}
	}
	for i, m := range masks {
		ps, sc, err := s.Score(m, imps[i])
		if err != nil {
			return nil, fmt.Errorf("%s: mask ratio %g: %w", model.Name(), m.Ratio, err)
		}
		out.Levels = append(out.Levels, ImputeLevel{Ratio: m.Ratio, Positions: ps, Scores: sc, Seconds: secs[i]})
	}
	if n, ok := model.(Noter); ok {
		out.Notes = n.Notes()
	}
	return out, nil
}
