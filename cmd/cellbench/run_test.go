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
	if !strings.Contains(stdout.String(), "147 cells in shard 0/1, ran 147") || !strings.Contains(stderr.String(), "[147/147]") {
		t.Fatalf("run output:\n%s\n%s", stdout.String(), stderr.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"run", suite, "--out", out, "--resume"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "ran 0, failed 0, skipped 147") {
		t.Fatalf("resume output: %s", stdout.String())
	}
	if err := run(context.Background(), []string{"merge", "--out", filepath.Join(dir, "merged"), out}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(dir, "report")
	if err := run(context.Background(), []string{"report", filepath.Join(dir, "merged"), "--out", rep}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	// Cell typing writes no artifacts by design: no "no artifacts" note.
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "no artifacts") && strings.Contains(line, "celltype-zeroshot") {
			t.Errorf("report note on a task without artifacts: %s", line)
		}
	}
	b, err := os.ReadFile(filepath.Join(rep, "leaderboard.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## pert-fewshot — perturbench-shared", "## pert-fewshot — tapseq", "## pert-zeroshot", "## pert-combo", "## stim-celltype — kang", "perturbation-mean", "linear",
		"## incontext — perturbench-shared", "## incontext — kang", "prompt-shift [prompt=matched]", "prompt-shift [prompt=wrong]", "state-tiny",
		"## embed-integration: scIB metrics", "| sceiad-retina ", "harmony-input-PCs", "scVI",
		"stack-tiny [prompt=matched]", "stack-tiny [prompt=none]", "stack-tiny [prompt=wrong]", "## celltype-zeroshot"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("leaderboard lacks %q", want)
		}
	}
	// The merged run (no journal) still draws the artifact figures: an LFC
	// scatter per perturbation and in-context task, heat maps where ≥ 2
	// perturbations are held out (not Kang's one), an embedding scatter per
	// dataset and embedding (the datasets' own, and stack-tiny's of the two
	// expression datasets).
	count := func(glob string) int {
		m, _ := filepath.Glob(filepath.Join(rep, glob))
		return len(m)
	}
	if n := count("lfc_*.png"); n != 7 {
		t.Errorf("%d LFC scatters, want 7", n)
	}
	if n := count("discrimination_*.png"); n != 5 {
		t.Errorf("%d heat maps, want 5", n)
	}
	if n := count("embedding_*.png"); n != 6 {
		t.Errorf("%d embedding scatters, want 6", n)
	}
	if n := count("scib_*.png"); n != 4 {
		t.Errorf("%d scIB tables, want 4", n)
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

// TestReportArtifactFiguresFixture runs a small real suite (the perturbation
// and integration fixtures) and checks that cellbench report draws the LFC
// scatter, heat map, scIB table and embedding scatter from its artifacts,
// that --perturbation/--model/--seed choose them, and that unknown choices
// fail.
func TestReportArtifactFiguresFixture(t *testing.T) {
	for _, f := range []string{"fixture_tiny_perturbation_300cells.h5ad", "fixture_tiny_integration_300cells.h5ad"} {
		if _, err := os.Stat(filepath.Join(data.DefaultDataDir(), f)); err != nil {
			t.Skip("real data not available: ", err)
		}
	}
	dir := t.TempDir()
	suite := filepath.Join(dir, "fixture.yaml")
	if err := os.WriteFile(suite, []byte(`name: fixture
datasets:
  - name: fixture
    file: fixture-perturbation
    pert_col: perturbation
    context_col: cell_type
    control: control
  - name: fixture-integration
    file: fixture-integration
    embed: {name: PCA10, pca: 10}
tasks:
  - name: pert-zeroshot
    holdout: k562
    datasets: [fixture]
  - name: embed-integration
    datasets: [fixture-integration]
models: [perturbation-mean, linear]
seeds: [0, 1]
eval: {profile: vcc}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	var stdout, stderr bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"run", suite, "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	rep := filepath.Join(dir, "report")
	stdout.Reset()
	if err := run(ctx, []string{"report", out, "--out", rep, "--perturbation", "MAPK1", "--model", "linear", "--seed", "1"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "6 artifacts") {
		t.Errorf("report output: %s", stdout.String())
	}
	for _, f := range []string{
		"lfc_pert-zeroshot_fixture_linear_MAPK1_k562.png", "lfc_pert-zeroshot_fixture_linear_MAPK1_k562.svg",
		"discrimination_pert-zeroshot_fixture_linear_k562.png",
		"embedding_embed-integration_fixture-integration_PCA10.png",
		"scib_embed-integration_fixture-integration_label-cell_type-batch-donor.png",
		"index.html", "leaderboard.md",
	} {
		if st, err := os.Stat(filepath.Join(rep, f)); err != nil || st.Size() == 0 {
			t.Errorf("report lacks %s (%v)", f, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(rep, "index.html"))
	for _, want := range []string{`id="fig-lfc_pert-zeroshot_fixture_linear_MAPK1_k562"`, "seed 1 (chosen with --seed)",
		"Perturbation MAPK1: chosen with --perturbation", `id="fig-embedding_embed-integration_fixture-integration_PCA10"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	for _, args := range [][]string{
		{"report", out, "--out", filepath.Join(dir, "r2"), "--model", "nope"},
		{"report", out, "--out", filepath.Join(dir, "r3"), "--seed", "9"},
		{"report", out, "--out", filepath.Join(dir, "r4"), "--seed", "-1"},
		{"report", out, "--out", filepath.Join(dir, "r5"), "--perturbation", "NOPE"},
	} {
		if err := run(ctx, args, &stdout, &stderr); err == nil {
			t.Errorf("%v: want an error", args)
		}
		if _, err := os.Stat(args[3]); err == nil {
			t.Errorf("%v: a failed report left %s", args, args[3])
		}
	}
}
