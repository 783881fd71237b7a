package stack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// countsFixture reads a shared-data fixture as raw counts, or skips when
// the data directory is absent.
func countsFixture(t testing.TB, file string) *data.Dataset {
	t.Helper()
	d, err := h5ad.Read(filepath.Join(data.DefaultDataDir(), file))
	if err != nil {
		t.Skipf("fixture not available: %v", err)
	}
	return d
}

const (
	fixturePert  = "fixture_tiny_perturbation_300cells.h5ad"
	fixtureInteg = "fixture_tiny_integration_300cells.h5ad"
)

func tinyConfig(t testing.TB, set string) hparams.Config {
	t.Helper()
	cfg, err := Params.Resolve("tiny", set)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func goRuntime(t testing.TB) nn.Runtime {
	t.Helper()
	b, err := nn.NewBackendFromConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return nn.Runtime{Backend: b}
}

// pretrainTiny pre-trains the tiny config on the two 300-cell fixtures
// (perturbation fixture: one sample per cell line; integration fixture:
// one per donor) into dir ("" = in memory).
func pretrainTiny(t testing.TB, cfg hparams.Config, dir string, seed uint64) *Model {
	t.Helper()
	pool := []*data.Dataset{countsFixture(t, fixturePert), countsFixture(t, fixtureInteg)}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Runtime = goRuntime(t)
	m.CheckpointDir = dir
	if err := m.FitEmbed(context.Background(), pool, tasks.EmbedSpec{SampleCols: []string{"cell_type", "donor"}, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return m
}

// tiny pre-trains and embeds in seconds: a finite loss curve that logs
// both terms, an embedding with n_tokens·token_dim columns and one finite
// row per cell.
func TestTinyPretrainEmbed(t *testing.T) {
	cfg := tinyConfig(t, "")
	m := pretrainTiny(t, cfg, "", 1)
	h := m.History()
	if len(h.Records) != cfg.Int("steps") {
		t.Fatalf("%d records, want %d", len(h.Records), cfg.Int("steps"))
	}
	for _, r := range h.Records {
		if math.IsNaN(r.Loss) || r.Terms["nb_nll"] <= 0 || r.Terms["sw"] < 0 {
			t.Fatalf("step %d: loss %v terms %v", r.Step, r.Loss, r.Terms)
		}
	}
	d := countsFixture(t, fixtureInteg)
	emb, err := m.Embed(context.Background(), d, tasks.EmbedSpec{SampleCol: "donor"})
	if err != nil {
		t.Fatal(err)
	}
	if emb.Rows != d.NCells() || emb.Cols != cfg.Int("n_tokens")*cfg.Int("token_dim") {
		t.Fatalf("embedding %d×%d", emb.Rows, emb.Cols)
	}
	for _, v := range emb.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatal("non-finite embedding value")
		}
	}
	t.Logf("losses %.3f → %.3f; universe %d genes", h.Records[0].Loss, h.Records[len(h.Records)-1].Loss, len(m.Genes()))
	_ = slices.Max(emb.Data)
}

// cancelAfter is a progress writer that cancels a context once the
// progress bar reports step n.
type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	var step, total int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(p)), "step %d/%d", &step, &total); err == nil && step >= c.n {
		c.cancel()
	}
	return len(p), nil
}

// Same seed → bit-identical loss curve (and terms); another seed → a
// different one; a run interrupted after step 12 and resumed from its
// checkpoint reproduces the uninterrupted curve exactly.
func TestTinyDeterministicAndResume(t *testing.T) {
	cfg := tinyConfig(t, "steps=24;checkpoint_every=6")
	a := pretrainTiny(t, cfg, "", 5).History()
	b := pretrainTiny(t, cfg, "", 5).History()
	if !slices.Equal(a.Losses(), b.Losses()) {
		t.Fatalf("same seed, different curves:\n%v\n%v", a.Losses(), b.Losses())
	}
	for i := range a.Records {
		if a.Records[i].Terms["sw"] != b.Records[i].Terms["sw"] {
			t.Fatalf("step %d: sw term differs", i+1)
		}
	}
	if c := pretrainTiny(t, cfg, "", 6).History(); slices.Equal(a.Losses(), c.Losses()) {
		t.Fatal("different seeds gave the same loss curve")
	}
	dir := t.TempDir()
	pool := []*data.Dataset{countsFixture(t, fixturePert), countsFixture(t, fixtureInteg)}
	spec := tasks.EmbedSpec{SampleCols: []string{"cell_type", "donor"}, Seed: 5}
	m, _ := New(cfg)
	m.Runtime = goRuntime(t)
	m.CheckpointDir = dir
	ctx, cancel := context.WithCancel(context.Background())
	m.Progress = &cancelAfter{n: 12, cancel: cancel}
	if err := m.FitEmbed(ctx, pool, spec); err == nil {
		t.Fatal("interrupted run returned no error")
	}
	if _, err := Load(dir); err == nil {
		t.Fatal("an interrupted checkpoint loads as a finished model")
	}
	m2, _ := New(cfg)
	m2.Runtime = goRuntime(t)
	m2.CheckpointDir = dir
	if err := m2.FitEmbed(context.Background(), pool, spec); err != nil {
		t.Fatal(err)
	}
	h := m2.History()
	if h.ResumedAt != 12 {
		t.Fatalf("resumed at %d, want 12", h.ResumedAt)
	}
	if !slices.Equal(a.Losses(), h.Losses()) {
		t.Fatalf("resumed curve differs:\nfull    %v\nresumed %v", a.Losses(), h.Losses())
	}
	// Resuming with another configuration is refused.
	other, _ := New(tinyConfig(t, "steps=30"))
	other.Runtime = goRuntime(t)
	other.CheckpointDir = t.TempDir()
	_ = os.WriteFile(filepath.Join(other.CheckpointDir, startFile), []byte("{}"), 0o644)
	// A saved step (nn.CheckStart replaces a start file with none beside it).
	_ = os.WriteFile(filepath.Join(other.CheckpointDir, "history.json"), []byte("{}"), 0o644)
	if err := other.FitEmbed(context.Background(), pool, spec); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Fatalf("resume with another configuration: %v", err)
	}
}

