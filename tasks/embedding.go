package tasks

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/scib"
)

// EmbeddingInput is one cell embedding to score with the scIB metrics,
// with its cells' labels and batches. Pre, when set, is the
// pre-integration embedding of the same cells (for pcr_comparison).
type EmbeddingInput struct {
	Name            string
	X, Pre          *data.Dense
	Labels, Batches []string
	Dropped         int // cells left out for a missing label or batch
	// Kept lists the rows of the source (file or dataset) that were kept,
	// in order: row k of X is source row Kept[k].
	Kept []int
}

// EmbeddingOptions say which columns carry labels and batches and how to
// build the unintegrated reference embedding of an .h5ad.
type EmbeddingOptions struct {
	LabelCol, BatchCol string
	// DropMissing drops cells with a missing label or batch ("", "NA",
	// "NaN", "nan", "<NA>"); without it they are an error.
	DropMissing bool
	// PCA > 0 adds "pca<PCA>": the PCA of the log1p highly variable genes
	// (HVG genes, scanpy seurat flavour), which also becomes Pre of every
	// obsm embedding of the same file.
	PCA, HVG  int
	Scale     string  // auto|counts|log1p (data.ToLog1p)
	TargetSum float64 // data.ToLog1p
	Seed      uint64  // PCA's seed
	// ObsmKeys lists obsm entries to score (comma-separated in the CLI).
	ObsmKeys []string
}

// LoadCSVEmbedding reads an embedding CSV (a file or a registry name): the
// columns matching glob form the embedding, preGlob (optional) the
// pre-integration embedding; labels and batches come from the named
// columns. The name is the file's base name without extension.
func LoadCSVEmbedding(nameOrPath, glob, preGlob string, opt EmbeddingOptions) (EmbeddingInput, error) {
	file, err := data.NewRegistry("").Resolve(nameOrPath)
	if err != nil {
		return EmbeddingInput{}, err
	}
	e, err := scib.ReadEmbeddingCSV(file, glob, []string{opt.LabelCol, opt.BatchCol})
	if err != nil {
		return EmbeddingInput{}, err
	}
	var pre *data.Dense
	if preGlob != "" {
		p, err := scib.ReadEmbeddingCSV(file, preGlob, nil)
		if err != nil {
			return EmbeddingInput{}, fmt.Errorf("pre-integration columns: %w", err)
		}
		pre = p.X
	}
	keep, err := keepPresent(file, opt, e.Columns[opt.LabelCol], e.Columns[opt.BatchCol])
	if err != nil {
		return EmbeddingInput{}, err
	}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	return EmbeddingInput{Name: name, X: pickRows(e.X, keep), Pre: pickRows(pre, keep),
		Labels: pick(e.Columns[opt.LabelCol], keep), Batches: pick(e.Columns[opt.BatchCol], keep),
		Dropped: e.X.Rows - len(keep), Kept: keep}, nil
}

// DatasetEmbeddings returns the embeddings to score of a dataset read from
// an .h5ad (by data/h5ad.Read; tasks itself stays free of cgo so models
// build without it): "pca<N>" when opt.PCA > 0, then each of opt.ObsmKeys.
// Errors name the dataset's file (unknown obsm key: with the keys it has).
func DatasetEmbeddings(d *data.Dataset, opt EmbeddingOptions) ([]EmbeddingInput, error) {
	path := d.Path
	labels, err := d.ObsLabels(opt.LabelCol)
	if err != nil {
		return nil, err
	}
	batches, err := d.ObsLabels(opt.BatchCol)
	if err != nil {
		return nil, err
	}
	keep, err := keepPresent(path, opt, labels, batches)
	if err != nil {
		return nil, err
	}
	dropped := len(labels) - len(keep)
	labels, batches = pick(labels, keep), pick(batches, keep)
	var inputs []EmbeddingInput
	var pre *data.Dense
	if opt.PCA > 0 {
		x, err := data.ToLog1p(d, opt.Scale, opt.TargetSum)
		if err != nil {
			return nil, err
		}
		x = x.SubsetRows(keep)
		h, err := data.HighlyVariableGenes(x, min(opt.HVG, x.Cols))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		sub := x.SubsetCols(h.Selected)
		if opt.PCA > min(sub.Rows, sub.Cols) {
			return nil, fmt.Errorf("%s: PCA with %d components exceeds min(%d cells, %d genes)", path, opt.PCA, sub.Rows, sub.Cols)
		}
		p, err := scib.PCA(sub, opt.PCA, opt.Seed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pre = p.Scores
		inputs = append(inputs, EmbeddingInput{Name: fmt.Sprintf("pca%d", opt.PCA), X: p.Scores, Pre: pre,
			Labels: labels, Batches: batches, Dropped: dropped, Kept: keep})
	}
	for _, key := range opt.ObsmKeys {
		m, ok := d.Obsm[key]
		if !ok {
			avail := make([]string, 0, len(d.Obsm))
			for k := range d.Obsm {
				avail = append(avail, k)
			}
			sort.Strings(avail)
			return nil, fmt.Errorf("%s: no obsm key %q (obsm has: %s)", path, key, strings.Join(avail, ", "))
		}
		inputs = append(inputs, EmbeddingInput{Name: key, X: pickRows(m, keep), Pre: pre,
			Labels: labels, Batches: batches, Dropped: dropped, Kept: keep})
	}
	return inputs, nil
}

// isMissing reports whether a label is missing as pandas reads CSVs
// (empty, "NA", "NaN", "nan") or as an absent categorical ("").
func isMissing(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "NA", "NaN", "nan", "<NA>":
		return true
	}
	return false
}

// keepPresent returns the indices of cells whose label and batch are both
// present, or an error counting missing ones unless opt.DropMissing.
func keepPresent(src string, opt EmbeddingOptions, labels, batches []string) ([]int, error) {
	var keep []int
	missL, missB := 0, 0
	for i := range labels {
		ml, mb := isMissing(labels[i]), isMissing(batches[i])
		if ml {
			missL++
		}
		if mb {
			missB++
		}
		if !ml && !mb {
			keep = append(keep, i)
		}
	}
	if (missL > 0 || missB > 0) && !opt.DropMissing {
		return nil, fmt.Errorf("%s: %d cells have a missing %s and %d a missing %s (\"\", \"NA\" or \"NaN\"); choose another column or pass --drop-missing", src, missL, opt.LabelCol, missB, opt.BatchCol)
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("%s: no cell has both a %s and a %s", src, opt.LabelCol, opt.BatchCol)
	}
	return keep, nil
}

func pick(v []string, idx []int) []string {
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = v[i]
	}
	return out
}

func pickRows(x *data.Dense, idx []int) *data.Dense {
	if x == nil {
		return nil
	}
	out := &data.Dense{Rows: len(idx), Cols: x.Cols, Data: make([]float64, 0, len(idx)*x.Cols)}
	for _, i := range idx {
		out.Data = append(out.Data, x.Row(i)...)
	}
	return out
}
