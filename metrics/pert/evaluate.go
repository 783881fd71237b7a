package pert

import (
	"fmt"
	"math"
	"slices"

	"github.com/cellbench/cellbench/internal/par"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/metrics/de"
)

// Row is the metric values of one (context, perturbation).
type Row struct {
	Context      string // "" when the evaluation has one context
	Perturbation string
	NReal, NPred int       // cells of the perturbation on each side
	Values       []float64 // aligned with Report.Metrics; NaN where undefined
}

// DEGroup is the DE table of one (context, target) on one side.
type DEGroup struct {
	Context string
	de.Result
}

// Report is the outcome of Evaluate.
type Report struct {
	Options Options
	// Metrics are the per-row metric names (the columns of Rows), in
	// registry order; aggregate-only metrics (pdisc, pdisc_norm,
	// de_spearman_sig) are not among them.
	Metrics []string
	// Rows holds one entry per (context, perturbation), sorted by context
	// then perturbation.
	Rows []Row
	// Aggregates summarise every selected metric over Rows (mean, std, …),
	// per-row metrics first, then aggregate-only metrics (Count = 1, the
	// value in Mean/Min/Median/Max, Std NaN).
	Aggregates []Summary
	// Contexts lists the contexts in order ("" alone when there is one).
	Contexts []string
	// RealDE and PredDE are the DE tables (nil when no DE metric is
	// selected), in the order of Rows.
	RealDE, PredDE []DEGroup
	// Warnings explain every NaN or rule-based 0 and degenerate input.
	Warnings []string
	// Deltas holds every context's pseudobulk means and deltas (the
	// inputs of the expression and discrimination metrics), in context order.
	Deltas []ContextDeltas
	// WithContexts says whether the inputs had context labels.
	WithContexts bool
	// ContextAggregates holds, with context labels, the same summaries as
	// Aggregates over each context's rows alone (pdisc and de_spearman_sig
	// recomputed within the context); nil for a single context.
	ContextAggregates map[string][]Summary
}

// Aggregate returns the summary of a metric and whether it was computed.
func (r *Report) Aggregate(metric string) (Summary, bool) {
	for _, s := range r.Aggregates {
		if s.Metric == metric {
			return s, true
		}
	}
	return Summary{}, false
}

// Value returns the value of metric for (context, perturbation).
func (r *Report) Value(context, perturbation, metric string) (float64, bool) {
	k := slices.Index(r.Metrics, metric)
	if k < 0 {
		return math.NaN(), false
	}
	for _, row := range r.Rows {
		if row.Context == context && row.Perturbation == perturbation {
			return row.Values[k], true
		}
	}
	return math.NaN(), false
}