// A checkpoint round trip: the model loaded from its directory embeds
// bit-identically to the model that trained it, and keeps its genes and
// configuration.
func TestCheckpointRoundTrip(t *testing.T) {
	cfg := tinyConfig(t, "")
	dir := t.TempDir()
	m := pretrainTiny(t, cfg, dir, 2)
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Runtime = goRuntime(t)
	if !slices.Equal(l.Genes(), m.Genes()) || l.Config().String() != cfg.String() || l.Stage() != StagePretrain {
		t.Fatal("loaded model lost its genes, configuration or stage")
	}
	d := countsFixture(t, fixtureInteg)
	spec := tasks.EmbedSpec{SampleCol: "donor", Seed: 4}
	e1, err := m.Embed(context.Background(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := l.Embed(context.Background(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e1.Data, e2.Data) {
		t.Fatal("loaded checkpoint embeds differently")
	}
}

// The embedding of a cell does not depend on the order of the cells:
// shuffling the rows of the dataset permutes the embedding rows exactly
// (sets are cut from a seeded hash order of cell names), and, at the graph
// level, permuting the cells inside one set permutes their embeddings
// (inter-cell attention has no positions; equal up to float rounding).
func TestEmbedOrderInvariance(t *testing.T) {
	m := pretrainTiny(t, tinyConfig(t, ""), "", 3)
	d := countsFixture(t, fixtureInteg)
	spec := tasks.EmbedSpec{SampleCol: "donor", Seed: 9}
	base, err := m.Embed(context.Background(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	perm := rand.New(rand.NewPCG(1, 1)).Perm(d.NCells())
	shuffled, err := m.Embed(context.Background(), d.SubsetCells(perm), spec)
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range perm {
		if !slices.Equal(shuffled.Row(k), base.Row(i)) {
			t.Fatalf("cell %d embeds differently after shuffling the rows", i)
		}
	}
	// Graph level: one set, cells reversed.
	a := m.arch()
	S, G, D := a.setSize, a.genes, a.dim()
	gm := newGeneMap(m.Genes(), d.Var.Index)
	counts := make([]float32, S*G)
	rev := make([]float32, S*G)
	for i := range S {
		gm.denseRow(counts[i*G:(i+1)*G], d.X, i)
		gm.denseRow(rev[(S-1-i)*G:(S-i)*G], d.X, i)
	}
	cells := make([]bool, S)
	for i := range cells {
		cells[i] = true
	}
	exec, err := gmodel.NewExec(m.Runtime.Backend, m.store, func(scope *gmodel.Scope, c, mask *Node) *Node { return a.embedGraph(scope, c, mask) })
	if err != nil {
		t.Fatal(err)
	}
	e1 := tensors.MustCopyFlatData[float32](exec.MustCall1(tensors.FromFlatDataAndDimensions(counts, 1, S, G), tensors.FromFlatDataAndDimensions(cells, 1, S)))
	e2 := tensors.MustCopyFlatData[float32](exec.MustCall1(tensors.FromFlatDataAndDimensions(rev, 1, S, G), tensors.FromFlatDataAndDimensions(cells, 1, S)))
	for i := range S {
		for k := range D {
			x, y := e1[i*D+k], e2[(S-1-i)*D+k]
			if math.Abs(float64(x-y)) > 1e-5*(1+math.Abs(float64(x))) {
				t.Fatalf("cell %d dim %d: %g in order, %g reversed", i, k, x, y)
			}
		}
	}
}

// ParamCount at the paper config over Stack-Large's 15,012 genes: 217,484,712
// (docs/references/stack-reference.md §1.7, counted from the release's layer shapes),
// and 321,801 more for the in-context extras (query embedding 1,600 + cls
// head 3200·100+100 + 100+1).
func TestParamCountPaper(t *testing.T) {
	cfg, err := Params.Resolve("paper", "")
	if err != nil {
		t.Fatal(err)
	}
	if n := ParamCount(cfg, 15012, false); n != 217484712 {
		t.Fatalf("paper parameters %d, want 217484712", n)
	}
	if n := ParamCount(cfg, 15012, true) - ParamCount(cfg, 15012, false); n != 1600+320100+101 {
		t.Fatalf("in-context extras %d", n)
	}
}
