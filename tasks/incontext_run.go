package tasks

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/cellbench/cellbench/data"
)

// InContextOutput is one prediction of the incontext task: Prompt names
// the variant (PromptMatched, PromptNone, PromptWrong for an
// InContextModel; "" for a plain PerturbationModel), Out its evaluation
// sets. Every variant of one run shares Out.Real and Out.FitSeconds.
type InContextOutput struct {
	Prompt string
	Out    *PertOutput
}

// RunInContext fits model on the training cells of split only, then
// predicts, for each tested perturbation p, the query cells (B's controls)
// under p, and assembles the evaluation sets of each prompt variant.
//
// The query is B's controls subsampled to opts.MaxControls and is also the
// evaluation's control reference: Real holds B's cells of each p
// (subsampled to opts.MaxCells) followed by the query cells, Pred holds
// one predicted cell per query cell for each p followed by the same query
// cells. The deltas of both sides are therefore taken against the very
// cells the model transformed, and a model that returns its query
// unchanged has delta 0. The evaluation generator is PCG(spec.Seed,
// fnv64a("eval")): the target cells of each p in order, then the query.
//
// An InContextModel is asked three times (PredictInContext), once per
// variant, in the order matched, none, wrong: with A's cells of p, with no
// prompt, and with A's cells of another perturbation (split.Prompts). A
// plain PerturbationModel is asked once through Predict with the query as
// Controls and NCells = the query size (it ignores the prompt). d must be
// log1p. Model errors and malformed predictions (wrong shape, invalid CSR,
// non-finite or negative values) are returned with the model's name.
func RunInContext(ctx context.Context, model PerturbationModel, d *data.Dataset, spec PertSpec, split *InContextSplit, opts EvalOptions) ([]InContextOutput, error) {
	perts, ctxs, err := spec.Labels(d)
	if err != nil {
		return nil, err
	}
	if len(split.Query) == 0 {
		return nil, fmt.Errorf("%s: query context %q has no %q cells", InContext, split.QueryContext, spec.Control)
	}
	if len(split.Perturbations) == 0 || len(split.Prompts) != len(split.Perturbations) {
		return nil, fmt.Errorf("%s: split of query context %q has %d tested perturbations and %d prompts", InContext, split.QueryContext, len(split.Perturbations), len(split.Prompts))
	}
	groups := split.Groups()
	rowsOf := map[Group][]int{}
	for _, i := range split.Test {
		g := Group{ctxs[i], perts[i]}
		rowsOf[g] = append(rowsOf[g], i)
	}
	h := fnv.New64a()
	h.Write([]byte("eval"))
	rng := rand.New(rand.NewPCG(spec.Seed, h.Sum64()))
	keep := make([][]int, len(groups))
	for k, g := range groups {
		if len(rowsOf[g]) == 0 {
			return nil, fmt.Errorf("%s: test group (%q, %q) has no cells", InContext, g.Context, g.Perturbation)
		}
		keep[k] = subsample(rowsOf[g], opts.MaxCells, rng)
	}
	query := subsample(split.Query, opts.MaxControls, rng)
	ctrl := map[string][]int{split.QueryContext: query}
	queryX := d.X.SubsetRows(query)

	start := time.Now()
	if err := model.Fit(ctx, d.SubsetCells(split.Train), spec); err != nil {
		return nil, fmt.Errorf("%s: fit: %w", model.Name(), err)
	}
	fitS := time.Since(start).Seconds()

	type variant struct {
		prompt string
		cells  func(InContextPrompt) []int // nil: no prompt
	}
	var variants []variant
	im, prompted := model.(InContextModel)
	if prompted {
		variants = []variant{
			{PromptMatched, func(p InContextPrompt) []int { return p.Cells }},
			{PromptNone, nil},
			{PromptWrong, func(p InContextPrompt) []int { return p.WrongCells }},
		}
	} else {
		variants = []variant{{"", nil}}
	}
	var real *data.Dataset
	var out []InContextOutput
	for _, v := range variants {
		start = time.Now()
		var preds []*data.CSR
		if prompted {
			reqs := make([]InContextRequest, len(groups))
			for k, g := range groups {
				reqs[k] = InContextRequest{Perturbation: g.Perturbation, PromptContext: split.PromptContext, QueryContext: g.Context, Query: queryX}
				if v.cells != nil {
					reqs[k].Prompt = d.X.SubsetRows(v.cells(split.Prompts[k]))
				}
			}
			preds, err = im.PredictInContext(ctx, reqs)
		} else {
			reqs := make([]PredictRequest, len(groups))
			for k, g := range groups {
				reqs[k] = PredictRequest{Context: g.Context, Perturbation: g.Perturbation, Controls: queryX, NCells: queryX.Rows}
			}
			preds, err = model.Predict(ctx, reqs)
		}
		what := "predict"
		if prompted {
			what = "predict in context (prompt " + v.prompt + ")"
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", model.Name(), what, err)
		}
		predS := time.Since(start).Seconds()
		if len(preds) != len(groups) {
			return nil, fmt.Errorf("%s: %s returned %d matrices for %d requests", model.Name(), what, len(preds), len(groups))
		}
		for k, p := range preds {
			if err := checkPrediction(p, queryX.Rows, d.X.Cols); err != nil {
				return nil, fmt.Errorf("%s: %s for (%q, %q): %w", model.Name(), what, groups[k].Context, groups[k].Perturbation, err)
			}
		}
		r, pred := evalSets(d, spec, groups, keep, preds, []string{split.QueryContext}, ctrl)
		if real == nil {
			real = r
		}
		po := &PertOutput{Real: real, Pred: pred, FitSeconds: fitS, PredictSeconds: predS}
		if n, ok := model.(Noter); ok {
			po.Notes = n.Notes()
		}
		out = append(out, InContextOutput{Prompt: v.prompt, Out: po})
	}
	return out, nil
}
