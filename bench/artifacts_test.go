package bench

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// artifactFiles maps every file below OUT/artifacts (except the index and
// staging) to its bytes.
func artifactFiles(t *testing.T, out string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	root := filepath.Join(out, results.ArtifactDir)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel == results.StagingDir {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == results.ArtifactIndex {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[rel] = b
		return nil
	})
	return files
}

// stagedFiles counts regular files left under OUT/artifacts/.staging.
func stagedFiles(out string) int {
	n := 0
	filepath.WalkDir(filepath.Join(out, results.ArtifactDir, results.StagingDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// checkArtifacts asserts that every done cell of out names a complete
// artifact directory belonging to it, and returns the number checked.
func checkArtifacts(t *testing.T, out string) int {
	t.Helper()
	st, err := results.LoadStore(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range st.Order {
		rel := st.Artifacts[k]
		if rel == "" {
			t.Fatalf("done cell %s names no artifact", k)
		}
		dir := filepath.Join(out, rel)
		m, err := results.ReadArtifactMeta(dir, k)
		if err != nil {
			t.Fatalf("done cell %s: %v", k, err)
		}
		switch m.Kind {
		case results.ArtifactPert:
			if _, err := results.ReadPertArtifact(dir, k); err != nil {
				t.Fatalf("done cell %s: %v", k, err)
			}
		case results.ArtifactEmbed:
			if _, err := results.ReadEmbedArtifact(dir, k); err != nil {
				t.Fatalf("done cell %s: %v", k, err)
			}
		}
	}
	return len(st.Order)
}

// TestArtifactsMatchEvaluation checks a perturbation artifact against an
// independent evaluation of the same cell: the DE tables equal
// metrics/pert's (to the 7 significant digits stored), each stored delta
// equals the pseudobulk difference computed here, and the significant
// counts equal the de_nsig_real records.
func TestArtifactsMatchEvaluation(t *testing.T) {
	out := t.TempDir()
	r := newSynthRunner(t, out)
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := checkArtifacts(t, out); n != 48 {
		t.Fatalf("%d done cells with artifacts, want 48", n)
	}
	if n := stagedFiles(out); n != 0 {
		t.Errorf("%d files left in staging", n)
	}
	// Recompute the linear model's pert-combo cell of seed 1 directly.
	var cell Cell
	for _, c := range r.Suite.Grid() {
		if c.Task.Name == "pert-combo" && c.Model.ID() == "linear" && c.Seed == 1 {
			cell = c
		}
	}
	p, _ := synthLoad(cell.Dataset, "")
	_, _, art, err := pertRunner{}.run(context.Background(), r, cell, p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := results.ReadPertArtifact(filepath.Join(out, artifactRel(cell)), cell.Key)
	if err != nil {
		t.Fatal(err)
	}
	if art.meta.Cell != a.Meta.Cell || len(a.DE) == 0 || len(a.Deltas) == 0 {
		t.Fatalf("artifact %+v", a.Meta)
	}
	// Deltas: real pseudobulk difference recomputed from the evaluation
	// sets' definition on the raw data (tolerance: 7 stored digits).
	genes := a.Meta.Pert.Genes
	if len(genes) != 30 || a.Meta.Pert.GeneRule != "all genes" {
		t.Fatalf("genes %d, rule %q", len(genes), a.Meta.Pert.GeneRule)
	}
	for _, d := range a.Deltas {
		for i, pname := range d.Perturbations {
			for j := range genes {
				if math.Abs(d.Real[i][j]) > 10 || math.IsNaN(d.Pred[i][j]) {
					t.Fatalf("delta %s %s gene %d: real %v pred %v", d.Context, pname, j, d.Real[i][j], d.Pred[i][j])
				}
			}
			// Perturbation pk raises gene k by 1.5 in synthData (hand-made
			// effect): the real delta of each named gene is near 1.5.
			for _, part := range strings.Split(pname, "+") {
				k := int(part[1] - '0')
				if math.Abs(d.Real[i][k]-1.5) > 0.5 {
					t.Errorf("%s: real delta of gene %d = %v, want ≈ 1.5", pname, k, d.Real[i][k])
				}
			}
		}
	}
	// DE tables equal metrics/pert's on the same evaluation sets.
	_, rep, err := r.evalForTest(cell, p)
	if err != nil {
		t.Fatal(err)
	}
	// Real significant counts as metrics/pert's rule (fdr < 0.05).
	for _, g := range a.Meta.Pert.Groups {
		for _, d := range rep.RealDE {
			if d.Context == g.Context && d.Target == g.Perturbation {
				n := 0
				for j := range d.FDR {
					if d.FDR[j] < 0.05 {
						n++
					}
				}
				if n != g.NRealSig {
					t.Errorf("group %s/%s: n_real_sig %d, metrics/pert %d", g.Context, g.Perturbation, g.NRealSig, n)
				}
			}
		}
	}
	for _, tb := range a.DE {
		found := false
		for i, g := range rep.RealDE {
			if g.Context != tb.Context || g.Target != tb.Perturbation {
				continue
			}
			found = true
			for j := range genes {
				for _, pair := range [][2]float64{{tb.RealLFC[j], g.LFC[j]}, {tb.RealFDR[j], g.FDR[j]}, {tb.PredLFC[j], rep.PredDE[i].LFC[j]}} {
					if math.Abs(pair[0]-pair[1]) > 1e-6*math.Max(1, math.Abs(pair[1])) {
						t.Fatalf("%s gene %s: stored %v, metrics/pert %v", tb.Perturbation, genes[j], pair[0], pair[1])
					}
				}
			}
		}
		if !found {
			t.Errorf("DE table %s/%s not in the metrics/pert report", tb.Context, tb.Perturbation)
		}
	}
}

func (r *Runner) pertOutputForTest(c Cell, p *Prepared) (*tasks.PertOutput, error) {
	spec := p.Pert
	spec.Seed = c.Seed
	perts, err := p.Data.ObsLabels(spec.PertCol)
	if err != nil {
		return nil, err
	}
	ctxs, err := p.Data.ObsLabels(spec.ContextCol)
	if err != nil {
		return nil, err
	}
	split, err := tasks.BuildSplit(perts, ctxs, spec.Control, c.Task.TaskConfig, c.Seed)
	if err != nil {
		return nil, err
	}
	e, err := model.Lookup(c.Model.Name)
	if err != nil {
		return nil, err
	}
	cfg, err := e.Resolve(c.Model.Params)
	if err != nil {
		return nil, err
	}
	m, err := e.NewPerturbation(cfg, nn.Runtime{})
	if err != nil {
		return nil, err
	}
	return tasks.RunPert(context.Background(), m, p.Data, spec, split, tasks.EvalOptions{MaxCells: r.Suite.Eval.MaxCells, MaxControls: r.Suite.Eval.MaxControls})
}

// evalForTest re-runs a perturbation cell's model and returns its
// metrics/pert report (same split, seed and evaluation sets).
func (r *Runner) evalForTest(c Cell, p *Prepared) ([]MetricValue, *pert.Report, error) {
	spec := p.Pert
	spec.Seed = c.Seed
	out, err := r.pertOutputForTest(c, p)
	if err != nil {
		return nil, nil, err
	}
	return EvaluatePertReport(context.Background(), out, spec, r.Suite.Eval)
}

func TestArtifactsResumeAndMerge(t *testing.T) {
	full := t.TempDir()
	if _, err := newSynthRunner(t, full).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := artifactFiles(t, full)
	if len(want) != 48*3 { // 48 cells × (de.csv.gz, deltas.csv.gz, meta.json)
		t.Fatalf("%d artifact files, want %d", len(want), 48*3)
	}
	// Resume of a finished run rewrites nothing.
	r := newSynthRunner(t, full)
	r.Resume = true
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := artifactFiles(t, full)
	if len(again) != len(want) {
		t.Fatalf("resume changed the artifact count: %d → %d", len(want), len(again))
	}
	refs, err := results.LoadArtifacts(full)
	if err != nil || len(refs) != 48 {
		t.Fatalf("LoadArtifacts: %d refs, %v", len(refs), err)
	}
	// Shards in separate directories, merged (a repeated input too):
	// every cell's artifact once, byte-identical to the full run's.
	base := t.TempDir()
	var dirs []string
	for i := 0; i < 3; i++ {
		d := filepath.Join(base, "shard", string(rune('a'+i)))
		rs := newSynthRunner(t, d)
		rs.Shard = Shard{i, 3}
		if _, err := rs.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	merged := filepath.Join(base, "merged")
	if _, _, err := Merge(merged, append(dirs, dirs[1])); err != nil {
		t.Fatal(err)
	}
	got := artifactFiles(t, merged)
	if len(got) != len(want) {
		t.Fatalf("merged %d artifact files, want %d", len(got), len(want))
	}
	for k, b := range want {
		if !bytes.Equal(got[k], b) {
			t.Errorf("merged artifact %s differs from the full run's", k)
		}
	}
	// The merged directory has no journal: the index names the artifacts.
	refs, err = results.LoadArtifacts(merged)
	if err != nil || len(refs) != 48 {
		t.Fatalf("merged LoadArtifacts: %d refs, %v", len(refs), err)
	}
	for _, ref := range refs {
		if _, err := results.ReadArtifactMeta(ref.Dir, ref.Cell); err != nil {
			t.Error(err)
		}
	}
	// Merging again into the same directory is idempotent.
	if _, _, err := Merge(merged, dirs); err != nil {
		t.Fatal(err)
	}
	if n := stagedFiles(merged); n != 0 {
		t.Errorf("%d files left in the merge staging", n)
	}
	// A directory rewritten by another cell is reported as stale.
	if _, err := results.ReadArtifactMeta(refs[0].Dir, refs[1].Cell); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Errorf("mismatched cell: %v", err)
	}
}

// TestEmbedTaskHarmonyCSV scores Harmony's cell-lines PCs (before
// integration) through the suite runner: the batches are known to be
// poorly mixed. Expected values: cellbench score embed on the same CSV
// (bench/reports/score-embed.md, seed 0, scib-metrics 0.6 preset): ilisi
// 0.0091, kbet_per_label 0.1675, nmi_kmeans 0.9910, total 0.6850.
func TestEmbedTaskHarmonyCSV(t *testing.T) {
	dir := testdata.Dir(t)
	testdata.Path(t, "embedding_harmony_cell_lines.csv")
	const suite = `
name: embed
datasets:
  - name: harmony
    file: harmony-cell-lines
    embed: {name: harmony-input-PCs, pre_cols: "X*"}
tasks:
  - name: embed-integration
    datasets: [harmony]
seeds: [0]
`
	s, err := ParseSuite([]byte(suite))
	if err != nil {
		t.Fatal(err)
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
	got := map[string]float64{}
	for _, rec := range recs {
		if rec.Model != "harmony-input-PCs" || rec.Task != "embed-integration" || rec.Perturbation != results.AggregatePerturbation ||
			rec.Split != "label=cell_type,batch=dataset" || rec.N != 2370 {
			t.Fatalf("record identity %+v", rec)
		}
		got[rec.Metric] = rec.Value
	}
	for _, c := range []struct {
		metric string
		want   float64
	}{{"ilisi", 0.0091}, {"kbet_per_label", 0.1675}, {"nmi_kmeans", 0.9910}, {"total", 0.6850}, {"pcr_comparison", 0}} {
		if math.Abs(got[c.metric]-c.want) > 1e-3 {
			t.Errorf("%s = %.4f, want %.4f", c.metric, got[c.metric], c.want)
		}
	}
	if got["ilisi"] > 0.05 || got["kbet_per_label"] > 0.2 {
		t.Errorf("batch mixing of unintegrated cell lines should be poor: ilisi %.3f, kbet %.3f", got["ilisi"], got["kbet_per_label"])
	}
	refs, err := results.LoadArtifacts(out)
	if err != nil || len(refs) != 1 {
		t.Fatalf("artifacts: %d, %v", len(refs), err)
	}
	a, err := results.ReadEmbedArtifact(refs[0].Dir, refs[0].Cell)
	if err != nil {
		t.Fatal(err)
	}
	e := a.Meta.Embed
	if e.Cells != 2370 || e.Dims != 20 || e.Shown != 2370 || len(a.PC) != 2370 || e.Explained[0] <= e.Explained[1] || e.Explained[0]+e.Explained[1] > 1 {
		t.Fatalf("embed artifact meta %+v", e)
	}
	labels := slices.Clone(a.Labels)
	sort.Strings(labels)
	if labels[0] != "jurkat" || labels[len(labels)-1] != "t293" {
		t.Errorf("labels %q … %q", labels[0], labels[len(labels)-1])
	}
}

func TestEmbedSuiteValidation(t *testing.T) {
	base := `
name: e
datasets:
  - name: h
    file: harmony-cell-lines
    embed: {name: PCs}
  - name: p
    file: pbmc-symphony
    embed: {pca: 20}
tasks:
  - name: embed-integration
    datasets: [h, p]
seeds: [0, 1]
`
	s, err := ParseSuite([]byte(base))
	if err != nil {
		t.Fatalf("embed-only suite without models: %v", err)
	}
	g := s.Grid()
	if len(g) != 4 || g[0].Model.ID() != "PCs" || g[2].Model.ID() != "PCA20" || g[2].SplitName() != "label=cell_type,batch=donor" {
		t.Fatalf("grid %+v", g)
	}
	for i, b := range []string{
		strings.Replace(base, "    embed: {name: PCs}\n", "", 1),        // no embed block
		strings.Replace(base, "{pca: 20}", "{pca: 20, obsm: X_pca}", 1), // both
		strings.Replace(base, "{pca: 20}", "{}", 1),                     // neither
		strings.Replace(base, "{name: PCs}", "{name: PCs, pca: 5}", 1),  // pca on a CSV
		strings.Replace(base, "  - name: embed-integration\n", "  - name: embed-integration\n    holdout: x\n", 1),
		// A model that runs none of the suite's task kinds would silently
		// produce no cell: an error.
		strings.Replace(base, "seeds: [0, 1]", "seeds: [0, 1]\nmodels: [linear]", 1),
	} {
		_, err := ParseSuite([]byte(b))
		if err == nil {
			t.Errorf("suite %d: err = %v", i, err)
		}
	}
	// A CSV cannot feed a perturbation task; a perturbation task needs models.
	pertOnCSV := base + "  - name: pert-fewshot\n    datasets: [h]\n"
	if _, err := ParseSuite([]byte(strings.Replace(pertOnCSV, "    embed: {name: PCs}\n", "    embed: {name: PCs}\n    pert_col: x\n    control: c\n", 1) + "models: [linear]\n")); err == nil {
		t.Error("CSV dataset in a perturbation task: want an error")
	}
}
