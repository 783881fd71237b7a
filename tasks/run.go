package tasks

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/cellbench/cellbench/data"
)

// EvalOptions bound the size of the evaluation sets.
type EvalOptions struct {
	// MaxCells caps the real test cells per (context, perturbation) group
	// (subsampled without replacement); the model is asked for as many
	// cells as the group keeps. 0 = no cap.
	MaxCells int
	// MaxControls caps the control cells per test context used as the
	// reference of the evaluation (in both real and predicted sets; the
	// model's requests carry every training control of the context).
	// 0 = no cap.
	MaxControls int
}

// PertOutput is what RunPert produces for the metrics: real and predicted
// cells with the same genes and obs columns (spec.PertCol and, when set,
// spec.ContextCol). Pred holds the predicted cells of every test group
// followed by the same real control cells as Real (so deltas of both sides
// use the same controls and a model cannot move the reference).
type PertOutput struct {
	Real, Pred     *data.Dataset
	FitSeconds     float64
	PredictSeconds float64
	Notes          []string // model fallbacks (tasks.Noter), if any
}

// RunPert fits model on the training cells of split only, asks it for the
// cells of every test group and assembles the evaluation sets. d must be
// log1p; spec names its columns; seed drives the evaluation subsampling
// (PCG(seed, fnv64("eval"))). Model errors and malformed predictions
// (wrong shape, invalid CSR, non-finite or negative values) are returned
// with the model's name.
func RunPert(ctx context.Context, model PerturbationModel, d *data.Dataset, spec PertSpec, split *Split, opts EvalOptions) (*PertOutput, error) {
	perts, ctxs, err := spec.Labels(d)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte("eval"))
	rng := rand.New(rand.NewPCG(spec.Seed, h.Sum64()))

	// Real test rows per group, controls per context (all in training).
	groupRows := map[Group][]int{}
	for _, i := range split.Test {
		g := Group{ctxs[i], perts[i]}
		groupRows[g] = append(groupRows[g], i)
	}
	ctrlRows := map[string][]int{}
	for _, i := range split.Train {
		if perts[i] == spec.Control {
			ctrlRows[ctxs[i]] = append(ctrlRows[ctxs[i]], i)
		}
	}
	var testContexts []string
	for _, g := range split.TestGroups {
		if len(ctrlRows[g.Context]) == 0 {
			return nil, fmt.Errorf("%s: test context %q has no training %q cells to predict from", split.Task, g.Context, spec.Control)
		}
		if !slices.Contains(testContexts, g.Context) {
			testContexts = append(testContexts, g.Context)
		}
	}

	start := time.Now()
	if err := model.Fit(ctx, d.SubsetCells(split.Train), spec); err != nil {
		return nil, fmt.Errorf("%s: fit: %w", model.Name(), err)
	}
	fitS := time.Since(start).Seconds()

	controls := map[string]*data.CSR{}
	for _, c := range testContexts {
		controls[c] = d.X.SubsetRows(ctrlRows[c])
	}
	reqs := make([]PredictRequest, len(split.TestGroups))
	keep := make([][]int, len(split.TestGroups))
	for k, g := range split.TestGroups {
		keep[k] = subsample(groupRows[g], opts.MaxCells, rng)
		reqs[k] = PredictRequest{Context: g.Context, Perturbation: g.Perturbation, Controls: controls[g.Context], NCells: len(keep[k])}
	}
	evalCtrl := map[string][]int{}
	for _, c := range testContexts {
		evalCtrl[c] = subsample(ctrlRows[c], opts.MaxControls, rng)
	}
	start = time.Now()
	preds, err := model.Predict(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("%s: predict: %w", model.Name(), err)
	}
	predS := time.Since(start).Seconds()
	if len(preds) != len(reqs) {
		return nil, fmt.Errorf("%s: predict returned %d matrices for %d requests", model.Name(), len(preds), len(reqs))
	}
	for k, p := range preds {
		if err := checkPrediction(p, reqs[k].NCells, d.X.Cols); err != nil {
			return nil, fmt.Errorf("%s: prediction for (%q, %q): %w", model.Name(), reqs[k].Context, reqs[k].Perturbation, err)
		}
	}

	real, pred := evalSets(d, spec, split.TestGroups, keep, preds, testContexts, evalCtrl)
	out := &PertOutput{Real: real, Pred: pred, FitSeconds: fitS, PredictSeconds: predS}
	if n, ok := model.(Noter); ok {
		out.Notes = n.Notes()
	}
	return out, nil
}

