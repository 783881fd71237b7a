package sct

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

// synth builds n cells × g genes of integer counts with x, y coordinates
// (synthetic, made by code).
func synth(n, g int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 11))
	dense := make([]float32, n*g)
	for i := range dense {
		if rng.Float64() < 0.25 {
			dense[i] = float32(1 + rng.IntN(8))
		}
	}
	d := &data.Dataset{X: data.NewCSRFromDense(n, g, dense), Scale: data.Counts}
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range n {
		d.Obs.Index = append(d.Obs.Index, fmt.Sprint("c", i))
		xs[i], ys[i] = float64(i%6)*2, float64(i/6)*2
	}
	d.Obs.Set(&data.Column{Name: "x", Kind: data.Float, Floats: xs})
	d.Obs.Set(&data.Column{Name: "y", Kind: data.Float, Floats: ys})
	for j := range g {
		d.Var.Index = append(d.Var.Index, fmt.Sprint("g", j))
	}
	return d
}

func tinyModel(t *testing.T, set string, rt nn.Runtime) *SCT {
	t.Helper()
	cfg, err := Params.Resolve("tiny", "steps=6;"+set)
	if err != nil {
		t.Fatal(err)
	}
	m := New(cfg)
	m.Runtime = rt
	if m.Runtime.Backend == nil {
		m.Runtime.Backend = goBackend(t)
	}
	return m
}

// masked returns every third gene of cells 0–5 and every gene of cell 7.
func maskedPositions(g int) []tasks.Position {
	var out []tasks.Position
	for c := range 6 {
		for j := 0; j < g; j += 3 {
			out = append(out, tasks.Position{Cell: c, Gene: j})
		}
	}
	for j := range g {
		out = append(out, tasks.Position{Cell: 7, Gene: j})
	}
	return out
}

// TestFitImputeDeterministic: tiny sCT trains (single-cell and spatial),
// answers one probability vector over the 5 bins per masked position, and
// the same seed gives the same loss curve and answers; a checkpointed fit
// reloaded with Load answers identically.
func TestFitImputeDeterministic(t *testing.T) {
	train, test := synth(40, 60, 1), synth(12, 60, 2)
	masked := maskedPositions(60)
	for _, spatial := range []bool{false, true} {
		spec := tasks.ImputeSpec{Bins: 5, Seed: 3}
		if spatial {
			spec.CoordCols = []string{"x", "y"}
		}
		ispec := spec
		ispec.Bags = [][]int{{0, 1, 2, 3, 4, 5, 6, 7}, {8, 9, 10, 11}}
		var probs [2][][]float32
		var losses [2][]float64
		dir := filepath.Join(t.TempDir(), "ckpt")
		for run := range 2 {
			rt := nn.Runtime{}
			if run == 1 {
				rt.CheckpointDir = dir
			}
			m := tinyModel(t, "", rt)
			if err := m.Fit(context.Background(), train, spec); err != nil {
				t.Fatal(err)
			}
			if m.meta.Spatial != spatial {
				t.Fatalf("spatial %v, want %v", m.meta.Spatial, spatial)
			}
			imp, err := m.Impute(context.Background(), test, masked, ispec)
			if err != nil {
				t.Fatal(err)
			}
			if len(imp.Probs) != len(masked) {
				t.Fatalf("%d answers for %d positions", len(imp.Probs), len(masked))
			}
			for _, p := range imp.Probs {
				var s float64
				for _, v := range p {
					s += float64(v)
				}
				if len(p) != 5 || math.Abs(s-1) > 1e-4 {
					t.Fatalf("probabilities %v", p)
				}
			}
			probs[run], losses[run] = imp.Probs, m.History().Losses()
		}
		if !slices.Equal(losses[0], losses[1]) {
			t.Errorf("spatial=%v: same seed, different loss curves %v / %v", spatial, losses[0], losses[1])
		}
		for k := range probs[0] {
			if !slices.Equal(probs[0][k], probs[1][k]) {
				t.Fatalf("spatial=%v: same seed, different answers at %d", spatial, k)
			}
		}
		loaded, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		loaded.Runtime.Backend = goBackend(t)
		imp, err := loaded.Impute(context.Background(), test, masked, ispec)
		if err != nil {
			t.Fatal(err)
		}
		for k := range imp.Probs {
			if !slices.Equal(imp.Probs[k], probs[1][k]) {
				t.Fatalf("spatial=%v: loaded checkpoint answers differently at %d", spatial, k)
			}
		}
	}
}

// TestImputeBadInput: errors name the problem instead of failing in GoMLX.
func TestImputeBadInput(t *testing.T) {
	train := synth(30, 40, 1)
	m := tinyModel(t, "", nn.Runtime{})
	if _, err := m.Impute(context.Background(), train, nil, tasks.ImputeSpec{Bins: 5}); err == nil || !strings.Contains(err.Error(), "before Fit") {
		t.Errorf("Impute before Fit: %v", err)
	}
	if err := m.Fit(context.Background(), train, tasks.ImputeSpec{Bins: 5}); err != nil {
		t.Fatal(err)
	}
	other := synth(10, 39, 2)
	if _, err := m.Impute(context.Background(), other, nil, tasks.ImputeSpec{Bins: 5}); err == nil || !strings.Contains(err.Error(), "genes") {
		t.Errorf("other genes: %v", err)
	}
	if _, err := m.Impute(context.Background(), train, []tasks.Position{{Cell: 99, Gene: 0}}, tasks.ImputeSpec{Bins: 5}); err == nil {
		t.Error("position outside the data: no error")
	}
	on := tinyModel(t, "spatial=on", nn.Runtime{})
	if err := on.Fit(context.Background(), train, tasks.ImputeSpec{Bins: 5}); err == nil || !strings.Contains(err.Error(), "coordinate") {
		t.Errorf("spatial=on without coordinates: %v", err)
	}
	odd := tinyModel(t, "token_dim=12", nn.Runtime{})
	if err := odd.Fit(context.Background(), train, tasks.ImputeSpec{Bins: 5}); err == nil || !strings.Contains(err.Error(), "filter_multiple") {
		t.Errorf("token_dim not a multiple of filter_multiple: %v", err)
	}
}
