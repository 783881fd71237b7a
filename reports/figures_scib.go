package reports

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/results"
)

// ScibTable is the scIB results table of one (task, dataset, split), as
// scib-metrics' Benchmarker.get_results / plot_results_table show it: one
// row per embedding (model), the bio-conservation and batch-correction
// metrics, then the Bio conservation, Batch correction and Total columns.
// Values are raw (not min-max scaled); Total = 0.6·bio + 0.4·batch.
type ScibTable struct {
	Task, Dataset, Split string
	Seeds                string
	Bio, Batch           []string // metric columns present, in scib order
	// Typing are the zero-shot kNN cell-typing columns present
	// (knn_accuracy, knn_balanced_accuracy); not part of any aggregate.
	Typing []string
	Models []string // rows, sorted by Total descending
	// Value[model][metric] is the mean over seeds (NaN if missing); the
	// aggregate columns are keyed scib.BioName, scib.BatchName, scib.TotalName.
	Value map[string]map[string]float64
	// Computed says, per model, whether bio/batch/total were computed here
	// from the member metrics (true) or taken from records (false).
	Computed map[string]bool
}

// isScibMetric reports whether m is a scIB bio, batch or aggregate metric.
func isScibMetric(m string) bool {
	return slices.Contains(scib.BioMetrics, m) || slices.Contains(scib.BatchMetrics, m) ||
		slices.Contains(scib.Aggregates, m)
}

// scibGroups returns the (task, dataset, split) groups of rs that hold a
// scIB metric (isScibMetric): their cell-typing metrics are part of the
// scIB table.
func scibGroups(rs []results.Record) map[groupKey]bool {
	has := map[groupKey]bool{}
	for _, r := range rs {
		if isScibMetric(r.Metric) {
			has[groupKey{r.Task, r.Dataset, r.Split}] = true
		}
	}
	return has
}

// NewScibTables builds one ScibTable per (task, dataset, split) of rs that
// holds any scIB metric. Aggregates present in the records ("bio", "batch",
// "total") are used as recorded; missing ones are computed here as the mean
// of the present member metrics (NaN ignored) and 0.6·bio + 0.4·batch.
func NewScibTables(rs []results.Record) []ScibTable {
	isScib := isScibMetric
	// Groups with a scIB metric; their cell-typing metrics join the table.
	hasScib := scibGroups(rs)
	inTable := func(r results.Record) bool {
		return isScib(r.Metric) || (slices.Contains(scib.TypingMetrics, r.Metric) && hasScib[groupKey{r.Task, r.Dataset, r.Split}])
	}
	cells := Summarize(filter(rs, inTable))
	byGroup := map[groupKey][]Cell{}
	var order []groupKey
	for _, c := range cells {
		k := groupKey{c.Task, c.Dataset, c.Split}
		if _, ok := byGroup[k]; !ok {
			order = append(order, k)
		}
		byGroup[k] = append(byGroup[k], c)
	}
	var out []ScibTable
	for _, k := range order {
		t := ScibTable{Task: k.Task, Dataset: k.Dataset, Split: k.Split, Value: map[string]map[string]float64{}, Computed: map[string]bool{}}
		t.Seeds = seedList(filter(rs, func(r results.Record) bool {
			return r.Task == k.Task && r.Dataset == k.Dataset && r.Split == k.Split && inTable(r)
		}))
		present := map[string]bool{}
		for _, c := range byGroup[k] {
			if t.Value[c.Model] == nil {
				t.Value[c.Model] = map[string]float64{}
				t.Models = append(t.Models, c.Model)
			}
			t.Value[c.Model][c.Metric] = c.Value
			present[c.Metric] = true
		}
		for _, m := range scib.BioMetrics {
			if present[m] {
				t.Bio = append(t.Bio, m)
			}
		}
		for _, m := range scib.BatchMetrics {
			if present[m] {
				t.Batch = append(t.Batch, m)
			}
		}
		for _, m := range scib.TypingMetrics {
			if present[m] {
				t.Typing = append(t.Typing, m)
			}
		}
		for _, model := range t.Models {
			v := t.Value[model]
			get := func(m string) float64 {
				if x, ok := v[m]; ok {
					return x
				}
				return math.NaN()
			}
			_, hasBio := v[scib.BioName]
			_, hasBatch := v[scib.BatchName]
			_, hasTotal := v[scib.TotalName]
			// Records without aggregates (another tool's scores): the
			// means over the members present of the preset they match
			// (bras: scib-metrics 0.6; silhouette_batch alone: scib 1.x).
			preset := scib.PresetScibMetrics
			if _, hasBRAS := v["bras"]; !hasBRAS && present[scib.SilhouetteBatchName] {
				preset = scib.PresetScib1
			}
			bioSet, batchSet, _ := preset.Members()
			if !hasBio {
				v[scib.BioName] = nanMean(intersect(t.Bio, bioSet), get)
				t.Computed[model] = true
			}
			if !hasBatch {
				v[scib.BatchName] = nanMean(intersect(t.Batch, batchSet), get)
				t.Computed[model] = true
			}
			if !hasTotal {
				v[scib.TotalName] = 0.6*v[scib.BioName] + 0.4*v[scib.BatchName]
				t.Computed[model] = true
			}
		}
		sort.SliceStable(t.Models, func(i, j int) bool {
			a, b := t.Value[t.Models[i]][scib.TotalName], t.Value[t.Models[j]][scib.TotalName]
			if math.IsNaN(b) {
				return !math.IsNaN(a)
			}
			return a > b
		})
		out = append(out, t)
	}
	return out
}

