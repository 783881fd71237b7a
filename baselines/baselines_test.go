package baselines

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// cellSpec is a group of identical synthetic cells.
type cellSpec struct {
	context, pert string
	n             int
	row           []float32
}

// makeDataset builds a log1p dataset from groups of identical cells, so
// every group mean is known exactly.
func makeDataset(t *testing.T, groups []cellSpec) *data.Dataset {
	t.Helper()
	var dense []float32
	var ctx, pert, names []string
	genes := len(groups[0].row)
	for _, g := range groups {
		for i := 0; i < g.n; i++ {
			dense = append(dense, g.row...)
			ctx = append(ctx, g.context)
			pert = append(pert, g.pert)
			names = append(names, g.context+"/"+g.pert+"/"+string(rune('a'+i)))
		}
	}
	rows := len(ctx)
	var geneNames []string
	for j := 0; j < genes; j++ {
		geneNames = append(geneNames, "g"+string(rune('0'+j)))
	}
	d := &data.Dataset{
		X:     data.NewCSRFromDense(rows, genes, dense),
		Obs:   data.Frame{Index: names, Columns: []*data.Column{data.NewCategorical("ctx", ctx), data.NewCategorical("pert", pert)}},
		Var:   data.Frame{Index: geneNames},
		Scale: data.Log1p,
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

var spec = tasks.PertSpec{PertCol: "pert", ContextCol: "ctx", Control: "ctrl", Seed: 7}

// twoContexts: context A (controls at 1, p1 = +1 on g0, p2 = +2 on g1,
// doubles) and B (controls at 2, p1 = +3 on g0). Hand-computed offsets:
// δ_A,p1 = (1,0,0,0), δ_B,p1 = (3,0,0,0) → δ_p1 = (2,0,0,0);
// δ_p2 = (0,2,0,0); δ_p1+p2 (seen only in A) = (1,1,1,0).
func twoContexts(t *testing.T) *data.Dataset {
	return makeDataset(t, []cellSpec{
		{"A", "ctrl", 4, []float32{1, 1, 1, 1}},
		{"A", "p1", 3, []float32{2, 1, 1, 1}},
		{"A", "p2", 2, []float32{1, 3, 1, 1}},
		{"A", "p1+p2", 2, []float32{2, 2, 2, 1}},
		{"B", "ctrl", 5, []float32{2, 2, 2, 2}},
		{"B", "p1", 3, []float32{5, 2, 2, 2}},
	})
}

func colMeans(m *data.CSR) []float64 {
	rows := make([]int, m.Rows)
	for i := range rows {
		rows[i] = i
	}
	return m.MeanRows(rows)
}

func near(a, b []float64, tol float64) bool {
	for j := range a {
		if math.Abs(a[j]-b[j]) > tol {
			return false
		}
	}
	return len(a) == len(b)
}

func controlsOf(d *data.Dataset, c string) *data.CSR {
	ctx, _ := d.ObsLabels("ctx")
	pert, _ := d.ObsLabels("pert")
	var rows []int
	for i := range ctx {
		if ctx[i] == c && pert[i] == "ctrl" {
			rows = append(rows, i)
		}
	}
	return d.X.SubsetRows(rows)
}

func TestPerturbationMean(t *testing.T) {
	d := twoContexts(t)
	m := NewPerturbationMean()
	if err := m.Fit(context.Background(), d, spec); err != nil {
		t.Fatal(err)
	}
	ctrlB := controlsOf(d, "B")
	// Expected means are hand-computed from twoContexts' offsets; the
	// average offset is over singles p1, p2: (1,1,0,0).
	cases := []struct {
		pert string
		want []float64
		note bool
	}{
		{"p1", []float64{4, 2, 2, 2}, false},
		{"p2", []float64{2, 4, 2, 2}, false},
		{"p1+p2", []float64{3, 3, 3, 2}, false}, // seen double: its own offset
		{"p2+p1", []float64{4, 4, 2, 2}, false}, // unseen double: additive p2 + p1
		{"p9", []float64{3, 3, 2, 2}, true},     // unseen single: average offset
		{"ctrl", []float64{2, 2, 2, 2}, false},  // control label: no shift
	}
	for _, c := range cases {
		out, err := m.Predict(context.Background(), []tasks.PredictRequest{{Context: "B", Perturbation: c.pert, Controls: ctrlB, NCells: 6}})
		if err != nil {
			t.Fatal(err)
		}
		if out[0].Rows != 6 || out[0].Cols != 4 {
			t.Fatalf("%s: shape %d×%d", c.pert, out[0].Rows, out[0].Cols)
		}
		if got := colMeans(out[0]); !near(got, c.want, 1e-6) {
			t.Errorf("%s: mean %v, want %v", c.pert, got, c.want)
		}
		notes := m.Notes()
		if (len(notes) > 0) != c.note {
			t.Errorf("%s: notes %q, want note=%v", c.pert, notes, c.note)
		}
	}
}

func TestShiftClampsAtZero(t *testing.T) {
	ctrl := data.NewCSRFromDense(2, 3, []float32{0, 1, 2, 0, 1, 2})
	out := shiftedControls(ctrl, []float64{-1, -0.5, 1}, 4, tasks.RequestRNG(1, tasks.PredictRequest{}))
	// Hand-computed: (0-1→0, 1-0.5, 2+1).
	if got := colMeans(out); !near(got, []float64{0, 0.5, 3}, 1e-6) {
		t.Errorf("mean %v, want [0 0.5 3]", got)
	}
	if err := out.Validate(); err != nil {
		t.Error(err)
	}
}

func TestContextMean(t *testing.T) {
	d := twoContexts(t)
	m := NewContextMean()
	if err := m.Fit(context.Background(), d, spec); err != nil {
		t.Fatal(err)
	}
	// Context A: predicted cells are A's perturbed training cells, each one
	// of the three distinct perturbed rows.
	out, err := m.Predict(context.Background(), []tasks.PredictRequest{{Context: "A", Perturbation: "p7", NCells: 50}})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[[4]float32]bool{{2, 1, 1, 1}: true, {1, 3, 1, 1}: true, {2, 2, 2, 1}: true}
	for i := 0; i < out[0].Rows; i++ {
		var r [4]float32
		copy(r[:], out[0].DenseRow(nil, i))
		if !allowed[r] {
			t.Fatalf("cell %d = %v is not a perturbed training cell of A", i, r)
		}
	}
	// Unseen context C: controls + mean shift over A and B (hand-computed):
	// A's 7 perturbed cells have mean (12/7, 13/7, 9/7, 1), minus ctrl 1;
	// B's shift is (3,0,0,0); the fallback shift is their average.
	a := []float64{12.0/7 - 1, 13.0/7 - 1, 9.0/7 - 1, 0}
	want := []float64{3 + (a[0]+3)/2, 3 + a[1]/2, 3 + a[2]/2, 3}
	ctrlC := data.NewCSRFromDense(2, 4, []float32{3, 3, 3, 3, 3, 3, 3, 3})
	out, err = m.Predict(context.Background(), []tasks.PredictRequest{{Context: "C", Perturbation: "p1", Controls: ctrlC, NCells: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if got := colMeans(out[0]); !near(got, want, 1e-5) {
		t.Errorf("zero-shot mean %v, want %v", got, want)
	}
	if n := m.Notes(); len(n) != 1 || !strings.Contains(n[0], `"C"`) {
		t.Errorf("notes %q", n)
	}
}

func TestControl(t *testing.T) {
	d := twoContexts(t)
	m := NewControl()
	if err := m.Fit(context.Background(), d, spec); err != nil {
		t.Fatal(err)
	}
	ctrlB := controlsOf(d, "B")
	out, err := m.Predict(context.Background(), []tasks.PredictRequest{{Context: "B", Perturbation: "p1", Controls: ctrlB, NCells: 9}})
	if err != nil {
		t.Fatal(err)
	}
	if got := colMeans(out[0]); !near(got, []float64{2, 2, 2, 2}, 0) {
		t.Errorf("mean %v", got)
	}
	if _, err := m.Predict(context.Background(), []tasks.PredictRequest{{Context: "B", Perturbation: "p1", NCells: 9}}); err == nil {
		t.Error("no controls: want an error")
	}
}

// With λ = 0 and K ≥ rank, G W P = Yc exactly, so Linear reproduces the
// seen offsets, like PerturbationMean (algebra: W = S²·S⁻¹·S⁻¹ = I).
func TestLinearExactAtZeroRidge(t *testing.T) {
	d := twoContexts(t)
	lin := NewLinear(10, 0)
	pm := NewPerturbationMean()
	for _, m := range []tasks.PerturbationModel{lin, pm} {
		if err := m.Fit(context.Background(), d, spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"p1", "p2", "p1+p2"} {
		if got, want := lin.shift(p), pm.offset(p); !near(got, want, 1e-9) {
			t.Errorf("%s: shift %v, want %v", p, got, want)
		}
	}
}

// Expected shifts: numpy 1.24 on Y = the offsets of twoContexts (columns
// p1, p1+p2, p2 in sorted order), b = Y.mean(1), U,s,Vt = svd(Y−b, full_matrices=False),
// K=2, G = U[:,:2]*sqrt(s[:2]), P = sqrt(s[:2])[:,None]*Vt[:2],
// W = inv(G.T@G+0.1I) @ G.T@(Y−b)@P.T @ inv(P@P.T+0.1I), shift = b + G@W@P[:,t].
func TestLinearRidgeReference(t *testing.T) {
	d := twoContexts(t)
	lin := NewLinear(2, 0.1)
	if err := lin.Fit(context.Background(), d, spec); err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{
		"p1":    {1.9070294784580497, 0.09297052154195029, 0.06877235496175899, 0},
		"p1+p2": {1.0, 1.0000000000000002, 0.8624552900764819, 0},
		"p2":    {0.09297052154194996, 1.9070294784580497, 0.06877235496175893, 0},
	}
	for p, w := range want {
		if got := lin.shift(p); !near(got, w, 1e-9) {
			t.Errorf("%s: shift %v, want %v", p, got, w)
		}
	}
}

func TestDeterministicAndOrderFree(t *testing.T) {
	d := twoContexts(t)
	ctrlB := controlsOf(d, "B")
	r1 := tasks.PredictRequest{Context: "B", Perturbation: "p1", Controls: ctrlB, NCells: 7}
	r2 := tasks.PredictRequest{Context: "B", Perturbation: "p2", Controls: ctrlB, NCells: 5}
	for _, m := range []tasks.PerturbationModel{NewControl(), NewPerturbationMean(), NewContextMean(), NewLinear(DefaultLinearPCADim, DefaultLinearRidge)} {
		name := m.Name()
		if err := m.Fit(context.Background(), d, spec); err != nil {
			t.Fatal(err)
		}
		a, err := m.Predict(context.Background(), []tasks.PredictRequest{r1, r2})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Predict(context.Background(), []tasks.PredictRequest{r2, r1})
		if err != nil {
			t.Fatal(err)
		}
		if !equalCSR(a[0], b[1]) || !equalCSR(a[1], b[0]) {
			t.Errorf("%s: prediction depends on request order", name)
		}
	}
}

func equalCSR(a, b *data.CSR) bool {
	if a.Rows != b.Rows || a.Cols != b.Cols || len(a.Data) != len(b.Data) {
		return false
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] || a.Indices[i] != b.Indices[i] {
			return false
		}
	}
	for i := range a.Indptr {
		if a.Indptr[i] != b.Indptr[i] {
			return false
		}
	}
	return true
}
