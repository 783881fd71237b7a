package app

import (
	"fmt"
	"slices"
	"time"

	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/reports"
)

// FigureRequest chooses a figure of the last evaluation.
type FigureRequest struct {
	// Of is the evaluation to draw: OfScore (default) or OfPredict.
	Of string `json:"of"`
	// Kind is "discrimination" (heat map of one context) or "lfc"
	// (predicted vs real log2 fold change of one perturbation).
	Kind string `json:"kind"`
	// Context is the context to draw ("" = the first).
	Context string `json:"context"`
	// Perturbation is the LFC scatter's perturbation ("" = the one with
	// the most real significant DE genes, else the first row).
	Perturbation string `json:"perturbation"`
	// Distance is the discrimination distance: l1 (default), l2, cosine.
	Distance string `json:"distance"`
}

// FigureResult is a drawn figure: PNG of the drawing (shown above the
// caption text; base64 in JSON) and SVG with the caption (offered for
// download), with the reports package's title and caption.
type FigureResult struct {
	Name         string  `json:"name"`
	Title        string  `json:"title"`
	Caption      string  `json:"caption"`
	Context      string  `json:"context"`
	Perturbation string  `json:"perturbation,omitempty"`
	PNG          []byte  `json:"png"`
	SVG          string  `json:"svg"`
	Seconds      float64 `json:"seconds"`
}

// Figure draws a figure of the last Score or Predict (req.Of) with the report
// package's figures (reports.NewDiscriminationFigure,
// reports.NewLFCScatterFigure), so the page and cellbench report draw the
// same picture from the same numbers.
func (s *Session) Figure(req FigureRequest) (*FigureResult, error) {
	of := req.Of
	if of == "" {
		of = OfScore
	}
	ev := s.last[of]
	if ev == nil {
		return nil, fmt.Errorf("figure: nothing evaluated yet by %q", of)
	}
	t0 := time.Now()
	rep := ev.report
	ctx := req.Context
	if ctx == "" && len(rep.Contexts) > 0 {
		ctx = rep.Contexts[0]
	}
	if !slices.Contains(rep.Contexts, ctx) {
		return nil, fmt.Errorf("figure: no context %q (have %q)", ctx, rep.Contexts)
	}
	info := reports.CaptionInfo{Dataset: ev.realName, Split: "as given", Model: ev.predName}
	var fig *reports.Figure
	out := &FigureResult{Context: ctx}
	switch req.Kind {
	case "discrimination", "":
		dist := req.Distance
		if dist == "" {
			dist = "l1"
		}
		ds, err := reports.DiscriminationFromInputs(ev.real, ev.pred, ev.genes, ev.opts.Control, ev.opts.ControlRef, dist, info)
		if err != nil {
			return nil, fmt.Errorf("figure: %w", err)
		}
		var in *reports.Discrimination
		for i := range ds {
			if ds[i].Context == ctx {
				in = &ds[i]
			}
		}
		if in == nil {
			return nil, fmt.Errorf("figure: context %q has fewer than 2 perturbations: no discrimination heat map", ctx)
		}
		if fig, err = reports.NewDiscriminationFigure(*in); err != nil {
			return nil, fmt.Errorf("figure: %w", err)
		}
	case "lfc":
		p := req.Perturbation
		if p == "" {
			p = strongestPerturbation(ev, ctx)
		}
		in, err := reports.LFCScatterFromReport(rep, ctx, p, info)
		if err != nil {
			return nil, fmt.Errorf("figure: %w (choose a profile with DE metrics, e.g. full or vcc)", err)
		}
		if fig, err = reports.NewLFCScatterFigure(in); err != nil {
			return nil, fmt.Errorf("figure: %w", err)
		}
		out.Perturbation = p
	default:
		return nil, fmt.Errorf("figure: unknown kind %q (discrimination or lfc)", req.Kind)
	}
	png, err := fig.PNGWithoutCaption()
	if err != nil {
		return nil, err
	}
	svg, err := fig.SVG()
	if err != nil {
		return nil, err
	}
	out.Name, out.Title, out.Caption, out.PNG, out.SVG = fig.Name, fig.Title, fig.Caption, png, string(svg)
	out.Seconds = time.Since(t0).Seconds()
	return out, nil
}

// strongestPerturbation is the perturbation of context ctx with the most
// real significant DE genes (de_nsig_real), else its first row.
func strongestPerturbation(ev *evaluation, ctx string) string {
	col := slices.Index(ev.report.Metrics, metrics.DENSigReal)
	best, bestN := "", -1.0
	for _, r := range ev.report.Rows {
		if r.Context != ctx {
			continue
		}
		n := 0.0
		if col >= 0 && r.Values[col] == r.Values[col] {
			n = r.Values[col]
		}
		if n > bestN {
			best, bestN = r.Perturbation, n
		}
	}
	return best
}
