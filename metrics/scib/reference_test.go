package scib

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// reference holds the values written by testdata/scib/make_reference.py
// (numpy 1.24.2, scipy 1.10.1, scikit-learn 1.2.1; see that script for how
// each one is computed) on testdata/scib/fixture.csv.
type reference struct {
	SilhouetteScoreLabels   float64     `json:"silhouette_score_labels"`
	SilhouetteSamplesFirst5 []float64   `json:"silhouette_samples_labels_first5"`
	SilhouetteBatch         float64     `json:"silhouette_batch"`
	IsolatedLabelsNames     []string    `json:"isolated_labels_names"`
	IsolatedLabels          float64     `json:"isolated_labels"`
	KMeansInitRows          []int       `json:"kmeans_init_rows"`
	KMeansLabels            []int       `json:"kmeans_labels"`
	KMeansInertia           float64     `json:"kmeans_inertia"`
	KMeansNIter             int         `json:"kmeans_n_iter"`
	KMeans2InitRows         []int       `json:"kmeans2_init_rows"`
	KMeans2Labels           []int       `json:"kmeans2_labels"`
	KMeans2Inertia          float64     `json:"kmeans2_inertia"`
	NMILabelsBatches        float64     `json:"nmi_labels_vs_batches"`
	ARILabelsBatches        float64     `json:"ari_labels_vs_batches"`
	NMILabelsKMeans2        float64     `json:"nmi_labels_vs_kmeans2"`
	ARILabelsKMeans2        float64     `json:"ari_labels_vs_kmeans2"`
	KNN10Indices            [][]int     `json:"knn10_indices"`
	KNN10Distances          [][]float64 `json:"knn10_distances"`
	LISI10LabelsFirst5      []float64   `json:"lisi10_labels_first5"`
	LISI10BatchesFirst5     []float64   `json:"lisi10_batches_first5"`
	CLISI10                 float64     `json:"clisi10"`
	ILISI10                 float64     `json:"ilisi10"`
	GraphConnectivity10     float64     `json:"graph_connectivity10"`
	PCRFixture              float64     `json:"pcr_fixture"`
	PCRCorrected            float64     `json:"pcr_corrected"`
	PCRComparison           float64     `json:"pcr_comparison"`
	KBETType0Acceptance     float64     `json:"kbet_type0_acceptance"`
	KNN5Accuracy            float64     `json:"knn5_accuracy"`
	KNN5BalancedAccuracy    float64     `json:"knn5_balanced_accuracy"`
}

