package scib_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/tasks"
)

// benchmarkerRef is testdata/scib/benchmarker_reference.json, written by
// testdata/scib/make_benchmarker_reference.py: scib-metrics 0.6's bras,
// silhouette_batch and kbet_per_label re-implemented in numpy 1.24.2 /
// scipy 1.10.1 (eigsh for the diffusion map) / scikit-learn 1.2.1 from the
// v0.6.0 sources, on the four shared embeddings.
type benchmarkerRef struct {
	Embeddings map[string]struct {
		Cells           int                `json:"cells"`
		BRAS            float64            `json:"bras"`
		BRASPerLabel    map[string]float64 `json:"bras_per_label"`
		SilhouetteBatch float64            `json:"silhouette_batch"`
		KBET            *float64           `json:"kbet_per_label"`
		KBETLabels      []refKBETLabel     `json:"kbet_labels"`
		KBETEmbedding   *float64           `json:"kbet_embedding"`
		KBETEmbLabels   []refKBETLabel     `json:"kbet_embedding_labels"`
	} `json:"embeddings"`
}

type refKBETLabel struct {
	Label       string    `json:"label"`
	Cells       int       `json:"cells"`
	K0          int       `json:"k0"`
	Tested      int       `json:"tested"`
	Comps       int       `json:"comps"`
	Score       *float64  `json:"score"`
	EvalsFirst  []float64 `json:"evals_first10"`
	EvalsLast   *float64  `json:"evals_last"`
	Rule        string    `json:"rule"`
	Components  int       `json:"components"`
	SkippedNote string    `json:"skipped"`
}

// sharedEmbedding is one of the four shared embeddings of the reference.
type sharedEmbedding struct {
	name            string
	x               *data.Dense
	labels, batches []string
}

// loadSharedEmbeddings reads the two embedding CSVs (cells with an "NA"
// label dropped, as score embed --drop-missing) and, where cgo can read
// .h5ad files, the two unintegrated PCAs (pcaEmbeddings).
func loadSharedEmbeddings(t *testing.T) []sharedEmbedding {
	var out []sharedEmbedding
	for _, c := range []struct{ name, file, glob, label, batch string }{
		{"sceiad_retina", "embedding_scpop_sceiad_retina.csv", "scviDim_*", "CellType_predict", "batch"},
		{"harmony_cell_lines", "embedding_harmony_cell_lines.csv", "X*", "cell_type", "dataset"},
	} {
		in, err := tasks.LoadCSVEmbedding(testdata.Path(t, c.file), c.glob, "",
			tasks.EmbeddingOptions{LabelCol: c.label, BatchCol: c.batch, DropMissing: true})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sharedEmbedding{c.name, in.X, in.Labels, in.Batches})
	}
	return append(out, pcaEmbeddings(t)...)
}

