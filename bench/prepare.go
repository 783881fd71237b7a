package bench

import (
	"fmt"
	"slices"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/tasks"
)

// Prepared is a dataset ready for the tasks: X on the log1p scale, cells
// filtered as its DatasetSpec says (Data, Pert: when the spec names a
// perturbation column), and its embedding when the spec has an embed block.
type Prepared struct {
	Spec DatasetSpec
	Data *data.Dataset
	Pert tasks.PertSpec // columns and control (Seed set per cell)
	// Embedding is the embedding to score (embed-integration), named by
	// the resolved EmbedSpec; nil without an embed block.
	Embedding *tasks.EmbeddingInput
	// EmbedCells are the cells of Embedding (same rows, same order) as
	// read from an .h5ad embed dataset, for external embedding models
	// ({data}): X as stored in the file, obs = the batch column only (the
	// label column, which the metrics score against, is withheld); nil
	// for CSV embeddings and unless the suite has external embedding
	// models (the runner sets DatasetSpec.keepCells).
	EmbedCells *data.Dataset
	// Counts is the dataset as stored (raw counts, every cell), read on
	// first use by the imputation tasks (kind_impute.go); nil until then.
	Counts *data.Dataset
}

// LoadDataset reads a dataset spec's file (a registry name or a path,
// resolved under dataDir). With a perturbation column it converts X to
// log1p (data.ToLog1p with the spec's scale and target sum) and applies the
// spec's filters; with an embed block it loads the embedding (a CSV's
// columns, an obsm entry or the PCA of the log1p HVGs; see EmbedSpec).
func LoadDataset(spec DatasetSpec, dataDir string) (*Prepared, error) {
	path, err := data.NewRegistry(dataDir).Resolve(spec.File)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", spec.Name, err)
	}
	p := &Prepared{Spec: spec}
	if spec.PertCol != "" && !isCSV(spec.File) {
		d, err := h5ad.Read(path)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", spec.Name, err)
		}
		if p, err = PrepareDataset(spec, d); err != nil {
			return nil, err
		}
	}
	if spec.Embed != nil {
		e, cells, err := loadEmbedding(spec, path)
		if err != nil {
			return nil, err
		}
		p.Embedding, p.EmbedCells = e, cells
	}
	return p, nil
}

// LoadEmbedding loads the embedding of a spec with an embed block from
// path (the resolved file) and names it as the resolved EmbedSpec says.
func LoadEmbedding(spec DatasetSpec, path string) (*tasks.EmbeddingInput, error) {
	in, _, err := loadEmbedding(spec, path)
	return in, err
}

// loadEmbedding is LoadEmbedding that also returns the embedded cells of
// an .h5ad (Prepared.EmbedCells).
func loadEmbedding(spec DatasetSpec, path string) (*tasks.EmbeddingInput, *data.Dataset, error) {
	e, err := ResolveEmbed(spec)
	if err != nil {
		return nil, nil, err
	}
	scale, ts := spec.scaleAndTargetSum()
	opt := tasks.EmbeddingOptions{LabelCol: e.LabelCol, BatchCol: e.BatchCol, DropMissing: e.DropMissing,
		PCA: e.PCA, HVG: e.HVG, Scale: scale, TargetSum: ts, Seed: 0}
	var in tasks.EmbeddingInput
	var cells *data.Dataset
	if isCSV(spec.File) {
		in, err = tasks.LoadCSVEmbedding(path, e.Cols, e.PreCols, opt)
	} else {
		if e.Obsm != "" {
			opt.ObsmKeys = []string{e.Obsm}
		}
		var d *data.Dataset
		if d, err = h5ad.Read(path); err == nil {
			var ins []tasks.EmbeddingInput
			ins, err = tasks.DatasetEmbeddings(d, opt)
			if err == nil {
				in = ins[len(ins)-1] // the PCA, or the one obsm entry
				if spec.keepCells {
					cells, err = embedCells(d, in.Kept, e.BatchCol)
				}
			}
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dataset %s: embedding: %w", spec.Name, err)
	}
	in.Name = e.Name
	return &in, cells, nil
}

// embedCells is the {data} of an external embedding model: the kept rows
// of d, X as stored, obs = the batch column only, var = the gene names.
func embedCells(d *data.Dataset, kept []int, batchCol string) (*data.Dataset, error) {
	b, err := d.Obs.Column(batchCol)
	if err != nil {
		return nil, err
	}
	obs := data.Frame{IndexName: d.Obs.IndexName, Index: d.Obs.Index}
	obs.Set(b)
	sub := &data.Dataset{Path: d.Path, X: d.X, Obs: obs, Var: data.Frame{IndexName: d.Var.IndexName, Index: d.Var.Index}, Scale: d.Scale}
	return sub.SubsetCells(kept), nil
}

// PrepareDataset applies a spec to an in-memory dataset (see LoadDataset).
func PrepareDataset(spec DatasetSpec, d *data.Dataset) (*Prepared, error) {
	scale, ts := spec.scaleAndTargetSum()
	x, err := data.ToLog1p(d, scale, ts)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", spec.Name, err)
	}
	d = &data.Dataset{Path: d.Path, X: x, Obs: d.Obs, Var: d.Var, Scale: data.Log1p}
	perts, err := d.ObsLabels(spec.PertCol)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", spec.Name, err)
	}
	ctxs := make([]string, len(perts))
	if spec.ContextCol != "" {
		if ctxs, err = d.ObsLabels(spec.ContextCol); err != nil {
			return nil, fmt.Errorf("dataset %s: %w", spec.Name, err)
		}
	}
	if !slices.Contains(perts, spec.Control) {
		return nil, fmt.Errorf("dataset %s: control label %q not found in obs column %q", spec.Name, spec.Control, spec.PertCol)
	}
	for _, c := range spec.Contexts {
		if !slices.Contains(ctxs, c) {
			return nil, fmt.Errorf("dataset %s: context %q not found in obs column %q", spec.Name, c, spec.ContextCol)
		}
	}
	keep := make([]bool, len(perts))
	for i := range perts {
		keep[i] = !slices.Contains(spec.Drop, perts[i]) &&
			(len(spec.Contexts) == 0 || slices.Contains(spec.Contexts, ctxs[i]))
	}
	if spec.SharedOnly {
		in := map[string]map[string]bool{} // perturbation → contexts
		all := map[string]bool{}
		for i, p := range perts {
			if !keep[i] {
				continue
			}
			all[ctxs[i]] = true
			if in[p] == nil {
				in[p] = map[string]bool{}
			}
			in[p][ctxs[i]] = true
		}
		for i, p := range perts {
			if keep[i] && p != spec.Control && len(in[p]) < len(all) {
				keep[i] = false
			}
		}
	}
	var rows []int
	for i, k := range keep {
		if k {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("dataset %s: no cells left after the filters", spec.Name)
	}
	if len(rows) < len(perts) {
		d = d.SubsetCells(rows)
	}
	return &Prepared{Spec: spec, Data: d, Pert: tasks.PertSpec{PertCol: spec.PertCol, ContextCol: spec.ContextCol, Control: spec.Control}}, nil
}

// scaleAndTargetSum returns the spec's scale ("auto" when unset) and
// target sum (data.DefaultTargetSum when unset).
func (spec DatasetSpec) scaleAndTargetSum() (string, float64) {
	scale, ts := spec.Scale, spec.TargetSum
	if scale == "" {
		scale = "auto"
	}
	if ts == 0 {
		ts = data.DefaultTargetSum
	}
	return scale, ts
}
