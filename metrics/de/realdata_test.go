package de

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data/h5ad"
)

// dataDir finds the shared real data: $CELLBENCH_DATA, else ../shared/data
// beside the repository root (found by walking up to go.mod).
func dataDir(t testing.TB) string {
	if d := os.Getenv("CELLBENCH_DATA"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data")
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("repository root not found")
		}
		dir = up
	}
}

func repoFile(t testing.TB, rel string) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel)
		}
		dir = filepath.Dir(dir)
	}
}

// TestTAPseqAgainstScipy compares every (target, gene) of TAP-seq (raw
// counts: heavy ties, many zeros) with the reference made by
// testdata/pert/make_reference.py: scipy 1.10.1 mannwhitneyu(asymptotic,
// use_continuity=True) and statsmodels 0.13.5 fdr_bh. U must match exactly,
// p-values and FDR to 1e-9 relative.
func TestTAPseqAgainstScipy(t *testing.T) {
	path := filepath.Join(dataDir(t), "tapseq_schraivogel2020_crispat.h5ad")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real data not available: %v", err)
	}
	d, err := h5ad.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := d.ObsLabels("perturbation")
	if err != nil {
		t.Fatal(err)
	}
	rowsOf := map[string][]int{}
	for i, l := range labels {
		rowsOf[l] = append(rowsOf[l], i)
	}
	geneIdx := map[string]int{}
	for j, g := range d.Genes() {
		geneIdx[g] = j
	}
	f, err := os.Open(repoFile(t, "testdata/pert/tapseq_mwu_reference.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type want struct{ u, p, q float64 }
	ref := map[string]map[int]want{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "target,") {
			continue
		}
		f := strings.Split(line, ",")
		num := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if ref[f[0]] == nil {
			ref[f[0]] = map[int]want{}
		}
		ref[f[0]][geneIdx[f[1]]] = want{num(f[2]), num(f[3]), num(f[4])}
	}
	if len(ref) != 26 {
		t.Fatalf("reference has %d targets, want 26", len(ref))
	}
	refCells, err := NewReference(d.X, rowsOf["non-targeting"], 0)
	if err != nil {
		t.Fatal(err)
	}
	var groups []Group
	for target := range ref {
		groups = append(groups, Group{Name: target, Rows: rowsOf[target]})
	}
	res, err := Compare(d.X, groups, refCells, 1e-9, 0)
	if err != nil {
		t.Fatal(err)
	}
	checked, maxP, maxQ := 0, 0.0, 0.0
	for _, r := range res {
		for g, w := range ref[r.Target] {
			if r.Statistic[g] != w.u {
				t.Errorf("%s/%s: U = %v, scipy %v", r.Target, d.Genes()[g], r.Statistic[g], w.u)
			}
			if e := relErr(r.PValue[g], w.p); e > 1e-9 {
				t.Errorf("%s/%s: p = %v, scipy %v (rel %g)", r.Target, d.Genes()[g], r.PValue[g], w.p, e)
			}
			if e := relErr(r.FDR[g], w.q); e > 1e-9 {
				t.Errorf("%s/%s: fdr = %v, statsmodels %v (rel %g)", r.Target, d.Genes()[g], r.FDR[g], w.q, e)
			}
			maxP, maxQ = max(maxP, relErr(r.PValue[g], w.p)), max(maxQ, relErr(r.FDR[g], w.q))
			checked++
		}
	}
	t.Logf("%d (target, gene) pairs: max relative error p %.3g, fdr %.3g", checked, maxP, maxQ)
	if checked != 26*72 {
		t.Errorf("checked %d values, want %d", checked, 26*72)
	}
}
