package recon

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readCSV(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "recon", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

func ints(t *testing.T, s string) []int {
	t.Helper()
	var out []int
	for _, f := range strings.Fields(s) {
		v, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestMCCSklearn: every case of testdata/recon/mcc_reference.csv, whose
// expected values are sklearn 1.2.1 matthews_corrcoef via Debian
// python3-sklearn (make_reference.py); tolerance 1e-12.
func TestMCCSklearn(t *testing.T) {
	for _, r := range readCSV(t, "mcc_reference.csv") {
		k, _ := strconv.Atoi(r[1])
		want, _ := strconv.ParseFloat(r[4], 64)
		got, reason := MCC(ints(t, r[2]), ints(t, r[3]), k)
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: MCC %.15g, sklearn %.15g", r[0], got, want)
		}
		undefined := r[0] == "single_pred" || r[0] == "single_truth" || r[0] == "one_position"
		if undefined != (reason != "") {
			t.Errorf("%s: reason %q (undefined case: %v)", r[0], reason, undefined)
		}
	}
}

func TestMCCEmpty(t *testing.T) {
	v, reason := NewConfusion(5).MCC()
	if !math.IsNaN(v) || reason == "" {
		t.Fatalf("empty MCC = %v (%q), want NaN with a reason", v, reason)
	}
}

// TestBinsNumpy: the per-cell binning equals InstaDeep's rule as computed
// by numpy 1.24.2 (np.linspace, edges[-1] += 0.01, np.digitize; the
// all-equal cell uses the notebook's rule, bin 1) in bins_reference.csv.
func TestBinsNumpy(t *testing.T) {
	for _, r := range readCSV(t, "bins_reference.csv") {
		counts, want := ints(t, r[1]), ints(t, r[2])
		x := make([]float64, len(counts))
		for i, c := range counts {
			x[i] = math.Log1p(float64(c))
		}
		cb := NewCellBins(x, DefaultBins)
		for i := range x {
			if got := cb.Bin(x[i]); got != want[i] {
				t.Errorf("cell %s, gene %d (count %d): bin %d, numpy %d", r[0], i, counts[i], got, want[i])
			}
		}
	}
}

// TestBinsConventions: hand-computed edges, medians and the documented
// conventions for continuous values, equal and empty cells.
func TestBinsConventions(t *testing.T) {
	// log1p values 1, 2, 3, 5 → edges 1, 2, 3, 4, 5.01 (hand-computed).
	cb := NewCellBins([]float64{0, 1, 2, 3, 5, 0}, 5)
	wantEdges := []float64{1, 2, 3, 4, 5.01}
	for i, e := range wantEdges {
		if math.Abs(cb.Edges[i]-e) > 1e-12 {
			t.Fatalf("edges %v, want %v", cb.Edges, wantEdges)
		}
	}
	cases := []struct {
		x    float64
		want int
	}{{0, 0}, {-1, 0}, {math.NaN(), 0}, {0.5, 0}, {1, 1}, {1.99, 1}, {2, 2}, {3.5, 3}, {4, 4}, {5, 4}, {9, 4}}
	for _, c := range cases {
		if got := cb.Bin(c.x); got != c.want {
			t.Errorf("Bin(%g) = %d, want %d", c.x, got, c.want)
		}
	}
	// medians: bin1 {1}, bin2 {2}, bin3 {3}, bin4 {5}; bin 0 → 0.
	wantMed := []float64{0, 1, 2, 3, 5}
	for b, m := range wantMed {
		if cb.Medians[b] != m {
			t.Errorf("median[%d] = %g, want %g", b, cb.Medians[b], m)
		}
	}
	// empty bin → midpoint of its edges (before the +0.01): values 1, 5 →
	// edges 1,2,3,4,5; bins 2 and 3 empty → 2.5, 3.5.
	cb2 := NewCellBins([]float64{1, 5, 1}, 5)
	if cb2.Medians[2] != 2.5 || cb2.Medians[3] != 3.5 || cb2.Medians[1] != 1 || cb2.Medians[4] != 5 {
		t.Errorf("medians with empty bins %v, want [0 1 2.5 3.5 5]", cb2.Medians)
	}
	if e := cb2.Expectation([]float32{0.5, 0, 0, 0, 0.5}); math.Abs(e-2.5) > 1e-12 {
		t.Errorf("Expectation = %g, want 2.5", e)
	}
	eq := NewCellBins([]float64{2, 2, 0}, 5)
	if !eq.Equal || eq.Bin(2) != 1 || eq.Bin(1.9) != 0 || eq.Bin(7) != 1 {
		t.Errorf("equal cell: Equal %v, bins %d %d %d, want true 1 0 1", eq.Equal, eq.Bin(2), eq.Bin(1.9), eq.Bin(7))
	}
	em := NewCellBins([]float64{0, 0}, 5)
	if !em.Empty || em.Bin(0.6) != 0 || em.Bin(0.7) != 1 || em.Medians[3] != math.Ln2 {
		t.Errorf("empty cell: %+v", em)
	}
}

// TestScoreAndFiles: scores of a hand-made position list (MAE
// hand-computed), the CSV round trip and bad inputs.
func TestScoreAndFiles(t *testing.T) {
	ps := []Position{
		{"c1", "g1", 0, 0, 0, 0.5},
		{"c1", "g2", 3, 2, 2, 2},
		{"c2", "g1", 10, 4, 3, 7},
		{"c2", "g3", 1, 1, 0, 0},
	}
	s, err := Score(ps, 5)
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 4 || s.NExpressed != 3 || math.Abs(s.MAECounts-(0.5+1+3+1)/4) > 1e-12 {
		t.Errorf("scores %+v", s)
	}
	truth, pred := []int{0, 2, 4, 1}, []int{0, 2, 3, 0}
	if m, _ := MCC(truth, pred, 5); m != s.MCC {
		t.Errorf("Score mcc %g != MCC %g", s.MCC, m)
	}
	var buf bytes.Buffer
	if err := WritePositions(&buf, ps); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPositions(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(ps) || back[2] != ps[2] {
		t.Fatalf("round trip %v", back)
	}
	for name, in := range map[string]string{
		"missing column": "cell,gene,true_count,true_bin,pred_bin\n",
		"bad bin":        "cell,gene,true_count,true_bin,pred_bin,pred_count\na,b,1,x,1,1\n",
		"bad count":      "cell,gene,true_count,true_bin,pred_bin,pred_count\na,b,one,1,1,1\n",
		"empty":          "",
	} {
		if _, err := ReadPositions(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Score([]Position{{"a", "b", 1, 7, 1, 1}}, 5); err == nil {
		t.Error("bin 7 of 5: no error")
	}
	if _, err := Score([]Position{{"a", "b", math.NaN(), 1, 1, 1}}, 5); err == nil {
		t.Error("NaN count: no error")
	}
	s0, _ := Score(nil, 5)
	if !math.IsNaN(s0.MCC) || !math.IsNaN(s0.MAECounts) || s0.Notes() == "" {
		t.Errorf("no positions: %+v", s0)
	}
}
