package reports

import (
	"context"
	"math"
	"testing"

	"github.com/cellbench/cellbench/baselines"
	"github.com/cellbench/cellbench/bench"
	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/tasks"
)

// TestPerturbationFiguresRealData runs perturbation-mean on the real
// fixture (k562 held out, pert-fewshot, seed 0), scores it with
// pert.Evaluate, and checks that the discrimination heat map's per-row
// scores equal the report's discrimination_score_l1 (an independent path:
// pseudobulk deltas here vs the metric code there), then draws the figures.
func TestPerturbationFiguresRealData(t *testing.T) {
	if _, err := data.NewRegistry("").Path("fixture-perturbation"); err != nil {
		t.Skipf("real data not available: %v", err)
	}
	prep, err := bench.LoadDataset(bench.DatasetSpec{Name: "fixture", File: "fixture-perturbation", PertCol: "perturbation",
		ContextCol: "cell_type", Control: "control"}, "")
	if err != nil {
		t.Fatal(err)
	}
	perts, _ := prep.Data.ObsLabels("perturbation")
	ctxs, _ := prep.Data.ObsLabels("cell_type")
	split, err := tasks.BuildSplit(perts, ctxs, "control", tasks.TaskConfig{Name: "pert-zeroshot", Holdout: "k562"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	model := baselines.NewPerturbationMean()
	spec := prep.Pert
	out, err := tasks.RunPert(context.Background(), model, prep.Data, spec, split, tasks.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	real := pert.Input{X: out.Real.X}
	pred := pert.Input{X: out.Pred.X}
	real.Perts, _ = out.Real.ObsLabels("perturbation")
	pred.Perts, _ = out.Pred.ObsLabels("perturbation")
	real.Contexts, _ = out.Real.ObsLabels("cell_type")
	pred.Contexts, _ = out.Pred.ObsLabels("cell_type")
	opts := pert.DefaultOptions()
	opts.Genes = out.Real.Genes()
	opts.Control = "control"
	opts.Profile = "full"
	rep, err := pert.Evaluate(real, pred, opts)
	if err != nil {
		t.Fatal(err)
	}
	info := CaptionInfo{Dataset: "fixture-perturbation", Split: "pert-zeroshot holdout=k562", Model: "perturbation-mean", Seeds: []uint64{0}}
	discs, err := DiscriminationFromInputs(real, pred, opts.Genes, "control", opts.ControlRef, "l1", info)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range discs {
		_, score, err := DiscriminationMatrix(d)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range d.Perturbations {
			want, ok := rep.Value(d.Context, p, "discrimination_score_l1")
			if !ok {
				t.Fatalf("report lacks discrimination_score_l1 for %s/%s", d.Context, p)
			}
			if math.Abs(score[i]-want) > 1e-12 {
				t.Errorf("%s/%s: heat-map score %v, metrics/pert %v", d.Context, p, score[i], want)
			}
		}
		f, err := NewDiscriminationFigure(d)
		if err != nil {
			t.Fatal(err)
		}
		checkFigure(t, f)
	}
	lfc, err := LFCScatterFromReport(rep, "k562", "SGK1", info)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewLFCScatterFigure(lfc)
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f)
}

// TestDiscriminationCosineZeroDelta: a perturbation whose real cells equal
// the controls has a zero real delta. Under cosine distance a zero vector
// has similarity 0 with anything (sklearn cosine_distances), so d = 1 to
// it from every predicted delta. The heat map used to call that distance
// NaN (score 1.0 for A) while the metric said 1 (score 0.5): both now come
// from pert.DiscriminationMatrix and must agree, with the hand-computed
// values below.
func TestDiscriminationCosineZeroDelta(t *testing.T) {
	// Genes g0..g2; control at 1,1,1. Real: A = control (δ_R(A) = 0),
	// B = +1 on g0, C = +1 on g1. Pred: A = (+1, 0, +0.5), B = +1 on g0,
	// C = +1 on g1.
	rows := [][]float32{
		{1, 1, 1}, {1, 1, 1}, // control
		{1, 1, 1}, {1, 1, 1}, // A
		{2, 1, 1}, {2, 1, 1}, // B
		{1, 2, 1}, {1, 2, 1}, // C
	}
	predRows := [][]float32{
		{1, 1, 1}, {1, 1, 1},
		{2, 1, 1.5}, {2, 1, 1.5},
		{2, 1, 1}, {2, 1, 1},
		{1, 2, 1}, {1, 2, 1},
	}
	labels := []string{"control", "control", "A", "A", "B", "B", "C", "C"}
	dense := func(r [][]float32) *data.CSR {
		var v []float32
		for _, x := range r {
			v = append(v, x...)
		}
		return data.NewCSRFromDense(len(r), 3, v)
	}
	real := pert.Input{X: dense(rows), Perts: labels}
	pred := pert.Input{X: dense(predRows), Perts: labels}
	genes := []string{"g0", "g1", "g2"}
	opts := pert.DefaultOptions()
	opts.Genes, opts.Control = genes, "control"
	opts.Metrics = []string{"discrimination_score_cosine"}
	opts.Profile = ""
	rep, err := pert.Evaluate(real, pred, opts)
	if err != nil {
		t.Fatal(err)
	}
	discs, err := DiscriminationFromInputs(real, pred, genes, "control", pert.ControlPred, "cosine", CaptionInfo{})
	if err != nil {
		t.Fatal(err)
	}
	dist, score, err := DiscriminationMatrix(discs[0])
	if err != nil {
		t.Fatal(err)
	}
	// Row A: d(δP(A), δR(A)) = 1 (zero real delta); d to B = 1 − 1/√1.25
	// ≈ 0.106 < 1, d to C = 1: r = 1, score 1 − 1/3 (the old heat map gave
	// 1, comparing against NaN). Rows B, C: self 0 → score 1. Hand-computed.
	want := map[string]float64{"A": 1 - 1.0/3, "B": 1, "C": 1}
	for i, p := range discs[0].Perturbations {
		m, _ := rep.Value("", p, "discrimination_score_cosine")
		if score[i] != m || math.Abs(score[i]-want[p]) > 1e-15 {
			t.Errorf("%s: heat map %v, metric %v, want %v", p, score[i], m, want[p])
		}
		if math.IsNaN(dist[i][0]) {
			t.Errorf("%s: NaN distance to the zero real delta", p)
		}
	}
	if dist[0][0] != 1 {
		t.Errorf("d(δP(A), 0) = %v, want 1", dist[0][0])
	}
}
