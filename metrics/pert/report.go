package pert

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/cellbench/cellbench/metrics"
)

// WriteResultsCSV writes results.csv: columns perturbation[, context], then
// one column per metric of r.Metrics (cell-eval's names), one row per
// (context, perturbation).
func (r *Report) WriteResultsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"perturbation"}
	if r.WithContexts {
		head = append(head, "context")
	}
	head = append(head, r.Metrics...)
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, row := range r.Rows {
		rec := []string{row.Perturbation}
		if r.WithContexts {
			rec = append(rec, row.Context)
		}
		for _, v := range row.Values {
			rec = append(rec, metrics.FormatValue(v))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// summaryStats are the statistic rows of the aggregate tables.
var summaryStats = []struct {
	name string
	get  func(Summary) string
}{
	{"count", func(s Summary) string { return strconv.Itoa(s.Count) }},
	{"nan_count", func(s Summary) string { return strconv.Itoa(s.NaNCount) }},
	{"mean", func(s Summary) string { return metrics.FormatValue(s.Mean) }},
	{"std", func(s Summary) string { return metrics.FormatValue(s.Std) }},
	{"min", func(s Summary) string { return metrics.FormatValue(s.Min) }},
	{"median", func(s Summary) string { return metrics.FormatValue(s.Median) }},
	{"max", func(s Summary) string { return metrics.FormatValue(s.Max) }},
}

// WriteAggCSV writes agg_results.csv in the layout of cell-eval's (polars
// describe): a "statistic" column with rows count, nan_count, mean, std,
// min, median, max, then one column per metric (aggregate-only metrics
// included). cell-eval's score command and ReadAggMeans read its mean row.
func (r *Report) WriteAggCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"statistic"}
	for _, s := range r.Aggregates {
		head = append(head, s.Metric)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, st := range summaryStats {
		rec := []string{st.name}
		for _, s := range r.Aggregates {
			rec = append(rec, st.get(s))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteContextAggCSV writes agg_results_by_context.csv: like WriteAggCSV
// with a leading "context" column, one block of statistic rows per context
// (contexts in report order). It writes only the header when the report has
// a single context.
func (r *Report) WriteContextAggCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"context", "statistic"}
	for _, s := range r.Aggregates {
		head = append(head, s.Metric)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, c := range r.Contexts {
		aggs, ok := r.ContextAggregates[c]
		if !ok {
			continue
		}
		for _, st := range summaryStats {
			rec := []string{c, st.name}
			for _, s := range aggs {
				rec = append(rec, st.get(s))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteDECSV writes a DE table (real_de.csv or pred_de.csv) with
// cell-eval's columns: [context,] target, feature, target_mean, ref_mean,
// log2_fold_change, p_value, statistic, fdr — one row per (target, gene).
func (r *Report) WriteDECSV(w io.Writer, groups []DEGroup, genes []string) error {
	bw := w
	head := "target,feature,target_mean,ref_mean,log2_fold_change,p_value,statistic,fdr\n"
	if r.WithContexts {
		head = "context," + head
	}
	if _, err := io.WriteString(bw, head); err != nil {
		return err
	}
	buf := make([]byte, 0, 256)
	for _, g := range groups {
		prefix := csvField(g.Target) + ","
		if r.WithContexts {
			prefix = csvField(g.Context) + "," + prefix
		}
		for j, gene := range genes {
			buf = buf[:0]
			buf = append(buf, prefix...)
			buf = append(buf, csvField(gene)...)
			for _, v := range [...]float64{g.TargetMean[j], g.RefMean[j], g.LFC[j], g.PValue[j], g.Statistic[j], g.FDR[j]} {
				buf = append(buf, ',')
				buf = appendFloat(buf, v)
			}
			buf = append(buf, '\n')
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendFloat appends metrics.FormatValue(v) without allocating.
func appendFloat(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'g', -1, 64) // NaN, +Inf, -Inf as metrics.FormatValue spells them
}

// csvField quotes a field when it needs it (RFC 4180).
func csvField(s string) string {
	for _, c := range s {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			q := []byte{'"'}
			for _, d := range []byte(s) {
				if d == '"' {
					q = append(q, '"')
				}
				q = append(q, d)
			}
			return string(append(q, '"'))
		}
	}
	return s
}

// jsonFloat is metrics.Value: a number, or "NaN"/"+Inf"/"-Inf".
type jsonFloat = metrics.Value

// WriteJSON writes results.json: the options used, the metric names, every
// row, the aggregates and the warnings. NaN and ±Inf are written as the
// strings "NaN", "+Inf", "-Inf" (metrics.Value).
// extra (may be nil) is added under "extra" (e.g. file names, timings).
func (r *Report) WriteJSON(w io.Writer, extra map[string]any) error {
	type jsonRow struct {
		Context      string               `json:"context,omitempty"`
		Perturbation string               `json:"perturbation"`
		NReal        int                  `json:"n_real"`
		NPred        int                  `json:"n_pred"`
		Values       map[string]jsonFloat `json:"values"`
	}
	type jsonAgg struct {
		Count    int       `json:"count"`
		NaNCount int       `json:"nan_count"`
		Mean     jsonFloat `json:"mean"`
		Std      jsonFloat `json:"std"`
		Min      jsonFloat `json:"min"`
		Median   jsonFloat `json:"median"`
		Max      jsonFloat `json:"max"`
	}
	o := r.Options
	doc := struct {
		Options    map[string]any                `json:"options"`
		Metrics    []string                      `json:"metrics"`
		Contexts   []string                      `json:"contexts,omitempty"`
		Rows       []jsonRow                     `json:"rows"`
		Aggregates map[string]jsonAgg            `json:"aggregates"`
		AggOrder   []string                      `json:"aggregate_order"`
		ByContext  map[string]map[string]jsonAgg `json:"context_aggregates,omitempty"`
		Warnings   []string                      `json:"warnings"`
		Extra      map[string]any                `json:"extra,omitempty"`
	}{
		Options: map[string]any{
			"control": o.Control, "control_ref": o.ControlRef.String(), "profile": o.Profile,
			"metrics": o.Metrics, "de_fdr": o.DEFDR, "de_min_lfc": o.DEMinLFC, "lfc_epsilon": o.LFCEpsilon,
			"n_genes": len(o.Genes),
		},
		Metrics: r.Metrics, Rows: []jsonRow{}, Aggregates: map[string]jsonAgg{},
		Warnings: append([]string{}, r.Warnings...), Extra: extra,
	}
	if r.WithContexts {
		doc.Contexts = r.Contexts
	}
	for _, row := range r.Rows {
		jr := jsonRow{Context: row.Context, Perturbation: row.Perturbation, NReal: row.NReal, NPred: row.NPred,
			Values: map[string]jsonFloat{}}
		for k, m := range r.Metrics {
			jr.Values[m] = jsonFloat(row.Values[k])
		}
		doc.Rows = append(doc.Rows, jr)
	}
	toJSON := func(s Summary) jsonAgg {
		return jsonAgg{s.Count, s.NaNCount, jsonFloat(s.Mean), jsonFloat(s.Std),
			jsonFloat(s.Min), jsonFloat(s.Median), jsonFloat(s.Max)}
	}
	for _, s := range r.Aggregates {
		doc.AggOrder = append(doc.AggOrder, s.Metric)
		doc.Aggregates[s.Metric] = toJSON(s)
	}
	if r.ContextAggregates != nil {
		doc.ByContext = map[string]map[string]jsonAgg{}
		for c, aggs := range r.ContextAggregates {
			m := map[string]jsonAgg{}
			for _, s := range aggs {
				m[s.Metric] = toJSON(s)
			}
			doc.ByContext[c] = m
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	return nil
}
