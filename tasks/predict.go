package tasks

import (
	"fmt"
	"strconv"

	"github.com/cellbench/cellbench/data"
)

// DefaultPredictCells is how many cells PredictRequests asks for per
// group when neither ncells nor the split's test cells say.
const DefaultPredictCells = 100

// PredictRequests asks for every test group of split (every non-control
// (context, perturbation) group of d, in order of first appearance, for a
// split without test groups), with the training control cells of the
// group's context. A group gets ncells cells when ncells > 0, else as many
// as its real test cells, else DefaultPredictCells. d is on the log1p
// scale. It errors when a context has no training control cell.
//
// cellbench predict and the browser page (web/) build their requests with
// it, so the same checkpoint predicts the same cells in both.
func PredictRequests(d *data.Dataset, spec PertSpec, split *Split, ncells int) ([]PredictRequest, error) {
	perts, ctxs, err := spec.Labels(d)
	if err != nil {
		return nil, err
	}
	ctrl := map[string][]int{}
	for _, i := range split.Train {
		if perts[i] == spec.Control {
			ctrl[ctxs[i]] = append(ctrl[ctxs[i]], i)
		}
	}
	groups := split.TestGroups
	count := map[Group]int{}
	for _, i := range split.Test {
		count[Group{Context: ctxs[i], Perturbation: perts[i]}]++
	}
	if len(groups) == 0 {
		seen := map[Group]bool{}
		for i := range perts {
			g := Group{Context: ctxs[i], Perturbation: perts[i]}
			if perts[i] != spec.Control && !seen[g] {
				seen[g] = true
				groups = append(groups, g)
			}
		}
	}
	reqs := make([]PredictRequest, 0, len(groups))
	for _, g := range groups {
		if len(ctrl[g.Context]) == 0 {
			return nil, fmt.Errorf("context %q has no training %q cells to predict from", g.Context, spec.Control)
		}
		n := ncells
		if n <= 0 {
			n = count[g]
		}
		if n <= 0 {
			n = DefaultPredictCells
		}
		reqs = append(reqs, PredictRequest{Context: g.Context, Perturbation: g.Perturbation,
			Controls: d.X.SubsetRows(ctrl[g.Context]), NCells: n})
	}
	return reqs, nil
}

// PredictionDataset assembles a model's answers to reqs (preds[k] answers
// reqs[k]) into a log1p dataset over d's genes: cells named "pred-0",
// "pred-1", …, the perturbation label in spec.PertCol and the context in
// spec.ContextCol (when set) — the .h5ad that cellbench predict writes and
// cellbench score pert reads as --pred. It errors when the counts differ
// or a prediction is not a valid req.NCells × genes log1p matrix (finite,
// non-negative).
func PredictionDataset(d *data.Dataset, spec PertSpec, reqs []PredictRequest, preds []*data.CSR) (*data.Dataset, error) {
	if len(preds) != len(reqs) {
		return nil, fmt.Errorf("%d predictions for %d requests", len(preds), len(reqs))
	}
	var pertLabels, ctxLabels, names []string
	for k, r := range reqs {
		if err := checkPrediction(preds[k], r.NCells, d.NGenes()); err != nil {
			return nil, fmt.Errorf("prediction for (%q, %q): %w", r.Context, r.Perturbation, err)
		}
		for i := 0; i < preds[k].Rows; i++ {
			pertLabels = append(pertLabels, r.Perturbation)
			ctxLabels = append(ctxLabels, r.Context)
			names = append(names, "pred-"+strconv.Itoa(len(names)))
		}
	}
	obs := data.Frame{IndexName: d.Obs.IndexName, Index: names}
	obs.Set(data.NewCategorical(spec.PertCol, pertLabels))
	if spec.ContextCol != "" {
		obs.Set(data.NewCategorical(spec.ContextCol, ctxLabels))
	}
	return &data.Dataset{X: data.VStack(preds, d.NGenes()), Obs: obs, Var: d.Var, Scale: data.Log1p}, nil
}