// evalSets assembles the evaluation sets of RunPert and RunInContext. Real
// holds the real cells keep[k] of each group k followed by the control
// cells ctrl[c] of each context c of ctrlContexts; Pred holds preds[k]
// (rows named pred-0, pred-1, …) followed by the same real controls under
// their own names, so deltas of both sides use the same controls. Both
// carry spec.PertCol (and spec.ContextCol) labels.
func evalSets(d *data.Dataset, spec PertSpec, groups []Group, keep [][]int, preds []*data.CSR, ctrlContexts []string, ctrl map[string][]int) (real, pred *data.Dataset) {
	var ctrlRows []int
	var ctrlPerts, ctrlCtxs []string
	for _, c := range ctrlContexts {
		ctrlRows = append(ctrlRows, ctrl[c]...)
		for range ctrl[c] {
			ctrlPerts = append(ctrlPerts, spec.Control)
			ctrlCtxs = append(ctrlCtxs, c)
		}
	}
	obs := func(index []string, rows func(k int) int) data.Frame {
		var perts, ctxs []string
		for k, g := range groups {
			for range rows(k) {
				perts = append(perts, g.Perturbation)
				ctxs = append(ctxs, g.Context)
			}
		}
		f := data.Frame{IndexName: d.Obs.IndexName, Index: index}
		f.Set(data.NewCategorical(spec.PertCol, append(perts, ctrlPerts...)))
		if spec.ContextCol != "" {
			f.Set(data.NewCategorical(spec.ContextCol, append(ctxs, ctrlCtxs...)))
		}
		return f
	}
	var realRows []int
	for k := range groups {
		realRows = append(realRows, keep[k]...)
	}
	realRows = append(realRows, ctrlRows...)
	realIndex := make([]string, len(realRows))
	for k, i := range realRows {
		realIndex[k] = d.Obs.Index[i]
	}
	var predParts []*data.CSR
	var predIndex []string
	for k := range groups {
		predParts = append(predParts, preds[k])
		for range preds[k].Rows {
			predIndex = append(predIndex, "pred-"+strconv.Itoa(len(predIndex)))
		}
	}
	predParts = append(predParts, d.X.SubsetRows(ctrlRows))
	for _, i := range ctrlRows {
		predIndex = append(predIndex, d.Obs.Index[i])
	}
	real = &data.Dataset{X: d.X.SubsetRows(realRows), Obs: obs(realIndex, func(k int) int { return len(keep[k]) }), Var: d.Var, Scale: data.Log1p}
	pred = &data.Dataset{X: data.VStack(predParts, d.X.Cols), Obs: obs(predIndex, func(k int) int { return preds[k].Rows }), Var: d.Var, Scale: data.Log1p}
	return real, pred
}

// subsample returns at most n of rows (all when n ≤ 0 or len ≤ n), chosen
// without replacement, in ascending order.
func subsample(rows []int, n int, rng *rand.Rand) []int {
	out := append([]int(nil), rows...)
	if n > 0 && len(out) > n {
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		out = out[:n]
	}
	slices.Sort(out)
	return out
}

// checkPrediction checks that a predicted matrix is a valid rows × genes
// log1p CSR (finite, non-negative).
func checkPrediction(p *data.CSR, rows, genes int) error {
	if p == nil {
		return fmt.Errorf("nil matrix")
	}
	if p.Rows != rows || p.Cols != genes {
		return fmt.Errorf("shape %d×%d, want %d×%d", p.Rows, p.Cols, rows, genes)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if err := p.CheckFinite(); err != nil {
		return err
	}
	for k, v := range p.Data {
		if v < 0 {
			return fmt.Errorf("negative log1p value %v at stored entry %d", v, k)
		}
	}
	return nil
}
