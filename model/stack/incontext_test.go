package stack

import (
	"context"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

var fixtureSpec = tasks.PertSpec{PertCol: "perturbation", ContextCol: "cell_type", Control: "control", Seed: 3}

// log1pFixture is the perturbation fixture on the log1p CP10k scale the
// perturbation tasks hand models.
func log1pFixture(t testing.TB) *data.Dataset {
	d := countsFixture(t, fixturePert)
	x, err := data.ToLog1p(d, "auto", data.DefaultTargetSum)
	if err != nil {
		t.Fatal(err)
	}
	d.X, d.Scale = x, data.Log1p
	return d
}

// rowsOf returns the rows of d with the given context and perturbation.
func rowsOf(t testing.TB, d *data.Dataset, ctx, pert string) []int {
	perts, ctxs, err := fixtureSpec.Labels(d)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for i := range perts {
		if perts[i] == pert && ctxs[i] == ctx {
			out = append(out, i)
		}
	}
	return out
}

// In-context post-training of a pre-trained tiny STACK on the fixture with
// A172 × SGK1 held out, then generation for that group from a k562 SGK1
// prompt: one log1p cell per query cell over the fixture's genes, finite,
// deterministic for a seed; the prompt changes the prediction; Predict
// (no prompt) runs; the post-training loss curve is reproducible and logs
// every term; TrainedOn names the pool and the post-training file.
func TestInContextTiny(t *testing.T) {
	cfg := tinyConfig(t, "")
	pre := pretrainTiny(t, cfg, t.TempDir(), 1)
	d := log1pFixture(t)
	test := rowsOf(t, d, "A172", "SGK1")
	var trainRows []int
	for i := range d.NCells() {
		if !slices.Contains(test, i) {
			trainRows = append(trainRows, i)
		}
	}
	train := d.SubsetCells(trainRows)
	fit := func() *Model {
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.Runtime = goRuntime(t)
		m.InitFrom = pre.Dir()
		if err := m.Fit(context.Background(), train, fixtureSpec); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := fit()
	// A post-trained model was trained on its post-training cells too.
	if train.Path == "" || !slices.Contains(m.TrainedOn(), train.Path) || !slices.Contains(m.TrainedOn(), pre.TrainedOn()[0]) {
		t.Fatalf("TrainedOn %v lacks the post-training data %q or the pool", m.TrainedOn(), train.Path)
	}
	h := m.History()
	if len(h.Records) != cfg.Int("ic_steps") {
		t.Fatalf("%d post-training records", len(h.Records))
	}
	for _, k := range []string{"recon", "mmd_expr", "mmd_emb", "sw", "cls"} {
		if v, ok := h.Records[0].Terms[k]; !ok || math.IsNaN(v) {
			t.Fatalf("term %s = %v, %v", k, v, ok)
		}
	}
	if !slices.Equal(h.Losses(), fit().History().Losses()) {
		t.Fatal("same seed, different post-training curves")
	}
	req := tasks.InContextRequest{Perturbation: "SGK1", PromptContext: "k562", QueryContext: "A172",
		Prompt: d.X.SubsetRows(rowsOf(t, d, "k562", "SGK1")), Query: d.X.SubsetRows(rowsOf(t, d, "A172", "control"))}
	wrong := req
	wrong.Prompt = d.X.SubsetRows(rowsOf(t, d, "k562", "MAPK1"))
	out, err := m.PredictInContext(context.Background(), []tasks.InContextRequest{req, wrong})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Rows != req.Query.Rows || out[0].Cols != d.NGenes() {
		t.Fatalf("prediction %d×%d, want %d×%d", out[0].Rows, out[0].Cols, req.Query.Rows, d.NGenes())
	}
	for _, v := range out[0].Data {
		if math.IsNaN(float64(v)) || v < 0 || v > 15 {
			t.Fatalf("prediction value %v is not log1p", v)
		}
	}
	again, err := m.PredictInContext(context.Background(), []tasks.InContextRequest{req})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again[0].Data, out[0].Data) {
		t.Fatal("PredictInContext is not deterministic")
	}
	if slices.Equal(out[0].Data, out[1].Data) {
		t.Fatal("a different prompt gave the same prediction")
	}
	pp, err := m.Predict(context.Background(), []tasks.PredictRequest{{Context: "A172", Perturbation: "SGK1", Controls: req.Query, NCells: 7}})
	if err != nil {
		t.Fatal(err)
	}
	if pp[0].Rows != 7 {
		t.Fatalf("Predict gave %d cells, want 7", pp[0].Rows)
	}
}

// Without any pre-trained weights, Fit pre-trains on the training cells
// themselves (CP10k pseudo-counts) before post-training, says so in its
// notes, and leaves no temporary directory behind; the model predicts.
func TestInContextFallbackPretrain(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	m, err := New(tinyConfig(t, "steps=5;ic_steps=5"))
	if err != nil {
		t.Fatal(err)
	}
	m.Runtime = goRuntime(t)
	d := log1pFixture(t)
	if err := m.Fit(context.Background(), d, fixtureSpec); err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(m.Notes(), "\n")
	if !strings.Contains(notes, "no pre-trained checkpoint was given") {
		t.Fatalf("notes: %q", notes)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("temporary directories left: %v", left)
	}
	q := d.X.SubsetRows(rowsOf(t, d, "A172", "control"))
	out, err := m.PredictInContext(context.Background(), []tasks.InContextRequest{{Perturbation: "SGK1", QueryContext: "A172", Query: q}})
	if err != nil || out[0].Rows != q.Rows {
		t.Fatalf("predict: %v", err)
	}
}
