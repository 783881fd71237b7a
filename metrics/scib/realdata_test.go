package scib

import (
	"math"
	"testing"

	"github.com/cellbench/cellbench/internal/testdata"
)

func realCSV(t testing.TB, name, glob, label, batch string) *EmbeddingCSV {
	e, err := ReadEmbeddingCSV(testdata.Path(t, name), glob, []string{label, batch})
	if err != nil {
		t.Fatal(err)
	}
	// Drop cells whose label is "NA" (unknown), as score embed --drop-missing.
	var keep []int
	for i, l := range e.Columns[label] {
		if l != "NA" && l != "" {
			keep = append(keep, i)
		}
	}
	e.X = subsetRows(e.X, keep)
	for _, c := range []string{label, batch} {
		old := e.Columns[c]
		e.Columns[c] = make([]string, len(keep))
		for k, i := range keep {
			e.Columns[c][k] = old[i]
		}
	}
	return e
}

// TestRealEmbeddings runs the full suite on the two shared real embeddings.
// Expected ranges are the known answers: Harmony's cell-lines PCs are NOT
// integrated (the three datasets separate), so the batch metrics must be
// poor; the scEiaD scVI embedding is integrated.
func TestRealEmbeddings(t *testing.T) {
	if testing.Short() {
		t.Skip("real data, several seconds")
	}
	t.Run("harmony_cell_lines", func(t *testing.T) {
		e := realCSV(t, "embedding_harmony_cell_lines.csv", "X*", "cell_type", "dataset")
		opt := DefaultOptions()
		opt.Pre = e.X
		rep, err := Benchmark(e.X, e.Columns["cell_type"], e.Columns["dataset"], opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range rep.Values {
			t.Logf("%-22s %8.4f  %s", v.Name, v.Value, v.Reason)
		}
		t.Logf("seconds: %v", rep.Seconds)
		ilisi, _ := rep.Get(ILISIName)
		if !(ilisi.Value < 0.2) {
			t.Errorf("ilisi = %v on un-integrated cell lines, want < 0.2", ilisi.Value)
		}
		sl, _ := rep.Get(SilhouetteLabelName)
		if !(sl.Value > 0.6) || math.IsNaN(sl.Value) {
			t.Errorf("silhouette_label = %v, want > 0.6 (cell lines separate)", sl.Value)
		}
	})
	t.Run("sceiad_retina", func(t *testing.T) {
		e := realCSV(t, "embedding_scpop_sceiad_retina.csv", "scviDim_*", "CellType_predict", "batch")
		rep, err := Benchmark(e.X, e.Columns["CellType_predict"], e.Columns["batch"], DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range rep.Values {
			t.Logf("%-22s %8.4f  %s", v.Name, v.Value, v.Reason)
		}
		t.Logf("seconds: %v", rep.Seconds)
	})
}
