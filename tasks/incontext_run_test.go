package tasks_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/baselines"
	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/tasks"
)

// echo is an InContextModel that returns its query unchanged (or, with
// rows set, a matrix of that many rows) and records every request.
type echo struct {
	spy
	reqs [][]tasks.InContextRequest
	rows int
}

func (e *echo) PredictInContext(ctx context.Context, reqs []tasks.InContextRequest) ([]*data.CSR, error) {
	e.reqs = append(e.reqs, reqs)
	out := make([]*data.CSR, len(reqs))
	for k, r := range reqs {
		out[k] = r.Query
		if e.rows > 0 {
			out[k] = r.Query.SubsetRows(make([]int, e.rows))
		}
	}
	return out, nil
}

func inContextSetup(t *testing.T) (*data.Dataset, tasks.PertSpec, *tasks.InContextSplit) {
	t.Helper()
	d := synthDataset() // contexts A, B × control, p1, p2, p3, p1+p2; gene 0 = context+1, gene 1 = perturbation index
	spec := tasks.PertSpec{PertCol: "pert", ContextCol: "ctx", Control: "control", Seed: 3}
	perts, ctxs, err := spec.Labels(d)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := tasks.BuildInContextSplit(perts, ctxs, "control", tasks.TaskConfig{Name: tasks.InContext, Holdout: "B", PromptCells: 4}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return d, spec, sp
}

func TestRunInContextVariants(t *testing.T) {
	d, spec, sp := inContextSetup(t)
	m := &echo{spy: spy{inner: baselines.NewControl()}}
	outs, err := tasks.RunInContext(context.Background(), m, d, spec, sp, tasks.EvalOptions{MaxCells: 4, MaxControls: 5})
	if err != nil {
		t.Fatal(err)
	}
	var prompts []string
	for _, o := range outs {
		prompts = append(prompts, o.Prompt)
	}
	if !slices.Equal(prompts, []string{tasks.PromptMatched, tasks.PromptNone, tasks.PromptWrong}) {
		t.Fatalf("variants %v", prompts)
	}
	test := map[string]bool{}
	for _, i := range sp.Test {
		test[d.Obs.Index[i]] = true
	}
	for _, n := range m.fitted {
		if test[n] || strings.HasPrefix(n, "B-p") {
			t.Fatalf("model was fitted on %s, a perturbed cell of the query context", n)
		}
	}
	pertIndex := map[string]float32{"control": 0, "p1": 1, "p2": 2, "p3": 3, "p1+p2": 4}
	row := make([]float32, 3)
	for v, reqs := range m.reqs {
		for k, r := range reqs {
			p := sp.Perturbations[k]
			if r.Perturbation != p || r.QueryContext != "B" || r.PromptContext != "A" || r.Query.Rows != 5 {
				t.Fatalf("%s request %d: %+v", prompts[v], k, r)
			}
			want := map[int]string{0: p, 2: sp.Prompts[k].Wrong}
			if v == 1 {
				if r.Prompt != nil {
					t.Fatalf("prompt none: request %d has %d prompt cells", k, r.Prompt.Rows)
				}
				continue
			}
			if r.Prompt.Rows != 4 {
				t.Fatalf("%s %s: %d prompt cells, want 4 (prompt_cells)", prompts[v], p, r.Prompt.Rows)
			}
			for i := range r.Prompt.Rows {
				r.Prompt.DenseRow(row, i)
				if row[0] != 1 || row[1] != pertIndex[want[v]] { // context A, the prompt's perturbation
					t.Fatalf("%s %s: prompt cell %v is not a cell of (A, %s)", prompts[v], p, row, want[v])
				}
			}
			if v == 2 && want[v] == p {
				t.Fatalf("wrong prompt of %s is %s itself", p, want[v])
			}
		}
	}
	// The query is the control reference: an unchanged query has delta 0
	// on every gene, and both sides end with the same query cells.
	real := outs[0].Out.Real
	for _, o := range outs {
		if o.Out.Real != real {
			t.Fatalf("variants do not share the real set")
		}
		pred := o.Out.Pred
		nq := 5
		if !slices.Equal(real.Obs.Index[real.NCells()-nq:], pred.Obs.Index[pred.NCells()-nq:]) {
			t.Fatalf("real and predicted sets end with different controls")
		}
		rp, _ := real.ObsLabels("pert")
		pp, _ := pred.ObsLabels("pert")
		rc, _ := real.ObsLabels("ctx")
		pc, _ := pred.ObsLabels("ctx")
		opts := pert.DefaultOptions()
		opts.Control, opts.ControlRef = "control", pert.ControlPred
		cds, err := pert.Deltas(pert.Input{X: real.X, Perts: rp, Contexts: rc}, pert.Input{X: pred.X, Perts: pp, Contexts: pc}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(cds) != 1 || len(cds[0].Perturbations) != len(sp.Perturbations) {
			t.Fatalf("deltas %+v", cds)
		}
		for i, dp := range cds[0].Pred {
			if cds[0].NPred[i] != nq || cds[0].NReal[i] != 4 {
				t.Fatalf("%s: %d predicted (want one per query cell, %d) and %d real cells (want max_cells 4)", cds[0].Perturbations[i], cds[0].NPred[i], nq, cds[0].NReal[i])
			}
			for j, x := range dp {
				if x != 0 {
					t.Fatalf("%s: unchanged query has pred delta %v on gene %d", cds[0].Perturbations[i], x, j)
				}
			}
		}
	}
}

func TestRunInContextPlainModel(t *testing.T) {
	d, spec, sp := inContextSetup(t)
	outs, err := tasks.RunInContext(context.Background(), baselines.NewPerturbationMean(), d, spec, sp, tasks.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Prompt != "" {
		t.Fatalf("a plain PerturbationModel gave %d outputs, prompt %q; want one without a prompt", len(outs), outs[0].Prompt)
	}
	// 4 tested perturbations (p1, p2, p3, p1+p2) × 6 query cells, then the 6 query cells.
	if got := outs[0].Out.Pred.NCells(); got != 4*6+6 {
		t.Fatalf("%d predicted-set cells, want 30", got)
	}
}

func TestRunInContextBadPrediction(t *testing.T) {
	d, spec, sp := inContextSetup(t)
	m := &echo{spy: spy{inner: baselines.NewControl()}, rows: 2}
	_, err := tasks.RunInContext(context.Background(), m, d, spec, sp, tasks.EvalOptions{})
	if err == nil || !strings.Contains(err.Error(), "prompt matched") || !strings.Contains(err.Error(), "shape 2×3, want 6×3") {
		t.Fatalf("error %v, want a shape error naming the variant", err)
	}
}

// batchEcho is an InContextBatchModel answering every variant with echo;
// its per-variant PredictInContext must not be called.
type batchEcho struct {
	echo
	calls    int
	variants []string
}

func (b *batchEcho) PredictInContext(context.Context, []tasks.InContextRequest) ([]*data.CSR, error) {
	return nil, errors.New("PredictInContext called on a batch model")
}

func (b *batchEcho) PredictInContextVariants(ctx context.Context, variants []string, reqs [][]tasks.InContextRequest) ([][]*data.CSR, error) {
	b.calls++
	b.variants = variants
	out := make([][]*data.CSR, len(reqs))
	for v, rs := range reqs {
		var err error
		if out[v], err = b.echo.PredictInContext(ctx, rs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TestRunInContextBatchModel: an InContextBatchModel is asked once for the
// three variants, with the very requests an InContextModel gets one
// variant at a time, and gives the same evaluation sets.
func TestRunInContextBatchModel(t *testing.T) {
	d, spec, sp := inContextSetup(t)
	opts := tasks.EvalOptions{MaxCells: 4, MaxControls: 5}
	one := &echo{spy: spy{inner: baselines.NewControl()}}
	want, err := tasks.RunInContext(context.Background(), one, d, spec, sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	b := &batchEcho{echo: echo{spy: spy{inner: baselines.NewControl()}}}
	got, err := tasks.RunInContext(context.Background(), b, d, spec, sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	if b.calls != 1 || !slices.Equal(b.variants, []string{tasks.PromptMatched, tasks.PromptNone, tasks.PromptWrong}) {
		t.Fatalf("%d batch calls with variants %v, want one with matched, none, wrong", b.calls, b.variants)
	}
	if !reflect.DeepEqual(b.reqs, one.reqs) {
		t.Fatal("the batch model's requests differ from the per-variant requests")
	}
	for v := range want {
		if got[v].Prompt != want[v].Prompt || !reflect.DeepEqual(got[v].Out.Pred, want[v].Out.Pred) || !reflect.DeepEqual(got[v].Out.Real, want[v].Out.Real) {
			t.Fatalf("variant %s: evaluation sets differ", want[v].Prompt)
		}
	}
}
