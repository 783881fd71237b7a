package reports

import (
	"fmt"
	"image/color"
	"math"

	"github.com/cellbench/cellbench/metrics/pert"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Discrimination is the input of NewDiscriminationFigure: predicted and
// real pseudobulk deltas (δ = mean log1p of the perturbation − mean log1p
// of the control, SPEC-metrics.md) of the same perturbations over the same
// genes.
type Discrimination struct {
	Perturbations []string    // non-control perturbations, rows and columns
	Genes         []string    // gene names, to leave out genes named in t
	PredDelta     [][]float64 // [perturbation][gene]
	RealDelta     [][]float64 // [perturbation][gene]
	// Distance is "l1" (default), "l2" or "cosine".
	Distance string

	Dataset, Split, Model, Context string
	Seeds                          []uint64
	// Task, when set, names the run's task: Build draws the figure in the
	// section of (Task, Dataset, Split) and the file name includes them.
	Task string
	// Note is appended to the caption.
	Note string
}

// DiscriminationMatrix returns D[t][q] = d(δ_P(t), δ_R(q)) and the score
// 1 − r_t/N of every perturbation, computed by pert.DiscriminationMatrix
// (the same function behind the discrimination_score_<distance> metrics,
// so the heat map and the scores agree on every edge case). It errors on
// mismatched shapes, fewer than 2 perturbations or an unknown distance.
func DiscriminationMatrix(in Discrimination) (dist [][]float64, score []float64, err error) {
	n := len(in.Perturbations)
	if len(in.PredDelta) != n || len(in.RealDelta) != n {
		return nil, nil, fmt.Errorf("discrimination: %d perturbations but %d predicted and %d real deltas", n, len(in.PredDelta), len(in.RealDelta))
	}
	if n < 2 {
		return nil, nil, fmt.Errorf("discrimination: needs at least 2 perturbations, got %d", n)
	}
	g := len(in.Genes)
	for i := range n {
		if len(in.PredDelta[i]) != g || len(in.RealDelta[i]) != g {
			return nil, nil, fmt.Errorf("discrimination: perturbation %s has %d/%d delta values for %d genes",
				in.Perturbations[i], len(in.PredDelta[i]), len(in.RealDelta[i]), g)
		}
	}
	d, err := pert.ParseDistance(in.Distance)
	if err != nil {
		return nil, nil, fmt.Errorf("discrimination: %w", err)
	}
	dist, score = pert.DiscriminationMatrix(in.PredDelta, in.RealDelta, in.Perturbations, in.Genes, d, 0)
	return dist, score, nil
}

// rankGrid is a GridXYZ of within-row distance ranks, first row on top.
type rankGrid struct{ rank [][]float64 }

func (g rankGrid) Dims() (c, r int)   { return len(g.rank), len(g.rank) }
func (g rankGrid) Z(c, r int) float64 { return g.rank[len(g.rank)-1-r][c] }
func (g rankGrid) X(c int) float64    { return float64(c) }
func (g rankGrid) Y(r int) float64    { return float64(r) }

// NewDiscriminationFigure draws the discrimination heat map: row t is the
// predicted perturbation, column q the real one; a cell's colour is the rank
// of D[t][q] within row t (0 = nearest real perturbation, dark), so a
// perfect model has a dark diagonal. The true match (diagonal) is outlined
// and holds its rank r_t; row labels give each perturbation's raw
// discrimination score 1 − r_t/N, and the caption the mean (the aggregate
// discrimination_score_<distance>) and PDiscNorm.
func NewDiscriminationFigure(in Discrimination) (*Figure, error) {
	dist, score, err := DiscriminationMatrix(in)
	if err != nil {
		return nil, err
	}
	if in.Distance == "" {
		in.Distance = "l1"
	}
	n := len(in.Perturbations)
	rank := make([][]float64, n)
	for t := range n {
		rank[t] = make([]float64, n)
		for q := range n {
			r := 0
			for q2 := range n {
				if dist[t][q2] < dist[t][q] {
					r++
				}
			}
			rank[t][q] = float64(r)
		}
	}
	cm, err := moreland.NewLuminance([]color.Color{
		color.NRGBA{R: 8, G: 29, B: 88, A: 255},     // dark blue: nearest
		color.NRGBA{R: 65, G: 182, B: 196, A: 255},  // teal
		color.NRGBA{R: 255, G: 255, B: 217, A: 255}, // pale yellow: farthest
	})
	if err != nil {
		panic("reports: " + err.Error())
	}
	cm.SetMin(0)
	cm.SetMax(float64(n - 1))
	hm := plotter.NewHeatMap(rankGrid{rank}, cm.Palette(256))
	hm.Min, hm.Max = 0, float64(n-1)
	hm.Overflow = color.NRGBA{R: 255, G: 255, B: 217, A: 255}
	hm.Underflow = color.NRGBA{R: 8, G: 29, B: 88, A: 255}
	title := fmt.Sprintf("Discrimination (%s distance of deltas) — %s", in.Distance, in.Model)
	p := newPlot(title, "real perturbation q (δ_R)", "predicted perturbation t (δ_P) and its score 1 − r_t/N")
	p.Title.Padding = vg.Points(8)
	p.Add(hm)
	rowNames := make([]string, n)
	for t := range n {
		rowNames[n-1-t] = fmt.Sprintf("%s (%.3g)", in.Perturbations[t], score[t])
	}
	p.NominalX(in.Perturbations...)
	p.NominalY(rowNames...)
	rotateXTicks(p)
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
	p.Add(diagonalBoxes{n: n, rank: rank})

	meanScore := mean(score)
	pdisc := 0.0
	for _, s := range score {
		pdisc += 1 - s
	}
	pdisc /= float64(n)
	ctx := ""
	if in.Context != "" {
		ctx = ", context " + in.Context
	}
	caption := fmt.Sprintf("Dataset %s, split %s%s; model %s; seeds %s; %d perturbations × %d genes. "+
		"Colour: rank of the %s distance between predicted delta t and real delta q within row t (0 = nearest, dark; %d = farthest, light); "+
		"outlined diagonal = the true match, labelled with its rank r_t (genes named in t excluded). "+
		"Row labels: raw discrimination_score_%s = 1 − r_t/N. Mean = %.4g (raw aggregate); pdisc = %.4g, pdisc_norm = 1 − 2·pdisc = %.4g.",
		in.Dataset, in.Split, ctx, in.Model, formatSeeds(in.Seeds), n, len(in.Genes), in.Distance, n-1, in.Distance,
		meanScore, pdisc, 1-2*pdisc)
	if in.Note != "" {
		caption += " " + in.Note
	}
	side := vg.Points(math.Max(300, float64(22*n+160)))
	name := "discrimination_" + fileSafe(in.Model)
	if in.Task != "" {
		name = "discrimination_" + fileSafe(in.Task+"_"+in.Dataset+"_"+in.Model)
	}
	if in.Context != "" {
		name += "_" + fileSafe(in.Context)
	}
	bar := &plotter.ColorBar{ColorMap: cm, Vertical: true}
	return &Figure{Name: name, Title: title, Caption: caption, Width: side + vg.Points(90), Height: side, draw: func(c draw.Canvas) {
		main := draw.Crop(c, 0, -vg.Points(90), 0, 0)
		p.Draw(main)
		cb := newPlot("", "", "rank within row")
		cb.Add(bar)
		cb.HideX()
		cb.Y.Min, cb.Y.Max = 0, float64(n-1)
		right := draw.Crop(c, c.Max.X-c.Min.X-vg.Points(90), 0, vg.Points(70), -vg.Points(30))
		cb.Draw(right)
	}}, nil
}

// diagonalBoxes outlines the diagonal cells and writes their rank.
type diagonalBoxes struct {
	n    int
	rank [][]float64
}

func (d diagonalBoxes) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	ls := draw.LineStyle{Color: color.RGBA{R: 230, G: 30, B: 30, A: 255}, Width: vg.Points(1.5)}
	for t := range d.n {
		x, y := float64(t), float64(d.n-1-t)
		x0, x1 := tx(x-0.5), tx(x+0.5)
		y0, y1 := ty(y-0.5), ty(y+0.5)
		c.StrokeLines(ls, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}})
		if d.n <= 40 {
			r := d.rank[t][t]
			sty := draw.TextStyle{Color: color.White, Font: fontSans(7), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: p.TextHandler}
			if r > float64(d.n-1)/2 {
				sty.Color = color.Black
			}
			c.FillText(sty, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, fmt.Sprintf("%.0f", r))
		}
	}
}
