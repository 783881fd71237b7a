package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// MetricValue is one metric value of an evaluation, before the runner adds
// the cell's identity.
type MetricValue struct {
	Context      string
	Perturbation string // results.AggregatePerturbation for the aggregate
	Metric       string
	Value        float64
	N            int
	Warning      string
}

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
	vals, _, err := EvaluatePertReport(ctx, out, spec, ev)
	return vals, err
}

// EvaluatePertReport is EvaluatePert that also returns the metrics/pert
// report (its DE tables feed the run artifacts).
func EvaluatePertReport(ctx context.Context, out *tasks.PertOutput, spec tasks.PertSpec, ev EvalSpec) ([]MetricValue, *pert.Report, error) {
	real, pred, err := pertInputs(out, spec)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	rep, err := pert.Evaluate(real, pred, pertOptions(out, spec, ev))
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate: %w", err)
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
		vals = append(vals, MetricValue{Context: "", Perturbation: results.AggregatePerturbation, Metric: a.Metric, Value: a.Mean, N: a.Count, Warning: warn})
	}
	return vals, rep, nil
}

// pertOptions are the metrics/pert options of a suite's evaluation.
func pertOptions(out *tasks.PertOutput, spec tasks.PertSpec, ev EvalSpec) pert.Options {
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
	return opts
}

// pertInputs are the real and predicted sets of a cell as metrics/pert
// inputs.
func pertInputs(out *tasks.PertOutput, spec tasks.PertSpec) (real, pred pert.Input, err error) {
	real = pert.Input{X: out.Real.X}
	pred = pert.Input{X: out.Pred.X}
	if real.Perts, err = out.Real.ObsLabels(spec.PertCol); err != nil {
		return
	}
	if pred.Perts, err = out.Pred.ObsLabels(spec.PertCol); err != nil {
		return
	}
	if spec.ContextCol != "" {
		if real.Contexts, err = out.Real.ObsLabels(spec.ContextCol); err != nil {
			return
		}
		if pred.Contexts, err = out.Pred.ObsLabels(spec.ContextCol); err != nil {
			return
		}
	}
	return
}
