package bench

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/model/stack"
	"github.com/cellbench/cellbench/results"
)

// Embedding models in a suite, on the 300-cell integration fixture: the
// dataset's own HVG-PCA, the pca model over all genes and a tiny STACK
// pre-trained in the run on the perturbation fixture (train_on), each
// scored by embed-integration and celltype-zeroshot. STACK is pre-trained
// once (OUT/models/…, MetaFile written) and loaded by its second cell;
// celltype-zeroshot types each of the 3 donors from the other two (one
// record per donor and metric, plus the mean); a resumed run redoes
// nothing.
func TestEmbedModelsInSuite(t *testing.T) {
	dir := testdata.Dir(t)
	testdata.Path(t, "fixture_tiny_integration_300cells.h5ad")
	const suite = `
name: embed-models
datasets:
  - name: integ
    file: fixture-integration
    embed: {name: HVG-PCA10, pca: 10}
tasks:
  - name: embed-integration
    datasets: [integ]
  - name: celltype-zeroshot
    datasets: [integ]
models:
  - {name: pca, label: PCA10, params: {n_comps: "10"}}
  - {name: stack, params: {config: tiny}, train_on: [fixture-perturbation]}
seeds: [0]
`
	s, err := ParseSuite([]byte(suite))
	if err != nil {
		t.Fatal(err)
	}
	if g := s.Grid(); len(g) != 6 {
		t.Fatalf("grid has %d cells, want 2 tasks × 3 embeddings", len(g))
	}
	out := t.TempDir()
	r := &Runner{Suite: s, Out: out, DataDir: dir, GitSHA: "test"}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, rec := range recs {
		count[rec.Task+"/"+rec.Model]++
		if rec.Task == "celltype-zeroshot" && rec.Model == "stack" && rec.Context == "" && !(rec.Value >= 0 && rec.Value <= 1) {
			t.Errorf("stack typing mean %s = %v", rec.Metric, rec.Value)
		}
		if rec.Model == "stack" && rec.Backend != "go" {
			t.Errorf("stack record backend %q", rec.Backend)
		}
		if rec.Task == "embed-integration" && rec.Metric == "total" && math.IsNaN(rec.Value) {
			t.Errorf("%s total is NaN: %s", rec.Model, rec.Warnings)
		}
	}
	for _, m := range []string{"HVG-PCA10", "PCA10", "stack"} {
		if count["celltype-zeroshot/"+m] != 8 { // 3 donors + mean, 2 metrics
			t.Errorf("celltype-zeroshot/%s: %d records, want 8", m, count["celltype-zeroshot/"+m])
		}
		if count["embed-integration/"+m] < 15 {
			t.Errorf("embed-integration/%s: %d records", m, count["embed-integration/"+m])
		}
	}
	metas, _ := filepath.Glob(filepath.Join(out, "models", "stack", "*", stack.MetaFile))
	if len(metas) != 1 {
		t.Fatalf("stack checkpoints in the run: %v", metas)
	}
	r2 := &Runner{Suite: s, Out: out, DataDir: dir, GitSHA: "test", Resume: true}
	sum, err := r2.Run(context.Background())
	if err != nil || sum.Ran != 0 {
		t.Fatalf("resume ran %d cells: %v", sum.Ran, err)
	}

	// The run's checkpoint used by another suite through checkpoint:
	// ("{seed}" templated), giving the same stack records.
	ck := strings.Replace(filepath.Dir(metas[0]), "-seed-0", "-seed-{seed}", 1)
	s3, err := ParseSuite([]byte(strings.Replace(suite, "train_on: [fixture-perturbation]", "checkpoint: \""+ck+"\"", 1)))
	if err != nil {
		t.Fatal(err)
	}
	out3 := t.TempDir()
	if _, err := (&Runner{Suite: s3, Out: out3, DataDir: dir, GitSHA: "test"}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs3, err := results.ReadJSONL(filepath.Join(out3, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, rec := range recs {
		if rec.Model == "stack" {
			want[rec.Task+rec.Context+rec.Metric] = rec.Value
		}
	}
	for _, rec := range recs3 {
		if w, ok := want[rec.Task+rec.Context+rec.Metric]; rec.Model == "stack" && ok && w != rec.Value && !(math.IsNaN(w) && math.IsNaN(rec.Value)) {
			t.Errorf("checkpoint run: %s %s %s = %v, trained run %v", rec.Task, rec.Context, rec.Metric, rec.Value, w)
		}
	}

	// Zero-shot: a model never embeds its own training data; a neural
	// model needs train_on or a checkpoint; checkpoint/train_on only for
	// embedding models.
	for i, b := range []string{
		strings.Replace(suite, "train_on: [fixture-perturbation]", "train_on: [fixture-integration]", 1),
		strings.Replace(suite, ", train_on: [fixture-perturbation]", "", 1),
		strings.Replace(suite, "{name: pca, label: PCA10, params: {n_comps: \"10\"}}", "{name: pca, checkpoint: x}", 1),
		strings.Replace(suite, "  - name: celltype-zeroshot\n", "  - name: celltype-zeroshot\n    train_fraction: 0.5\n", 1),
	} {
		if _, err := ParseSuite([]byte(b)); err == nil {
			t.Errorf("bad suite %d accepted", i)
		}
	}
}

// suites/stack-zeroshot.yaml parses, and its grid pairs each STACK pool
// only with the dataset it excludes: per seed and task, pbmc-symphony gets
// HVG-PCA50, PCA50 and stack-excl-symphony; pancreas-baron HVG-PCA50,
// PCA50 and stack-excl-baron.
func TestStackZeroshotSuite(t *testing.T) {
	s, err := LoadSuite(filepath.Join("..", "suites", "stack-zeroshot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range s.Grid() {
		got[c.Dataset.Name+"/"+c.Model.ID()]++
	}
	want := map[string]int{
		"pbmc-symphony/HVG-PCA50": 6, "pbmc-symphony/PCA50": 6, "pbmc-symphony/stack-excl-symphony": 6,
		"pancreas-baron/HVG-PCA50": 6, "pancreas-baron/PCA50": 6, "pancreas-baron/stack-excl-baron": 6,
	}
	if len(got) != len(want) {
		t.Fatalf("grid %v", got)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d cells, want %d", k, got[k], n)
		}
	}
}
