package reports

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/results"
)

// Extras are figure inputs that records alone cannot give: DE tables,
// pseudobulk deltas and embeddings, computed in-process by the caller (see
// LFCScatterFromReport, DiscriminationFromInputs, EmbeddingFromCSV).
type Extras struct {
	LFC            []LFCScatter
	Discrimination []Discrimination
	Embeddings     []Embedding
}

// Options configures Build.
type Options struct {
	// Title of the report (default "cellbench report — RUN").
	Title string
	// Run names the run (e.g. "runs/quick"), shown in the header.
	Run string
	// BarMetrics restricts the metric-bar panels (default: every metric).
	BarMetrics []string
	Extras     Extras
	// Notes are listed in the HTML under "Notes" (e.g. figures that could
	// not be drawn from the run's artifacts, and why).
	Notes []string
	// Status, when set, is the run's completeness: an incomplete run gets
	// a banner, failed cells the first section (status.go).
	Status *results.RunStatus
}

// Report is a built report: the summary cells, tables and figures of one
// run, ready to be written as index.html plus PNG and SVG files.
type Report struct {
	Title      string
	Run        string
	Records    []results.Record
	Cells      []Cell
	ScibTables []ScibTable
	// Figures in display order; Sections groups them for the HTML.
	Figures  []*Figure
	Sections []Section
	Notes    []string
	Status   *results.RunStatus
}

// Section is one heading of the HTML report with its tables and figures.
type Section struct {
	ID, Heading string
	Intro       string
	Table       *HTMLTable
	Figures     []*Figure
}

// HTMLTable is a rendered-ready table: header, rows of cells.
type HTMLTable struct {
	Caption string
	Header  []string
	Rows    [][]TableCell
}

// TableCell is one table cell: its main text, an optional second line
// (interval, raw value) and whether it is the column's best.
type TableCell struct {
	Text, Sub string
	Best      bool
	Title     string // hover text
}

