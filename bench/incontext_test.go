package bench

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/model/stack"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

const inContextSuite = `
name: ic
datasets:
  - name: synth
    file: synth.h5ad
    pert_col: perturbation
    context_col: cell_type
    control: control
tasks:
  - name: incontext
    prompt_cells: 8
    datasets: [synth]
models: [control, perturbation-mean, prompt-shift]
seeds: [0, 1]
eval:
  metrics: [pearson_delta, mae, pdisc_norm]
  max_cells: 10
  max_controls: 15
`

// TestInContextRun runs the incontext task on synthData (every
// perturbation raises the same gene in every context, so a prompt from
// another context carries exactly the effect to predict): records per
// prompt variant for the in-context baseline, none for the plain models,
// split files, the artifact's model name, and resume.
func TestInContextRun(t *testing.T) {
	s, err := ParseSuite([]byte(inContextSuite))
	if err != nil {
		t.Fatal(err)
	}
	if g := s.Grid(); len(g) != 6 || g[0].SplitName() != "holdout=by-seed,prompt=by-seed,prompt_cells=8" {
		t.Fatalf("grid: %d cells, split %q", len(g), g[0].SplitName())
	}
	out := t.TempDir()
	r := &Runner{Suite: s, SuiteYAML: []byte(inContextSuite), Out: out, Load: synthLoad, GitSHA: "test"}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	agg := map[string]map[uint64]float64{} // model variant → seed → pearson_delta
	for _, rec := range recs {
		wantPrompt := rec.Model == "prompt-shift"
		if (rec.Prompt != "") != wantPrompt || rec.Task != tasks.InContext {
			t.Fatalf("record %+v: prompt %q", rec, rec.Prompt)
		}
		if rec.Perturbation == results.AggregatePerturbation && rec.Metric == "pearson_delta" {
			v := results.ModelVariant(rec.Model, rec.Prompt)
			if agg[v] == nil {
				agg[v] = map[uint64]float64{}
			}
			agg[v][rec.Seed] = rec.Value
		}
	}
	if len(agg) != 5 {
		t.Fatalf("aggregates of %d model variants, want 5: %v", len(agg), agg)
	}
	for seed := range uint64(2) {
		matched, wrong := agg["prompt-shift [prompt=matched]"][seed], agg["prompt-shift [prompt=wrong]"][seed]
		// 10 target and 8 prompt cells with noise on 30 genes: about 0.65 / 0.15.
		if !(matched > 0.5) || !(wrong < matched-0.3) {
			t.Errorf("seed %d: prompt-shift pearson_delta matched %v, wrong %v; want the matched prompt to carry the effect", seed, matched, wrong)
		}
	}
	// One split file per seed, naming the roles' cells.
	for seed := range 2 {
		b, err := os.ReadFile(filepath.Join(out, "splits", "synth", "incontext", "seed-"+string(rune('0'+seed))+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var f inContextSplitFile
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if f.QueryContext == f.PromptContext || len(f.QueryCells) != 20 || len(f.Prompts) != 6 || len(f.Prompts[0].Cells) != 8 {
			t.Fatalf("split file: query %s prompt %s, %d query cells, %d prompts", f.QueryContext, f.PromptContext, len(f.QueryCells), len(f.Prompts))
		}
		for _, n := range f.QueryCells {
			if !strings.HasPrefix(n, f.QueryContext+"-control-") {
				t.Fatalf("query cell %s is not a control of %s", n, f.QueryContext)
			}
		}
	}
	// The artifact of the in-context model is its matched variant.
	refs, err := results.LoadArtifacts(out)
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]bool{}
	for _, ref := range refs {
		m, err := results.ReadArtifactMeta(ref.Dir, ref.Cell)
		if err != nil {
			t.Fatal(err)
		}
		models[m.Model] = true
	}
	if !reflect.DeepEqual(models, map[string]bool{"control": true, "perturbation-mean": true, "prompt-shift [prompt=matched]": true}) {
		t.Fatalf("artifact models %v", models)
	}
	r2 := &Runner{Suite: s, SuiteYAML: []byte(inContextSuite), Out: out, Load: synthLoad, GitSHA: "test", Resume: true}
	if sum, err := r2.Run(context.Background()); err != nil || sum.Ran != 0 || sum.Skipped != 6 {
		t.Fatalf("resume: %+v, %v", sum, err)
	}
}

func TestInContextSuiteValidation(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"split fraction", "    prompt_cells: 8\n", "    train_fraction: 0.5\n", "do not apply"},
		{"negative prompt", "prompt_cells: 8", "prompt_cells: -1", "prompt_cells -1"},
		{"no context column", "    context_col: cell_type\n", "", "context_col is required"},
		{"prompt parameter on a perturbation task", "  - name: incontext\n", "  - name: pert-zeroshot\n", "apply to the incontext task only"},
		// prompt-shift is an in-context model only: a suite without an
		// in-context task has nothing for it to run.
		{"in-context model without its task", "  - name: incontext\n    prompt_cells: 8\n", "  - name: pert-zeroshot\n", "runs none of the suite's tasks"},
	} {
		_, err := ParseSuite([]byte(strings.Replace(inContextSuite, tc.old, tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// Plain perturbation models alone may form an in-context suite.
	if _, err := ParseSuite([]byte(strings.Replace(inContextSuite, "models: [control, perturbation-mean, prompt-shift]", "models: [linear]", 1))); err != nil {
		t.Errorf("in-context suite of a perturbation model: %v", err)
	}
}

// STACK in the incontext task, on Kang restricted to three cell types: a
// tiny STACK is pre-trained in the run on the symphony fixture (train_on,
// a pool without Kang) and each in-context cell post-trains from that
// checkpoint (no fallback note, the progress line says which checkpoint);
// records carry the three prompt variants. The same pre-trained checkpoint
// named by checkpoint: ("{seed}") gives the same records. A checkpoint
// pre-trained on Kang itself is refused by the cell, a model whose
// train_on holds Kang gets no Kang cell, and a plain perturbation model
// given a checkpoint is refused by validation.
func TestInContextStackFromCheckpoint(t *testing.T) {
	dir := testdata.Dir(t)
	testdata.Path(t, "kang_muscat_example_sce.h5ad")
	testdata.Path(t, "fixture_tiny_integration_300cells.h5ad")
	const suite = `
name: ic-stack
datasets:
  - name: kang3
    file: kang-muscat
    pert_col: group_id
    context_col: cluster_id
    control: ctrl
    contexts: [B cells, CD14+ Monocytes, CD4 T cells]
tasks:
  - name: incontext
    prompt_cells: 16
    datasets: [kang3]
models:
  - {name: stack, params: {config: tiny, ic_steps: "4"}, train_on: [fixture-integration]}
seeds: [0]
eval:
  metrics: [pearson_delta, mae]
  max_cells: 20
  max_controls: 24
`
	out, log, recs := runSuiteText(t, suite, dir)
	if !strings.Contains(log, "pre-trained on 1 datasets") {
		t.Errorf("progress does not say the cell pre-trained on the pool:\n%s", log)
	}
	byKey := map[string]float64{}
	for _, rec := range recs {
		if strings.Contains(rec.Warnings, "no pre-trained checkpoint") {
			t.Fatalf("the cell fell back to pre-training on its own cells: %s", rec.Warnings)
		}
		byKey[rec.Prompt+"/"+rec.Perturbation+"/"+rec.Metric] = rec.Value
	}
	for _, p := range []string{tasks.PromptMatched, tasks.PromptNone, tasks.PromptWrong} {
		if _, ok := byKey[p+"/"+results.AggregatePerturbation+"/pearson_delta"]; !ok {
			t.Errorf("no %s aggregate pearson_delta among %d records", p, len(recs))
		}
	}
	metas, _ := filepath.Glob(filepath.Join(out, "models", "stack", "*", stack.MetaFile))
	if len(metas) != 1 {
		t.Fatalf("pre-trained checkpoints in the run: %v", metas)
	}

	// The run's checkpoint named by checkpoint: gives the same records.
	ck := strings.Replace(filepath.Dir(metas[0]), "-seed-0", "-seed-{seed}", 1)
	viaCkpt := strings.Replace(suite, "train_on: [fixture-integration]", "checkpoint: \""+ck+"\"", 1)
	_, log2, recs2 := runSuiteText(t, viaCkpt, dir)
	if !strings.Contains(log2, "loaded "+filepath.Dir(metas[0])) {
		t.Errorf("progress does not name the checkpoint:\n%s", log2)
	}
	if len(recs2) != len(recs) {
		t.Fatalf("checkpoint run: %d records, trained run %d", len(recs2), len(recs))
	}
	for _, rec := range recs2 {
		if w := byKey[rec.Prompt+"/"+rec.Perturbation+"/"+rec.Metric]; w != rec.Value && !(math.IsNaN(w) && math.IsNaN(rec.Value)) {
			t.Errorf("checkpoint run: %s %s %s = %v, trained run %v", rec.Prompt, rec.Perturbation, rec.Metric, rec.Value, w)
		}
	}

	// A checkpoint pre-trained on Kang itself is refused.
	cfg, err := stack.Params.ResolveParams(map[string]string{"config": "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	kang, err := h5ad.Read(filepath.Join(dir, "kang_muscat_example_sce.h5ad"))
	if err != nil {
		t.Fatal(err)
	}
	own, err := stack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	own.CheckpointDir = filepath.Join(t.TempDir(), "own")
	if err := own.FitEmbed(context.Background(), []*data.Dataset{kang}, tasks.EmbedSpec{SampleCol: "sample_id"}); err != nil {
		t.Fatal(err)
	}
	s3, err := ParseSuite([]byte(strings.Replace(suite, "train_on: [fixture-integration]", "checkpoint: \""+own.CheckpointDir+"\"", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Runner{Suite: s3, Out: t.TempDir(), DataDir: dir, GitSHA: "test"}).Run(context.Background())
	var failed *CellsFailedError
	if !errors.As(err, &failed) || !strings.Contains(failed.Failed[0].Reason, "was trained on kang-muscat") {
		t.Fatalf("a checkpoint trained on the evaluated dataset: %v", err)
	}

	// train_on holding the evaluated dataset: no cell; placeholders and
	// models that cannot take a checkpoint are refused.
	s4, err := ParseSuite([]byte(strings.Replace(suite, "train_on: [fixture-integration]", "train_on: [kang-muscat]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if g := s4.Grid(); len(g) != 0 {
		t.Errorf("a model pre-trained on the evaluated dataset has %d cells", len(g))
	}
	for _, tc := range []struct{ old, new, want string }{
		{"train_on: [fixture-integration]", `checkpoint: "ck-{dataset}"`, "unknown placeholder {dataset}"},
		{"{name: stack, params: {config: tiny, ic_steps: \"4\"}, train_on: [fixture-integration]}", `{name: state, checkpoint: x}`, "in-context models with checkpoints ([stack])"},
		{"{name: stack, params: {config: tiny, ic_steps: \"4\"}, train_on: [fixture-integration]}", `{name: prompt-shift, train_on: [tapseq]}`, "in-context models with checkpoints"},
	} {
		if _, err := ParseSuite([]byte(strings.Replace(suite, tc.old, tc.new, 1))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.new, err, tc.want)
		}
	}
}

// runSuiteText parses a suite, runs it into a fresh directory and returns
// the directory, the progress log and the records; any error is fatal.
func runSuiteText(t *testing.T, suite, dataDir string) (string, string, []results.Record) {
	t.Helper()
	s, err := ParseSuite([]byte(suite))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var log strings.Builder
	if _, err := (&Runner{Suite: s, Out: out, DataDir: dataDir, GitSHA: "test", Progress: &log}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return out, log.String(), recs
}

// checkpointFor replaces {seed} and {file} (a registry name as is, a
// path's base name without extension).
func TestCheckpointFor(t *testing.T) {
	for _, tc := range []struct{ ckpt, file, want string }{
		{"runs/p/excl-{file}-s{seed}", "kang-muscat", "runs/p/excl-kang-muscat-s2"},
		{"runs/p/excl-{file}-s{seed}", "/x/y/my_data.h5ad", "runs/p/excl-my_data-s2"},
		{"/abs/ck", "kang-muscat", "/abs/ck"},
	} {
		if got := checkpointFor(ModelSpec{Name: "stack", Checkpoint: tc.ckpt}, DatasetSpec{File: tc.file}, 2); got != tc.want {
			t.Errorf("checkpointFor(%q, %q) = %q, want %q", tc.ckpt, tc.file, got, tc.want)
		}
	}
}
