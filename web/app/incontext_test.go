package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/model/stack"
	"github.com/cellbench/cellbench/tasks"
)

// trainTinyStack trains the tiny STACK as cellbench train --model stack
// --config tiny, then --stage incontext --init (on the fixture without
// A172 × SGK1), and returns the two checkpoint directories (seconds).
func trainTinyStack(t *testing.T) (pre, ic string) {
	t.Helper()
	path, _ := fixture(t)
	counts, err := h5ad.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := stack.Params.Resolve("tiny", "ic_steps=10")
	if err != nil {
		t.Fatal(err)
	}
	backend, err := nn.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	pre, ic = t.TempDir(), t.TempDir()
	m, err := stack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Runtime = nn.Runtime{Backend: backend, CheckpointDir: pre}
	if err := m.FitEmbed(context.Background(), []*data.Dataset{counts}, tasks.EmbedSpec{SampleCols: []string{"cell_type"}}); err != nil {
		t.Fatal(err)
	}
	d := log1pOf(t, counts)
	spec := tasks.PertSpec{PertCol: "perturbation", ContextCol: "cell_type", Control: "control"}
	perts, ctxs, _ := spec.Labels(d)
	var train []int
	for i := range perts {
		if !(ctxs[i] == "A172" && perts[i] == "SGK1") {
			train = append(train, i)
		}
	}
	post, err := stack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	post.Runtime = nn.Runtime{Backend: backend, CheckpointDir: ic, InitFrom: pre}
	if err := post.Fit(context.Background(), d.SubsetCells(train), spec); err != nil {
		t.Fatal(err)
	}
	return pre, ic
}

func log1pOf(t *testing.T, d *data.Dataset) *data.Dataset {
	t.Helper()
	x, err := data.ToLog1p(d, "auto", data.DefaultTargetSum)
	if err != nil {
		t.Fatal(err)
	}
	return &data.Dataset{Path: d.Path, X: x, Obs: d.Obs, Var: d.Var, Scale: data.Log1p}
}

// dirFiles returns a checkpoint directory's files as the page gets them
// from a folder picker (the folder name first).
func dirFiles(t testing.TB, dir, folder string) []File {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []File
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: folder + "/" + e.Name(), Bytes: b})
	}
	return files
}

// The fixture's cells per (context, perturbation). Reference: SOURCES.md
// (k562 + A172 × control, SGK1, MAPK1, MAP2K3, MAP4K3 × 30 cells each).
func TestCountCells(t *testing.T) {
	_, f := fixture(t)
	tab, err := CountCells(f, "perturbation", "cell_type")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tab.Contexts, ",") != "A172,k562" || strings.Join(tab.Perturbations, ",") != "MAP2K3,MAP4K3,MAPK1,SGK1,control" {
		t.Fatalf("contexts %v, perturbations %v", tab.Contexts, tab.Perturbations)
	}
	for i, row := range tab.Counts {
		for j, n := range row {
			if n != 30 {
				t.Errorf("%s × %s: %d cells, want 30", tab.Contexts[i], tab.Perturbations[j], n)
			}
		}
	}
	one, err := CountCells(f, "perturbation", "")
	if err != nil || len(one.Contexts) != 1 || one.Counts[0][4] != 60 {
		t.Fatalf("one context: %+v, %v", one, err)
	}
	if _, err := CountCells(f, "nope", ""); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("missing column: %v", err)
	}
}

// InspectCheckpoint tells an in-context STACK checkpoint from a
// pre-trained one and from an ST checkpoint.
func TestInspectCheckpoint(t *testing.T) {
	pre, ic := trainTinyStack(t)
	st := trainTiny(t)
	for _, c := range []struct {
		dir, model, stage string
		perturbation, ic  bool
	}{
		{ic, "stack", stack.StageInContext, false, true},
		{pre, "stack", stack.StagePretrain, false, false},
		{st, "state", "", true, false},
	} {
		info, err := InspectCheckpoint(dirFiles(t, c.dir, "ck"))
		if err != nil {
			t.Fatal(err)
		}
		if info.Model != c.model || info.Stage != c.stage || info.Perturbation != c.perturbation || info.InContext != c.ic || info.Genes != 200 || info.Config == "" {
			t.Errorf("%s: %+v", c.dir, info)
		}
	}
	if _, err := InspectCheckpoint([]File{{Name: "x/readme.txt", Bytes: []byte("hi")}}); err == nil || !strings.Contains(err.Error(), "no marker file") {
		t.Fatalf("no marker: %v", err)
	}
}

