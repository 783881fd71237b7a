package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// imputeRef reads testdata/recon/positions_reference.csv: file → (n, mcc,
// mcc_expressed, mae_counts), sklearn 1.2.1 matthews_corrcoef and numpy
// 1.24.2 mean via Debian python3 (testdata/recon/make_reference.py).
func imputeRef(t *testing.T) map[string][4]float64 {
	t.Helper()
	out := map[string][4]float64{}
	for i, r := range readCSV(t, filepath.Join("..", "..", "testdata", "recon", "positions_reference.csv")) {
		if i == 0 {
			continue
		}
		var v [4]float64
		for k := range v {
			f, err := strconv.ParseFloat(r[k+1], 64)
			if err != nil {
				t.Fatal(err)
			}
			v[k] = f
		}
		out[r[0]] = v
	}
	return out
}

// checkResults compares a results.csv (cellbench impute / score impute)
// with a reference row; mcc values to 1e-12, the MAE to 1e-9 (counts are
// written with shortest round-trip decimals).
func checkResults(t *testing.T, path string, want [4]float64) {
	t.Helper()
	rows := readCSV(t, path)
	if len(rows) != 2 || strings.Join(rows[0], ",") != "mcc,mcc_expressed,mae_counts,n_positions,n_expressed,notes" {
		t.Fatalf("%s: %v", path, rows)
	}
	n, _ := strconv.Atoi(rows[1][3])
	if float64(n) != want[0] {
		t.Errorf("%s: %d positions, reference %g", path, n, want[0])
	}
	for k, tol := range []float64{1e-12, 1e-12, 1e-9} {
		got, err := strconv.ParseFloat(rows[1][k], 64)
		if err != nil || math.Abs(got-want[k+1]) > tol {
			t.Errorf("%s: %s = %s, sklearn/numpy %.17g", path, rows[0][k], rows[1][k], want[k+1])
		}
	}
}

