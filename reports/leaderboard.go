package reports

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/results"
)

// DefaultLeaderboardMetrics are the columns of the leaderboard: the Virtual
// Cell Challenge metrics (discrimination_score_l1 and its normalised
// pdisc_norm, overlap_at_N, mae) plus pearson_delta.
var DefaultLeaderboardMetrics = []string{
	metrics.DiscriminationL1, metrics.PDiscNorm, metrics.OverlapAtN, metrics.MAE, metrics.PearsonDelta,
	metrics.MCC, metrics.MCCExpressed, metrics.MAECounts,
}

// LeaderboardOptions configure Leaderboard.
type LeaderboardOptions struct {
	// Title is the page's first heading (default "Leaderboard").
	Title string
	// Metrics are the columns, in order (default DefaultLeaderboardMetrics);
	// metrics absent from the records are left out.
	Metrics []string
	// RankBy are the metrics whose ranks are averaged to order the models
	// (default: every column with a direction in metrics.All).
	RankBy []string
	// Status, when set, is the run's completeness (results.LoadRunStatus):
	// an incomplete run gets a banner under the title, failed cells a
	// section with their reasons (status.go).
	Status *results.RunStatus
}

// Leaderboard writes a markdown leaderboard of records: one section per
// (task, dataset, split), one row per model, one column per metric.
//
// A cell shows the mean over seeds of the metric's aggregate value (the
// "_agg" record: the mean over perturbations, or the aggregate-only metric)
// and, with ≥ 2 seeds, a 95 % percentile bootstrap interval of that mean
// over the seed values (2000 resamples, PCG seeded by BootstrapSeed and
// the cell's key, so reports are reproducible). With 3 seeds the interval
// is coarse: it can only take values among the means of resampled seeds.
// The best value of each column is bold. Models are ordered by their mean
// rank over the RankBy metrics (rank 1 = best in that metric's direction,
// ties share the average rank, NaN ranks last), then by name.
//
// After these sections come the scIB tables of embedding tasks
// (writeScibMarkdown) and, with the default metrics, one table per
// (task, dataset, split) of cell typing outside a scIB table
// (celltype-zeroshot; writeTypingMarkdown).
//
// It returns an error when there are no records or no leaderboard metric
// (nor scIB or typing metric, with the default metrics) is present in them.
func Leaderboard(records []results.Record, w io.Writer, opts LeaderboardOptions) error {
	if len(records) == 0 {
		return fmt.Errorf("leaderboard: no records")
	}
	if opts.Title == "" {
		opts.Title = "Leaderboard"
	}
	want := opts.Metrics
	if len(want) == 0 {
		want = DefaultLeaderboardMetrics
	}
	present := map[string]bool{}
	for _, r := range records {
		present[r.Metric] = true
	}
	var cols []string
	for _, m := range want {
		if present[m] {
			cols = append(cols, m)
		}
	}
	scibTables := NewScibTables(records)
	typing := typingCells(records)
	if len(cols) == 0 {
		if (len(scibTables) == 0 && len(typing) == 0) || len(opts.Metrics) > 0 {
			return fmt.Errorf("leaderboard: none of the metrics %v is in the records", want)
		}
		fmt.Fprintf(w, "# %s\n\n", opts.Title)
		writeStatusBanner(w, opts.Status)
		fmt.Fprintf(w, "Suites: %s. Git: %s. Seeds: %s. Backends: %s.\n",
			strings.Join(distinct(records, func(r results.Record) string { return r.Suite }), ", "),
			strings.Join(distinct(records, func(r results.Record) string { return r.GitSHA }), ", "),
			seedList(records),
			strings.Join(distinct(records, func(r results.Record) string { return r.Backend }), ", "))
		if err := writeScibMarkdown(w, scibTables); err != nil {
			return err
		}
		if err := writeTypingMarkdown(w, typing); err != nil {
			return err
		}
		return writeFailedMarkdown(w, opts.Status)
	}
	rankBy := opts.RankBy
	if len(rankBy) == 0 {
		for _, m := range cols {
			if in, ok := metrics.All.Lookup(m); ok && in.Direction != metrics.NoDirection {
				rankBy = append(rankBy, m)
			}
		}
	}
	keep := map[string]bool{}
	for _, m := range cols {
		keep[m] = true
	}
	cells := Summarize(filter(records, func(r results.Record) bool { return keep[r.Metric] }))

	byExp, exps := pivotCells(cells)
	sort.Slice(exps, func(i, j int) bool {
		a, b := exps[i], exps[j]
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		return a.Split < b.Split
	})

	fmt.Fprintf(w, "# %s\n\n", opts.Title)
	writeStatusBanner(w, opts.Status)
	fmt.Fprintf(w, "Suites: %s. Git: %s. Seeds: %s. Backends: %s.\n\n",
		strings.Join(distinct(records, func(r results.Record) string { return r.Suite }), ", "),
		strings.Join(distinct(records, func(r results.Record) string { return r.GitSHA }), ", "),
		seedList(records),
		strings.Join(distinct(records, func(r results.Record) string { return r.Backend }), ", "))
	fmt.Fprintf(w, "Each value is the mean over seeds of the metric aggregated over the test perturbations; "+
		"[lo, hi] is a 95 %% bootstrap interval of that mean over seeds (%d resamples). "+
		"Models are ordered by their mean rank over %s. Bold = best in the column. Direction: %s.\n",
		BootstrapResamples, strings.Join(rankBy, ", "), directionLegend(cols))

	for _, k := range exps {
		models := make([]string, 0, len(byExp[k]))
		for m := range byExp[k] {
			models = append(models, m)
		}
		sort.Strings(models)
		meanRank := rankModels(models, rankBy, func(model, metric string) (float64, bool) {
			c, ok := byExp[k][model][metric]
			return c.Value, ok
		})
		sort.SliceStable(models, func(i, j int) bool {
			a, b := meanRank[models[i]], meanRank[models[j]]
			if a != b {
				return a < b
			}
			return models[i] < models[j]
		})
		best := map[string]float64{}
		for _, m := range cols {
			best[m] = bestValue(models, m, func(model string) (float64, bool) {
				c, ok := byExp[k][model][m]
				return c.Value, ok
			})
		}
		fmt.Fprintf(w, "\n## %s — %s (%s)\n\n", k.Task, k.Dataset, k.Split)
		table := tablewriter.NewTable(w,
			tablewriter.WithRenderer(renderer.NewMarkdown()),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithHeaderAlignment(tw.AlignLeft),
			tablewriter.WithRowAlignment(tw.AlignLeft))
		header := []string{"rank", "model"}
		header = append(header, cols...)
		header = append(header, "seeds", "mean rank")
		table.Header(header)
		var warnings []string
		for i, model := range models {
			row := []string{fmt.Sprint(i + 1), model}
			nSeeds := 0
			for _, m := range cols {
				c, ok := byExp[k][model][m]
				if !ok {
					row = append(row, "—")
					continue
				}
				nSeeds = max(nSeeds, len(c.Seeds))
				row = append(row, formatCell(c, best[m]))
				for _, wmsg := range c.Warnings {
					warnings = append(warnings, model+": "+wmsg)
				}
			}
			row = append(row, fmt.Sprint(nSeeds), formatRank(meanRank[model]))
			if err := table.Append(row); err != nil {
				return fmt.Errorf("leaderboard: %w", err)
			}
		}
		if err := table.Render(); err != nil {
			return fmt.Errorf("leaderboard: %w", err)
		}
		if n := len(uniqueStrings(warnings)); n > 0 {
			fmt.Fprintf(w, "\n%d distinct warnings on these records (see results.jsonl, field warnings).\n", n)
		}
	}
	if err := writeScibMarkdown(w, scibTables); err != nil {
		return err
	}
	if opts.Metrics == nil {
		if err := writeTypingMarkdown(w, typing); err != nil {
			return err
		}
	}
	return writeFailedMarkdown(w, opts.Status)
}

