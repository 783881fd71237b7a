package pert

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics"
)

// ScoreRow is one metric's baseline-normalised score.
type ScoreRow struct {
	Metric   string
	User     float64 // the user's aggregate mean
	Baseline float64 // the baseline's aggregate mean
	Score    float64 // normalised, NaN→0, clipped at 0
}

// BaselineScore is the Virtual Cell Challenge normalisation (cell-eval
// score_agg_metrics): for every metric with a direction that is in both
// user and base (aggregate means), best-0 metrics score 1 − user/base and
// best-1 metrics (user − base)/(1 − base); NaN (e.g. 0/0) becomes 0 and
// negative scores are clipped to 0 (the SPEC's one NaN→0 rule). avg is the
// unweighted mean of the scores (NaN when no metric is shared). Metrics are
// taken in the order of order (user metrics not in base are skipped; they
// are returned in skipped).
func BaselineScore(order []string, user, base map[string]float64) (rows []ScoreRow, avg float64, skipped []string) {
	sum := 0.0
	for _, m := range order {
		u, ok := user[m]
		if !ok {
			continue
		}
		info, known := metrics.All.Lookup(m)
		if !known || info.Direction == metrics.NoDirection {
			continue
		}
		b, ok := base[m]
		if !ok {
			skipped = append(skipped, m)
			continue
		}
		var s float64
		if info.Best == 0 {
			s = 1 - u/b
		} else {
			s = (u - b) / (info.Best - b)
		}
		if math.IsNaN(s) || s < 0 {
			s = 0
		}
		rows = append(rows, ScoreRow{Metric: m, User: u, Baseline: b, Score: s})
		sum += s
	}
	if len(rows) == 0 {
		return rows, math.NaN(), skipped
	}
	return rows, sum / float64(len(rows)), skipped
}

// WriteScoreCSV writes score.csv: columns metric, from_baseline (cell-eval's
// names), user, baseline; the last row is avg_score.
func WriteScoreCSV(w io.Writer, rows []ScoreRow, avg float64) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"metric", "from_baseline", "user", "baseline"})
	for _, r := range rows {
		cw.Write([]string{r.Metric, metrics.FormatValue(r.Score), metrics.FormatValue(r.User), metrics.FormatValue(r.Baseline)})
	}
	cw.Write([]string{"avg_score", metrics.FormatValue(avg), "", ""})
	cw.Flush()
	return cw.Error()
}

// ReadAggMeans reads the mean row of an agg_results.csv (this package's or
// cell-eval's: first column "statistic", a row "mean", one column per
// metric) into a map, values as metrics.ParseValue reads them (empty = NaN). It returns the
// metric names in column order too.
func ReadAggMeans(r io.Reader) (map[string]float64, []string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, nil, err
	}
	if len(recs) == 0 || len(recs[0]) < 2 || recs[0][0] != "statistic" {
		return nil, nil, fmt.Errorf("not an aggregate table: want a first column named \"statistic\"")
	}
	head := recs[0]
	if err := data.CheckCSVHeader(head); err != nil {
		return nil, nil, err
	}
	for _, rec := range recs[1:] {
		if len(rec) == 0 || rec[0] != "mean" {
			continue
		}
		if len(rec) != len(head) {
			return nil, nil, fmt.Errorf("mean row has %d fields, header %d", len(rec), len(head))
		}
		out := map[string]float64{}
		for k := 1; k < len(head); k++ {
			s := strings.TrimSpace(rec[k])
			v, err := metrics.ParseValue(s)
			if err != nil {
				return nil, nil, fmt.Errorf("column %q: %w", head[k], err)
			}
			out[head[k]] = v
		}
		return out, head[1:], nil
	}
	return nil, nil, fmt.Errorf("no \"mean\" row")
}

// AggMeans returns the aggregate means of a report as a map (input to
// BaselineScore).
func (r *Report) AggMeans() map[string]float64 {
	out := map[string]float64{}
	for _, s := range r.Aggregates {
		out[s.Metric] = s.Mean
	}
	return out
}

// AggOrder returns the aggregate metric names in report order.
func (r *Report) AggOrder() []string {
	out := make([]string, len(r.Aggregates))
	for i, s := range r.Aggregates {
		out[i] = s.Metric
	}
	return out
}