func loadBenchmarkerRef(t *testing.T) benchmarkerRef {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scib", "benchmarker_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref benchmarkerRef
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestBenchmarkerReference compares bras, silhouette_batch and
// kbet_per_label (diffusion-map neighbours, and the embedding option) with
// the numpy re-implementation of scib-metrics 0.6 on the four shared
// embeddings. Tolerances: 1e-9 for the silhouettes (float64 on both sides;
// the cosine distances are computed differently, see BRAS); kBET
// acceptance rates are ratios of counts and must match exactly per label
// (1e-12), the diffusion eigenvalues (rounded to float32 on both sides,
// ARPACK there, Lanczos or dense here) to 1e-6.
func TestBenchmarkerReference(t *testing.T) {
	if testing.Short() {
		t.Skip("real data, about 10 s")
	}
	ref := loadBenchmarkerRef(t)
	for _, e := range loadSharedEmbeddings(t) {
		t.Run(e.name, func(t *testing.T) {
			want, ok := ref.Embeddings[e.name]
			if !ok {
				t.Fatalf("no reference for %s", e.name)
			}
			if want.Cells != e.x.Rows {
				t.Fatalf("%d cells, reference has %d", e.x.Rows, want.Cells)
			}
			lab, bat := scib.Encode(e.labels), scib.Encode(e.batches)
			// bras: numpy port of scib-metrics bras (cosine, mean_other).
			got, why := scib.BRAS(e.x, lab, bat, 2)
			if math.Abs(got-want.BRAS) > 1e-9 {
				t.Errorf("bras = %.15g (%s), want %.15g", got, why, want.BRAS)
			}
			t.Logf("bras %.15g, reference %.15g, |Δ| = %.1e", got, want.BRAS, math.Abs(got-want.BRAS))
			for l, w := range want.BRASPerLabel {
				sub := &data.Dense{Cols: e.x.Cols}
				var sl, sb []string
				for i, v := range e.labels {
					if v == l {
						sub.Data = append(sub.Data, e.x.Row(i)...)
						sub.Rows++
						sl, sb = append(sl, v), append(sb, e.batches[i])
					}
				}
				g, _ := scib.BRAS(sub, scib.Encode(sl), scib.Encode(sb), 1)
				if math.Abs(g-w) > 1e-9 {
					t.Errorf("bras[%s] = %.15g, want %.15g", l, g, w)
				}
			}
			// silhouette_batch: sklearn 1.2.1 silhouette_samples per label.
			sb, _ := scib.SilhouetteBatch(e.x, lab, bat, 2)
			if math.Abs(sb-want.SilhouetteBatch) > 1e-9 {
				t.Errorf("silhouette_batch = %.15g, want %.15g", sb, want.SilhouetteBatch)
			}
			t.Logf("silhouette_batch %.15g, reference %.15g, |Δ| = %.1e", sb, want.SilhouetteBatch, math.Abs(sb-want.SilhouetteBatch))
			conn := scib.FuzzyConnectivities(scib.ExactKNN(e.x, min(50, e.x.Rows), 2), 2)
			for _, c := range []struct {
				search scib.KBETSearch
				want   *float64
				labels []refKBETLabel
			}{{scib.KBETDiffusion, want.KBET, want.KBETLabels}, {scib.KBETEmbedding, want.KBETEmbedding, want.KBETEmbLabels}} {
				v, per := scib.KBETPerLabel(e.x, conn, lab, bat, scib.KBETOptions{Alpha: 0.05, Search: c.search, DiffusionComps: 100, Workers: 2})
				compareKBET(t, c.search.String(), v, per, c.want, c.labels)
				t.Logf("kbet_per_label (%s) %.15g, reference %v", c.search, v, ptrString(c.want))
			}
		})
	}
}

func compareKBET(t *testing.T, search string, v float64, per []scib.KBETLabel, want *float64, labels []refKBETLabel) {
	t.Helper()
	if (want == nil) != math.IsNaN(v) || (want != nil && math.Abs(v-*want) > 1e-12) {
		t.Errorf("%s: kbet_per_label = %.15g, want %v", search, v, ptrString(want))
	}
	if len(per) != len(labels) {
		t.Fatalf("%s: %d labels, reference %d", search, len(per), len(labels))
	}
	for i, r := range labels {
		p := per[i]
		if p.Label != r.Label || p.Cells != r.Cells || p.K0 != r.K0 || p.Tested != r.Tested || p.Comps != r.Comps {
			t.Errorf("%s: label %d: (%s, cells %d, k0 %d, tested %d, comps %d), want (%s, %d, %d, %d, %d)", search, i,
				p.Label, p.Cells, p.K0, p.Tested, p.Comps, r.Label, r.Cells, r.K0, r.Tested, r.Comps)
		}
		if (r.Score == nil) != math.IsNaN(p.Score) || (r.Score != nil && math.Abs(p.Score-*r.Score) > 1e-12) {
			t.Errorf("%s: %s: score %v (%s), want %v", search, r.Label, p.Score, p.Reason, ptrString(r.Score))
		}
		for j, ev := range r.EvalsFirst {
			if j >= len(p.Eigenvalues) || math.Abs(p.Eigenvalues[j]-ev) > 1e-6 {
				t.Errorf("%s: %s: eigenvalue %d: got %v, want %v", search, r.Label, j, p.Eigenvalues, r.EvalsFirst)
				break
			}
		}
		if r.EvalsLast != nil && math.Abs(p.Eigenvalues[len(p.Eigenvalues)-1]-*r.EvalsLast) > 1e-6 {
			t.Errorf("%s: %s: last eigenvalue %v, want %v", search, r.Label, p.Eigenvalues[len(p.Eigenvalues)-1], *r.EvalsLast)
		}
	}
}

func ptrString(p *float64) any {
	if p == nil {
		return "NaN"
	}
	return *p
}