// pivotCells indexes cells by (task, dataset, split) → model → metric,
// with the groups in their first-seen order.
func pivotCells(cells []Cell) (map[groupKey]map[string]map[string]Cell, []groupKey) {
	byExp := map[groupKey]map[string]map[string]Cell{}
	var exps []groupKey
	for _, c := range cells {
		k := groupKey{c.Task, c.Dataset, c.Split}
		if byExp[k] == nil {
			byExp[k] = map[string]map[string]Cell{}
			exps = append(exps, k)
		}
		if byExp[k][c.Model] == nil {
			byExp[k][c.Model] = map[string]Cell{}
		}
		byExp[k][c.Model][c.Metric] = c
	}
	return byExp, exps
}

// typingCells summarises the cell-typing records (scib.TypingMetrics) of
// the groups without scIB metrics — celltype-zeroshot, whose typing is not
// part of a scIB table: one Cell per (task, dataset, split, embedding,
// metric), the mean over seeds of the mean over held-out batches (the
// record of Context "").
func typingCells(records []results.Record) []Cell {
	hasScib := scibGroups(records)
	return Summarize(filter(records, func(r results.Record) bool {
		return slices.Contains(scib.TypingMetrics, r.Metric) && !hasScib[groupKey{r.Task, r.Dataset, r.Split}]
	}))
}

