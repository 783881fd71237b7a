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
	model, err := baselines.New("perturbation-mean", nil)
	if err != nil {
		t.Fatal(err)
	}
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
