package pert

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cellbench/cellbench/metrics"
)

// ControlRef chooses the control mean subtracted from predicted pseudobulks
// (δ_P(t) = μ_P(t) − c) and the reference group of the predicted DE test.
type ControlRef int

const (
	// ControlPred uses the predicted control cells (cell-eval's default).
	ControlPred ControlRef = iota
	// ControlReal uses the real control cells for both sides, so a model
	// cannot move its score by editing its own control cells (cell-eval #183,
	// #196). Predicted control cells are then not required.
	ControlReal
)

func (c ControlRef) String() string {
	if c == ControlReal {
		return "real"
	}
	return "pred"
}

// ParseControlRef parses "pred" or "real".
func ParseControlRef(s string) (ControlRef, error) {
	switch s {
	case "pred":
		return ControlPred, nil
	case "real":
		return ControlReal, nil
	}
	return 0, fmt.Errorf("control reference %q: want pred or real", s)
}

// Options configure Evaluate. Start from DefaultOptions: the zero value is
// not valid (DEFDR must be in (0, 1]).
type Options struct {
	// Genes are the gene names of the columns (shared by real and pred; align
	// them first). They name the DE tables' features and are used to exclude
	// a perturbation's own target genes from the discrimination distances.
	// Required, one per column.
	Genes []string
	// Control is the control label in the perturbation labels
	// (cell-eval CLI default "non-targeting").
	Control string
	// ControlRef: ControlPred (default) or ControlReal.
	ControlRef ControlRef
	// Profile is "full", "vcc", "minimal" or "pds" (see Profiles); ignored
	// when Metrics is set.
	Profile string
	// Metrics, if non-empty, lists the metrics to compute (names of
	// metrics.All in the perturbation family), overriding Profile.
	Metrics []string
	// DEFDR is the FDR threshold: significant when fdr < DEFDR (0.05).
	DEFDR float64
	// DEMinLFC is the minimum |log2 fold change| of a significant gene (0).
	DEMinLFC float64
	// LFCEpsilon is the pseudocount ε of the log2 fold change (1e-9).
	LFCEpsilon float64
	// Threads bounds the goroutines (≤ 0: GOMAXPROCS).
	Threads int
}

// DefaultOptions returns cell-eval's CLI defaults: control "non-targeting",
// control reference pred, profile full, fdr < 0.05, |LFC| ≥ 0, ε = 1e-9.
func DefaultOptions() Options {
	return Options{Control: "non-targeting", ControlRef: ControlPred, Profile: "full",
		DEFDR: 0.05, DEMinLFC: 0, LFCEpsilon: 1e-9}
}

// Profiles are named metric lists (cell-eval's profiles, src/cell_eval/_pipeline/_runner.py):
//
//	full     every perturbation metric (per-perturbation and aggregate)
//	vcc      mae, discrimination_score_l1, overlap_at_N (the Virtual Cell Challenge score)
//	minimal  pearson_delta, mse, mae, discrimination_score_l1, overlap_at_N,
//	         precision_at_N, de_nsig_real, de_nsig_pred
//	pds      discrimination_score_l1 (no DE is run)
var Profiles = map[string][]string{
	"full": nil, // filled from the registry by ProfileMetrics
	"vcc":  {metrics.MAE, metrics.DiscriminationL1, metrics.OverlapAtN},
	"minimal": {metrics.PearsonDelta, metrics.MSE, metrics.MAE, metrics.DiscriminationL1,
		metrics.OverlapAtN, metrics.PrecisionAtN, metrics.DENSigReal, metrics.DENSigPred},
	"pds": {metrics.DiscriminationL1},
}

// allPert is every perturbation metric in registry order.
var allPert = []string{
	metrics.PearsonDelta, metrics.MAE, metrics.MSE, metrics.MAEDelta, metrics.MSEDelta,
	metrics.DiscriminationL1, metrics.DiscriminationL2, metrics.DiscriminationCosine,
	metrics.PDisc, metrics.PDiscNorm, metrics.EnergyDistance,
	metrics.OverlapAtN, metrics.OverlapAt50, metrics.OverlapAt100, metrics.OverlapAt200, metrics.OverlapAt500,
	metrics.PrecisionAtN, metrics.DESigGenesRecall, metrics.DEDirectionMatch, metrics.DESpearmanLFCSig,
	metrics.DENSigReal, metrics.DENSigPred, metrics.DESpearmanSig,
}

// aggregateOnly metrics exist only across perturbations.
func aggregateOnly(name string) bool {
	return name == metrics.PDisc || name == metrics.PDiscNorm || name == metrics.DESpearmanSig
}

// AllMetrics returns every perturbation metric name, in registry order.
func AllMetrics() []string { return slices.Clone(allPert) }

// ProfileMetrics returns the metric names of a profile in registry order, or
// an error naming the known profiles.
func ProfileMetrics(profile string) ([]string, error) {
	list, ok := Profiles[profile]
	if !ok {
		known := make([]string, 0, len(Profiles))
		for k := range Profiles {
			known = append(known, k)
		}
		slices.Sort(known)
		return nil, fmt.Errorf("unknown profile %q (one of: %s)", profile, strings.Join(known, ", "))
	}
	if list == nil {
		return AllMetrics(), nil
	}
	return orderMetrics(list), nil
}

func orderMetrics(list []string) []string {
	var out []string
	for _, m := range allPert {
		if slices.Contains(list, m) {
			out = append(out, m)
		}
	}
	return out
}

// selected resolves the metric list of opts.
func (o *Options) selected() ([]string, error) {
	if len(o.Metrics) == 0 {
		p := o.Profile
		if p == "" {
			p = "full"
		}
		return ProfileMetrics(p)
	}
	for _, m := range o.Metrics {
		if !slices.Contains(allPert, m) {
			return nil, fmt.Errorf("unknown perturbation metric %q (known: %s)", m, strings.Join(allPert, ", "))
		}
	}
	return orderMetrics(o.Metrics), nil
}

// Check returns an error naming the first option that cannot be used,
// without any data: an unknown metric or profile, an empty control, a DE
// FDR threshold outside (0, 1], a minimum |LFC| or LFC pseudocount that is
// negative or not finite, an unknown control reference. Commands call it
// on their flags before reading any file; Evaluate calls it too.
func (o *Options) Check() error {
	if _, err := o.selected(); err != nil {
		return err
	}
	if o.Control == "" {
		return fmt.Errorf("options: empty control label")
	}
	if !(o.DEFDR > 0 && o.DEFDR <= 1) {
		return fmt.Errorf("options: DE FDR threshold %v not in (0, 1]", o.DEFDR)
	}
	if !(o.DEMinLFC >= 0) || math.IsInf(o.DEMinLFC, 1) {
		return fmt.Errorf("options: DE minimum |LFC| %v is negative or not finite", o.DEMinLFC)
	}
	if !(o.LFCEpsilon >= 0) || math.IsInf(o.LFCEpsilon, 1) {
		return fmt.Errorf("options: LFC epsilon %v is negative or not finite", o.LFCEpsilon)
	}
	if o.ControlRef != ControlPred && o.ControlRef != ControlReal {
		return fmt.Errorf("options: bad control reference %d", o.ControlRef)
	}
	return nil
}

func (o *Options) validate(nGenes int) error {
	if len(o.Genes) != nGenes {
		return fmt.Errorf("options: %d gene names for %d columns", len(o.Genes), nGenes)
	}
	return o.Check()
}