// writeTypingMarkdown writes one table per (task, dataset, split) of
// typing cells: a row per embedding, ordered by balanced accuracy (then
// name), a column per typing metric with its mean over seeds and 95 %
// bootstrap interval over seeds (formatCell); the best value is bold.
func writeTypingMarkdown(w io.Writer, cells []Cell) error {
	byExp, exps := pivotCells(cells)
	for i, k := range exps {
		var cols []string
		for _, m := range scib.TypingMetrics {
			for _, mc := range byExp[k] {
				if _, ok := mc[m]; ok && !slices.Contains(cols, m) {
					cols = append(cols, m)
				}
			}
		}
		models := make([]string, 0, len(byExp[k]))
		for m := range byExp[k] {
			models = append(models, m)
		}
		rank := rankModels(models, []string{scib.KNNBalancedAccuracyName}, func(model, metric string) (float64, bool) {
			c, ok := byExp[k][model][metric]
			return c.Value, ok
		})
		sort.Slice(models, func(a, b int) bool {
			if rank[models[a]] != rank[models[b]] {
				return rank[models[a]] < rank[models[b]]
			}
			return models[a] < models[b]
		})
		fmt.Fprintf(w, "\n## %s — %s (%s)\n\n", k.Task, k.Dataset, k.Split)
		if i == 0 {
			fmt.Fprintf(w, "Zero-shot 5-NN cell typing: each batch typed from the cells of the other batches, "+
				"averaged over the held-out batches; mean over seeds [95 %% bootstrap interval over seeds]. Higher is better.\n\n")
		}
		table := tablewriter.NewTable(w,
			tablewriter.WithRenderer(renderer.NewMarkdown()),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithHeaderAlignment(tw.AlignLeft),
			tablewriter.WithRowAlignment(tw.AlignLeft))
		table.Header(append(append([]string{"embedding"}, cols...), "seeds"))
		for _, model := range models {
			row := []string{model}
			nSeeds := 0
			for _, m := range cols {
				c, ok := byExp[k][model][m]
				if !ok {
					row = append(row, "—")
					continue
				}
				nSeeds = max(nSeeds, len(c.Seeds))
				row = append(row, formatCell(c, bestValue(models, m, func(model string) (float64, bool) {
					c, ok := byExp[k][model][m]
					return c.Value, ok
				})))
			}
			if err := table.Append(append(row, fmt.Sprint(nSeeds))); err != nil {
				return fmt.Errorf("leaderboard: %w", err)
			}
		}
		if err := table.Render(); err != nil {
			return fmt.Errorf("leaderboard: %w", err)
		}
	}
	return nil
}

// writeScibMarkdown writes, per task with scIB tables, one markdown table:
// a row per (dataset, embedding), sorted by dataset then Total, the bio and
// batch metrics, Bio / Batch / Total and cell typing as columns (raw
// values, mean over seeds; "—" where a dataset lacks the metric). With
// several embeddings of one dataset, the best of each column within the
// dataset is bold.
func writeScibMarkdown(w io.Writer, tables []ScibTable) error {
	var tasks []string
	byTask := map[string][]ScibTable{}
	for _, t := range tables {
		if _, ok := byTask[t.Task]; !ok {
			tasks = append(tasks, t.Task)
		}
		byTask[t.Task] = append(byTask[t.Task], t)
	}
	for _, task := range tasks {
		ts := byTask[task]
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].Dataset < ts[j].Dataset })
		var cols []string
		for _, t := range ts {
			for _, c := range t.Columns() {
				if !slices.Contains(cols, c) {
					cols = append(cols, c)
				}
			}
		}
		// Keep scib's column order across tables.
		order := slices.Concat(scib.BioMetrics, scib.BatchMetrics, scib.Aggregates, scib.TypingMetrics)
		sort.SliceStable(cols, func(i, j int) bool { return slices.Index(order, cols[i]) < slices.Index(order, cols[j]) })
		fmt.Fprintf(w, "\n## %s: scIB metrics\n\n", task)
		fmt.Fprintf(w, "Raw values (mean over seeds %s; higher is better, 0–1). Bio / Batch = mean of the bio-conservation / "+
			"batch-correction metrics (scib-metrics 0.6 default sets), Total = 0.6·Bio + 0.4·Batch; knn_* = zero-shot 5-NN cell typing. "+
			"Split names the label and batch columns.\n\n", seedsOf(ts))
		table := tablewriter.NewTable(w,
			tablewriter.WithRenderer(renderer.NewMarkdown()),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithHeaderAlignment(tw.AlignLeft),
			tablewriter.WithRowAlignment(tw.AlignLeft))
		header := []string{"dataset", "split", "embedding"}
		for _, c := range cols {
			header = append(header, scibLabel(c))
		}
		table.Header(header)
		for _, t := range ts {
			best := map[string]float64{}
			for _, c := range cols {
				best[c] = math.Inf(-1)
				for _, m := range t.Models {
					if v, ok := t.Value[m][c]; ok && !math.IsNaN(v) && v > best[c] {
						best[c] = v
					}
				}
			}
			for _, m := range t.Models {
				row := []string{t.Dataset, t.Split, m}
				for _, c := range cols {
					v, ok := t.Value[m][c]
					s := "—"
					if ok {
						s = formatFixed(v)
					}
					if ok && v == best[c] && len(t.Models) > 1 {
						s = "**" + s + "**"
					}
					row = append(row, s)
				}
				if err := table.Append(row); err != nil {
					return fmt.Errorf("leaderboard: %w", err)
				}
			}
		}
		if err := table.Render(); err != nil {
			return fmt.Errorf("leaderboard: %w", err)
		}
	}
	return nil
}