func runCmd(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

// TestScoreImputeSklearn: score impute on the synthetic positions file
// (which also carries an extra column) equals sklearn's matthews_corrcoef.
func TestScoreImputeSklearn(t *testing.T) {
	ref := imputeRef(t)
	dir := t.TempDir()
	if _, stderr, err := runCmd("score", "impute", "--positions", filepath.Join("..", "..", "testdata", "recon", "positions_synthetic.csv"), "--out", dir); err != nil {
		t.Fatal(err, stderr)
	}
	checkResults(t, filepath.Join(dir, "results.csv"), ref["positions_synthetic.csv"])
}

// TestImputeRealSklearn regenerates the real-data positions of
// make_reference.py with cellbench impute (knn on pbmc3k gene masking;
// mode on the olfactory-bulb spots with a region hold-out and whole-spot
// masking) and checks both commands' scores against sklearn on the same
// positions.
func TestImputeRealSklearn(t *testing.T) {
	sharedDataDir(t)
	ref := imputeRef(t)
	for _, c := range []struct {
		file string
		args []string
	}{
		{"positions_pbmc3k_knn.csv", []string{"--model", "knn", "--data", "pbmc3k-sct", "--max-genes", "200", "--task", "impute-genes", "--mask-ratio", "0.15", "--seed", "0"}},
		{"positions_mob_mode.csv", []string{"--model", "mode", "--data", "spatial-mob", "--coords", "x,y", "--max-genes", "100", "--task", "impute-cells", "--mask-ratio", "0.2", "--seed", "1"}},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		if _, stderr, err := runCmd(append([]string{"impute", "--out", dir}, c.args...)...); err != nil {
			t.Fatal(err, stderr)
		}
		checkResults(t, filepath.Join(dir, "results.csv"), ref[c.file])
		re := t.TempDir()
		if _, stderr, err := runCmd("score", "impute", "--positions", filepath.Join(dir, "positions.csv"), "--out", re); err != nil {
			t.Fatal(err, stderr)
		}
		checkResults(t, filepath.Join(re, "results.csv"), ref[c.file])
	}
}

// TestImputeSCTCheckpoint: sCT (tiny) trained into --ckpt by a first call
// is loaded by a second, which reproduces the first call's results.
func TestImputeSCTCheckpoint(t *testing.T) {
	sharedDataDir(t)
	ck := filepath.Join(t.TempDir(), "ckpt")
	var res [2]string
	for i := range res {
		dir := filepath.Join(t.TempDir(), "out")
		_, stderr, err := runCmd("impute", "--model", "sct", "--config", "tiny", "--set", "steps=4", "--quiet", "--data", "spatial-mob",
			"--coords", "x,y", "--max-genes", "64", "--task", "impute-cells", "--mask-ratio", "0.2", "--seed", "2", "--ckpt", ck, "--out", dir)
		if err != nil {
			t.Fatal(err, stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, "results.csv"))
		if err != nil {
			t.Fatal(err)
		}
		res[i] = string(b)
	}
	if res[0] != res[1] {
		t.Errorf("results after reloading the checkpoint differ:\n%s\n%s", res[0], res[1])
	}
	if _, err := os.Stat(filepath.Join(ck, "sct_meta.json")); err != nil {
		t.Error(err)
	}
}

// TestImputeStackCheckpoint: a STACK checkpoint pre-trained on another
// dataset (cellbench train) imputes zero-shot through --ckpt: nothing is
// trained into it (its meta file is unchanged), a second call gives the
// same results, and the note names the mode fallback.
func TestImputeStackCheckpoint(t *testing.T) {
	sharedDataDir(t)
	ck := filepath.Join(t.TempDir(), "ckpt")
	if _, stderr, err := runCmd("train", "--model", "stack", "--config", "tiny", "--data", "fixture-integration", "--quiet", "--out", ck); err != nil {
		t.Fatal(err, stderr)
	}
	meta, err := os.ReadFile(filepath.Join(ck, "stack_meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res [2]string
	for i := range res {
		dir := filepath.Join(t.TempDir(), "out")
		_, stderr, err := runCmd("impute", "--model", "stack", "--quiet", "--data", "pbmc3k-sct", "--max-genes", "64",
			"--task", "impute-genes", "--mask-ratio", "0.3", "--seed", "2", "--ckpt", ck, "--out", dir)
		if err != nil {
			t.Fatal(err, stderr)
		}
		if !strings.Contains(stderr, "note: stack:") || !strings.Contains(stderr, "most-frequent-bin baseline") {
			t.Errorf("stderr does not carry the fallback note:\n%s", stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, "results.csv"))
		if err != nil {
			t.Fatal(err)
		}
		res[i] = string(b)
	}
	if res[0] != res[1] {
		t.Errorf("two calls differ:\n%s\n%s", res[0], res[1])
	}
	if after, err := os.ReadFile(filepath.Join(ck, "stack_meta.json")); err != nil || string(after) != string(meta) {
		t.Errorf("the checkpoint changed (err %v)", err)
	}
}

// TestImputeBadInput: each bad invocation fails with one line naming the
// problem and leaves no output directory.
func TestImputeBadInput(t *testing.T) {
	sharedDataDir(t)
	pos := filepath.Join(t.TempDir(), "p.csv")
	if err := os.WriteFile(pos, []byte("cell,gene,true_count,true_bin,pred_bin,pred_count\na,b,1,9,1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"impute", "--data", "pbmc3k-sct"}, "--model is required"},
		{[]string{"impute", "--model", "nosuch", "--data", "pbmc3k-sct"}, `unknown model "nosuch"`},
		{[]string{"impute", "--model", "state", "--data", "pbmc3k-sct"}, "does not impute"},
		{[]string{"impute", "--model", "knn", "--data", "pbmc3k-sct", "--mask-ratio", "1.5"}, "mask_ratios"},
		{[]string{"impute", "--model", "knn", "--data", "pbmc3k-sct", "--task", "pert-fewshot"}, "not an imputation task"},
		{[]string{"impute", "--model", "knn", "--data", "pbmc3k-sct", "--ckpt", "x"}, "--ckpt applies to neural models"},
		{[]string{"impute", "--model", "knn", "--data", "spatial-mob", "--coords", "x,nosuch"}, `"nosuch"`},
		{[]string{"impute", "--model", "knn", "--data", "spatial-mob", "--coords", "x"}, "want two obs columns"},
		{[]string{"impute", "--model", "knn", "--data", "upstream-perturbench-devel"}, "raw counts"},
		{[]string{"impute", "--model", "sct", "--data", "pbmc3k-sct", "--set", "norm=batch"}, "norm"},
		{[]string{"score", "impute", "--positions", pos}, "bins 9/1 outside"},
		{[]string{"score", "impute", "--positions", filepath.Join(t.TempDir(), "missing.csv")}, "no such file"},
	} {
		out := filepath.Join(t.TempDir(), "out")
		args := append(append([]string{}, c.args...), "--out", out)
		_, _, err := runCmd(args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line containing %q", c.args, err, c.want)
		}
		if _, statErr := os.Stat(out); statErr == nil {
			t.Errorf("%v: output directory left behind", c.args)
		}
	}
}