func loadReference(t *testing.T) (*EmbeddingCSV, reference) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "scib")
	e, err := ReadEmbeddingCSV(filepath.Join(dir, "fixture.csv"), "X*", []string{"cell_type", "batch"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	return e, ref
}

func close(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestAgainstSklearn(t *testing.T) {
	e, ref := loadReference(t)
	x := e.X
	lab, bat := Encode(e.Columns["cell_type"]), Encode(e.Columns["batch"])
	const tol = 1e-10
	w := SilhouetteSamples(x, lab, 2)
	sb, _ := SilhouetteBatch(x, lab, bat, 2)
	iso, isoNames := IsolatedLabels(w, lab, bat)
	scalars := []struct {
		name      string
		got, want float64
	}{
		// sklearn 1.2.1 silhouette_score(X, labels).
		{"silhouette_score", mean(w), ref.SilhouetteScoreLabels},
		// scib-metrics silhouette_batch recomputed with sklearn silhouette_samples per label.
		{"silhouette_batch", sb, ref.SilhouetteBatch},
		// scib-metrics isolated_labels (ASW) recomputed with sklearn silhouette_samples.
		{"isolated_labels", iso, ref.IsolatedLabels},
		// sklearn normalized_mutual_info_score / adjusted_rand_score.
		{"nmi(labels, batches)", NMI(lab, bat), ref.NMILabelsBatches},
		{"ari(labels, batches)", ARI(lab, bat), ref.ARILabelsBatches},
		// PCA + LinearRegression R² per component (sklearn), all components.
		{"pcr", PCR(x, bat), ref.PCRFixture},
	}
	for _, s := range scalars {
		if !close(s.got, s.want, tol) {
			t.Errorf("%s = %.15g, want %.15g", s.name, s.got, s.want)
		}
	}
	for i, want := range ref.SilhouetteSamplesFirst5 {
		if !close(w[i], want, tol) {
			t.Errorf("silhouette_samples[%d] = %v, want %v", i, w[i], want)
		}
	}
	if len(isoNames) != len(ref.IsolatedLabelsNames) || isoNames[0] != ref.IsolatedLabelsNames[0] {
		t.Errorf("isolated labels %v, want %v", isoNames, ref.IsolatedLabelsNames)
	}

	t.Run("kmeans", func(t *testing.T) {
		for _, c := range []struct {
			rows    []int
			labels  []int
			inertia float64
		}{{ref.KMeansInitRows, ref.KMeansLabels, ref.KMeansInertia}, {ref.KMeans2InitRows, ref.KMeans2Labels, ref.KMeans2Inertia}} {
			init := make([][]float64, len(c.rows))
			for k, r := range c.rows {
				init[k] = append([]float64(nil), x.Row(r)...)
			}
			km := KMeans(x, init, 300, 1e-4, 2)
			// sklearn 1.2.1 KMeans(init=X[rows], n_init=1, algorithm="lloyd").
			if !close(km.Inertia, c.inertia, 1e-9) {
				t.Errorf("init %v: inertia %v, want %v", c.rows, km.Inertia, c.inertia)
			}
			diff := 0
			for i := range km.Labels {
				if km.Labels[i] != c.labels[i] {
					diff++
				}
			}
			if diff > 0 {
				t.Errorf("init %v: %d labels differ from sklearn", c.rows, diff)
			}
		}
		cl := Codes{}
		{
			init := make([][]float64, len(ref.KMeans2InitRows))
			for k, r := range ref.KMeans2InitRows {
				init[k] = append([]float64(nil), x.Row(r)...)
			}
			cl = encodeInts(KMeans(x, init, 300, 1e-4, 1).Labels)
		}
		if got := NMI(lab, cl); !close(got, ref.NMILabelsKMeans2, tol) {
			t.Errorf("nmi(labels, kmeans) = %v, want %v", got, ref.NMILabelsKMeans2)
		}
		if got := ARI(lab, cl); !close(got, ref.ARILabelsKMeans2, tol) {
			t.Errorf("ari(labels, kmeans) = %v, want %v", got, ref.ARILabelsKMeans2)
		}
	})

	nb := ExactKNN(x, 10, 2)
	t.Run("knn", func(t *testing.T) {
		// sklearn NearestNeighbors(algorithm="brute").kneighbors, k = 10.
		for i := 0; i < nb.N; i++ {
			idx, dist := nb.Row(i)
			for r := range idx {
				if int(idx[r]) != ref.KNN10Indices[i][r] || !close(dist[r], ref.KNN10Distances[i][r], 1e-9) {
					t.Fatalf("cell %d rank %d: (%d, %v), want (%d, %v)", i, r, idx[r], dist[r], ref.KNN10Indices[i][r], ref.KNN10Distances[i][r])
				}
			}
		}
	})
	t.Run("lisi", func(t *testing.T) {
		// numpy port of scib-metrics utils/_lisi.py in make_reference.py.
		ll := LISI(nb, lab, 0, 2)
		lb := LISI(nb, bat, 0, 2)
		for i := range ref.LISI10LabelsFirst5 {
			if !close(ll[i], ref.LISI10LabelsFirst5[i], 1e-9) || !close(lb[i], ref.LISI10BatchesFirst5[i], 1e-9) {
				t.Errorf("cell %d: LISI (%v, %v), want (%v, %v)", i, ll[i], lb[i], ref.LISI10LabelsFirst5[i], ref.LISI10BatchesFirst5[i])
			}
		}
		c, _ := CLISI(ll, len(lab.Names))
		b, _ := ILISI(lb, len(bat.Names))
		if !close(c, ref.CLISI10, 1e-9) || !close(b, ref.ILISI10, 1e-9) {
			t.Errorf("clisi, ilisi = %v, %v; want %v, %v", c, b, ref.CLISI10, ref.ILISI10)
		}
	})
	t.Run("graph_connectivity", func(t *testing.T) {
		// scipy connected_components(connection="strong") per label, 10-NN graph.
		if got := GraphConnectivity(nb, lab); !close(got, ref.GraphConnectivity10, tol) {
			t.Errorf("graph_connectivity = %v, want %v", got, ref.GraphConnectivity10)
		}
	})
	t.Run("pcr_comparison", func(t *testing.T) {
		xc := &data.Dense{Rows: x.Rows, Cols: x.Cols, Data: append([]float64(nil), x.Data...)}
		// Same correction as make_reference.py: remove half of each batch's mean shift.
		mu := columnMeans(x)
		for _, cells := range bat.members() {
			bm := columnMeans(subsetRows(x, cells))
			for _, i := range cells {
				for j := range mu {
					xc.Data[i*x.Cols+j] -= 0.5 * (bm[j] - mu[j])
				}
			}
		}
		if got := PCR(xc, bat); !close(got, ref.PCRCorrected, 1e-9) {
			t.Errorf("pcr(corrected) = %v, want %v", got, ref.PCRCorrected)
		}
		got, _ := PCRComparison(x, xc, bat)
		if !close(got, ref.PCRComparison, 1e-9) {
			t.Errorf("pcr_comparison = %v, want %v", got, ref.PCRComparison)
		}
	})
	t.Run("kbet_type0", func(t *testing.T) {
		// scipy chi2.sf on exact 10-NN within label type0 (make_reference.py).
		var cells []int
		for i, l := range e.Columns["cell_type"] {
			if l == "type0" {
				cells = append(cells, i)
			}
		}
		sub := subsetRows(x, cells)
		got := kbetAcceptance(ExactKNN(sub, 11, 1), bat.subset(cells), 0.05)
		if !close(got, ref.KBETType0Acceptance, tol) {
			t.Errorf("kBET acceptance = %v, want %v", got, ref.KBETType0Acceptance)
		}
	})
	t.Run("knn_typing", func(t *testing.T) {
		// numpy LOO 5-NN vote + sklearn balanced_accuracy_score.
		a, b := KNNCellTyping(nb, lab, 5)
		if !close(a, ref.KNN5Accuracy, tol) || !close(b, ref.KNN5BalancedAccuracy, tol) {
			t.Errorf("accuracy %v, balanced %v; want %v, %v", a, b, ref.KNN5Accuracy, ref.KNN5BalancedAccuracy)
		}
	})
}
