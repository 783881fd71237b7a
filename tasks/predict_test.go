package tasks

import (
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// A 6-cell, 2-gene dataset made by code: contexts a and b, control + P.
func predictToy() (*data.Dataset, PertSpec) {
	d := &data.Dataset{X: data.NewCSRFromDense(6, 2, []float32{1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 2, 2}),
		Obs: data.Frame{Index: []string{"c0", "c1", "c2", "c3", "c4", "c5"}},
		Var: data.Frame{Index: []string{"g0", "g1"}}, Scale: data.Log1p}
	d.Obs.Set(data.NewCategorical("pert", []string{"ctrl", "P", "ctrl", "P", "Q", "ctrl"}))
	d.Obs.Set(data.NewCategorical("ctx", []string{"a", "a", "a", "b", "b", "b"}))
	return d, PertSpec{PertCol: "pert", ContextCol: "ctx", Control: "ctrl"}
}

func TestPredictRequests(t *testing.T) {
	d, spec := predictToy()
	all := &Split{Task: "none", Train: []int{0, 1, 2, 3, 4, 5}}
	reqs, err := PredictRequests(d, spec, all, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Groups in order of first appearance; controls of the group's context;
	// no test cells → DefaultPredictCells.
	want := []struct {
		ctx, pert string
		controls  int
	}{{"a", "P", 2}, {"b", "P", 1}, {"b", "Q", 1}}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for k, w := range want {
		r := reqs[k]
		if r.Context != w.ctx || r.Perturbation != w.pert || r.Controls.Rows != w.controls || r.NCells != DefaultPredictCells {
			t.Errorf("request %d = (%s, %s, %d controls, %d cells), want (%s, %s, %d, %d)", k, r.Context, r.Perturbation,
				r.Controls.Rows, r.NCells, w.ctx, w.pert, w.controls, DefaultPredictCells)
		}
	}
	// A split's test groups and counts decide; a context without training
	// controls is an error.
	split := &Split{Train: []int{0, 2, 5}, Test: []int{1, 3}, TestGroups: []Group{{"a", "P"}, {"b", "P"}}}
	if reqs, err = PredictRequests(d, spec, split, 0); err != nil || len(reqs) != 2 || reqs[0].NCells != 1 {
		t.Fatalf("split requests %v, %v", reqs, err)
	}
	// Without test groups every group of d is asked for: context b has no
	// training control here.
	if _, err := PredictRequests(d, spec, &Split{Train: []int{0, 1}}, 5); err == nil || !strings.Contains(err.Error(), `context "b" has no training`) {
		t.Fatalf("no controls: %v", err)
	}
}

func TestPredictionDataset(t *testing.T) {
	d, spec := predictToy()
	reqs := []PredictRequest{{Context: "a", Perturbation: "P", NCells: 2}, {Context: "b", Perturbation: "Q", NCells: 1}}
	good := []*data.CSR{data.NewCSRFromDense(2, 2, []float32{1, 2, 3, 4}), data.NewCSRFromDense(1, 2, []float32{5, 0})}
	p, err := PredictionDataset(d, spec, reqs, good)
	if err != nil {
		t.Fatal(err)
	}
	perts, _ := p.ObsLabels("pert")
	ctxs, _ := p.ObsLabels("ctx")
	if strings.Join(perts, ",") != "P,P,Q" || strings.Join(ctxs, ",") != "a,a,b" || p.Obs.Index[2] != "pred-2" || p.Scale != data.Log1p {
		t.Fatalf("prediction dataset: %v %v %v", perts, ctxs, p.Obs.Index)
	}
	for name, preds := range map[string][]*data.CSR{
		"count":    good[:1],
		"rows":     {good[1], good[0]},
		"negative": {data.NewCSRFromDense(2, 2, []float32{1, -2, 3, 4}), good[1]},
		"nil":      {nil, good[1]},
	} {
		if _, err := PredictionDataset(d, spec, reqs, preds); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