// Evaluate scores predicted against real cells with the metrics of
// opts (see the package documentation for the definitions). Both inputs
// must have the genes of opts.Genes as columns, in the same order (align
// them first, e.g. with data.AlignGenes), hold log1p values, and have the
// same contexts and the same perturbations in every context, with the
// control in real (and in pred when opts.ControlRef is ControlPred).
// User-input problems (shape, NaN/Inf, label mismatches) are returned as
// errors naming the problem.
func Evaluate(real, pred Input, opts Options) (*Report, error) {
	if real.X == nil || pred.X == nil {
		return nil, fmt.Errorf("pert: missing expression matrix")
	}
	if err := opts.validate(real.X.Cols); err != nil {
		return nil, err
	}
	selected, err := opts.selected()
	if err != nil {
		return nil, err
	}
	pl, err := pairInputs(real, pred, opts)
	if err != nil {
		return nil, err
	}
	withCtx := real.Contexts != nil
	has := func(m string) bool { return slices.Contains(selected, m) }
	needDE := false
	for _, m := range selected {
		if info, _ := metrics.All.Lookup(m); info.Kind == metrics.DifferentialExpression || m == metrics.DESpearmanSig {
			needDE = true
		}
	}
	rep := &Report{Options: opts, WithContexts: withCtx}
	for _, m := range selected {
		if !aggregateOnly(m) {
			rep.Metrics = append(rep.Metrics, m)
		}
	}
	col := map[string]int{}
	for k, m := range rep.Metrics {
		col[m] = k
	}
	var singles []string
	var rankL1 []float64 // r_t/N (L1) per row, for pdisc
	for ci := range pl.contexts {
		pc := &pl.contexts[ci]
		rep.Contexts = append(rep.Contexts, pc.name)
		label := func(t string) string {
			if withCtx {
				return pc.name + "/" + t
			}
			return t
		}
		for i, t := range pc.perts {
			if len(pc.realRows[i]) < 2 || len(pc.predRows[i]) < 2 {
				singles = append(singles, label(t))
			}
		}
		if len(pc.realCtrl) < 2 || (pc.predCtrl != nil && len(pc.predCtrl) < 2) {
			singles = append(singles, label(opts.Control))
		}
		n := len(pc.perts)
		cd := contextDeltas(real, pred, pc, opts)
		rep.Deltas = append(rep.Deltas, cd)
		muR, muP, dR, dP := cd.MeanReal, cd.MeanPred, cd.Real, cd.Pred
		rows := make([]Row, n)
		for i, t := range pc.perts {
			rows[i] = Row{Context: pc.name, Perturbation: t, NReal: len(pc.realRows[i]), NPred: len(pc.predRows[i]),
				Values: make([]float64, len(rep.Metrics))}
			for k := range rows[i].Values {
				rows[i].Values[k] = math.NaN()
			}
			set := func(m string, v float64) {
				if k, ok := col[m]; ok {
					rows[i].Values[k] = v
				}
			}
			set(metrics.PearsonDelta, Pearson(dP[i], dR[i]))
			mae, mse := meanAbsSq(muP[i], muR[i])
			set(metrics.MAE, mae)
			set(metrics.MSE, mse)
			maeD, mseD := meanAbsSq(dP[i], dR[i])
			set(metrics.MAEDelta, maeD)
			set(metrics.MSEDelta, mseD)
		}
		kinds := [3]bool{has(metrics.DiscriminationL1) || has(metrics.PDisc) || has(metrics.PDiscNorm),
			has(metrics.DiscriminationL2), has(metrics.DiscriminationCosine)}
		if kinds[0] || kinds[1] || kinds[2] {
			dists := discriminationDistances(dP, dR, discriminationSegments(pc.perts, opts.Genes), kinds, opts.Threads)
			var ranks [3][]int
			for k := range kinds {
				if kinds[k] {
					ranks[k] = ranksFrom(dists[k])
				}
			}
			names := [3]string{metrics.DiscriminationL1, metrics.DiscriminationL2, metrics.DiscriminationCosine}
			for k := range kinds {
				if !kinds[k] {
					continue
				}
				for i := range pc.perts {
					frac := float64(ranks[k][i]) / float64(n)
					if c, ok := col[names[k]]; ok {
						rows[i].Values[c] = 1 - frac
					}
					if k == 0 {
						rankL1 = append(rankL1, frac)
					}
				}
			}
			if n == 1 {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("context %q has a single perturbation: discrimination scores are trivially 1 and pdisc 0", pc.name))
			}
		}
		if has(metrics.EnergyDistance) {
			c := col[metrics.EnergyDistance]
			par.For(n, opts.Threads, func(i int) {
				rows[i].Values[c] = EnergyDistance(real.X, pc.realRows[i], pred.X, pc.predRows[i])
			})
		}
		if needDE {
			groupsR := make([]de.Group, n)
			groupsP := make([]de.Group, n)
			for i, t := range pc.perts {
				groupsR[i] = de.Group{Name: t, Rows: pc.realRows[i]}
				groupsP[i] = de.Group{Name: t, Rows: pc.predRows[i]}
			}
			refR, err := de.NewReference(real.X, pc.realCtrl, opts.Threads)
			if err != nil {
				return nil, fmt.Errorf("real DE: %w", err)
			}
			resR, err := de.Compare(real.X, groupsR, refR, opts.LFCEpsilon, opts.Threads)
			if err != nil {
				return nil, fmt.Errorf("real DE: %w", err)
			}
			refP := refR
			if opts.ControlRef == ControlPred {
				refR = nil
				if refP, err = de.NewReference(pred.X, pc.predCtrl, opts.Threads); err != nil {
					return nil, fmt.Errorf("pred DE: %w", err)
				}
			}
			resP, err := de.Compare(pred.X, groupsP, refP, opts.LFCEpsilon, opts.Threads)
			if err != nil {
				return nil, fmt.Errorf("pred DE: %w", err)
			}
			for i := range pc.perts {
				rep.RealDE = append(rep.RealDE, DEGroup{Context: pc.name, Result: resR[i]})
				rep.PredDE = append(rep.PredDE, DEGroup{Context: pc.name, Result: resP[i]})
				v := deMetrics(&resR[i], &resP[i], opts.DEFDR, opts.DEMinLFC)
				set := func(m string, x float64) {
					if k, ok := col[m]; ok {
						rows[i].Values[k] = x
					}
				}
				set(metrics.OverlapAtN, v.overlapN)
				set(metrics.OverlapAt50, v.overlapK[0])
				set(metrics.OverlapAt100, v.overlapK[1])
				set(metrics.OverlapAt200, v.overlapK[2])
				set(metrics.OverlapAt500, v.overlapK[3])
				set(metrics.PrecisionAtN, v.precisionN)
				set(metrics.DESigGenesRecall, v.recall)
				set(metrics.DEDirectionMatch, v.directionMatch)
				set(metrics.DESpearmanLFCSig, v.spearmanLFCSig)
				set(metrics.DENSigReal, float64(v.nsigReal))
				set(metrics.DENSigPred, float64(v.nsigPred))
			}
		}
		rep.Rows = append(rep.Rows, rows...)
	}
	if len(singles) > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("groups with fewer than 2 cells on a side (metrics are computed but DE and energy distance rest on one cell): %s", listHead(singles, 20)))
	}
	rep.finish(selected, rankL1, needDE)
	return rep, nil
}

