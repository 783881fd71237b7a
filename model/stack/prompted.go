package stack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/cellbench/cellbench/data"
)

// PromptedRNG is the generator of one prompted prediction with seed
// (cellbench predict --prompt/--query --seed S): PCG(seed, 0x9e4e7a7e).
// The command and the browser page both draw from it, so a seed names
// the same cells everywhere.
func PromptedRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e4e7a7e)) }

// PredictPrompted generates the perturbed state (label pert) of every
// query cell of in (Prompting of the prompt and query datasets, log1p
// CP10k; a prompt with no cells is generation without a prompt) with
// Generate from PromptedRNG(seed), and returns what cellbench predict
// --prompt P --query Q --seed S writes: the query cells themselves
// (labelled control in obs column pertCol) followed by one generated cell
// per query cell (labelled pert, obs names pred-0, pred-1, …), log1p CP10k
// over the query's genes, with obs gen_logit (the classifier logit of the
// last round; NaN for the query cells). query must be the dataset in was
// built from. It errors on a model that is not post-trained for in-context
// prediction, on an empty query, or when ctx is done.
func (m *Model) PredictPrompted(ctx context.Context, in PromptingInput, query *data.Dataset, pertCol, pert, control string, seed uint64) (*data.Dataset, error) {
	if m.Stage() != StageInContext {
		return nil, fmt.Errorf("stack: a %s checkpoint; in-context prediction needs one post-trained with cellbench train --model stack --stage incontext", m.Stage())
	}
	if query.NCells() == 0 || len(in.Query) != query.NCells() {
		return nil, fmt.Errorf("stack: the query has %d cells, its prompting input %d", query.NCells(), len(in.Query))
	}
	pg := in
	gen, err := m.Generate(ctx, pg.Prompting, PromptedRNG(seed))
	if err != nil {
		return nil, err
	}
	predX := pg.ToQueryGenes(gen.Cells, query.X)
	n := query.NCells()
	names := make([]string, 0, 2*n)
	labels := make([]string, 0, 2*n)
	for _, id := range query.Obs.Index {
		names = append(names, id)
		labels = append(labels, control)
	}
	for i := range n {
		names = append(names, "pred-"+strconv.Itoa(i))
		labels = append(labels, pert)
	}
	obs := data.Frame{IndexName: query.Obs.IndexName, Index: names}
	obs.Set(data.NewCategorical(pertCol, labels))
	// gen_logit: the classifier logit of the last round (NaN for the
	// query cells themselves), as the release's obs['gen_logit'].
	logit := make([]float64, 0, len(names))
	for range n {
		logit = append(logit, math.NaN())
	}
	for _, v := range gen.Logits {
		logit = append(logit, float64(v))
	}
	obs.Set(&data.Column{Name: "gen_logit", Kind: data.Float, Floats: logit})
	return &data.Dataset{X: data.VStack([]*data.CSR{query.X, predX}, query.NGenes()), Obs: obs, Var: query.Var, Scale: data.Log1p}, nil
}