// Build summarises records and builds every figure: metric bars per
// (task, dataset, split), scIB tables, MCC curves, and the figures of
// opts.Extras. It errors when records are empty or an extra's input is
// inconsistent (the error names the figure).
func Build(records []results.Record, opts Options) (*Report, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("report: no result records")
	}
	r := &Report{Title: opts.Title, Run: opts.Run, Records: records, Cells: Summarize(records), Status: opts.Status}
	if r.Title == "" {
		r.Title = "cellbench report"
		if opts.Run != "" {
			r.Title += " — " + opts.Run
		}
	}
	scibSet := map[string]bool{}
	r.ScibTables = NewScibTables(records)
	for _, t := range r.ScibTables {
		for _, c := range t.Columns() {
			scibSet[t.Task+"\x00"+c] = true
		}
	}
	// One section per (task, dataset, split): leaderboard table + bars.
	// Records with a masking ratio are drawn as MCC curves, not bars.
	bars := NewMetricBarsFigures(filter(records, func(b results.Record) bool {
		return !scibSet[b.Task+"\x00"+b.Metric] && b.MaskRatio == 0
	}),
		MetricBarsOptions{Metrics: opts.BarMetrics})
	barByName := map[string]*Figure{}
	for _, f := range bars {
		barByName[f.Name] = f
	}
	groups := map[groupKey][]Cell{}
	var order []groupKey
	for _, c := range r.Cells {
		if scibSet[c.Task+"\x00"+c.Metric] {
			continue
		}
		k := groupKey{c.Task, c.Dataset, c.Split}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	for _, k := range order {
		gr := filter(records, func(b results.Record) bool { return b.Task == k.Task && b.Dataset == k.Dataset && b.Split == k.Split })
		s := Section{ID: fileSafe(k.Task + "_" + k.Dataset + "_" + k.Split), Heading: k.String(),
			Intro: fmt.Sprintf("Seeds %s; %d records; backend %s; git %s.", seedList(gr), len(gr),
				strings.Join(distinct(gr, func(b results.Record) string { return b.Backend }), ", "),
				strings.Join(distinct(gr, func(b results.Record) string { return b.GitSHA }), ", ")),
			Table: leaderboardTable(groups[k])}
		if f := barByName["bars_"+fileSafe(k.Task+"_"+k.Dataset+"_"+k.Split)]; f != nil {
			s.Figures = append(s.Figures, f)
		}
		r.Sections = append(r.Sections, s)
	}
	for _, t := range r.ScibTables {
		f := NewScibTableFigure(t)
		r.Sections = append(r.Sections, Section{ID: "scib_" + fileSafe(t.Dataset+"_"+t.Split),
			Heading: "scIB integration: " + t.Dataset + " / " + t.Split,
			Intro:   "Seeds " + t.Seeds + ". Raw metric values; Total = 0.6·Bio + 0.4·Batch (scib-metrics 0.6).",
			Table:   scibHTMLTable(t), Figures: []*Figure{f}})
	}
	if mcc := NewMCCCurveFigures(records); len(mcc) > 0 {
		r.Sections = append(r.Sections, Section{ID: "imputation", Heading: "Imputation: MCC vs masking ratio", Figures: mcc})
	}
	// Extras tagged with a task go into the section of their (task,
	// dataset, split): perturbation sections, or the scIB section for
	// embeddings; untagged ones into sections of their own.
	sectionOf := map[groupKey]int{}
	for i, k := range order { // r.Sections starts with one section per group of order
		sectionOf[k] = i
	}
	for i, t := range r.ScibTables {
		sectionOf[groupKey{t.Task, t.Dataset, t.Split}] = len(order) + i
	}
	place := func(task, dataset, split string, f *Figure, own *[]*Figure) {
		if task != "" {
			if i, ok := sectionOf[groupKey{task, dataset, split}]; ok && i < len(r.Sections) {
				r.Sections[i].Figures = append(r.Sections[i].Figures, f)
				return
			}
		}
		*own = append(*own, f)
	}
	var lfc, disc, emb []*Figure
	for _, in := range opts.Extras.LFC {
		f, err := NewLFCScatterFigure(in)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		place(in.Task, in.Dataset, in.Split, f, &lfc)
	}
	for _, in := range opts.Extras.Discrimination {
		f, err := NewDiscriminationFigure(in)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		place(in.Task, in.Dataset, in.Split, f, &disc)
	}
	for _, in := range opts.Extras.Embeddings {
		f, err := NewEmbeddingFigure(in)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		place(in.Task, in.Dataset, in.Split, f, &emb)
	}
	if len(lfc) > 0 {
		r.Sections = append(r.Sections, Section{ID: "lfc", Heading: "Predicted vs real log2 fold change", Figures: lfc})
	}
	if len(disc) > 0 {
		r.Sections = append(r.Sections, Section{ID: "discrimination", Heading: "Perturbation discrimination", Figures: disc})
	}
	if len(emb) > 0 {
		r.Sections = append(r.Sections, Section{ID: "embeddings", Heading: "Embeddings (2-D PCA)", Figures: emb})
	}
	if len(opts.Notes) > 0 {
		r.Notes = append(r.Notes, opts.Notes...)
	}
	if f := failedSection(opts.Status); f != nil {
		r.Sections = append([]Section{*f}, r.Sections...)
	}
	seen := map[string]bool{}
	for _, s := range r.Sections {
		for _, f := range s.Figures {
			if seen[f.Name] {
				return nil, fmt.Errorf("report: two figures named %q", f.Name)
			}
			seen[f.Name] = true
			r.Figures = append(r.Figures, f)
		}
	}
	return r, nil
}

// leaderboardTable pivots cells (one group) to metrics × models (metrics as
// rows: suites have many metrics and few models). A cell shows the raw value
// (mean over seeds) and its interval; the best model per metric with a
// direction is marked.
func leaderboardTable(cells []Cell) *HTMLTable {
	metricNames := distinctCells(cells, func(c Cell) string { return c.Metric })
	models := distinctCells(cells, func(c Cell) string { return c.Model })
	at := map[[2]string]Cell{}
	for _, c := range cells {
		at[[2]string{c.Model, c.Metric}] = c
	}
	t := &HTMLTable{Header: append([]string{"metric", "unit"}, models...)}
	wall := make([]float64, len(models))
	for _, m := range metricNames {
		label := m
		best := ""
		if in, ok := metrics.All.Lookup(m); ok && in.Direction != metrics.NoDirection {
			if in.Direction == metrics.HigherIsBetter {
				label += " ↑"
			} else {
				label += " ↓"
			}
			bestV := math.NaN()
			for _, model := range models {
				c, ok := at[[2]string{model, m}]
				if !ok || !isFinite(c.Value) {
					continue
				}
				if math.IsNaN(bestV) || (in.Direction == metrics.HigherIsBetter && c.Value > bestV) ||
					(in.Direction == metrics.LowerIsBetter && c.Value < bestV) {
					bestV, best = c.Value, model
				}
			}
		}
		row := []TableCell{{Text: label, Title: metricDoc(m)}, {Text: metricUnit(m)}}
		for i, model := range models {
			c, ok := at[[2]string{model, m}]
			if !ok {
				row = append(row, TableCell{Text: "—", Title: "not computed"})
				continue
			}
			wall[i] = math.Max(wall[i], c.WallS)
			tc := TableCell{Text: formatValue(c.Value), Best: best == model,
				Title: fmt.Sprintf("%s, %s: seeds %s, per-seed %s, n = %d", model, m, formatSeeds(c.Seeds), formatList(c.PerSeed), c.N)}
			if !math.IsNaN(c.Low) {
				tc.Sub = fmt.Sprintf("[%s, %s]", formatValue(c.Low), formatValue(c.High))
			}
			if len(c.Warnings) > 0 {
				tc.Title += "; warnings: " + strings.Join(c.Warnings, "; ")
				tc.Text += " ⚠"
			}
			row = append(row, tc)
		}
		t.Rows = append(t.Rows, row)
	}
	row := []TableCell{{Text: "wall time per cell", Title: "mean over seeds of the cell wall-clock time (fit + predict + evaluate)"}, {Text: "s"}}
	for _, w := range wall {
		row = append(row, TableCell{Text: formatValue(w)})
	}
	t.Rows = append(t.Rows, row)
	t.Caption = "Mean over seeds of each aggregate metric (raw values); [95 % interval] below; bold = best per metric " +
		"(↑ higher / ↓ lower is better); ⚠ = the records carry warnings (hover a cell for seeds, per-seed values and warnings)."
	return t
}