// PredictInContext's prompted cells are the command's: cellbench predict
// --prompt P --query Q --seed 3 reads P (k562 SGK1) and Q (A172 controls)
// from files cut from the fixture, brings them to log1p and runs
// stack.Prompting + PredictPrompted; the page cuts them from the whole
// dataset after log1p. Same code, same float order: the CSVs are equal
// byte for byte. The prompt-removed variant differs, and both are scored
// against A172's real SGK1 cells with an LFC scatter.
func TestPredictInContextEqualsCommandPath(t *testing.T) {
	path, f := fixture(t)
	_, ic := trainTinyStack(t)
	opts := InContextOptions{PertCol: "perturbation", ContextCol: "cell_type", Control: "control",
		Perturbation: "SGK1", PromptContext: "k562", QueryContext: "A172", Seed: 3, Profile: "full"}
	var s Session
	fsys, name, err := CheckpointFS(dirFiles(t, ic, "ic"), stack.MetaFile)
	if err != nil {
		t.Fatal(err)
	}
	var rounds []int
	progress := func(stage string, done, total int) {
		if strings.HasPrefix(stage, "generating") {
			rounds = append(rounds, done, total)
		}
	}
	res, err := s.PredictInContext(context.Background(), fsys, name, f, opts, progress)
	if err != nil {
		t.Fatal(err)
	}
	// Progress: one report per generation round of each variant (tiny:
	// gen_steps 2), counting 0..3 of 4.
	if fmt.Sprint(rounds) != "[0 4 1 4 2 4 3 4]" {
		t.Fatalf("generation progress (done, total): %v", rounds)
	}
	if res.PromptCells != 30 || res.QueryCells != 30 || res.RealCells != 30 || res.Shared != 200 || res.PromptUnknown != 0 ||
		res.QueryUnknown != 0 || res.CheckpointGenes != 200 || res.Rounds != 2 || len(res.Variants) != 2 {
		t.Fatalf("result %+v", res)
	}

	// The command's path on cut files.
	full, err := h5ad.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	perts, _ := full.ObsLabels("perturbation")
	ctxs, _ := full.ObsLabels("cell_type")
	var pr, qr []int
	for i := range perts {
		switch {
		case ctxs[i] == "k562" && perts[i] == "SGK1":
			pr = append(pr, i)
		case ctxs[i] == "A172" && perts[i] == "control":
			qr = append(qr, i)
		}
	}
	cut := func(rows []int) *data.Dataset {
		p := filepath.Join(t.TempDir(), "cut.h5ad")
		if err := h5ad.Write(p, full.SubsetCells(rows)); err != nil {
			t.Fatal(err)
		}
		d, err := h5ad.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		return log1pOf(t, d)
	}
	prompt, query := cut(pr), cut(qr)
	m, err := stack.Load(ic)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := m.Prompting(prompt, query)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := m.PredictPrompted(context.Background(), pg, query, "perturbation", "SGK1", "control", 3)
	if err != nil {
		t.Fatal(err)
	}
	want, err := PredictedCellsCSV(pred, query.NCells())
	if err != nil {
		t.Fatal(err)
	}
	if res.Variants[0].CSV != want {
		t.Fatalf("page's prompted cells differ from the command's:\n%.300s\nwant\n%.300s", res.Variants[0].CSV, want)
	}
	if lines := strings.Count(want, "\n"); lines != 31 || !strings.HasPrefix(want, "cell_id,query_cell,gen_logit,") {
		t.Fatalf("CSV: %d lines, head %.60s", lines, want)
	}
	if res.Variants[1].CSV == want || res.Variants[1].PromptCells != 0 {
		t.Fatal("the prompt-removed variant equals the prompted one")
	}
	for _, v := range res.Variants {
		if v.Score == nil || !v.Score.HasDE || len(v.Score.Rows) != 1 || v.Score.Rows[0].Perturbation != "SGK1" {
			t.Fatalf("%s: score %+v", v.Name, v.Score)
		}
		if len(v.Score.Aggregates) == 0 || v.Score.Aggregates[0].Metric == "" {
			t.Fatalf("%s: aggregates %+v", v.Name, v.Score.Aggregates)
		}
		fig, err := s.Figure(FigureRequest{Of: v.Of, Kind: "lfc"})
		if err != nil || !strings.HasPrefix(fig.Name, "lfc_") || len(fig.PNG) == 0 {
			t.Fatalf("%s: figure %v", v.Name, err)
		}
	}

	// No real cells of p in B (the fixture without A172 × SGK1): predicted
	// as before, not scored.
	var keep []int
	for i := range perts {
		if !(ctxs[i] == "A172" && perts[i] == "SGK1") {
			keep = append(keep, i)
		}
	}
	p := filepath.Join(t.TempDir(), "heldout.h5ad")
	if err := h5ad.Write(p, full.SubsetCells(keep)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := s.PredictInContext(context.Background(), fsys, name, File{Name: "heldout.h5ad", Bytes: b}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.RealCells != 0 || res2.Variants[0].Score != nil || res2.Variants[0].Of != "" || res2.Variants[0].CSV != want {
		t.Fatalf("without real cells: real %d, score %v, same cells %v", res2.RealCells, res2.Variants[0].Score, res2.Variants[0].CSV == want)
	}
}

// Bad choices are one-line errors naming the problem.
func TestPredictInContextBadInput(t *testing.T) {
	_, f := fixture(t)
	pre, ic := trainTinyStack(t)
	ok := InContextOptions{PertCol: "perturbation", ContextCol: "cell_type", Control: "control",
		Perturbation: "SGK1", PromptContext: "k562", QueryContext: "A172"}
	mod := func(fn func(*InContextOptions)) InContextOptions { o := ok; fn(&o); return o }
	for _, c := range []struct {
		dir  string
		o    InContextOptions
		want string
	}{
		{pre, ok, "pretrain STACK checkpoint"},
		{ic, mod(func(o *InContextOptions) { o.PertCol = "" }), "no perturbation column"},
		{ic, mod(func(o *InContextOptions) { o.Perturbation = "control" }), "is the control label"},
		{ic, mod(func(o *InContextOptions) { o.Perturbation = "NOPE" }), `no cells of "NOPE" in cell_type "k562"`},
		{ic, mod(func(o *InContextOptions) { o.QueryContext = "hela" }), `no control cells ("control") in cell_type "hela"`},
		{ic, mod(func(o *InContextOptions) { o.Control = "ctrl" }), `control label "ctrl" not found`},
		{ic, mod(func(o *InContextOptions) { o.ContextCol = "nope" }), `"nope"`},
		{ic, mod(func(o *InContextOptions) { o.Steps = -1 }), "must be ≥ 0"},
	} {
		var s Session
		fsys, name, err := CheckpointFS(dirFiles(t, c.dir, "ck"), stack.MetaFile)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.PredictInContext(context.Background(), fsys, name, f, c.o, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
	var s Session
	fsys, name, _ := CheckpointFS(dirFiles(t, ic, "ck"), stack.MetaFile)
	if _, err := s.PredictInContext(context.Background(), fsys, name, File{Name: "x.h5ad", Bytes: []byte("no")}, ok, nil); err == nil || !strings.Contains(err.Error(), "x.h5ad") {
		t.Errorf("not an h5ad: %v", err)
	}
}
