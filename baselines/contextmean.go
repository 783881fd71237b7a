package baselines

import (
	"context"
	"fmt"
	"slices"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// ContextMean is STATE's context-mean baseline (Adduri et al. 2025, §5.3;
// ArcInstitute/state `context_mean.py`): every perturbation of a context is
// predicted as the pooled mean of all perturbed (non-control) training cells
// of that context, whatever the perturbation.
//
// Predict for (c, p) draws NCells cells uniformly with replacement from
// the perturbed training cells of c, so the predicted cells have that pooled
// mean in expectation and keep real cell-to-cell variability. A context with
// no perturbed training cells (zero-shot) is predicted from its controls
// (req.Controls, resampled) plus the mean over training contexts having both
// controls and perturbed cells of (μ_c,perturbed − μ_c,ctrl), clamped at 0;
// that fallback is noted in Notes.
type ContextMean struct {
	genes     int
	seed      uint64
	perturbed map[string]*data.CSR // context → its perturbed training cells
	shift     []float64            // zero-shot fallback; nil if no context allows it
	notes     notes
}

// NewContextMean returns an unfitted context-mean baseline.
func NewContextMean() *ContextMean { return &ContextMean{} }

// Name returns "context-mean".
func (m *ContextMean) Name() string { return "context-mean" }

// Fit stores the perturbed training cells of each context.
func (m *ContextMean) Fit(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	g, err := indexGroups(train, spec)
	if err != nil {
		return fmt.Errorf("context-mean: %w", err)
	}
	m.genes, m.seed = g.genes, spec.Seed
	m.perturbed = map[string]*data.CSR{}
	var shift []float64
	nShift := 0
	for _, c := range g.contexts {
		var rows []int
		for p, r := range g.cells[c] {
			if p != spec.Control {
				rows = append(rows, r...)
			}
		}
		if len(rows) == 0 {
			continue
		}
		slices.Sort(rows)
		m.perturbed[c] = train.X.SubsetRows(rows)
		if ctrl := g.cells[c][spec.Control]; len(ctrl) > 0 {
			d := sub(train.X.MeanRows(rows), train.X.MeanRows(ctrl))
			if shift == nil {
				shift = make([]float64, g.genes)
			}
			addTo(shift, d)
			nShift++
		}
	}
	if len(m.perturbed) == 0 {
		return fmt.Errorf("context-mean: no perturbed training cells")
	}
	if nShift > 0 {
		scale(shift, 1/float64(nShift))
	}
	m.shift = shift
	return nil
}

// Predict resamples each context's perturbed training cells.
func (m *ContextMean) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	if m.perturbed == nil {
		return nil, fmt.Errorf("context-mean: Predict before Fit")
	}
	out := make([]*data.CSR, len(reqs))
	for i, req := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng := tasks.RequestRNG(m.seed, req)
		if cells, ok := m.perturbed[req.Context]; ok {
			if err := checkRequest("context-mean", req, m.genes, false); err != nil {
				return nil, err
			}
			out[i] = resampleRows(cells, req.NCells, rng)
			continue
		}
		if m.shift == nil {
			return nil, fmt.Errorf("context-mean: context %q has no perturbed training cells and no training context has both controls and perturbed cells", req.Context)
		}
		if err := checkRequest("context-mean", req, m.genes, true); err != nil {
			return nil, err
		}
		m.notes.add("context-mean: context %q has no perturbed training cells, used its controls + the mean perturbed shift of the training contexts", req.Context)
		out[i] = shiftedControls(req.Controls, m.shift, req.NCells, rng)
	}
	return out, nil
}

// Notes returns (and clears) the fallbacks taken since the last call.
func (m *ContextMean) Notes() []string { return m.notes.take() }
