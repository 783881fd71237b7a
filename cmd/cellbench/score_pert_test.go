package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
)

// pertFixture returns the shared 300-cell perturbation fixture (perturbench
// k562 + A172 × control and 4 perturbations, raw counts).
func pertFixture(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CELLBENCH_DATA")
	if dir == "" {
		wd, _ := os.Getwd()
		dir = filepath.Join(wd, "..", "..", "..", "shared", "data")
	}
	p := filepath.Join(dir, "fixture_tiny_perturbation_300cells.h5ad")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fixture not available: %v", err)
	}
	return p
}

func scorePert(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"score", "pert"}, args...), &out, &errb)
	return out.String(), errb.String(), err
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// writeVariant writes a modified copy of the fixture.
func writeVariant(t *testing.T, src, dst string, edit func(d *data.Dataset)) string {
	t.Helper()
	d, err := h5ad.Read(src)
	if err != nil {
		t.Fatal(err)
	}
	edit(d)
	if err := h5ad.Write(dst, d); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestScorePertSelf(t *testing.T) {
	fix := pertFixture(t)
	tmp := t.TempDir()
	out1 := filepath.Join(tmp, "self")
	common := []string{"--real", fix, "--pert-col", "perturbation", "--control", "control", "--context-col", "cell_type"}
	stdout, _, err := scorePert(t, append(common, "--pred", fix, "--out", out1)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.csv", "agg_results.csv", "results.json", "real_de.csv", "pred_de.csv", "agg_results_by_context.csv"} {
		if _, err := os.Stat(filepath.Join(out1, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	res := readCSV(t, filepath.Join(out1, "results.csv"))
	if strings.Join(res[0][:4], ",") != "perturbation,context,pearson_delta,mae" || len(res) != 1+8 {
		t.Errorf("results.csv header %v, %d lines", res[0], len(res))
	}
	// Prediction = real: every perturbation is discriminated perfectly, MAE 0.
	col := slices.Index(res[0], "discrimination_score_l1")
	mae := slices.Index(res[0], "mae")
	for _, r := range res[1:] {
		if r[col] != "1" || r[mae] != "0" {
			t.Errorf("self-score row %v: discrimination %s, mae %s", r[:2], r[col], r[mae])
		}
	}
	if !strings.Contains(stdout, "pdisc_norm") {
		t.Errorf("stdout lacks the aggregate table:\n%s", stdout)
	}
	de := readCSV(t, filepath.Join(out1, "real_de.csv"))
	if strings.Join(de[0], ",") != "context,target,feature,target_mean,ref_mean,log2_fold_change,p_value,statistic,fdr" || len(de) != 1+8*200 {
		t.Errorf("real_de.csv header %v, %d lines", de[0], len(de))
	}

	// Baseline score against itself: every metric scores 0.
	out2 := filepath.Join(tmp, "vs-baseline")
	if _, _, err := scorePert(t, append(common, "--pred", fix, "--out", out2, "--profile", "vcc",
		"--baseline", filepath.Join(out1, "agg_results.csv"), "--ceiling")...); err != nil {
		t.Fatal(err)
	}
	sc := readCSV(t, filepath.Join(out2, "score.csv"))
	if last := sc[len(sc)-1]; last[0] != "avg_score" || last[1] != "0" || len(sc) != 1+3+1 {
		t.Errorf("score.csv = %v", sc)
	}
	if _, err := os.Stat(filepath.Join(out2, "ceiling_results.csv")); err != nil {
		t.Error("missing ceiling_results.csv")
	}

	// Genes in another order are aligned: same results.
	shuffled := writeVariant(t, fix, filepath.Join(tmp, "shuffled.h5ad"), func(d *data.Dataset) {
		perm := make([]int, d.NGenes())
		for j := range perm {
			perm[j] = d.NGenes() - 1 - j
		}
		d.X = d.X.SubsetCols(perm)
		d.Var = d.Var.Subset(perm)
	})
	out3 := filepath.Join(tmp, "shuffled")
	if _, _, err := scorePert(t, append(common, "--pred", shuffled, "--out", out3)...); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(out1, "results.csv"))
	b, _ := os.ReadFile(filepath.Join(out3, "results.csv"))
	if !bytes.Equal(a, b) {
		t.Error("reordered genes changed results.csv")
	}
}

func TestScorePertBadInput(t *testing.T) {
	fix := pertFixture(t)
	tmp := t.TempDir()
	noGene := writeVariant(t, fix, filepath.Join(tmp, "nogene.h5ad"), func(d *data.Dataset) {
		keep := make([]int, d.NGenes()-1)
		for j := range keep {
			keep[j] = j + 1
		}
		d.X = d.X.SubsetCols(keep)
		d.Var = d.Var.Subset(keep)
	})
	relabel := func(from, to string) func(d *data.Dataset) {
		return func(d *data.Dataset) {
			labels, _ := d.ObsLabels("perturbation")
			for i, l := range labels {
				if l == from {
					labels[i] = to
				}
			}
			d.Obs.Set(data.NewCategorical("perturbation", labels))
		}
	}
	noSGK1 := writeVariant(t, fix, filepath.Join(tmp, "nosgk1.h5ad"), relabel("SGK1", "OTHER"))
	noCtrl := writeVariant(t, fix, filepath.Join(tmp, "noctrl.h5ad"), relabel("control", "MAPK1"))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"gene missing", []string{"--pred", noGene}, "genes do not match"},
		{"perturbation sets differ", []string{"--pred", noSGK1}, `perturbation sets differ in context "A172": missing from pred: "SGK1"; not in real: "OTHER"`},
		{"control missing in pred", []string{"--pred", noCtrl}, `pred: control label "control" has no cell`},
		{"default pert col absent", []string{"--pred", fix, "--pert-col", "target_gene"}, "--pert-col"},
		{"bad profile", []string{"--pred", fix, "--profile", "fast"}, "unknown profile"},
		{"bad control ref", []string{"--pred", fix, "--control-ref", "both"}, "--control-ref"},
		{"missing file", []string{"--pred", filepath.Join(tmp, "nope.h5ad")}, "nope.h5ad"},
	}
	for _, c := range cases {
		out := filepath.Join(tmp, "out-"+strings.ReplaceAll(c.name, " ", "-"))
		args := append([]string{"--real", fix, "--pert-col", "perturbation", "--control", "control", "--context-col", "cell_type", "--out", out}, c.args...)
		_, _, err := scorePert(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%s: output directory was created despite the error", c.name)
		}
	}
}

// tinyPert writes a hand-made 6 cells × 3 genes log1p file with
// target_gene = non-targeting ×2, A ×2, B ×2 (the CLI defaults); withNaN
// puts a NaN at cell 3, gene 0 (a prediction a scorer must refuse).
func tinyPert(t *testing.T, path string, withNaN bool) {
	t.Helper()
	x := []float32{1, 1, 1, 1, 1, 1.5, 2, 1, 1, 2.5, 1, 1, 1, 1, 3, 1, 0, 3}
	for i := range x {
		x[i] *= 0.5
	}
	if withNaN {
		x[9] = float32(math.NaN())
	}
	obs := data.Frame{IndexName: "cell", Index: []string{"c0", "c1", "c2", "c3", "c4", "c5"}}
	obs.Set(data.NewCategorical("target_gene", []string{"non-targeting", "non-targeting", "A", "A", "B", "B"}))
	d := &data.Dataset{X: data.NewCSRFromDense(6, 3, x), Obs: obs, Var: data.Frame{IndexName: "gene", Index: []string{"g0", "g1", "g2"}}}
	if err := h5ad.WriteUnvalidated(path, d); err != nil {
		t.Fatal(err)
	}
}

// TestScorePertNaN: a NaN in the prediction is an error, never a number;
// the clean pair scores with the CLI defaults (target_gene, non-targeting).
func TestScorePertNaN(t *testing.T) {
	tmp := t.TempDir()
	real, predNaN := filepath.Join(tmp, "tiny_real.h5ad"), filepath.Join(tmp, "tiny_pred_nan.h5ad")
	tinyPert(t, real, false)
	tinyPert(t, predNaN, true)
	_, _, err := scorePert(t, "--real", real, "--pred", predNaN, "--out", filepath.Join(tmp, "nan"))
	if err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN prediction: err = %v", err)
	}
	if _, _, err := scorePert(t, "--real", real, "--pred", real, "--out", filepath.Join(tmp, "ok")); err != nil {
		t.Errorf("clean tiny pair with default flags: %v", err)
	}
}
