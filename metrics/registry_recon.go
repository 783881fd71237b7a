package metrics

// Reconstruction metric names (SPEC-metrics.md "Reconstruction metrics"),
// implemented in metrics/recon (which declares the same names).
const (
	MCC          = "mcc"
	MCCExpressed = "mcc_expressed"
	MAECounts    = "mae_counts"
	reconSource  = "SPEC-metrics.md Reconstruction metrics; sCT paper §4 Metrics (metrics/recon)"
)

func reconInfos() []Info {
	return []Info{
		{Name: MCC, Direction: HigherIsBetter, Best: 1, Kind: Reconstruction,
			Doc:    "multi-class Matthews correlation (Gorodkin R_K, = sklearn matthews_corrcoef) of true vs predicted expression bin over all masked positions pooled",
			Source: reconSource},
		{Name: MCCExpressed, Direction: HigherIsBetter, Best: 1, Kind: Reconstruction,
			Doc:    "mcc over the masked positions whose true bin is ≥ 1 (expressed genes only)",
			Source: reconSource},
		{Name: MAECounts, Direction: LowerIsBetter, Best: 0, Kind: Reconstruction,
			Doc:    "mean |predicted − true count| over masked positions; predicted count = expm1(Σ_b p_b·median_b) with the true cell's bin medians, or expm1 of a predicted log1p value",
			Source: reconSource},
	}
}
