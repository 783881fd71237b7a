package baselines

import (
	"context"
	"fmt"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// Control predicts that a perturbation does nothing: the predicted cells of
// (context, perturbation) are the context's control cells (req.Controls),
// resampled uniformly with replacement to req.NCells cells. It is the floor
// every model must beat; its expected discrimination score is chance level
// and it finds no differentially expressed genes.
type Control struct {
	genes int
	seed  uint64
}

// NewControl returns an unfitted control baseline.
func NewControl() *Control { return &Control{} }

// Name returns "control".
func (m *Control) Name() string { return "control" }

// Fit records the gene count and seed; the training cells are not used.
func (m *Control) Fit(_ context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	if train == nil || train.X == nil {
		return fmt.Errorf("control: no training data")
	}
	m.genes, m.seed = train.X.Cols, spec.Seed
	return nil
}

// Predict resamples each request's controls.
func (m *Control) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	if m.genes == 0 {
		return nil, fmt.Errorf("control: Predict before Fit")
	}
	out := make([]*data.CSR, len(reqs))
	for i, req := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := checkRequest("control", req, m.genes, true); err != nil {
			return nil, err
		}
		out[i] = resampleRows(req.Controls, req.NCells, tasks.RequestRNG(m.seed, req))
	}
	return out, nil
}
