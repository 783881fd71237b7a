package recon

import (
	"fmt"
	"math"
)

// Position is one scored masked entry: the cell and gene (names), the true
// count and bin, and the predicted bin and count (see the package doc for
// how a model's bin probabilities or log1p value become PredBin and
// PredCount).
type Position struct {
	Cell, Gene string
	TrueCount  float64
	TrueBin    int
	PredBin    int
	PredCount  float64
}

// Metric names (SPEC-metrics.md "Reconstruction metrics"); the registry
// (package metrics) declares the same names.
const (
	NameMCC          = "mcc"
	NameMCCExpressed = "mcc_expressed"
	NameMAECounts    = "mae_counts"
)

// Scores are the reconstruction metrics of a set of positions.
type Scores struct {
	MCC, MCCExpressed, MAECounts float64
	// N is the number of positions scored; NExpressed of them have a true
	// bin ≥ 1 (the positions of MCCExpressed).
	N, NExpressed int
	// Reasons maps a metric name to why it is NaN or a convention value
	// (sklearn's 0 for an undefined MCC); absent when it is a plain value.
	Reasons map[string]string
}

// Score computes mcc (all positions), mcc_expressed (true bin ≥ 1) and
// mae_counts (mean |PredCount − TrueCount|) over ps, with bins levels
// (labels must lie in [0, bins)). A label out of range or a non-finite or
// negative count is an error naming the position (user files reach this).
func Score(ps []Position, bins int) (Scores, error) {
	if bins < 2 {
		return Scores{}, fmt.Errorf("bins %d: want at least 2", bins)
	}
	all, expr := NewConfusion(bins), NewConfusion(bins)
	var absErr float64
	for i, p := range ps {
		if p.TrueBin < 0 || p.TrueBin >= bins || p.PredBin < 0 || p.PredBin >= bins {
			return Scores{}, fmt.Errorf("position %d (cell %q, gene %q): bins %d/%d outside [0, %d)", i+1, p.Cell, p.Gene, p.TrueBin, p.PredBin, bins)
		}
		if !(p.TrueCount >= 0) || math.IsInf(p.TrueCount, 0) || !(p.PredCount >= 0) || math.IsInf(p.PredCount, 0) {
			return Scores{}, fmt.Errorf("position %d (cell %q, gene %q): counts must be finite and ≥ 0, got true %g, predicted %g", i+1, p.Cell, p.Gene, p.TrueCount, p.PredCount)
		}
		all.Add(p.TrueBin, p.PredBin)
		if p.TrueBin >= 1 {
			expr.Add(p.TrueBin, p.PredBin)
		}
		absErr += math.Abs(p.PredCount - p.TrueCount)
	}
	s := Scores{N: len(ps), NExpressed: int(expr.Total()), Reasons: map[string]string{}}
	var why string
	if s.MCC, why = all.MCC(); why != "" {
		s.Reasons[NameMCC] = why
	}
	if s.MCCExpressed, why = expr.MCC(); why != "" {
		s.Reasons[NameMCCExpressed] = "expressed positions: " + why
	}
	if s.N == 0 {
		s.MAECounts = math.NaN()
		s.Reasons[NameMAECounts] = "no positions to score"
	} else {
		s.MAECounts = absErr / float64(s.N)
	}
	return s, nil
}
