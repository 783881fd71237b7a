package reports

import (
	"fmt"
	"sort"

	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/metrics/scib"
)

// CaptionInfo is what a figure's caption says about where its data came from.
type CaptionInfo struct {
	Dataset, Split, Model string
	Seeds                 []uint64
}

// LFCScatterFromReport returns the LFC scatter input of one (context,
// perturbation) from a metrics/pert report computed with DE metrics
// (rep.RealDE / rep.PredDE non-nil). It errors when the report has no DE
// tables or not that perturbation.
func LFCScatterFromReport(rep *pert.Report, context, perturbation string, info CaptionInfo) (LFCScatter, error) {
	if rep == nil || rep.RealDE == nil || rep.PredDE == nil {
		return LFCScatter{}, fmt.Errorf("lfc scatter: the report has no DE tables (select a DE metric)")
	}
	for i, g := range rep.RealDE {
		if g.Context == context && g.Target == perturbation {
			return LFCScatter{Perturbation: perturbation, Context: context, Genes: rep.Options.Genes,
				Real: g.Result, Pred: rep.PredDE[i].Result, FDR: rep.Options.DEFDR, MinAbsLFC: rep.Options.DEMinLFC,
				Dataset: info.Dataset, Split: info.Split, Model: info.Model, Seeds: info.Seeds}, nil
		}
	}
	var have []string
	for _, g := range rep.RealDE {
		have = append(have, g.Context+"/"+g.Target)
	}
	return LFCScatter{}, fmt.Errorf("lfc scatter: no DE table for context %q, perturbation %q (have %v)", context, perturbation, have)
}

// DiscriminationFromInputs builds one Discrimination input per context from
// the real and predicted cells of an evaluation: pseudobulk means
// (pert.Pseudobulk) per (context, perturbation), real deltas against the real
// control mean, predicted deltas against the predicted control mean
// (controlRef pred, cell-eval's default) or the real one (controlRef real).
// Perturbations are those present on both sides, sorted. It errors when a
// context lacks its control on a side it needs, or has fewer than 2
// perturbations.
func DiscriminationFromInputs(real, pred pert.Input, genes []string, control string, controlRef pert.ControlRef, distance string, info CaptionInfo) ([]Discrimination, error) {
	type key struct{ ctx, p string }
	group := func(in pert.Input) map[key][]int {
		g := map[key][]int{}
		for i, p := range in.Perts {
			c := ""
			if in.Contexts != nil {
				c = in.Contexts[i]
			}
			g[key{c, p}] = append(g[key{c, p}], i)
		}
		return g
	}
	rg, pg := group(real), group(pred)
	ctxSet := map[string]bool{}
	for k := range rg {
		ctxSet[k.ctx] = true
	}
	var ctxs []string
	for c := range ctxSet {
		ctxs = append(ctxs, c)
	}
	sort.Strings(ctxs)
	var out []Discrimination
	for _, c := range ctxs {
		rc, ok := rg[key{c, control}]
		if !ok {
			return nil, fmt.Errorf("discrimination: context %q has no real %q cells", c, control)
		}
		realCtrl := pert.Pseudobulk(real.X, rc)
		predCtrl := realCtrl
		if controlRef == pert.ControlPred {
			pc, ok := pg[key{c, control}]
			if !ok {
				return nil, fmt.Errorf("discrimination: context %q has no predicted %q cells (control reference pred)", c, control)
			}
			predCtrl = pert.Pseudobulk(pred.X, pc)
		}
		var perts []string
		for k := range rg {
			if k.ctx == c && k.p != control {
				if _, ok := pg[k]; ok {
					perts = append(perts, k.p)
				}
			}
		}
		sort.Strings(perts)
		if len(perts) < 2 {
			continue // discrimination needs ≥ 2 perturbations in a context
		}
		d := Discrimination{Perturbations: perts, Genes: genes, Distance: distance, Context: c,
			Dataset: info.Dataset, Split: info.Split, Model: info.Model, Seeds: info.Seeds}
		for _, p := range perts {
			rm := pert.Pseudobulk(real.X, rg[key{c, p}])
			pm := pert.Pseudobulk(pred.X, pg[key{c, p}])
			for j := range rm {
				rm[j] -= realCtrl[j]
				pm[j] -= predCtrl[j]
			}
			d.RealDelta = append(d.RealDelta, rm)
			d.PredDelta = append(d.PredDelta, pm)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("discrimination: no context has 2 or more perturbations on both sides")
	}
	return out, nil
}

// EmbeddingFromCSV reads an embedding CSV (scib.ReadEmbeddingCSV: columns
// matching glob form the matrix) with its label and batch columns.
func EmbeddingFromCSV(path, glob, labelCol, batchCol string, info CaptionInfo) (Embedding, error) {
	e, err := scib.ReadEmbeddingCSV(path, glob, []string{labelCol, batchCol})
	if err != nil {
		return Embedding{}, fmt.Errorf("embedding: %w", err)
	}
	name := info.Model
	if name == "" {
		name = info.Dataset
	}
	return Embedding{Name: name, X: e.X, Labels: e.Columns[labelCol], Batches: e.Columns[batchCol],
		LabelName: labelCol, BatchName: batchCol, Dataset: info.Dataset, Split: info.Split, Seeds: info.Seeds}, nil
}