// metricDoc is the registry's one-line formula of a metric ("" if unknown).
func metricDoc(name string) string {
	in, ok := metrics.All.Lookup(name)
	if !ok {
		return ""
	}
	return in.Doc
}

func formatList(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = formatValue(x)
	}
	return strings.Join(s, ", ")
}

func scibHTMLTable(t ScibTable) *HTMLTable {
	cols := t.Columns()
	h := &HTMLTable{Header: append([]string{"embedding"}, cols...),
		Caption: "Raw values (mean over seeds); bold = best per column; rows sorted by total."}
	best := map[string]string{}
	for _, c := range cols {
		bv := math.Inf(-1)
		for _, m := range t.Models {
			if v := t.Value[m][c]; !math.IsNaN(v) && v > bv {
				bv, best[c] = v, m
			}
		}
	}
	for _, m := range t.Models {
		row := []TableCell{{Text: m}}
		for _, c := range cols {
			row = append(row, TableCell{Text: formatFixed(t.Value[m][c]), Best: best[c] == m})
		}
		h.Rows = append(h.Rows, row)
	}
	return h
}

// htmlFigure is a figure prepared for the template.
type htmlFigure struct {
	Name, Title, Caption string
	PNG                  template.URL
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:"Liberation Sans",Arial,Helvetica,sans-serif;margin:24px auto;max-width:1300px;color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px} h2{font-size:19px;margin-top:36px;border-bottom:1px solid #ccc;padding-bottom:4px}
.meta{color:#555;font-size:13px} nav{font-size:13px;margin:12px 0} nav a{margin-right:12px}
table{border-collapse:collapse;font-size:13px;margin:10px 0} th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f3f5f8} td:first-child,th:first-child,td:nth-child(2){text-align:left} td:nth-child(2){color:#666}
td.best{font-weight:bold;background:#eef7ee} .sub{display:block;color:#777;font-size:11px}
caption{caption-side:bottom;text-align:left;color:#555;font-size:12px;padding-top:4px}
figure{margin:16px 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:12px;color:#444;max-width:1100px} .files{font-size:12px} .tbl{overflow-x:auto;max-width:100%}
.tbl td:first-child{position:sticky;left:0;background:#fff;z-index:1} .tbl th:first-child{position:sticky;left:0;z-index:1}
.incomplete{background:#fff4e5;border:1px solid #f0a040;padding:8px 12px;font-weight:bold}
#failed th,#failed td{text-align:left}
</style></head><body>
<h1>{{.Title}}</h1>
{{if .Incomplete}}<p class="incomplete" id="incomplete">{{.Incomplete}}</p>{{end}}
<p class="meta">{{.Meta}}</p>
<nav>{{range .Sections}}<a href="#{{.ID}}">{{.Heading}}</a> {{end}}</nav>
{{range .Sections}}<section id="{{.ID}}"><h2>{{.Heading}}</h2>
{{if .Intro}}<p class="meta">{{.Intro}}</p>{{end}}
{{with .Table}}<div class="tbl"><table><caption>{{.Caption}}</caption><thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td{{if .Best}} class="best"{{end}}{{if .Title}} title="{{.Title}}"{{end}}>{{.Text}}{{if .Sub}}<span class="sub">{{.Sub}}</span>{{end}}</td>{{end}}</tr>{{end}}</tbody></table></div>{{end}}
{{range .Figs}}<figure id="fig-{{.Name}}"><img alt="{{.Title}}" src="{{.PNG}}">
<figcaption><b>{{.Title}}.</b> {{.Caption}} <span class="files">Files: <a href="{{.Name}}.png">{{.Name}}.png</a>, <a href="{{.Name}}.svg">{{.Name}}.svg</a>.</span></figcaption></figure>
{{end}}</section>
{{end}}
{{if .Notes}}<section id="notes"><h2>Notes</h2><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul></section>{{end}}
{{if .Warnings}}<section id="warnings"><h2>Warnings carried by the records</h2><details><summary>{{len .Warnings}} distinct warnings, each with the (task / dataset / model) and metrics whose records carry it</summary><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></details></section>{{end}}
</body></html>
`))

// WriteHTML writes index.html: self-contained (CSS inline, figures as PNG
// data: URIs, no script, no network reference). Links to the PNG/SVG
// files beside it work when they are written with WriteFiles.
func (r *Report) WriteHTML(w io.Writer) error {
	type sectionView struct {
		Section
		Figs []htmlFigure
	}
	view := struct {
		Title, Meta string
		Incomplete  string
		Sections    []sectionView
		Notes       []string
		Warnings    []string
	}{Title: r.Title, Notes: r.Notes, Incomplete: IncompleteBanner(r.Status)}
	view.Meta = fmt.Sprintf("Run %s · suites %s · datasets %s · tasks %s · models %s · seeds %s · %d records · git %s",
		orNA(r.Run), strings.Join(distinct(r.Records, func(b results.Record) string { return b.Suite }), ", "),
		strings.Join(distinct(r.Records, func(b results.Record) string { return b.Dataset }), ", "),
		strings.Join(distinct(r.Records, func(b results.Record) string { return b.Task }), ", "),
		strings.Join(distinct(r.Records, func(b results.Record) string { return b.Model }), ", "),
		seedList(r.Records), len(r.Records),
		strings.Join(distinct(r.Records, func(b results.Record) string { return b.GitSHA }), ", "))
	for _, s := range r.Sections {
		sv := sectionView{Section: s}
		for _, f := range s.Figures {
			png, err := f.pngNoCaption()
			if err != nil {
				return err
			}
			sv.Figs = append(sv.Figs, htmlFigure{Name: f.Name, Title: f.Title, Caption: f.Caption,
				PNG: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))})
		}
		view.Sections = append(view.Sections, sv)
	}
	view.Warnings = warningLines(r.Records)
	return reportTemplate.Execute(w, view)
}

// warningLines lists each distinct warning of the records once per (task,
// dataset, model variant), with the metrics whose records carry it: "every
// metric" when all of that model's metrics there do, else their names (at
// most maxWarningMetrics, then a count). A record's warnings are its
// "; "-separated parts (the model's notes, then the metric's reasons), so
// a note repeated on every metric is listed once. Sorted.
func warningLines(rs []results.Record) []string {
	type key struct{ Task, Dataset, Model string }
	all := map[key]map[string]bool{}       // metrics per (task, dataset, model)
	carry := map[key]map[string][]string{} // warning → metrics carrying it
	for _, rec := range rs {
		k := key{rec.Task, rec.Dataset, results.ModelVariant(rec.Model, rec.Prompt)}
		if all[k] == nil {
			all[k] = map[string]bool{}
			carry[k] = map[string][]string{}
		}
		all[k][rec.Metric] = true
		if rec.Warnings == "" {
			continue
		}
		for _, part := range strings.Split(rec.Warnings, "; ") {
			if !slices.Contains(carry[k][part], rec.Metric) {
				carry[k][part] = append(carry[k][part], rec.Metric)
			}
		}
	}
	var out []string
	for k, ws := range carry {
		for w, ms := range ws {
			sort.Strings(ms)
			what := "every metric"
			if len(ms) < len(all[k]) {
				what = strings.Join(ms[:min(len(ms), maxWarningMetrics)], ", ")
				if len(ms) > maxWarningMetrics {
					what += fmt.Sprintf(" and %d more metrics", len(ms)-maxWarningMetrics)
				}
			}
			out = append(out, fmt.Sprintf("%s / %s / %s (%s): %s", k.Task, k.Dataset, k.Model, what, w))
		}
	}
	sort.Strings(out)
	return out
}

// maxWarningMetrics is how many metric names a warning line lists.
const maxWarningMetrics = 6

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// WriteFiles stages index.html and every figure as NAME.png and NAME.svg
// in out (the caller commits or aborts it; leaderboard.md is written by
// the caller with Leaderboard).
func (r *Report) WriteFiles(out *fsutil.OutDir) error {
	if err := out.Write("index.html", r.WriteHTML); err != nil {
		return err
	}
	for _, f := range r.Figures {
		if err := out.Write(f.Name+".png", f.WritePNG); err != nil {
			return err
		}
		if err := out.Write(f.Name+".svg", f.WriteSVG); err != nil {
			return err
		}
	}
	return nil
}
