package stack

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
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
