package reports

import (
	"fmt"

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
// the real and predicted cells of an evaluation: the pseudobulk deltas of
// pert.Deltas (real deltas against the real control mean, predicted ones
// against the predicted control mean for controlRef pred, cell-eval's
// default, or the real one for controlRef real). Inputs are checked as
// pert.Evaluate checks them; contexts with fewer than 2 perturbations are
// left out, and none left is an error.
func DiscriminationFromInputs(real, pred pert.Input, genes []string, control string, controlRef pert.ControlRef, distance string, info CaptionInfo) ([]Discrimination, error) {
	opts := pert.DefaultOptions()
	opts.Genes, opts.Control, opts.ControlRef = genes, control, controlRef
	cds, err := pert.Deltas(real, pred, opts)
	if err != nil {
		return nil, fmt.Errorf("discrimination: %w", err)
	}
	var out []Discrimination
	for _, cd := range cds {
		if len(cd.Perturbations) < 2 {
			continue // discrimination needs ≥ 2 perturbations in a context
		}
		out = append(out, Discrimination{Perturbations: cd.Perturbations, Genes: genes, Distance: distance, Context: cd.Context,
			PredDelta: cd.Pred, RealDelta: cd.Real, Dataset: info.Dataset, Split: info.Split, Model: info.Model, Seeds: info.Seeds})
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
