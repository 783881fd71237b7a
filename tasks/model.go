package tasks

import (
	"context"
	"hash/fnv"
	"math/rand/v2"

	"github.com/cellbench/cellbench/data"
)

// PertSpec tells a perturbation model how to read its training data.
type PertSpec struct {
	PertCol    string // obs column with the perturbation label
	ContextCol string // obs column with the context (cell type / cell line); "" = one context
	Control    string // the control label in PertCol
	Seed       uint64 // seed for any randomness (PCG)
}

// PredictRequest asks for NCells predicted cells of one perturbation in one
// context, given that context's control cells (log1p, same genes as the
// training data, in the same order).
type PredictRequest struct {
	Context      string
	Perturbation string
	Controls     *data.CSR
	NCells       int
}

// PerturbationModel predicts perturbed cells. Fit sees only training cells
// (log1p scale); Predict returns one log1p CSR per request, with
// req.NCells rows and the training genes as columns.
type PerturbationModel interface {
	Name() string
	Fit(ctx context.Context, train *data.Dataset, spec PertSpec) error
	Predict(ctx context.Context, reqs []PredictRequest) ([]*data.CSR, error)
}

// Noter is implemented by models that take documented fallbacks (an unseen
// perturbation predicted by an average, a context without training cells);
// Notes returns the fallbacks taken since the last call, one line each, and
// clears them. The runner stores them in the Warnings of the result rows.
type Noter interface {
	Notes() []string
}

// Labels returns the perturbation and context label of every cell of d as
// the spec names them; contexts are all "" when ContextCol is empty. A
// missing column is an error naming the dataset and listing its columns.
func (s PertSpec) Labels(d *data.Dataset) (perts, contexts []string, err error) {
	if perts, err = d.ObsLabels(s.PertCol); err != nil {
		return nil, nil, err
	}
	contexts = make([]string, len(perts))
	if s.ContextCol != "" {
		if contexts, err = d.ObsLabels(s.ContextCol); err != nil {
			return nil, nil, err
		}
	}
	return perts, contexts, nil
}

// RequestRNG returns the random generator of one prediction request:
// PCG(seed, fnv64a(context ∥ 0x00 ∥ perturbation)), so that a model's
// predictions do not depend on the order or batching of requests. Every
// model that draws cells per request uses it.
func RequestRNG(seed uint64, req PredictRequest) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(req.Context))
	h.Write([]byte{0})
	h.Write([]byte(req.Perturbation))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}