func nanMean(names []string, get func(string) float64) float64 {
	s, n := 0.0, 0
	for _, m := range names {
		if v := get(m); !math.IsNaN(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// Columns returns the table's columns in display order: bio, batch,
// Bio / Batch / Total, then cell typing.
func (t ScibTable) Columns() []string {
	return slices.Concat(t.Bio, t.Batch, []string{scib.BioName, scib.BatchName, scib.TotalName}, t.Typing)
}

// columnRange returns the min and max of a column over models (NaN ignored).
func (t ScibTable) columnRange(col string) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, m := range t.Models {
		if v := t.Value[m][col]; !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// shade returns a cell colour for value v in column col: the column's
// min-max position mapped from white to green (scib-metrics colours cells
// by a per-column normalised colour map). Only the colour is rescaled; the
// printed number is always the raw value.
func (t ScibTable) shade(col string, v float64) color.Color {
	if math.IsNaN(v) {
		return color.Gray{Y: 230}
	}
	lo, hi := t.columnRange(col)
	f := 0.5
	if hi > lo {
		f = (v - lo) / (hi - lo)
	}
	aggregate := col == scib.BioName || col == scib.BatchName || col == scib.TotalName
	if aggregate { // blue ramp for aggregate columns, as scib-metrics' bars
		return color.NRGBA{R: uint8(255 - 190*f), G: uint8(255 - 120*f), B: uint8(255 - 40*f), A: 255}
	}
	return color.NRGBA{R: uint8(255 - 150*f), G: uint8(255 - 70*f), B: uint8(255 - 150*f), A: 255}
}

// NewScibTableFigure draws the table: a header with the metric-type groups,
// one row per embedding sorted by Total, each cell shaded by its column's
// min-max position and printed with its raw value.
func NewScibTableFigure(t ScibTable) *Figure {
	cols := t.Columns()
	nameW := vg.Points(110)
	colW := vg.Points(62)
	rowH := vg.Points(20)
	headH := vg.Points(58)
	w := nameW + vg.Length(len(cols))*colW + vg.Points(20)
	h := headH + vg.Length(len(t.Models))*rowH + vg.Points(12)
	title := fmt.Sprintf("scIB metrics — %s (%s)", t.Dataset, t.Split)
	anyComputed := false
	for _, c := range t.Computed {
		anyComputed = anyComputed || c
	}
	caption := fmt.Sprintf("Task %s on dataset %s, split %s; seeds %s. Rows: embeddings sorted by Total. Numbers are raw metric values "+
		"(mean over seeds, unitless, higher is better; 0–1 scale); cell shading is the per-column min-max position "+
		"(green: metrics, blue: aggregates), colour only. Total = 0.6·Bio + 0.4·Batch (scib-metrics 0.6 weighting); "+
		"kNN cell typing (leave-one-out 5-NN accuracy and balanced accuracy) is shown beside and is in no aggregate.",
		t.Task, t.Dataset, t.Split, t.Seeds)
	if anyComputed {
		caption += fmt.Sprintf(" Aggregates absent from the records were computed here: Bio = mean of the %d bio metrics shown, Batch = mean of the %d batch metrics shown.", len(t.Bio), len(t.Batch))
	} else {
		caption += " Bio and Batch are as recorded by metrics/scib (its default bio set leaves out the Louvain NMI/ARI, as scib-metrics 0.6 leaves out Leiden)."
	}
	return &Figure{Name: "scib_" + fileSafe(t.Task+"_"+t.Dataset+"_"+t.Split), Title: title, Caption: caption, Width: w, Height: h,
		draw: func(c draw.Canvas) {
			txt := func(size float64, xa draw.XAlignment, rot float64) draw.TextStyle {
				return draw.TextStyle{Color: color.Black, Font: fontSans(size), XAlign: xa, YAlign: draw.YCenter,
					Rotation: rot, Handler: plotTextHandler()}
			}
			top := c.Max.Y - vg.Points(6)
			c.FillText(txt(12, draw.XCenter, 0), vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: top - vg.Points(6)}, title)
			x0 := c.Min.X + vg.Points(10)
			yHead := top - vg.Points(24)
			// Group header bands.
			groups := []struct {
				label string
				n     int
			}{{"Bio conservation", len(t.Bio)}, {"Batch correction", len(t.Batch)}, {"Aggregate score", 3}, {"kNN cell typing", len(t.Typing)}}
			gx := x0 + nameW
			for _, g := range groups {
				if g.n == 0 {
					continue
				}
				gw := vg.Length(g.n) * colW
				c.FillText(txt(8, draw.XCenter, 0), vg.Point{X: gx + gw/2, Y: yHead}, g.label)
				c.StrokeLine2(draw.LineStyle{Color: color.Gray{Y: 100}, Width: vg.Points(0.8)}, gx+vg.Points(3), yHead-vg.Points(7), gx+gw-vg.Points(3), yHead-vg.Points(7))
				gx += gw
			}
			yCol := yHead - vg.Points(20)
			c.FillText(txt(8, draw.XLeft, 0), vg.Point{X: x0, Y: yCol}, "embedding")
			for j, col := range cols {
				label := scibLabel(col)
				c.FillText(txt(7, draw.XCenter, 0), vg.Point{X: x0 + nameW + vg.Length(j)*colW + colW/2, Y: yCol}, label)
			}
			y := yCol - vg.Points(10)
			for _, model := range t.Models {
				c.FillText(txt(8, draw.XLeft, 0), vg.Point{X: x0, Y: y - rowH/2}, model)
				for j, col := range cols {
					v := t.Value[model][col]
					cx := x0 + nameW + vg.Length(j)*colW
					rect := vg.Rectangle{Min: vg.Point{X: cx + 1, Y: y - rowH + 1}, Max: vg.Point{X: cx + colW - 1, Y: y - 1}}
					c.SetColor(t.shade(col, v))
					c.Fill(rect.Path())
					c.FillText(txt(8, draw.XCenter, 0), vg.Point{X: cx + colW/2, Y: y - rowH/2}, formatFixed(v))
				}
				y -= rowH
			}
		}}
}

// scibLabel is a column's header: the metric name, or Bio / Batch / Total.
func scibLabel(col string) string {
	switch col {
	case scib.BioName:
		return "Bio"
	case scib.BatchName:
		return "Batch"
	case scib.TotalName:
		return "Total"
	}
	return col
}

// formatFixed prints a 0–1 score with 3 decimals ("NaN" for NaN).
func formatFixed(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return fmt.Sprintf("%.3f", v)
}

// intersect returns the elements of a that are in b, in a's order.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
