package tasks

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
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
// prompt, and with A's cells of another perturbation (split.Prompts); an
// InContextBatchModel is asked once for the three (its PredictSeconds are
// the call's seconds split evenly among the variants). A
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
	// The requests of every variant, built once (an InContextBatchModel
	// gets them all in one call).
	icReqs := make([][]InContextRequest, len(variants))
	if prompted {
		for vi, v := range variants {
			icReqs[vi] = make([]InContextRequest, len(groups))
			for k, g := range groups {
				icReqs[vi][k] = InContextRequest{Perturbation: g.Perturbation, PromptContext: split.PromptContext, QueryContext: g.Context, Query: queryX}
				if v.cells != nil {
					icReqs[vi][k].Prompt = d.X.SubsetRows(v.cells(split.Prompts[k]))
				}
			}
		}
	}
	what := func(v variant) string {
		if prompted {
			return "predict in context (prompt " + v.prompt + ")"
		}
		return "predict"
	}
	preds := make([][]*data.CSR, len(variants))
	predS := make([]float64, len(variants))
	if bm, ok := model.(InContextBatchModel); ok {
		names := make([]string, len(variants))
		for vi, v := range variants {
			names[vi] = v.prompt
		}
		start = time.Now()
		all, err := bm.PredictInContextVariants(ctx, names, icReqs)
		if err != nil {
			return nil, fmt.Errorf("%s: predict in context (prompts %s): %w", model.Name(), strings.Join(names, ", "), err)
		}
		if len(all) != len(variants) {
			return nil, fmt.Errorf("%s: predict in context returned %d variants for %d", model.Name(), len(all), len(variants))
		}
		// One call for every variant: each is charged an equal share.
		for vi := range variants {
			preds[vi], predS[vi] = all[vi], time.Since(start).Seconds()/float64(len(variants))
		}
	} else {
		for vi, v := range variants {
			start = time.Now()
			var err error
			if prompted {
				preds[vi], err = im.PredictInContext(ctx, icReqs[vi])
			} else {
				reqs := make([]PredictRequest, len(groups))
				for k, g := range groups {
					reqs[k] = PredictRequest{Context: g.Context, Perturbation: g.Perturbation, Controls: queryX, NCells: queryX.Rows}
				}
				preds[vi], err = model.Predict(ctx, reqs)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", model.Name(), what(v), err)
			}
			predS[vi] = time.Since(start).Seconds()
		}
	}
	var real *data.Dataset
	var out []InContextOutput
	for vi, v := range variants {
		if len(preds[vi]) != len(groups) {
			return nil, fmt.Errorf("%s: %s returned %d matrices for %d requests", model.Name(), what(v), len(preds[vi]), len(groups))
		}
		for k, p := range preds[vi] {
			if err := checkPrediction(p, queryX.Rows, d.X.Cols); err != nil {
				return nil, fmt.Errorf("%s: %s for (%q, %q): %w", model.Name(), what(v), groups[k].Context, groups[k].Perturbation, err)
			}
		}
		r, pred := evalSets(d, spec, groups, keep, preds[vi], []string{split.QueryContext}, ctrl)
		if real == nil {
			real = r
		}
		po := &PertOutput{Real: real, Pred: pred, FitSeconds: fitS, PredictSeconds: predS[vi]}
		if n, ok := model.(Noter); ok {
			po.Notes = n.Notes()
		}
		out = append(out, InContextOutput{Prompt: v.prompt, Out: po})
	}
	return out, nil
}
