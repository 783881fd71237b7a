package tasks_test

import (
	"context"
	"testing"

	"github.com/cellbench/cellbench/baselines"
	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// spy records the cells it was fitted on and predicts resampled controls.
type spy struct {
	fitted []string
	inner  tasks.PerturbationModel
}

func (s *spy) Name() string { return "spy" }
func (s *spy) Fit(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	s.fitted = append([]string(nil), train.Obs.Index...)
	return s.inner.Fit(ctx, train, spec)
}
func (s *spy) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	return s.inner.Predict(ctx, reqs)
}

// synthDataset: contexts A, B × (control, p1, p2, p3, p1+p2), 6 cells per
// group, 3 genes; values encode the group so leaks would be visible.
func synthDataset() *data.Dataset {
	var dense []float32
	var names, perts, ctxs []string
	for ci, c := range []string{"A", "B"} {
		for pi, p := range []string{"control", "p1", "p2", "p3", "p1+p2"} {
			for k := 0; k < 6; k++ {
				dense = append(dense, float32(ci+1), float32(pi), float32(k%3))
				names = append(names, c+"-"+p+"-"+string(rune('a'+k)))
				perts = append(perts, p)
				ctxs = append(ctxs, c)
			}
		}
	}
	return &data.Dataset{
		X:     data.NewCSRFromDense(len(perts), 3, dense),
		Obs:   data.Frame{Index: names, Columns: []*data.Column{data.NewCategorical("pert", perts), data.NewCategorical("ctx", ctxs)}},
		Var:   data.Frame{Index: []string{"g0", "g1", "g2"}},
		Scale: data.Log1p,
	}
}

func TestRunPertNoLeakAndShapes(t *testing.T) {
	d := synthDataset()
	spec := tasks.PertSpec{PertCol: "pert", ContextCol: "ctx", Control: "control", Seed: 1}
	perts, _ := d.ObsLabels("pert")
	ctxs, _ := d.ObsLabels("ctx")
	for _, cfg := range []tasks.TaskConfig{
		{Name: tasks.PertFewShot, Holdout: "B"},
		{Name: tasks.PertZeroShot, Holdout: "A"},
		{Name: tasks.PertCombo},
	} {
		sp, err := tasks.BuildSplit(perts, ctxs, "control", cfg, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, inner := range []tasks.PerturbationModel{baselines.NewControl(), baselines.NewPerturbationMean(), baselines.NewContextMean(),
			baselines.NewLinear(baselines.DefaultLinearPCADim, baselines.DefaultLinearRidge)} {
			name := inner.Name()
			m := &spy{inner: inner}
			out, err := tasks.RunPert(context.Background(), m, d, spec, sp, tasks.EvalOptions{MaxCells: 4, MaxControls: 5})
			if err != nil {
				t.Fatalf("%s %s: %v", cfg.Name, name, err)
			}
			test := map[string]bool{}
			for _, i := range sp.Test {
				test[d.Obs.Index[i]] = true
			}
			for _, n := range m.fitted {
				if test[n] {
					t.Fatalf("%s %s: model was fitted on test cell %s", cfg.Name, name, n)
				}
			}
			if len(m.fitted) != len(sp.Train) {
				t.Fatalf("%s %s: fitted on %d cells, split has %d training cells", cfg.Name, name, len(m.fitted), len(sp.Train))
			}
			// 4 cells per test group + 5 controls per test context, in both sets.
			nCtx := map[string]bool{}
			for _, g := range sp.TestGroups {
				nCtx[g.Context] = true
			}
			want := 4*len(sp.TestGroups) + 5*len(nCtx)
			if out.Real.NCells() != want || out.Pred.NCells() != want {
				t.Fatalf("%s %s: real %d pred %d cells, want %d", cfg.Name, name, out.Real.NCells(), out.Pred.NCells(), want)
			}
			if err := out.Real.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := out.Pred.Validate(); err != nil {
				t.Fatal(err)
			}
			rl, _ := out.Real.ObsLabels("pert")
			pl, _ := out.Pred.ObsLabels("pert")
			for i := range rl {
				if rl[i] != pl[i] {
					t.Fatalf("row %d: real label %q, pred label %q", i, rl[i], pl[i])
				}
			}
			// Real test cells really are the held-out group's cells: the
			// second gene encodes the perturbation index.
			for i, p := range rl {
				if p == "control" {
					if out.Real.X.At(i, 1) != 0 {
						t.Fatalf("control row %d has gene1 = %v", i, out.Real.X.At(i, 1))
					}
				}
			}
		}
	}
}

type badModel struct{ rows int }

func (b badModel) Name() string                                             { return "bad" }
func (b badModel) Fit(context.Context, *data.Dataset, tasks.PertSpec) error { return nil }
func (b badModel) Predict(_ context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	out := make([]*data.CSR, len(reqs))
	for i := range out {
		out[i] = data.NewCSRFromDense(b.rows, 3, make([]float32, 3*b.rows))
	}
	return out, nil
}

func TestRunPertRejectsMalformedPredictions(t *testing.T) {
	d := synthDataset()
	spec := tasks.PertSpec{PertCol: "pert", ContextCol: "ctx", Control: "control", Seed: 1}
	perts, _ := d.ObsLabels("pert")
	ctxs, _ := d.ObsLabels("ctx")
	sp, _ := tasks.BuildSplit(perts, ctxs, "control", tasks.TaskConfig{Name: tasks.PertZeroShot, Holdout: "A"}, 0)
	if _, err := tasks.RunPert(context.Background(), badModel{rows: 1}, d, spec, sp, tasks.EvalOptions{MaxCells: 4}); err == nil {
		t.Error("wrong row count: want an error")
	}
}
