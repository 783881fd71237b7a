package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/tasks"
)

// MetricValue is one metric value of an evaluation, before the runner adds
// the cell's identity.
type MetricValue struct {
	Context      string
	Perturbation string // AggregatePerturbation for the aggregate
	Metric       string
	Value        float64
	N            int
	Warning      string
}

// AggregatePerturbation marks a record aggregating over perturbations.
const AggregatePerturbation = "_agg"

// EvalFunc scores one cell's real and predicted cells.
type EvalFunc func(ctx context.Context, out *tasks.PertOutput, spec tasks.PertSpec, ev EvalSpec) ([]MetricValue, error)

// EvaluatePert is the default EvalFunc: metrics/pert.Evaluate with the
// control reference "pred" (the predicted set carries the same real
// controls as the real set, see tasks.RunPert), the suite's metrics or
// profile (default "vcc") and DE threshold. It emits one value per
// (context, perturbation, metric) and one aggregate per metric
// (Perturbation "_agg", Context "": the mean over the rows, or the
// aggregate-only metric), carrying the report's warnings.
func EvaluatePert(ctx context.Context, out *tasks.PertOutput, spec tasks.PertSpec, ev EvalSpec) ([]MetricValue, error) {
	opts := pert.DefaultOptions()
	opts.Genes = out.Real.Genes()
	opts.Control = spec.Control
	opts.ControlRef = pert.ControlPred
	opts.Metrics = ev.Metrics
	opts.Profile = ev.Profile
	if opts.Profile == "" {
		opts.Profile = "vcc"
	}
	if ev.DEFDR > 0 {
		opts.DEFDR = ev.DEFDR
	}
	real := pert.Input{X: out.Real.X}
	pred := pert.Input{X: out.Pred.X}
	var err error
	if real.Perts, err = out.Real.ObsLabels(spec.PertCol); err != nil {
		return nil, err
	}
	if pred.Perts, err = out.Pred.ObsLabels(spec.PertCol); err != nil {
		return nil, err
	}
	if spec.ContextCol != "" {
		if real.Contexts, err = out.Real.ObsLabels(spec.ContextCol); err != nil {
			return nil, err
		}
		if pred.Contexts, err = out.Pred.ObsLabels(spec.ContextCol); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep, err := pert.Evaluate(real, pred, opts)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	var vals []MetricValue
	for _, row := range rep.Rows {
		for k, m := range rep.Metrics {
			vals = append(vals, MetricValue{Context: row.Context, Perturbation: row.Perturbation, Metric: m, Value: row.Values[k], N: row.NReal})
		}
	}
	warn := strings.Join(rep.Warnings, "; ")
	if len(warn) > 2000 {
		warn = warn[:2000] + "…"
	}
	for _, a := range rep.Aggregates {
		vals = append(vals, MetricValue{Context: "", Perturbation: AggregatePerturbation, Metric: a.Metric, Value: a.Mean, N: a.Count, Warning: warn})
	}
	return vals, nil
}
