package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/bench"
	"github.com/cellbench/cellbench/results"
)

// compareRun writes a run directory holding one model's aggregate records
// (pearson_delta over two seeds) and returns it.
func compareRun(t *testing.T, dir string, pearson float64) string {
	t.Helper()
	var recs []results.Record
	for seed := uint64(0); seed < 2; seed++ {
		recs = append(recs, results.Record{Suite: "quick", Task: "pert-fewshot", Dataset: "d", Split: "s", Model: "perturbation-mean",
			Seed: seed, Perturbation: "_agg", Metric: "pearson_delta", Value: pearson, WallS: 1})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := bench.WriteResults(dir, recs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCompareCommand(t *testing.T) {
	tmp := t.TempDir()
	good := compareRun(t, filepath.Join(tmp, "good"), 0.45)
	baseline := filepath.Join(tmp, "baseline.json")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"compare", good, "--baseline", baseline, "--write-baseline"}, &out, &errb); err != nil {
		t.Fatalf("write baseline: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"compare", good, "--baseline", baseline}, &out, &errb); err != nil {
		t.Fatalf("same run fails: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "**PASS**") {
		t.Errorf("no PASS verdict:\n%s", out.String())
	}
	// Offsets zeroed: pearson_delta collapses to ~0, far beyond 0.02 + 5 %.
	broken := compareRun(t, filepath.Join(tmp, "broken"), -0.01)
	out.Reset()
	summary := filepath.Join(tmp, "pr-comment.md")
	err := run(context.Background(), []string{"compare", broken, "--baseline", baseline, "--summary", summary}, &out, &errb)
	if err == nil {
		t.Fatal("regressed run passes")
	}
	want := "1 metric regressions beyond tolerance, 0 slowdowns beyond budget: pearson_delta pert-fewshot/d/perturbation-mean 0.45 → -0.01 (tolerance ±0.0425)"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q\nwant it to contain %q", err, want)
	}
	md, _ := os.ReadFile(summary)
	if !bytes.Contains(md, []byte("❌ regressed")) || !strings.Contains(out.String(), "❌ regressed") {
		t.Errorf("summary lacks the regression:\n%s", md)
	}
	for _, args := range [][]string{
		{"compare", good},                                               // no --baseline
		{"compare", "--baseline", baseline},                             // no run
		{"compare", filepath.Join(tmp, "nope"), "--baseline", baseline}, // missing run
	} {
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
