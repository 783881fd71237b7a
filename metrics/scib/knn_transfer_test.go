package scib

import (
	"math"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// transferFixture builds the reference (20 cells) and query (12 cells) of
// TestKNNTransfer by formula (the same formulas generate the sklearn
// reference values; no distance or vote ties for k = 1, 3, 5).
func transferFixture() (ref *data.Dense, refL []string, q *data.Dense, qL []string) {
	refXY := func(i int) (float64, float64) {
		return float64(i*7%13)/3.0 + math.Sqrt(float64(i))*0.01, float64(i*5%11) / 2.0
	}
	qXY := func(j int) (float64, float64) {
		return float64(j*5%9)/2.0 + 0.1, float64(j*3%8)/1.5 + 0.05 + math.Sqrt(float64(j))*0.003
	}
	label := func(x, y float64) string {
		switch {
		case x < 2:
			return "a"
		case y < 2.5:
			return "b"
		}
		return "c"
	}
	ref = &data.Dense{Rows: 20, Cols: 2}
	for i := range 20 {
		x, y := refXY(i)
		ref.Data = append(ref.Data, x, y)
		refL = append(refL, label(x, y))
	}
	q = &data.Dense{Rows: 12, Cols: 2}
	for j := range 12 {
		x, y := qXY(j)
		q.Data = append(q.Data, x, y)
		l := label(x, y)
		if j%5 == 0 {
			l = []string{"a", "b", "c", "d"}[j%4]
		}
		qL = append(qL, l)
	}
	return ref, refL, q, qL
}

// KNNTransfer against sklearn 1.2 (Debian python3-sklearn):
// KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(ref).predict(query)
// scored with accuracy_score and balanced_accuracy_score, on the formula
// data of transferFixture. Tolerance 1e-12.
func TestKNNTransfer(t *testing.T) {
	ref, refL, q, qL := transferFixture()
	for _, tc := range []struct {
		k             int
		acc, balanced float64
	}{
		{1, 0.75, 0.6944444444444445},
		{3, 0.5, 0.4166666666666667},
		{5, 0.5, 0.4166666666666667},
	} {
		acc, bal, err := KNNTransfer(ref, refL, q, qL, tc.k)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(acc-tc.acc) > 1e-12 || math.Abs(bal-tc.balanced) > 1e-12 {
			t.Errorf("k=%d: accuracy %v balanced %v, want %v %v (sklearn)", tc.k, acc, bal, tc.acc, tc.balanced)
		}
	}
	// A query label absent from the reference is never predicted: recall 0
	// (hand-computed: one "z" cell more, k = 1 → 9/13 correct; balanced =
	// (3·0.6944… + 0)/4).
	q.Data = append(q.Data, 0, 0)
	q.Rows++
	acc, bal, err := KNNTransfer(ref, refL, q, append(qL, "z"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(acc-9.0/13) > 1e-12 || math.Abs(bal-0.6944444444444445*3/4) > 1e-12 {
		t.Errorf("absent label: accuracy %v balanced %v", acc, bal)
	}
	// k larger than the reference: every reference cell votes.
	if _, _, err := KNNTransfer(ref, refL, q, append(qL, "z"), 50); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func() error{
		func() error { _, _, err := KNNTransfer(ref, refL[:3], q, append(qL, "z"), 1); return err },
		func() error {
			_, _, err := KNNTransfer(ref, refL, &data.Dense{Rows: 1, Cols: 3, Data: []float64{0, 0, 0}}, []string{"a"}, 1)
			return err
		},
		func() error { _, _, err := KNNTransfer(ref, refL, q, append(qL, "z"), 0); return err },
	} {
		if bad() == nil {
			t.Error("bad input accepted")
		}
	}
}
