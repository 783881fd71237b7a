//go:build cgo

package scib_test

import (
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/tasks"
)

// pcaEmbeddings computes the two unintegrated PCAs of the Benchmarker
// reference exactly as `score embed --data D --pca 50` does
// (testdata/scib/export_pca.go wrote the same matrices for the script).
// Reading .h5ad needs cgo (libhdf5); benchmarker_pca_nocgo_test.go skips.
func pcaEmbeddings(t *testing.T) []sharedEmbedding {
	var out []sharedEmbedding
	for _, c := range []struct{ name, file, label, batch string }{
		{"pbmc_symphony_pca50", "pbmc_symphony_3batches.h5ad", "cell_type", "donor"},
		{"pancreas_baron_pca50", "pancreas_baron_cider_human_mouse.h5ad", "Group", "Batch"},
	} {
		ds, err := h5ad.Read(testdata.Path(t, c.file))
		if err != nil {
			t.Fatal(err)
		}
		in, err := tasks.DatasetEmbeddings(ds, tasks.EmbeddingOptions{LabelCol: c.label, BatchCol: c.batch,
			PCA: 50, HVG: 2000, Scale: "auto", TargetSum: data.DefaultTargetSum})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sharedEmbedding{c.name, in[0].X, in[0].Labels, in[0].Batches})
	}
	return out
}
