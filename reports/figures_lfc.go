package reports

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cellbench/cellbench/metrics/de"
)

// LFCScatter is the input of NewLFCScatterFigure: the real and predicted
// differential-expression tables of one perturbation (each against its own
// control reference, as metrics/de.Compare returns them) over the same
// genes, and what the caption must say.
type LFCScatter struct {
	Perturbation string
	Context      string // "" when the run has no context column
	Genes        []string
	Real, Pred   de.Result
	// FDR and MinAbsLFC define real significance as in SPEC-metrics.md
	// (fdr < FDR and |LFC| ≥ MinAbsLFC); FDR 0 means 0.05.
	FDR, MinAbsLFC float64
	// Label is how many of the strongest real-significant genes are named
	// on the plot (default 8; negative for none).
	Label int

	Dataset, Split, Model string
	Seeds                 []uint64
	// Task, when set, names the run's task: Build draws the figure in the
	// section of (Task, Dataset, Split) and the file name includes them.
	Task string
	// Note is appended to the caption (e.g. why this perturbation).
	Note string
}

// OffScaleLFC is the |log2 fold change| above which a gene is treated as
// off scale in the LFC scatter (pinned to the border, not setting the axes).
const OffScaleLFC = 10.0

// NewLFCScatterFigure draws predicted against real log2 fold change, one
// point per gene (real-significant genes in red, others grey), the identity
// line dashed, and the strongest significant genes named. The caption gives
// Pearson and Spearman correlations over all genes and over real-significant
// genes, with their counts. Genes whose LFC is ±Inf or NaN (possible only
// with --lfc-epsilon 0) are left out and counted in the caption. It returns
// an error when the tables disagree in length with Genes or target.
func NewLFCScatterFigure(in LFCScatter) (*Figure, error) {
	n := len(in.Genes)
	if len(in.Real.LFC) != n || len(in.Pred.LFC) != n || len(in.Real.FDR) != n {
		return nil, fmt.Errorf("lfc scatter %s: %d genes but real/pred tables have %d/%d LFC values",
			in.Perturbation, n, len(in.Real.LFC), len(in.Pred.LFC))
	}
	if in.Real.Target != in.Pred.Target {
		return nil, fmt.Errorf("lfc scatter: real table is for %q, predicted for %q", in.Real.Target, in.Pred.Target)
	}
	if in.FDR == 0 {
		in.FDR = 0.05
	}
	if in.Label == 0 {
		in.Label = 8
	}
	// Genes expressed on one side only get |LFC| ≈ 30 from the 1e-9
	// pseudocount (pdex's LFC); they would squash the plot, so the axes span
	// the genes with |LFC| ≤ OffScaleLFC and the others are pinned to the
	// border (drawn as triangles) and counted in the caption.
	const offScale = OffScaleLFC
	var sig, other, pinned plotter.XYs
	var sigIdx []int
	var sigReal, sigPred []float64
	dropped := 0
	lim := 0.0
	for g := 0; g < n; g++ {
		r, p := in.Real.LFC[g], in.Pred.LFC[g]
		if isFinite(r) && math.Abs(r) <= offScale {
			lim = math.Max(lim, math.Abs(r))
		}
		if isFinite(p) && math.Abs(p) <= offScale {
			lim = math.Max(lim, math.Abs(p))
		}
	}
	if lim == 0 {
		lim = 1
	}
	lim *= 1.08
	clamp := func(v float64) float64 { return math.Max(-lim, math.Min(lim, v)) }
	for g := 0; g < n; g++ {
		r, p := in.Real.LFC[g], in.Pred.LFC[g]
		if !isFinite(r) || !isFinite(p) {
			dropped++
			continue
		}
		if in.Real.FDR[g] < in.FDR && math.Abs(r) >= in.MinAbsLFC {
			sigIdx = append(sigIdx, g)
			sigReal = append(sigReal, r)
			sigPred = append(sigPred, p)
		}
		pt := plotter.XY{X: clamp(r), Y: clamp(p)}
		switch {
		case math.Abs(r) > lim || math.Abs(p) > lim:
			pinned = append(pinned, pt)
		case in.Real.FDR[g] < in.FDR && math.Abs(r) >= in.MinAbsLFC:
			sig = append(sig, pt)
		default:
			other = append(other, pt)
		}
	}
	lo, hi := -lim, lim
	if len(sig)+len(other)+len(pinned) == 0 {
		return nil, fmt.Errorf("lfc scatter %s: no gene has a finite real and predicted LFC", in.Perturbation)
	}
	title := "log2 fold change, " + in.Perturbation
	if in.Context != "" {
		title += " in " + in.Context
	}
	title += " — " + in.Model
	p := newPlot(title, "real log2 fold change (log2 units, vs real controls)", "predicted log2 fold change (log2 units)")
	p.Add(plotter.NewGrid())
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
	ident := plotter.NewFunction(func(x float64) float64 { return x })
	ident.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	ident.Color = color.Gray{Y: 120}
	p.Add(ident)
	if len(other) > 0 {
		s, _ := plotter.NewScatter(other)
		s.GlyphStyle.Color = color.RGBA{R: 150, G: 150, B: 150, A: 255}
		s.GlyphStyle.Radius = vg.Points(1.6)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("not significant in real (%d)", len(other)), s)
	}
	if len(sig) > 0 {
		s, _ := plotter.NewScatter(sig)
		s.GlyphStyle.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
		s.GlyphStyle.Radius = vg.Points(2.2)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("real FDR < %g (%d)", in.FDR, len(sig)), s)
	}
	if len(pinned) > 0 {
		s, _ := plotter.NewScatter(pinned)
		s.GlyphStyle.Color = color.RGBA{R: 90, G: 90, B: 90, A: 255}
		s.GlyphStyle.Radius = vg.Points(2.4)
		s.GlyphStyle.Shape = draw.TriangleGlyph{}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("off scale, pinned to border (%d)", len(pinned)), s)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	if in.Label > 0 && len(sigIdx) > 0 {
		// Name the strongest significant genes drawn inside the axes; pinned
		// genes share a border point and their names would overprint.
		var order []int
		for _, g := range sigIdx {
			if math.Abs(in.Real.LFC[g]) <= lim && math.Abs(in.Pred.LFC[g]) <= lim {
				order = append(order, g)
			}
		}
		sort.SliceStable(order, func(a, b int) bool {
			return math.Abs(in.Real.LFC[order[a]]) > math.Abs(in.Real.LFC[order[b]])
		})
		order = order[:min(in.Label, len(order))]
		var xys plotter.XYs
		var names []string
		for _, g := range order {
			xys = append(xys, plotter.XY{X: clamp(in.Real.LFC[g]), Y: clamp(in.Pred.LFC[g])})
			names = append(names, in.Genes[g])
		}
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: names})
		if err == nil {
			for i := range labels.TextStyle {
				labels.TextStyle[i].Font = fontSans(7)
			}
			labels.Offset = vg.Point{X: vg.Points(3), Y: vg.Points(2)}
			p.Add(labels)
		}
	}
	rAll, nAll := pearson(in.Real.LFC, in.Pred.LFC)
	sAll, _ := spearman(in.Real.LFC, in.Pred.LFC)
	rSig, nSig := pearson(sigReal, sigPred)
	sSig, _ := spearman(sigReal, sigPred)
	ctx := ""
	if in.Context != "" {
		ctx = ", context " + in.Context
	}
	caption := fmt.Sprintf("Dataset %s, split %s%s; model %s; seeds %s. Each point is one gene: real vs predicted log2 fold change "+
		"of perturbation %s against its control cells (%d real / %d predicted perturbed cells). "+
		"All %d genes: Pearson %s, Spearman %s. Real-significant genes (BH FDR < %g, |LFC| ≥ %g; n = %d): Pearson %s, Spearman %s "+
		"(Spearman over significant genes = de_spearman_lfc_sig). Dashed: y = x.",
		in.Dataset, in.Split, ctx, in.Model, formatSeeds(in.Seeds), in.Perturbation, in.Real.NTarget, in.Pred.NTarget,
		nAll, formatValue(rAll), formatValue(sAll), in.FDR, in.MinAbsLFC, nSig, formatValue(rSig), formatValue(sSig))
	if len(pinned) > 0 {
		caption += fmt.Sprintf(" %d genes with |LFC| beyond the axes (typically expressed on one side only, so their LFC is set by the 1e-9 pseudocount, ≈ ±30) are pinned to the border as triangles; correlations use their raw values.", len(pinned))
	}
	if dropped > 0 {
		caption += fmt.Sprintf(" %d genes with non-finite LFC are not drawn.", dropped)
	}
	if in.Note != "" {
		caption += " " + in.Note
	}
	name := "lfc_" + fileSafe(in.Model+"_"+in.Perturbation)
	if in.Task != "" {
		name = "lfc_" + fileSafe(in.Task+"_"+in.Dataset+"_"+in.Model+"_"+in.Perturbation)
	}
	if in.Context != "" {
		name += "_" + fileSafe(in.Context)
	}
	return plotFigure(name, title, caption, vg.Points(440), vg.Points(420), p), nil
}
