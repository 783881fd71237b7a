package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// TestRunReportMergeQuickSuite runs suites/quick.yaml on the real data
// through the CLI, resumes it, merges it and writes the leaderboard.
func TestRunReportMergeQuickSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quick suite on real data")
	}
	if _, err := os.Stat(filepath.Join(data.DefaultDataDir(), "perturbench_devel_norman19_mcfaline23.h5ad")); err != nil {
		t.Skip("real data not available: ", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "runs", "quick")
	suite := filepath.Join("..", "..", "suites", "quick.yaml")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"run", suite, "--out", out, "--resume"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "60 cells in shard 0/1, ran 60") || !strings.Contains(stderr.String(), "[60/60]") {
		t.Fatalf("run output:\n%s\n%s", stdout.String(), stderr.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"run", suite, "--out", out, "--resume"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "ran 0, skipped 60") {
		t.Fatalf("resume output: %s", stdout.String())
	}
	if err := run(context.Background(), []string{"merge", "--out", filepath.Join(dir, "merged"), out}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(dir, "report")
	if err := run(context.Background(), []string{"report", filepath.Join(dir, "merged"), "--out", rep}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(rep, "leaderboard.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## pert-fewshot — perturbench-shared", "## pert-fewshot — tapseq", "## pert-zeroshot", "## pert-combo", "## stim-celltype — kang", "perturbation-mean", "linear"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("leaderboard lacks %q", want)
		}
	}
	for _, args := range [][]string{
		{"run", suite},               // no --out
		{"run", suite, "--out", out}, // finished run without --resume
		{"run", suite, "--out", out, "--shard", "2/2"},
		{"report", out},                              // no --out
		{"merge", "--out", filepath.Join(dir, "m2")}, // no inputs
	} {
		if err := run(context.Background(), args, &stdout, &stderr); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}
