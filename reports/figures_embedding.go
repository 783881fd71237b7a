package reports

import (
	"fmt"
	"image/color"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/scib"
)

// Embedding is the input of NewEmbeddingFigure: an embedding (cells ×
// dims) with per-cell labels (cell types) and batches.
type Embedding struct {
	Name           string // embedding / model name
	X              *data.Dense
	Labels         []string
	Batches        []string
	LabelName      string // obs column of Labels ("cell_type")
	BatchName      string // obs column of Batches ("batch")
	Dataset, Split string
	Seeds          []uint64
	// Scores and Explained, when Scores is set, are a precomputed 2-D PCA
	// (PCA2 of the whole embedding, e.g. from a run artifact, possibly of
	// a subsample of its cells) used instead of X; Cells and Dims then
	// give the embedding's size for the caption.
	Scores     [][2]float64
	Explained  [2]float64
	Cells      int
	Dims       int
	Task, Note string // as in LFCScatter
}

// PCA2 returns the first two principal-component scores of x and the
// fraction of total variance each explains: scib.PCA2 (one
// implementation, shared with the run artifacts the report draws).
func PCA2(x *data.Dense) (scores [][2]float64, explained [2]float64, err error) {
	return scib.PCA2(x)
}

// categoricalColors returns n distinguishable colours (Brewer Set1, Dark2,
// Set2, Paired; then repeats darker).
func categoricalColors(n int) []color.Color {
	var out []color.Color
	for _, name := range []struct {
		name string
		n    int
	}{{"Set1", 9}, {"Dark2", 8}, {"Set2", 8}, {"Paired", 12}} {
		p, err := brewer.GetPalette(brewer.TypeQualitative, name.name, name.n)
		if err != nil {
			panic("reports: " + err.Error())
		}
		out = append(out, p.Colors()...)
	}
	for len(out) < n {
		out = append(out, out[len(out)%37])
	}
	return out[:max(n, 0)]
}

// maxLegendEntries bounds a categorical legend; rarer categories are drawn
// grey and summarised as "other".
const maxLegendEntries = 24

// NewEmbeddingFigure draws the 2-D PCA of an embedding twice, coloured by
// label (left) and by batch (right), points in a seeded random order so no
// category hides another. Axis labels give each PC's share of variance.
// Categories beyond the 24 most frequent are grey ("other").
func NewEmbeddingFigure(in Embedding) (*Figure, error) {
	scores, explained := in.Scores, in.Explained
	cells, dims := in.Cells, in.Dims
	if scores == nil {
		if in.X == nil {
			return nil, fmt.Errorf("embedding %s: no matrix", in.Name)
		}
		var err error
		if scores, explained, err = PCA2(in.X); err != nil {
			return nil, fmt.Errorf("embedding %s: %w", in.Name, err)
		}
		cells, dims = in.X.Rows, in.X.Cols
	}
	n := len(scores)
	if len(in.Labels) != n || len(in.Batches) != n {
		return nil, fmt.Errorf("embedding %s: %d cells but %d labels and %d batches", in.Name, n, len(in.Labels), len(in.Batches))
	}
	if n == 0 {
		return nil, fmt.Errorf("embedding %s: no cells", in.Name)
	}
	cells = max(cells, n)
	order := rand.New(rand.NewPCG(BootstrapSeed, uint64(n))).Perm(n)
	if in.LabelName == "" {
		in.LabelName = "label"
	}
	if in.BatchName == "" {
		in.BatchName = "batch"
	}
	xl := fmt.Sprintf("PC1 (%.1f %% of variance; embedding units)", 100*explained[0])
	yl := fmt.Sprintf("PC2 (%.1f %% of variance; embedding units)", 100*explained[1])
	left, leftLegend := categoryScatter("coloured by "+in.LabelName, xl, yl, scores, in.Labels, order)
	right, rightLegend := categoryScatter("coloured by "+in.BatchName, xl, yl, scores, in.Batches, order)
	title := fmt.Sprintf("Embedding %s — 2-D PCA (%d cells × %d dims)", in.Name, cells, dims)
	caption := fmt.Sprintf("Dataset %s, split %s; embedding %s; seeds %s. Each point is one cell projected on the first two principal components "+
		"of the embedding (%.1f %% + %.1f %% of its variance). Left: coloured by %s (%d categories); right: by %s (%d categories). "+
		"A well-integrated embedding separates %s and mixes %s.",
		in.Dataset, in.Split, in.Name, formatSeeds(in.Seeds), 100*explained[0], 100*explained[1],
		in.LabelName, leftLegend.categories, in.BatchName, rightLegend.categories, in.LabelName, in.BatchName)
	if in.Note != "" {
		caption += " " + in.Note
	}
	name := "embedding_" + fileSafe(in.Name+"_"+in.Dataset)
	if in.Task != "" {
		name = "embedding_" + fileSafe(in.Task+"_"+in.Dataset+"_"+in.Name)
	}
	legendW := vg.Points(120)
	panel := vg.Points(330)
	return &Figure{Name: name, Title: title, Caption: caption,
		Width: 2 * (panel + legendW), Height: panel + vg.Points(24), draw: func(c draw.Canvas) {
			titleStyle := draw.TextStyle{Color: color.Black, Font: fontSans(12), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plotTextHandler()}
			c.FillText(titleStyle, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - vg.Points(4)}, title)
			body := draw.Crop(c, 0, 0, 0, -vg.Points(24))
			half := (body.Max.X - body.Min.X) / 2
			l := draw.Crop(body, 0, -half, 0, 0)
			r := draw.Crop(body, half, 0, 0, 0)
			left.Draw(draw.Crop(l, 0, -legendW, 0, 0))
			leftLegend.draw(draw.Crop(l, half-legendW, 0, 0, 0))
			right.Draw(draw.Crop(r, 0, -legendW, 0, 0))
			rightLegend.draw(draw.Crop(r, half-legendW, 0, 0, 0))
		}}, nil
}