// nanReasons explains when each metric is NaN (for warnings).
var nanReasons = map[string]string{
	metrics.PearsonDelta:     "a delta is constant over genes",
	metrics.DESigGenesRecall: "no real significant gene (k = 0)",
	metrics.DEDirectionMatch: "no real significant gene (k = 0)",
	metrics.DESpearmanLFCSig: "fewer than 2 real significant genes or a constant LFC list",
}

// finish computes the aggregates (overall and per context) and the
// warnings about NaN and rule-based zeros.
func (r *Report) finish(selected []string, rankL1 []float64, needDE bool) {
	label := func(row Row) string {
		if r.WithContexts {
			return row.Context + "/" + row.Perturbation
		}
		return row.Perturbation
	}
	all := make([]int, len(r.Rows))
	for i := range all {
		all[i] = i
	}
	r.Aggregates = r.summaries(all, selected, rankL1)
	if r.WithContexts {
		r.ContextAggregates = map[string][]Summary{}
		byCtx := map[string][]int{}
		for i, row := range r.Rows {
			byCtx[row.Context] = append(byCtx[row.Context], i)
		}
		for c, rows := range byCtx {
			r.ContextAggregates[c] = r.summaries(rows, selected, rankL1)
		}
	}
	for k, m := range r.Metrics {
		var nan []string
		for _, row := range r.Rows {
			if math.IsNaN(row.Values[k]) {
				nan = append(nan, label(row))
			}
		}
		if len(nan) > 0 {
			reason := nanReasons[m]
			if reason == "" {
				reason = "a non-finite intermediate value made it undefined for this input"
			}
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s is NaN for %d of %d rows (%s): %s", m, len(nan), len(r.Rows), reason, listHead(nan, 20)))
		}
	}
	if needDE {
		var k0, kp0 []string
		for i := range r.RealDE {
			if significantCount(&r.RealDE[i].Result, r.Options) == 0 {
				k0 = append(k0, label(r.Rows[i]))
			}
			if significantCount(&r.PredDE[i].Result, r.Options) == 0 {
				kp0 = append(kp0, label(r.Rows[i]))
			}
		}
		if len(k0) > 0 && (slices.Contains(r.Metrics, metrics.OverlapAtN) || slices.Contains(r.Metrics, metrics.OverlapAt50)) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d perturbations have no real significant DE gene; overlap_at_* is 0 for them (VCC rule): %s", len(k0), listHead(k0, 20)))
		}
		if len(kp0) > 0 && slices.Contains(r.Metrics, metrics.PrecisionAtN) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d perturbations have no predicted significant DE gene; precision_at_N is 0 for them (cell-eval rule): %s", len(kp0), listHead(kp0, 20)))
		}
	}
	if s, ok := r.Aggregate(metrics.DESpearmanSig); ok && math.IsNaN(s.Mean) {
		r.Warnings = append(r.Warnings, "de_spearman_sig is NaN: fewer than 2 perturbations or a constant number of significant genes on one side")
	}
}

// summaries summarises the given rows: every per-row metric, then the
// aggregate-only metrics recomputed over those rows (pdisc from the rows'
// L1 rank fractions rankL1, aligned with Rows; de_spearman_sig from their
// DE tables).
func (r *Report) summaries(rows []int, selected []string, rankL1 []float64) []Summary {
	var out []Summary
	for k, m := range r.Metrics {
		vals := make([]float64, len(rows))
		for i, ri := range rows {
			vals[i] = r.Rows[ri].Values[k]
		}
		out = append(out, summarize(m, vals))
	}
	one := func(m string, v float64) Summary {
		if math.IsNaN(v) {
			return summarize(m, []float64{v})
		}
		return Summary{Metric: m, Count: 1, Mean: v, Std: math.NaN(), Min: v, Median: v, Max: v}
	}
	for _, m := range selected {
		switch m {
		case metrics.PDisc, metrics.PDiscNorm:
			mean := 0.0
			for _, ri := range rows {
				mean += rankL1[ri]
			}
			mean /= float64(len(rows))
			if m == metrics.PDisc {
				out = append(out, one(m, mean))
			} else {
				out = append(out, one(m, 1-2*mean))
			}
		case metrics.DESpearmanSig:
			nr := make([]float64, len(rows))
			np := make([]float64, len(rows))
			for i, ri := range rows {
				nr[i] = float64(significantCount(&r.RealDE[ri].Result, r.Options))
				np[i] = float64(significantCount(&r.PredDE[ri].Result, r.Options))
			}
			out = append(out, one(m, Spearman(nr, np)))
		}
	}
	return out
}

func significantCount(res *de.Result, o Options) int {
	n := 0
	for g, q := range res.FDR {
		if q < o.DEFDR && math.Abs(res.LFC[g]) >= o.DEMinLFC {
			n++
		}
	}
	return n
}
