package stack

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cellbench/cellbench/model/nn"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// flat returns a tensor's values as float64 (bool → 0/1 kept as bool).
func flat(t *tensors.Tensor) any {
	switch v := t.Value().(type) {
	case bool:
		return v
	}
	switch t.DType().String() {
	case "Bool":
		return tensors.MustCopyFlatData[bool](t)
	case "Int32":
		return tensors.MustCopyFlatData[int32](t)
	}
	return tensors.MustCopyFlatData[float32](t)
}

// The PyTorch twin (bench/peers/stack_torch.py, Debian torch 1.13) with
// the Go weights and batch gives the same embeddings, NB parameters and
// loss terms as the GoMLX graph: relative tolerance 2e-4 (float32; the
// twin uses torch.lgamma, the graph a Lanczos LogGamma with rel. error
// < 1e-6) — so the speed comparison of bench/reports/stack-speed.md
// compares the same computation. Skipped without Debian's python3+torch.
func TestTorchTwinParity(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skip("Debian python3 with torch not available")
	}
	cfg := tinyConfig(t, "")
	a := archFrom(cfg, 200)
	store := nn.NewStore(1)
	e, err := gmodel.NewExec(goRuntime(t).Backend, store, func(scope *gmodel.Scope, in []*Node) []*Node {
		emb, mu, theta, recon, sw := a.pretrainParts(scope, in)
		return []*Node{emb, mu, theta, recon, sw}
	})
	if err != nil {
		t.Fatal(err)
	}
	batch := syntheticBatch(a, 2)
	args := make([]any, len(batch))
	for i, b := range batch {
		args[i] = b
	}
	out, err := e.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{}
	for v := range store.IterVariables() {
		if v.DType().String() == "Float32" {
			vars[v.Path()] = flat(v.MustValue())
		}
	}
	spec := map[string]any{
		"config": map[string]int{"G": a.genes, "T": a.tokens, "d": a.tokenDim, "L": a.layers, "H": a.heads, "Hi": a.intraHeads,
			"C": a.setSize, "B": a.batch, "K": a.swCells, "P": a.swProj},
		"vars": vars,
		"batch": map[string]any{"counts": flat(batch[0]), "cells": flat(batch[2]), "genes": flat(batch[3]), "masked": flat(batch[4]),
			"sw_idx": flat(batch[5]), "sw_proj": flat(batch[6]), "prior": flat(batch[7])},
	}
	path := filepath.Join(t.TempDir(), "parity.json")
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "../../bench/peers/stack_torch.py", "--parity", path, "--threads", "1")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("twin: %v\n%s", err, se.String())
	}
	var tw struct {
		Recon, SW      float64
		Emb, Mu, Theta []float64
		Params         int
	}
	if err := json.Unmarshal(so.Bytes(), &tw); err != nil {
		t.Fatal(err)
	}
	if want := ParamCount(cfg, a.genes, false); tw.Params != want {
		t.Errorf("twin has %d parameters, ParamCount says %d", tw.Params, want)
	}
	close := func(name string, got float32, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 2e-4*(1e-3+math.Abs(want)) {
			t.Fatalf("%s: Go %g, torch %g", name, got, want)
		}
	}
	for i, v := range tensors.MustCopyFlatData[float32](out[0]) {
		close("embedding", v, tw.Emb[i])
	}
	for i, v := range tensors.MustCopyFlatData[float32](out[1]) {
		close("mu", v, tw.Mu[i])
	}
	for i, v := range tensors.MustCopyFlatData[float32](out[2]) {
		close("theta", v, tw.Theta[i])
	}
	close("masked NB NLL", tensors.ToScalar[float32](out[3]), tw.Recon)
	close("sliced W2", tensors.ToScalar[float32](out[4]), tw.SW)
}