// seedsOf joins the distinct seed lists of tables ("0, 1, 2").
func seedsOf(ts []ScibTable) string {
	var out []string
	for _, t := range ts {
		if !slices.Contains(out, t.Seeds) {
			out = append(out, t.Seeds)
		}
	}
	return strings.Join(out, "; ")
}

// rankModels returns each model's mean rank over the metrics (1 = best).
func rankModels(models, metricNames []string, value func(model, metric string) (float64, bool)) map[string]float64 {
	sum := map[string]float64{}
	count := 0
	for _, m := range metricNames {
		in, ok := metrics.All.Lookup(m)
		if !ok || in.Direction == metrics.NoDirection {
			continue
		}
		type mv struct {
			model string
			v     float64
		}
		var vs []mv
		for _, model := range models {
			v, ok := value(model, m)
			if !ok || math.IsNaN(v) {
				v = math.NaN()
			} else if in.Direction == metrics.LowerIsBetter {
				v = -v
			}
			vs = append(vs, mv{model, v})
		}
		// Higher (after sign flip) is better; NaN last; ties get the average rank.
		sort.SliceStable(vs, func(i, j int) bool {
			a, b := vs[i].v, vs[j].v
			if math.IsNaN(a) != math.IsNaN(b) {
				return !math.IsNaN(a)
			}
			return a > b
		})
		for i := 0; i < len(vs); {
			j := i + 1
			for j < len(vs) && (vs[j].v == vs[i].v || (math.IsNaN(vs[j].v) && math.IsNaN(vs[i].v))) {
				j++
			}
			r := float64(i+j+1) / 2 // average of ranks i+1 … j
			for k := i; k < j; k++ {
				sum[vs[k].model] += r
			}
			i = j
		}
		count++
	}
	out := map[string]float64{}
	for _, model := range models {
		if count == 0 {
			out[model] = math.NaN()
		} else {
			out[model] = sum[model] / float64(count)
		}
	}
	return out
}

// bestValue is the best finite value of metric m over models (NaN if none
// or if m has no direction).
func bestValue(models []string, m string, value func(model string) (float64, bool)) float64 {
	in, ok := metrics.All.Lookup(m)
	if !ok || in.Direction == metrics.NoDirection {
		return math.NaN()
	}
	best := math.NaN()
	for _, model := range models {
		v, ok := value(model)
		if !ok || math.IsNaN(v) {
			continue
		}
		if math.IsNaN(best) || (in.Direction == metrics.HigherIsBetter && v > best) || (in.Direction == metrics.LowerIsBetter && v < best) {
			best = v
		}
	}
	return best
}

// formatCell is "0.6301 [0.61, 0.65]", bold when equal to best.
func formatCell(c Cell, best float64) string {
	s := formatValue(c.Value)
	if !math.IsNaN(best) && c.Value == best {
		s = "**" + s + "**"
	}
	if fin := finite(c.PerSeed); len(fin) >= 2 {
		lo, hi := bootstrapMean(fin, hashKey("leaderboard", c.Task, c.Dataset, c.Split, c.Model, c.Metric))
		s += " [" + formatValue(lo) + ", " + formatValue(hi) + "]"
	}
	return s
}

func formatRank(r float64) string {
	if math.IsNaN(r) {
		return "—"
	}
	return fmt.Sprintf("%.2f", r)
}

func directionLegend(cols []string) string {
	var parts []string
	for _, m := range cols {
		d := "no direction"
		if in, ok := metrics.All.Lookup(m); ok {
			switch in.Direction {
			case metrics.HigherIsBetter:
				d = "↑"
			case metrics.LowerIsBetter:
				d = "↓"
			}
		}
		parts = append(parts, m+" "+d)
	}
	return strings.Join(parts, ", ")
}

func uniqueStrings(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
