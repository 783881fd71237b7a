package pert

import (
	"fmt"
	"slices"

	"github.com/cellbench/cellbench/data"
)

// Columns say how a dataset becomes one side of an evaluation: which obs
// columns hold the labels and on which scale X is (the flags of
// cellbench score pert).
type Columns struct {
	// PertCol is the obs column with the perturbation label (required).
	PertCol string
	// ContextCol is the obs column with the context; "" for one context.
	ContextCol string
	// Scale is "auto", "counts" or "log1p" (data.ToLog1p's scale rule).
	Scale string
	// TargetSum is the library size of counts normalisation (0 = median,
	// data.DefaultTargetSum is cellbench's default).
	TargetSum float64
}

// InputFromDataset turns one dataset as read from an .h5ad into one side of
// an evaluation: it validates d, reads the label columns of cols (every
// cell must have a label: data.Labels.CheckPresent), reorders
// the gene columns to refGenes when given (same set required, any order),
// and brings X to the log1p scale with data.ToLog1p. It returns the input
// and its gene names (refGenes when given). name labels every error (e.g.
// "real pbmc.h5ad"). d.X may be replaced; d is otherwise not changed.
//
// This is the one way a file becomes a scored side: cellbench score pert
// and the browser build (web/) both call it, so they score the same
// numbers from the same files.
func InputFromDataset(d *data.Dataset, name string, cols Columns, refGenes []string) (Input, []string, error) {
	if err := d.Validate(); err != nil {
		return Input{}, nil, fmt.Errorf("%s: %w", name, err)
	}
	labels, err := d.ObsLabels(cols.PertCol)
	if err != nil {
		return Input{}, nil, fmt.Errorf("%s: --pert-col: %w", name, err)
	}
	if err := data.NewLabels(cols.PertCol, labels).CheckPresent(d.Obs.Index); err != nil {
		return Input{}, nil, fmt.Errorf("%s: --pert-col: %w", name, err)
	}
	var contexts []string
	if cols.ContextCol != "" {
		if contexts, err = d.ObsLabels(cols.ContextCol); err != nil {
			return Input{}, nil, fmt.Errorf("%s: --context-col: %w", name, err)
		}
		if err := data.NewLabels(cols.ContextCol, contexts).CheckPresent(d.Obs.Index); err != nil {
			return Input{}, nil, fmt.Errorf("%s: --context-col: %w", name, err)
		}
	}
	genes := d.Genes()
	if refGenes != nil && data.FirstOrderDifference(refGenes, genes) >= 0 {
		perm, err := data.AlignGenes(refGenes, genes)
		if err != nil {
			return Input{}, nil, fmt.Errorf("%s: genes do not match the real file: %w", name, err)
		}
		d.X = d.X.SubsetCols(perm)
		genes = slices.Clone(refGenes)
	}
	scale := cols.Scale
	if scale == "" {
		scale = "auto"
	}
	x, err := data.ToLog1p(d, scale, cols.TargetSum)
	if err != nil {
		return Input{}, nil, fmt.Errorf("%s: %w", name, err)
	}
	return Input{X: x, Perts: labels, Contexts: contexts}, genes, nil
}
