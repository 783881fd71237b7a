package baselines

import (
	"context"
	"fmt"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// PromptShift is the in-context baseline (tasks.InContextModel): it moves
// the query cells by the change the prompt shows, with no learning beyond
// two means. It is perturbation-mean restricted to the prompt: where
// perturbation-mean averages a perturbation's offset over every training
// context, PromptShift takes it from the prompt cells alone.
//
// Fit stores, for each training context c with control cells, the log1p
// control mean μ_c,ctrl. PredictInContext returns, for query cell i,
//
//	ŷ_i = max(0, q_i + mean(prompt) − μ_A,ctrl),  A = req.PromptContext
//
// gene-wise (log1p), one predicted cell per query cell in query order; a
// request without a prompt returns the query cells unchanged (nothing to
// transfer). A prompt context without training controls is an error.
// Predict, the plain PerturbationModel path (no prompt), returns the
// request's control cells drawn with replacement, as the control baseline.
type PromptShift struct {
	genes    int
	ctrlMean map[string][]float64 // context → control mean
	plain    Control              // Predict without a prompt
}

// NewPromptShift returns an unfitted prompt-shift baseline.
func NewPromptShift() *PromptShift { return &PromptShift{} }

// Name returns "prompt-shift".
func (m *PromptShift) Name() string { return "prompt-shift" }

// Fit computes the control mean of every training context with controls.
func (m *PromptShift) Fit(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	g, err := indexGroups(train, spec)
	if err != nil {
		return fmt.Errorf("prompt-shift: %w", err)
	}
	if err := m.plain.Fit(ctx, train, spec); err != nil {
		return fmt.Errorf("prompt-shift: %w", err)
	}
	m.genes = g.genes
	m.ctrlMean = map[string][]float64{}
	for _, c := range g.contexts {
		if rows := g.cells[c][spec.Control]; len(rows) > 0 {
			m.ctrlMean[c] = train.X.MeanRows(rows)
		}
	}
	if len(m.ctrlMean) == 0 {
		return fmt.Errorf("prompt-shift: no %q cells in the training data", spec.Control)
	}
	return nil
}

// Predict returns req.NCells of the request's control cells, drawn
// uniformly with replacement (without a prompt there is no shift): the
// control baseline's prediction.
func (m *PromptShift) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	if m.ctrlMean == nil {
		return nil, fmt.Errorf("prompt-shift: Predict before Fit")
	}
	out, err := m.plain.Predict(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("prompt-shift (no prompt, as the control model): %w", err)
	}
	return out, nil
}

// PredictInContext implements tasks.InContextModel (see PromptShift).
func (m *PromptShift) PredictInContext(ctx context.Context, reqs []tasks.InContextRequest) ([]*data.CSR, error) {
	if m.ctrlMean == nil {
		return nil, fmt.Errorf("prompt-shift: PredictInContext before Fit")
	}
	out := make([]*data.CSR, len(reqs))
	for i, req := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch {
		case req.Query == nil || req.Query.Rows == 0:
			return nil, fmt.Errorf("prompt-shift: request (%q, %q): no query cells", req.QueryContext, req.Perturbation)
		case req.Query.Cols != m.genes:
			return nil, fmt.Errorf("prompt-shift: request (%q, %q): query has %d genes, model was fitted on %d", req.QueryContext, req.Perturbation, req.Query.Cols, m.genes)
		case req.Prompt != nil && req.Prompt.Rows > 0 && req.Prompt.Cols != m.genes:
			return nil, fmt.Errorf("prompt-shift: request (%q, %q): prompt has %d genes, model was fitted on %d", req.QueryContext, req.Perturbation, req.Prompt.Cols, m.genes)
		}
		shift := make([]float64, m.genes)
		if req.Prompt != nil && req.Prompt.Rows > 0 {
			base, ok := m.ctrlMean[req.PromptContext]
			if !ok {
				return nil, fmt.Errorf("prompt-shift: request (%q, %q): prompt context %q has no training control cells", req.QueryContext, req.Perturbation, req.PromptContext)
			}
			shift = sub(req.Prompt.MeanRows(allRows(req.Prompt.Rows)), base)
		}
		out[i] = shiftRows(req.Query, shift)
	}
	return out, nil
}

// allRows is 0, 1, …, n−1.
func allRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}
