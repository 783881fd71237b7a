package reports

import (
	"fmt"
	"math"
	"strings"

	"github.com/cellbench/cellbench/results"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// MetricBarsOptions selects what NewMetricBarsFigures draws.
type MetricBarsOptions struct {
	// Metrics restricts the panels to these metrics (in this order); empty
	// means every metric of the task, sorted.
	Metrics []string
	// Columns is the number of panels per row (default 3).
	Columns int
}

// NewMetricBarsFigures returns one figure per (task, dataset, split) found
// in rs: a grid of panels, one per metric, each with one bar per model at
// Cell.Value (mean over seeds of the aggregate), whiskers at the Cell's
// interval (see Summarize for how it is formed) and the raw value printed
// above the bar. NaN values are drawn as an empty bar labelled "NaN" at
// 0, without a whisker. Panels are labelled by the metric (title) and its
// unit and direction (y axis).
// Figures are named "bars_<task>_<dataset>_<split>".
func NewMetricBarsFigures(rs []results.Record, opts MetricBarsOptions) []*Figure {
	if opts.Columns <= 0 {
		opts.Columns = 3
	}
	cells := Summarize(rs)
	groups := map[groupKey][]Cell{}
	var order []groupKey
	for _, c := range cells {
		k := groupKey{c.Task, c.Dataset, c.Split}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	var figs []*Figure
	for _, k := range order {
		gr := filter(rs, func(r results.Record) bool {
			return r.Task == k.Task && r.Dataset == k.Dataset && r.Split == k.Split
		})
		if f := metricBarsFigure(k, groups[k], gr, opts); f != nil {
			figs = append(figs, f)
		}
	}
	return figs
}

func metricBarsFigure(k groupKey, cells []Cell, rs []results.Record, opts MetricBarsOptions) *Figure {
	metricNames := opts.Metrics
	if len(metricNames) == 0 {
		metricNames = distinctCells(cells, func(c Cell) string { return c.Metric })
	}
	models := distinctCells(cells, func(c Cell) string { return c.Model })
	byMM := map[[2]string]Cell{}
	for _, c := range cells {
		byMM[[2]string{c.Metric, c.Model}] = c
	}
	var panels []*plot.Plot
	intervals := map[string]bool{}
	for _, m := range metricNames {
		p := newPlot(m, "", unitLabel(m))
		p.Add(plotter.NewGrid())
		any := false
		lo, hi := 0.0, 0.0
		for i, model := range models {
			c, ok := byMM[[2]string{m, model}]
			if !ok {
				continue
			}
			any = true
			v := c.Value
			label := formatValue(v)
			finiteValue := !math.IsNaN(v) && !math.IsInf(v, 0)
			if !finiteValue {
				v = 0
			}
			bar, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(18))
			if err != nil {
				panic("reports: " + err.Error())
			}
			bar.XMin = float64(i)
			bar.Color = plotutil.Color(i)
			bar.LineStyle.Width = 0
			p.Add(bar)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			top := v
			// A NaN mean gets no whisker (its interval, from the finite
			// per-perturbation values, would place the label mid-air).
			if finiteValue && !math.IsNaN(c.Low) {
				intervals[c.Interval] = true
				eb, err := plotter.NewYErrorBars(errorPoint{x: float64(i), y: c.Value, lo: c.Value - c.Low, hi: c.High - c.Value})
				if err == nil {
					eb.LineStyle.Width = vg.Points(1)
					eb.CapWidth = vg.Points(8)
					p.Add(eb)
				}
				lo, hi = math.Min(lo, c.Low), math.Max(hi, c.High)
				top = math.Max(top, c.High)
			}
			labels, err := plotter.NewLabels(plotter.XYLabels{
				XYs:    plotter.XYs{{X: float64(i), Y: top}},
				Labels: []string{label},
			})
			if err == nil {
				labels.TextStyle[0].XAlign = draw.XCenter
				labels.TextStyle[0].YAlign = draw.YBottom
				labels.TextStyle[0].Font = fontSans(7)
				labels.Offset = vg.Point{Y: vg.Points(2)}
				p.Add(labels)
			}
		}
		if !any {
			continue
		}
		p.NominalX(models...)
		rotateXTicks(p)
		span := hi - lo
		if span == 0 {
			span = 1
		}
		p.Y.Min = lo - 0.05*span
		if lo == 0 {
			p.Y.Min = 0
		}
		p.Y.Max = hi + 0.15*span
		p.X.Min, p.X.Max = -0.6, float64(len(models))-0.4
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil
	}
	cols := min(opts.Columns, len(panels))
	var grid [][]*plot.Plot
	for i := 0; i < len(panels); i += cols {
		grid = append(grid, panels[i:min(i+cols, len(panels))])
	}
	var iv []string
	for _, s := range []string{IntervalRecord, IntervalBootstrapPerturbations, IntervalBootstrapSeeds} {
		if intervals[s] {
			iv = append(iv, s)
		}
	}
	whiskers := "no interval could be formed (a single value per model)"
	if len(iv) > 0 {
		whiskers = fmt.Sprintf("whiskers: %.0f %% interval (%s; bootstrap = %d percentile resamples)",
			100*BootstrapLevel, strings.Join(iv, "; "), BootstrapResamples)
	}
	caption := fmt.Sprintf("Task %s on dataset %s, split %s; seeds %s; models %s. "+
		"Bars: mean over seeds of each model's aggregate metric (number above the bar = that raw value); %s. "+
		"Units are on each y axis.",
		k.Task, k.Dataset, k.Split, seedList(rs), strings.Join(models, ", "), whiskers)
	w := vg.Length(cols) * (vg.Points(70) + vg.Points(38)*vg.Length(len(models)))
	w = max(w, vg.Points(520))
	h := vg.Length(len(grid))*vg.Points(230) + vg.Points(20)
	name := "bars_" + fileSafe(k.Task+"_"+k.Dataset+"_"+k.Split)
	return gridFigure(name, fmt.Sprintf("%s — %s (%s)", k.Task, k.Dataset, k.Split), caption, w, h, grid)
}

// errorPoint is one point with asymmetric y error for plotter.NewYErrorBars.
type errorPoint struct{ x, y, lo, hi float64 }

func (e errorPoint) Len() int                      { return 1 }
func (e errorPoint) XY(int) (float64, float64)     { return e.x, e.y }
func (e errorPoint) YError(int) (float64, float64) { return e.lo, e.hi }
func distinctCells(cs []Cell, f func(Cell) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		if v := f(c); !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sortStrings(out)
	return out
}

// fileSafe maps a label to a file-name-safe stem.
func fileSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