// categoryLegend is a colour key drawn beside a scatter.
type categoryLegend struct {
	names      []string
	colors     []color.Color
	counts     []int
	categories int
}

func (l categoryLegend) draw(c draw.Canvas) {
	sty := draw.TextStyle{Color: color.Black, Font: fontSans(7), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plotTextHandler()}
	y := c.Max.Y - vg.Points(16)
	step := vg.Points(10)
	for i, name := range l.names {
		if y < c.Min.Y+step {
			break
		}
		c.SetColor(l.colors[i])
		c.Fill(vg.Rectangle{Min: vg.Point{X: c.Min.X + vg.Points(4), Y: y - vg.Points(3)}, Max: vg.Point{X: c.Min.X + vg.Points(10), Y: y + vg.Points(3)}}.Path())
		if r := []rune(name); len(r) > 20 {
			name = string(r[:19]) + "…"
		}
		label := fmt.Sprintf("%s (%d)", name, l.counts[i])
		c.FillText(sty, vg.Point{X: c.Min.X + vg.Points(13), Y: y}, label)
		y -= step
	}
}

func categoryScatter(title, xl, yl string, scores [][2]float64, cats []string, order []int) (*plot.Plot, categoryLegend) {
	count := map[string]int{}
	for _, c := range cats {
		count[c]++
	}
	names := make([]string, 0, len(count))
	for k := range count {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if count[names[i]] != count[names[j]] {
			return count[names[i]] > count[names[j]]
		}
		return names[i] < names[j]
	})
	shown := names
	if len(names) > maxLegendEntries {
		shown = names[:maxLegendEntries-1]
	}
	cols := categoricalColors(len(shown))
	colorOf := map[string]color.Color{}
	for i, n := range shown {
		colorOf[n] = cols[i]
	}
	other := color.Gray{Y: 190}
	p := newPlot(title, xl, yl)
	p.Add(plotter.NewGrid())
	pts := make(plotter.XYs, len(order))
	ptColors := make([]color.Color, len(order))
	for k, i := range order {
		pts[k] = plotter.XY{X: scores[i][0], Y: scores[i][1]}
		if c, ok := colorOf[cats[i]]; ok {
			ptColors[k] = c
		} else {
			ptColors[k] = other
		}
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		panic("reports: " + err.Error())
	}
	radius := vg.Points(1.8)
	if len(pts) > 3000 {
		radius = vg.Points(1.0)
	}
	s.GlyphStyleFunc = func(i int) draw.GlyphStyle {
		return draw.GlyphStyle{Color: ptColors[i], Radius: radius, Shape: draw.CircleGlyph{}}
	}
	p.Add(s)
	leg := categoryLegend{categories: len(names)}
	for i, n := range shown {
		leg.names = append(leg.names, n)
		leg.colors = append(leg.colors, cols[i])
		leg.counts = append(leg.counts, count[n])
	}
	if len(shown) < len(names) {
		rest := 0
		for _, n := range names[len(shown):] {
			rest += count[n]
		}
		leg.names = append(leg.names, fmt.Sprintf("other %d categories", len(names)-len(shown)))
		leg.colors = append(leg.colors, other)
		leg.counts = append(leg.counts, rest)
	}
	return p, leg
}
