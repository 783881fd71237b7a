package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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
