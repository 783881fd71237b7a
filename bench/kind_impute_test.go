package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/internal/testdata"
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
