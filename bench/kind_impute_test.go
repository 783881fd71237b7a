package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/model/stack"
	"github.com/cellbench/cellbench/results"
)

// imputeSuite is suites/impute.yaml reduced for a unit test: one mask
// ratio per task, a 48-gene panel, the tiny sCT for 8 steps.
const imputeSuite = `
name: impute-test
datasets:
  - {name: pbmc3k-sct, file: pbmc3k-sct}
  - {name: spatial-mob, file: spatial-mob, coords: [x, y]}
tasks:
  - {name: impute-genes, max_genes: 48, mask_ratios: [0.15, 0.8], datasets: [pbmc3k-sct, spatial-mob]}
  - {name: impute-cells, max_genes: 48, mask_ratios: [0.2], datasets: [spatial-mob]}
models:
  - mode
  - {name: sct, params: {config: tiny, steps: "8"}}
seeds: [0]
`

// TestImputeRunner runs imputation tasks on real data through the suite
// runner: three records per (cell, level) with the level in MaskRatio and
// the split, the sCT fitted once per (dataset, seed) and reloaded by the
// second task (its checkpoint directory under the run), and a resumed run
// that redoes nothing.
func TestImputeRunner(t *testing.T) {
	dataDir := testdata.Dir(t)
	s, err := ParseSuite([]byte(imputeSuite))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := &Runner{Suite: s, SuiteYAML: []byte(imputeSuite), Out: out, DataDir: dataDir, GitSHA: "test"}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ran != 6 || sum.Records != 2*(2*2*3)+2*3 {
		t.Errorf("ran %d cells, %d records; want 6 cells, 30 records", sum.Ran, sum.Records)
	}
	st, err := results.LoadStore(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rec := range st.Records() {
		if rec.MaskRatio <= 0 || !strings.HasSuffix(rec.Split, ",mask="+map[float64]string{0.15: "0.15", 0.8: "0.8", 0.2: "0.2"}[rec.MaskRatio]) {
			t.Errorf("record %s/%s/%s: mask ratio %g, split %q", rec.Task, rec.Dataset, rec.Model, rec.MaskRatio, rec.Split)
		}
		if rec.N <= 0 || rec.Value != rec.Value && rec.Warnings == "" {
			t.Errorf("record %+v: no positions, or NaN without a reason", rec)
		}
		seen[rec.Metric] = true
	}
	for _, m := range []string{"mcc", "mcc_expressed", "mae_counts"} {
		if !seen[m] {
			t.Errorf("no %s records", m)
		}
	}
	// one sCT checkpoint per (dataset, seed): the MOB one serves both tasks
	dirs, _ := filepath.Glob(filepath.Join(out, "models", "shard-0-of-1", "*", "sct", "*", "seed-0"))
	if len(dirs) != 2 {
		t.Errorf("sCT checkpoint directories %v, want one per dataset", dirs)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "sct_meta.json")); err != nil {
			t.Error(err)
		}
	}
	r2 := &Runner{Suite: s, SuiteYAML: []byte(imputeSuite), Out: out, DataDir: dataDir, GitSHA: "test", Resume: true}
	sum2, err := r2.Run(context.Background())
	if err != nil || sum2.Ran != 0 || sum2.Skipped != 6 {
		t.Errorf("resume: %+v, %v; want every cell skipped", sum2, err)
	}
}

// TestImputeStackCheckpoint: a STACK imputation cell starts from the
// checkpoint modelCheckpoint gives — pre-trained here on its train_on
// datasets, or named by checkpoint: (the same records) — and is refused
// when that checkpoint was trained on the evaluated dataset; train_on
// holding the evaluated dataset gives no cell, and checkpoint/train_on on
// an imputation model that is not pre-trained on pools is refused.
func TestImputeStackCheckpoint(t *testing.T) {
	dir := testdata.Dir(t)
	testdata.Path(t, "pbmc3k_sctransform_283cells.h5ad")
	testdata.Path(t, "fixture_tiny_integration_300cells.h5ad")
	const suite = `
name: impute-stack
datasets:
  - {name: pbmc3k-sct, file: pbmc3k-sct}
tasks:
  - {name: impute-genes, max_genes: 48, mask_ratios: [0.3], datasets: [pbmc3k-sct]}
models:
  - {name: stack, params: {config: tiny}, train_on: [fixture-integration]}
seeds: [0]
`
	out, log, recs := runSuiteText(t, suite, dir)
	if !strings.Contains(log, "pre-trained on 1 datasets") {
		t.Errorf("progress does not say the cell pre-trained on the pool:\n%s", log)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3 (mcc, mcc_expressed, mae_counts)", len(recs))
	}
	byMetric := map[string]float64{}
	for _, rec := range recs {
		if strings.Contains(rec.Warnings, "no pre-trained checkpoint") {
			t.Fatalf("the cell pre-trained on its own training cells: %s", rec.Warnings)
		}
		byMetric[rec.Metric] = rec.Value
	}
	metas, _ := filepath.Glob(filepath.Join(out, "models", "stack", "*", stack.MetaFile))
	if len(metas) != 1 {
		t.Fatalf("pre-trained checkpoints in the run: %v", metas)
	}

	// the run's checkpoint named by checkpoint: gives the same records
	ck := filepath.Dir(metas[0])
	_, _, recs2 := runSuiteText(t, strings.Replace(suite, "train_on: [fixture-integration]", "checkpoint: \""+ck+"\"", 1), dir)
	for _, rec := range recs2 {
		if w, ok := byMetric[rec.Metric]; !ok || w != rec.Value {
			t.Errorf("checkpoint run: %s = %v, trained run %v", rec.Metric, rec.Value, w)
		}
	}

	// a checkpoint pre-trained on the evaluated dataset is refused
	s3, err := ParseSuite([]byte(strings.Replace(suite, "train_on: [fixture-integration]", "train_on: [pbmc3k-sct]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if g := s3.Grid(); len(g) != 0 {
		t.Errorf("a model pre-trained on the evaluated dataset has %d cells", len(g))
	}
	out3 := t.TempDir()
	s3.Datasets = append(s3.Datasets, DatasetSpec{Name: "mob", File: "spatial-mob", Coords: []string{"x", "y"}})
	s3.Tasks[0].Datasets = []string{"mob"}
	if _, err := (&Runner{Suite: s3, Out: out3, DataDir: dir, GitSHA: "test"}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	own, _ := filepath.Glob(filepath.Join(out3, "models", "stack", "*"))
	if len(own) != 1 {
		t.Fatalf("checkpoints pre-trained on pbmc3k-sct: %v", own)
	}
	s4, err := ParseSuite([]byte(strings.Replace(suite, "train_on: [fixture-integration]", "checkpoint: \""+own[0]+"\"", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Runner{Suite: s4, Out: t.TempDir(), DataDir: dir, GitSHA: "test"}).Run(context.Background())
	var failed *CellsFailedError
	if !errors.As(err, &failed) || !strings.Contains(failed.Failed[0].Reason, "was trained on pbmc3k-sct") {
		t.Fatalf("a checkpoint trained on the evaluated dataset: %v", err)
	}

	// checkpoint on sCT (trained on each task's cells) is refused
	if _, err := ParseSuite([]byte(strings.Replace(suite, "{name: stack, params: {config: tiny}, train_on: [fixture-integration]}", "{name: sct, checkpoint: x}", 1))); err == nil || !strings.Contains(err.Error(), "pre-trained on a pool") {
		t.Errorf("sct with a checkpoint: %v", err)
	}
}
