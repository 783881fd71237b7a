package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/results"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// NewMCCCurveFigures returns, per (task, dataset) of imputation records
// with a masking ratio (results.Record.MaskRatio > 0), a figure
// of MCC against masking ratio: one line per model through the mean over
// seeds, whiskers at each point's interval, raw values printed. Metrics
// drawn: "mcc" and, when present, "mcc_expressed" (dashed). Records without
// a ratio are ignored; no figure is returned when no ratio is found.
func NewMCCCurveFigures(rs []results.Record) []*Figure {
	type key struct{ Task, Dataset string }
	type point struct {
		ratio float64
		cell  Cell
	}
	curves := map[key]map[string][]point{} // key → model|metric → points
	var keys []key
	sel := filter(rs, func(r results.Record) bool { return r.Metric == "mcc" || r.Metric == "mcc_expressed" })
	byRatio := map[key][]results.Record{}
	for _, c := range Summarize(sel) {
		ratio := c.MaskRatio
		if ratio <= 0 {
			continue
		}
		k := key{c.Task, c.Dataset}
		if curves[k] == nil {
			curves[k] = map[string][]point{}
			keys = append(keys, k)
		}
		id := c.Model + "|" + c.Metric
		curves[k][id] = append(curves[k][id], point{ratio, c})
	}
	for _, r := range sel {
		if r.MaskRatio > 0 {
			k := key{r.Task, r.Dataset}
			byRatio[k] = append(byRatio[k], r)
		}
	}
	var figs []*Figure
	for _, k := range keys {
		ids := make([]string, 0, len(curves[k]))
		for id := range curves[k] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		models := map[string]int{}
		for _, id := range ids {
			m := strings.SplitN(id, "|", 2)[0]
			if _, ok := models[m]; !ok {
				models[m] = len(models)
			}
		}
		p := newPlot(fmt.Sprintf("MCC vs masking ratio — %s (%s)", k.Task, k.Dataset),
			"masking ratio (fraction of values masked)", "MCC on masked positions (unitless; higher is better)")
		p.Add(plotter.NewGrid())
		var splits []string
		for _, id := range ids {
			pts := curves[k][id]
			sort.Slice(pts, func(i, j int) bool { return pts[i].ratio < pts[j].ratio })
			parts := strings.SplitN(id, "|", 2)
			model, metric := parts[0], parts[1]
			xys := make(plotter.XYs, 0, len(pts))
			var labels []string
			for _, pt := range pts {
				if !isFinite(pt.cell.Value) {
					continue
				}
				xys = append(xys, plotter.XY{X: pt.ratio, Y: pt.cell.Value})
				labels = append(labels, formatValue(pt.cell.Value))
				splits = append(splits, pt.cell.Split)
				if !math.IsNaN(pt.cell.Low) {
					eb, err := plotter.NewYErrorBars(errorPoint{x: pt.ratio, y: pt.cell.Value, lo: pt.cell.Value - pt.cell.Low, hi: pt.cell.High - pt.cell.Value})
					if err == nil {
						eb.Color = plotutil.Color(models[model])
						eb.CapWidth = vg.Points(6)
						p.Add(eb)
					}
				}
			}
			if len(xys) == 0 {
				continue
			}
			line, scatter, err := plotter.NewLinePoints(xys)
			if err != nil {
				panic("reports: " + err.Error())
			}
			line.Color = plotutil.Color(models[model])
			line.Width = vg.Points(1.5)
			scatter.Color = line.Color
			scatter.Shape = draw.CircleGlyph{}
			scatter.Radius = vg.Points(2.5)
			name := model
			if metric == "mcc_expressed" {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				name += " (expressed positions)"
			}
			p.Add(line, scatter)
			p.Legend.Add(name, line, scatter)
			if lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels}); err == nil {
				for i := range lab.TextStyle {
					lab.TextStyle[i].Font = fontSans(7)
				}
				lab.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(3)}
				p.Add(lab)
			}
		}
		p.Legend.Top = true
		p.X.Min = 0
		p.X.Max = 1
		caption := fmt.Sprintf("Task %s on dataset %s; splits %s; seeds %s. Multi-class Matthews correlation (5 expression bins, SPEC-metrics.md) "+
			"between predicted and true bins over the masked positions, per masking ratio; points = mean over seeds (raw value printed), "+
			"whiskers = %.0f %% interval where one could be formed (see bars figures). Dashed: MCC on expressed (non-zero) positions only.",
			k.Task, k.Dataset, strings.Join(uniqueSorted(splits), ", "), seedList(byRatio[k]), 100*BootstrapLevel)
		figs = append(figs, plotFigure("mcc_"+fileSafe(k.Task+"_"+k.Dataset), p.Title.Text, caption, vg.Points(480), vg.Points(340), p))
	}
	return figs
}

func uniqueSorted(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
