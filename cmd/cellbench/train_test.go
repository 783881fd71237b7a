package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data/h5ad"
)

// train (tiny config) → predict on the 300-cell fixture: the checkpoint
// loads, the predictions cover the held-out groups with the real test cell
// counts, and an unknown -set key is a one-line error.
func TestTrainPredictTiny(t *testing.T) {
	dir := sharedDataDir(t)
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	pred := filepath.Join(t.TempDir(), "pred.h5ad")
	common := []string{"--data", filepath.Join(dir, "fixture_tiny_perturbation_300cells.h5ad"), "--split", "pert-zeroshot:A172", "--seed", "1"}
	var out, errb bytes.Buffer
	args := append([]string{"train", "--config", "tiny", "-set", "steps=20", "--quiet", "--out", ckpt}, common...)
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("train: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "trained state: 20 steps") {
		t.Fatalf("train stdout: %q", out.String())
	}
	if err := run(context.Background(), args, &out, &errb); err == nil || !strings.Contains(err.Error(), "already holds a finished model") {
		t.Fatalf("second train into a finished checkpoint: %v", err)
	}
	out.Reset()
	args = append([]string{"predict", "--ckpt", ckpt, "--out", pred}, common...)
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("predict: %v\n%s", err, errb.String())
	}
	d, err := h5ad.Read(pred)
	if err != nil {
		t.Fatal(err)
	}
	// A172 holds 4 perturbations × 30 cells in the fixture.
	if d.NCells() != 120 || d.NGenes() != 200 {
		t.Fatalf("predicted %d×%d, want 120×200", d.NCells(), d.NGenes())
	}
	ctxs, _ := d.ObsLabels("cell_type")
	for _, c := range ctxs {
		if c != "A172" {
			t.Fatalf("predicted context %q", c)
		}
	}
	err = run(context.Background(), []string{"train", "-set", "hiden_dim=3", "--out", t.TempDir(), "--data", "x"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `unknown key "hiden_dim"`) {
		t.Fatalf("bad -set: %v", err)
	}
}

// Asking for XLA where no PJRT plugin can be loaded fails before any work,
// naming PJRT_PLUGIN_LIBRARY_PATH — never a silent fallback to "go".
func TestTrainXLAWithoutPlugin(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "xla:cpu")
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	out := filepath.Join(t.TempDir(), "ckpt")
	var so, se bytes.Buffer
	err := run(context.Background(), []string{"train", "--config", "tiny", "--data", "fixture-perturbation", "--out", out}, &so, &se)
	if err == nil {
		t.Skip("an XLA PJRT plugin is installed here")
	}
	if !strings.Contains(err.Error(), "PJRT_PLUGIN_LIBRARY_PATH") {
		t.Fatalf("error does not name PJRT_PLUGIN_LIBRARY_PATH: %v", err)
	}
}
