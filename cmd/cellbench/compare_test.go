package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/bench"
	"github.com/cellbench/cellbench/reports"
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
		{"compare", good},                   // no --baseline
		{"compare", "--baseline", baseline}, // no run
		{"compare", filepath.Join(tmp, "nope"), "--baseline", baseline}, // missing run
	} {
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestWriteBaselineKeepsOverrides: refreshing an existing baseline keeps
// its hand-set per-entry tolerances, timing budgets and defaults; a
// tolerance flag given on the command line replaces that default only.
func TestWriteBaselineKeepsOverrides(t *testing.T) {
	tmp := t.TempDir()
	first := compareRun(t, filepath.Join(tmp, "first"), 0.45)
	baseline := filepath.Join(tmp, "baseline.json")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"compare", first, "--baseline", baseline, "--write-baseline", "--abs-tol", "0.01"}, &out, &errb); err != nil {
		t.Fatalf("write baseline: %v", err)
	}
	bl, err := reports.ReadBaseline(baseline)
	if err != nil {
		t.Fatal(err)
	}
	if len(bl.Metrics) != 1 || len(bl.Timings) != 1 {
		t.Fatalf("baseline has %d metrics and %d timings, want 1 and 1", len(bl.Metrics), len(bl.Timings))
	}
	// By hand: a tight tolerance on the one entry, a looser time budget.
	bl.Metrics[0].AbsTol, bl.Metrics[0].RelTol, bl.Metrics[0].Direction = 0.001, 0.0001, "none"
	bl.Timings[0].BudgetRatio = 7
	f, err := os.Create(baseline)
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteBaseline(f, bl); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// Refresh from a run whose value moved: the value follows the run,
	// everything set by hand stays; --rel-tol given replaces that default.
	second := compareRun(t, filepath.Join(tmp, "second"), 0.5)
	out.Reset()
	if err := run(context.Background(), []string{"compare", second, "--baseline", baseline, "--write-baseline", "--rel-tol", "0.2"}, &out, &errb); err != nil {
		t.Fatalf("refresh baseline: %v", err)
	}
	if !strings.Contains(out.String(), "kept 1 per-entry metric tolerances and 1 timing budgets") {
		t.Errorf("refresh output %q does not say what it kept", out.String())
	}
	got, err := reports.ReadBaseline(baseline)
	if err != nil {
		t.Fatal(err)
	}
	m, tm := got.Metrics[0], got.Timings[0]
	if m.Value != 0.5 || m.AbsTol != 0.001 || m.RelTol != 0.0001 || m.Direction != "none" || tm.BudgetRatio != 7 {
		t.Errorf("refreshed entry %+v, timing %+v: want value 0.5 with abs_tol 0.001, rel_tol 0.0001, direction none, budget 7", m, tm)
	}
	if got.Defaults.AbsTol != 0.01 || got.Defaults.RelTol != 0.2 {
		t.Errorf("defaults %+v: want abs_tol 0.01 kept from the file, rel_tol 0.2 from the flag", got.Defaults)
	}

	// An existing file that is not a baseline is an error, not overwritten.
	bad := filepath.Join(tmp, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	if err := run(context.Background(), []string{"compare", second, "--baseline", bad, "--write-baseline"}, &out, &errb); err == nil {
		t.Error("--write-baseline over an unreadable baseline succeeded")
	}
	if b, _ := os.ReadFile(bad); string(b) != "{not json" {
		t.Errorf("unreadable baseline was overwritten: %q", b)
	}
}
