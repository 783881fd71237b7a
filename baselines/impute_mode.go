package baselines

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/recon"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/tasks"
)

// ModeImputeParams is the (empty) table of the most-frequent-bin imputer.
var ModeImputeParams = &hparams.Table{Model: "mode"}

// ModeImputer is the most-frequent-bin baseline of imputation ("mode";
// sCT paper App. C.2 "most-common"): Fit bins every training cell
// (metrics/recon) and counts, per gene, how often each bin occurs; Impute
// answers every masked position of gene g with those frequencies as its
// bin probabilities, so the predicted bin is the gene's most frequent bin
// (ties to the lower bin) and the predicted count the frequency-weighted
// bin medians of the test cell. It reads nothing of the test cells.
type ModeImputer struct {
	freq [][]float32 // gene → bin frequencies
	bins int
}

// NewModeImputer returns an unfitted ModeImputer.
func NewModeImputer() *ModeImputer { return &ModeImputer{} }

// Name implements tasks.Imputer.
func (m *ModeImputer) Name() string { return "mode" }

// Fit implements tasks.Imputer.
func (m *ModeImputer) Fit(_ context.Context, train *data.Dataset, spec tasks.ImputeSpec) error {
	if train == nil || train.X == nil || train.X.Rows == 0 {
		return errors.New("mode: no training cells")
	}
	if spec.Bins < 2 {
		return fmt.Errorf("mode: bins %d must be ≥ 2", spec.Bins)
	}
	G := train.X.Cols
	m.bins = spec.Bins
	counts := make([][]float64, G)
	for g := range counts {
		counts[g] = make([]float64, spec.Bins)
	}
	row := make([]float32, G)
	x := make([]float64, G)
	for i := 0; i < train.X.Rows; i++ {
		train.X.DenseRow(row, i)
		for j, v := range row {
			x[j] = math.Log1p(float64(v))
		}
		cb := recon.NewCellBins(x, spec.Bins)
		for j, v := range x {
			counts[j][cb.Bin(v)]++
		}
	}
	m.freq = make([][]float32, G)
	n := float64(train.X.Rows)
	for g := range counts {
		m.freq[g] = make([]float32, spec.Bins)
		for b, c := range counts[g] {
			m.freq[g][b] = float32(c / n)
		}
	}
	return nil
}

// Impute implements tasks.Imputer.
func (m *ModeImputer) Impute(_ context.Context, d *data.Dataset, masked []tasks.Position, spec tasks.ImputeSpec) (tasks.Imputation, error) {
	if m.freq == nil {
		return tasks.Imputation{}, errors.New("mode: Impute before Fit")
	}
	if d.NGenes() != len(m.freq) || spec.Bins != m.bins {
		return tasks.Imputation{}, fmt.Errorf("mode: fitted on %d genes and %d bins, asked for %d genes and %d bins", len(m.freq), m.bins, d.NGenes(), spec.Bins)
	}
	out := tasks.Imputation{Probs: make([][]float32, len(masked))}
	for k, p := range masked {
		out.Probs[k] = m.freq[p.Gene]
	}
	return out, nil
}
