package reports

import (
	"math"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/scib"
)

// embeddingFromCSV reads one of the shared embedding CSVs by registry name,
// skipping the test when the data directory is absent.
func embeddingFromCSV(t *testing.T, name, glob, labelCol, batchCol string) Embedding {
	t.Helper()
	path, err := data.NewRegistry("").Path(name)
	if err != nil {
		t.Skipf("real data not available: %v", err)
	}
	e, err := scib.ReadEmbeddingCSV(path, glob, []string{labelCol, batchCol})
	if err != nil {
		t.Fatal(err)
	}
	return Embedding{Name: name, X: e.X, Labels: e.Columns[labelCol], Batches: e.Columns[batchCol],
		LabelName: labelCol, BatchName: batchCol, Dataset: name, Split: "all cells"}
}

func TestEmbeddingFigureRealData(t *testing.T) {
	in := embeddingFromCSV(t, "harmony-cell-lines", "X*", "cell_type", "dataset")
	scores, explained, err := PCA2(in.X)
	if err != nil {
		t.Fatal(err)
	}
	// Reference: sklearn 1.2.1 PCA(n_components=2).fit(X) on the 20 X* columns of
	// embedding_harmony_cell_lines.csv (Debian python3): explained_variance_ratio_.
	want := [2]float64{0.58135037, 0.11921855}
	for k := range 2 {
		if math.Abs(explained[k]-want[k]) > 1e-6 {
			t.Errorf("explained[%d] = %.8f, want %.8f (sklearn)", k, explained[k], want[k])
		}
	}
	if len(scores) != in.X.Rows {
		t.Fatalf("%d scores for %d cells", len(scores), in.X.Rows)
	}
	f, err := NewEmbeddingFigure(in)
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f)
	if testing.Short() {
		return
	}
	big := embeddingFromCSV(t, "sceiad-retina-scvi", "scviDim_*", "CellType_predict", "batch")
	f, err = NewEmbeddingFigure(big)
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f)
}
