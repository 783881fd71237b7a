package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one rendered-on-demand figure of a report: a drawing function,
// its size and the caption that is drawn under it (in the PNG and SVG) and
// repeated under it in index.html. Build figures with the New…Figure
// functions of this package; write them with WritePNG / WriteSVG.
type Figure struct {
	// Name is the file stem ("bars_pert-fewshot"): files are Name.png and
	// Name.svg. It is unique within a report.
	Name string
	// Title is a one-line title (also the plot title).
	Title string
	// Caption says what is shown: dataset, split, seeds, what bars/whiskers
	// or colours mean, and the raw numbers' units.
	Caption string
	// Width and Height are the size of the drawing area, without caption.
	Width, Height vg.Length

	draw func(c draw.Canvas)
}

// PNGDPI is the resolution of PNG output.
const PNGDPI = 144

var (
	captionStyle = text.Style{
		Color:   color.Gray{Y: 40},
		Font:    font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, 9),
		XAlign:  draw.XLeft,
		YAlign:  draw.YTop,
		Handler: plot.DefaultTextHandler,
	}
	captionPad = vg.Points(6)
)

// captionLines word-wraps the caption to width.
func captionLines(caption string, width vg.Length) []string {
	var lines []string
	for _, para := range strings.Split(caption, "\n") {
		words := strings.Fields(para)
		line := ""
		for _, w := range words {
			cand := w
			if line != "" {
				cand = line + " " + w
			}
			if line != "" && captionStyle.Width(cand) > width {
				lines = append(lines, line)
				line = w
				continue
			}
			line = cand
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// totalSize is the canvas size including the caption block (when
// withCaption).
func (f *Figure) totalSize(withCaption bool) (w, h vg.Length, lines []string) {
	if !withCaption {
		return f.Width, f.Height, nil
	}
	lines = captionLines(f.Caption, f.Width-2*captionPad)
	lh := captionStyle.FontExtents().Height * 1.15
	return f.Width, f.Height + vg.Length(len(lines))*lh + 2*captionPad, lines
}

// render draws the figure and caption on c, which has size totalSize.
func (f *Figure) render(c draw.Canvas, withCaption bool) {
	if f.draw == nil {
		panic("reports: figure " + f.Name + " has no drawing function")
	}
	_, h, lines := f.totalSize(withCaption)
	capH := h - f.Height
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	top := draw.Crop(c, 0, 0, capH, 0)
	f.draw(top)
	lh := captionStyle.FontExtents().Height * 1.15
	y := c.Min.Y + capH - captionPad
	for _, l := range lines {
		c.FillText(captionStyle, vg.Point{X: c.Min.X + captionPad, Y: y}, l)
		y -= lh
	}
}

// WritePNG writes the figure with its caption as a PNG at PNGDPI.
func (f *Figure) WritePNG(w io.Writer) error { return f.writePNG(w, true) }

func (f *Figure) writePNG(w io.Writer, withCaption bool) error {
	tw, th, _ := f.totalSize(withCaption)
	c := vgimg.NewWith(vgimg.UseWH(tw, th), vgimg.UseDPI(PNGDPI))
	f.render(draw.New(c), withCaption)
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("figure %s: png: %w", f.Name, err)
	}
	return nil
}

// WriteSVG writes the figure with its caption as SVG (text as text, fonts
// embedded by reference to Liberation, which browsers substitute).
func (f *Figure) WriteSVG(w io.Writer) error {
	tw, th, _ := f.totalSize(true)
	c := vgsvg.New(tw, th)
	f.render(draw.New(c), true)
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("figure %s: svg: %w", f.Name, err)
	}
	return nil
}

// PNG returns the PNG bytes of the figure.
func (f *Figure) PNG() ([]byte, error) {
	var b bytes.Buffer
	if err := f.WritePNG(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// PNGWithoutCaption returns the PNG of the drawing alone, for pages that
// print the caption as text under the image (index.html, the browser page
// in web/).
func (f *Figure) PNGWithoutCaption() ([]byte, error) { return f.pngNoCaption() }

// pngNoCaption is the PNG without the caption block (index.html prints
// the caption as text under the image).
func (f *Figure) pngNoCaption() ([]byte, error) {
	var b bytes.Buffer
	if err := f.writePNG(&b, false); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SVG returns the SVG bytes of the figure.
func (f *Figure) SVG() ([]byte, error) {
	var b bytes.Buffer
	if err := f.WriteSVG(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plotFigure wraps a single gonum plot.
func plotFigure(name, title, caption string, w, h vg.Length, p *plot.Plot) *Figure {
	return &Figure{Name: name, Title: title, Caption: caption, Width: w, Height: h, draw: p.Draw}
}

// gridFigure lays out plots in rows×cols tiles with aligned axes.
func gridFigure(name, title, caption string, w, h vg.Length, plots [][]*plot.Plot) *Figure {
	rows := len(plots)
	cols := 0
	for _, r := range plots {
		cols = max(cols, len(r))
	}
	return &Figure{Name: name, Title: title, Caption: caption, Width: w, Height: h, draw: func(c draw.Canvas) {
		// Titles of the whole figure above the grid.
		titleStyle := text.Style{Color: color.Black, Font: font.From(sansFont, 12),
			XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		th := titleStyle.FontExtents().Height * 1.6
		body := draw.Crop(c, 0, 0, 0, -th)
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
			PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		full := make([][]*plot.Plot, rows)
		for i := range full {
			full[i] = make([]*plot.Plot, cols)
			copy(full[i], plots[i])
		}
		canvases := plot.Align(full, tiles, body)
		for i := range full {
			for j, p := range full[i] {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
		// The title last, so no panel background covers it.
		c.FillText(titleStyle, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - vg.Points(4)}, title)
	}}
}

// sansFont is the font of every text in cellbench figures.
var sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot returns a plot with cellbench's text style: Liberation Sans,
// 11 pt title, 9 pt axis labels, 8 pt ticks, and a light grid underneath.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansFont, 10)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sansFont, 9)
		ax.Tick.Label.Font = font.From(sansFont, 8)
	}
	p.Legend.TextStyle.Font = font.From(sansFont, 8)
	p.BackgroundColor = nil // the figure canvas is already white; panels must not paint over titles
	return p
}

// rotateXTicks slants the x tick labels so long category names do not
// overlap.
func rotateXTicks(p *plot.Plot) {
	p.X.Tick.Label.Rotation = math.Pi / 6
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
}

// fontSans returns Liberation Sans at size pt.
func fontSans(pt float64) font.Font { return font.From(sansFont, vg.Length(pt)) }

// formatSeeds prints seeds as "0, 1, 2" ("none" when empty).
func formatSeeds(seeds []uint64) string {
	if len(seeds) == 0 {
		return "n/a"
	}
	s := make([]string, len(seeds))
	for i, v := range seeds {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// plotTextHandler is the text handler of gonum plots (plain text).
func plotTextHandler() text.Handler { return plot.DefaultTextHandler }
