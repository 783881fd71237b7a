package baselines

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// PerturbationMean is STATE's perturbation-mean baseline (Adduri et al.
// 2025, §5.3; ArcInstitute/state `perturb_mean.py`): a perturbation shifts
// every context by the same global offset.
//
// Fit computes, for each training context c with control cells and each
// perturbation p measured there, the offset δ_c,p = μ_c,p − μ_c,ctrl of
// log1p means, and the global offset δ_p = mean over those contexts of
// δ_c,p. A context without training controls contributes nothing.
//
// Predict for (c, p) draws NCells of c's control cells (req.Controls) with
// replacement and adds the offset of p to every gene, clamping at 0 (see
// shiftedControls), so the predicted mean is μ_c,ctrl + δ_p up to the clamp.
// The offset of a perturbation never seen in training is resolved as:
//   - a combination "A+B+…" whose parts can be resolved: the sum of the
//     parts' offsets (the additive model of Norman et al. 2019);
//   - otherwise the mean offset of the seen single perturbations (the
//     "average perturbation"), noted in Notes.
type PerturbationMean struct {
	genes   int
	seed    uint64
	control string
	offsets map[string][]float64
	average []float64 // mean offset over seen singles (or all seen, if no single)
	notes   notes
}

// NewPerturbationMean returns an unfitted perturbation-mean baseline.
func NewPerturbationMean() *PerturbationMean { return &PerturbationMean{} }

// Name returns "perturbation-mean".
func (m *PerturbationMean) Name() string { return "perturbation-mean" }

// Fit computes the global offsets from the training cells.
func (m *PerturbationMean) Fit(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	offsets, err := globalOffsets(train, spec)
	if err != nil {
		return fmt.Errorf("perturbation-mean: %w", err)
	}
	m.genes, m.seed, m.control = train.X.Cols, spec.Seed, spec.Control
	m.offsets = offsets
	m.average = averageOffset(offsets, m.genes)
	return nil
}

// globalOffsets returns δ_p for every non-control perturbation of train that
// has at least one context with controls.
func globalOffsets(train *data.Dataset, spec tasks.PertSpec) (map[string][]float64, error) {
	g, err := indexGroups(train, spec)
	if err != nil {
		return nil, err
	}
	sums := map[string][]float64{}
	counts := map[string]int{}
	for _, c := range g.contexts {
		ctrl := g.cells[c][spec.Control]
		if len(ctrl) == 0 {
			continue
		}
		muCtrl := train.X.MeanRows(ctrl)
		for p, rows := range g.cells[c] {
			if p == spec.Control {
				continue
			}
			d := sub(train.X.MeanRows(rows), muCtrl)
			if sums[p] == nil {
				sums[p] = make([]float64, g.genes)
			}
			addTo(sums[p], d)
			counts[p]++
		}
	}
	if len(sums) == 0 {
		return nil, fmt.Errorf("no perturbed training cells in a context that has %q controls", spec.Control)
	}
	for p, s := range sums {
		scale(s, 1/float64(counts[p]))
	}
	return sums, nil
}

// averageOffset is the mean of the single-perturbation offsets (labels
// without "+"), or of all offsets when no single perturbation was seen.
func averageOffset(offsets map[string][]float64, genes int) []float64 {
	avg := make([]float64, genes)
	names := make([]string, 0, len(offsets))
	for p := range offsets {
		if !strings.Contains(p, "+") {
			names = append(names, p)
		}
	}
	if len(names) == 0 {
		for p := range offsets {
			names = append(names, p)
		}
	}
	sort.Strings(names) // fixed summation order: bit-reproducible
	for _, p := range names {
		addTo(avg, offsets[p])
	}
	scale(avg, 1/float64(len(names)))
	return avg
}

// offset resolves the offset of p as documented on PerturbationMean.
func (m *PerturbationMean) offset(p string) []float64 {
	if p == m.control {
		return make([]float64, m.genes)
	}
	if o, ok := m.offsets[p]; ok {
		return o
	}
	if ps := parts(p); len(ps) > 1 {
		sum := make([]float64, m.genes)
		for _, q := range ps {
			addTo(sum, m.offset(q))
		}
		return sum
	}
	m.notes.add("perturbation-mean: %q unseen in training, used the average offset", p)
	return m.average
}

// Predict returns shifted control cells for each request.
func (m *PerturbationMean) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	if m.offsets == nil {
		return nil, fmt.Errorf("perturbation-mean: Predict before Fit")
	}
	out := make([]*data.CSR, len(reqs))
	for i, req := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := checkRequest("perturbation-mean", req, m.genes, true); err != nil {
			return nil, err
		}
		out[i] = shiftedControls(req.Controls, m.offset(req.Perturbation), req.NCells, tasks.RequestRNG(m.seed, req))
	}
	return out, nil
}

// Notes returns (and clears) the fallbacks taken since the last call.
func (m *PerturbationMean) Notes() []string { return m.notes.take() }
