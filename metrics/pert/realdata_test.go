package pert

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/metrics"
)

func repoRoot(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("repository root not found")
		}
		dir = up
	}
}

// dataDir is $CELLBENCH_DATA or ../shared/data beside the repository root.
func dataDir(t testing.TB) string {
	if d := os.Getenv("CELLBENCH_DATA"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(t), "..", "shared", "data")
}

func readReal(t testing.TB, rel string) *data.Dataset {
	path := filepath.Join(dataDir(t), rel)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real data not available: %v", err)
	}
	d, err := h5ad.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// split returns the Input of the cells at even (parity 0) or odd (1) row
// positions, restricted to cells where keep is true (nil keeps all).
func split(t testing.TB, d *data.Dataset, parity int, keep func(i int) bool, withCtx bool) Input {
	perts, err := d.ObsLabels("perturbation")
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := d.ObsLabels("cell_type")
	if err != nil {
		t.Fatal(err)
	}
	var rows []int
	for i := parity; i < d.NCells(); i += 2 {
		if keep == nil || keep(i) {
			rows = append(rows, i)
		}
	}
	in := Input{X: d.X.SubsetRows(rows), Perts: make([]string, len(rows))}
	if withCtx {
		in.Contexts = make([]string, len(rows))
	}
	for k, r := range rows {
		in.Perts[k] = perts[r]
		if withCtx {
			in.Contexts[k] = ctx[r]
		}
	}
	return in
}

// discrete metrics must match exactly (they are ratios of counts).
var discrete = map[string]bool{
	metrics.DiscriminationL1: true, metrics.DiscriminationL2: true, metrics.DiscriminationCosine: true,
	metrics.PDisc: true, metrics.PDiscNorm: true,
	metrics.OverlapAtN: true, metrics.OverlapAt50: true, metrics.OverlapAt100: true, metrics.OverlapAt200: true,
	metrics.OverlapAt500: true, metrics.PrecisionAtN: true, metrics.DESigGenesRecall: true,
	metrics.DEDirectionMatch: true, metrics.DENSigReal: true, metrics.DENSigPred: true,
}

// TestPerturbenchAgainstPython evaluates the perturbench devel data (log1p
// as shipped, even cells = real, odd cells = pred) in two configurations
// and compares every metric with testdata/pert/perturbench_metrics_reference.csv,
// made by testdata/pert/make_reference.py (an independent numpy/scipy
// implementation: pearsonr, spearmanr, cdist, mannwhitneyu, statsmodels
// fdr_bh). Tolerance 1e-6 (relative above 1); discrete metrics exactly (to
// 1e-12).
func TestPerturbenchAgainstPython(t *testing.T) {
	d := readReal(t, "upstream/perturbench_devel_as_shipped.h5ad")
	ctx, _ := d.ObsLabels("cell_type")
	want := readReference(t)
	configs := map[string]func() (Input, Input, Options){
		"ctx": func() (Input, Input, Options) {
			o := DefaultOptions()
			o.Genes, o.Control = d.Genes(), "control"
			return split(t, d, 0, nil, true), split(t, d, 1, nil, true), o
		},
		"k562_realref": func() (Input, Input, Options) {
			o := DefaultOptions()
			o.Genes, o.Control, o.ControlRef, o.DEMinLFC, o.LFCEpsilon = d.Genes(), "control", ControlReal, 0.25, 0
			k := func(i int) bool { return ctx[i] == "k562" }
			return split(t, d, 0, k, false), split(t, d, 1, k, false), o
		},
	}
	for name, mk := range configs {
		real, pred, opts := mk()
		rep, err := Evaluate(real, pred, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n, worst := 0, 0.0
		check := func(key string, got float64, m string) {
			w, ok := want[name+"|"+key]
			if !ok {
				t.Errorf("%s: no reference for %s", name, key)
				return
			}
			n++
			tol := 1e-6 * math.Max(1, math.Abs(w))
			if discrete[m] {
				tol = 1e-12
			}
			if math.IsNaN(w) != math.IsNaN(got) || (!math.IsNaN(w) && math.Abs(got-w) > tol) {
				t.Errorf("%s: %s = %v, python %v", name, key, got, w)
			}
			if !math.IsNaN(w) && !discrete[m] {
				worst = math.Max(worst, math.Abs(got-w)/math.Max(1, math.Abs(w)))
			}
		}
		for _, row := range rep.Rows {
			for k, m := range rep.Metrics {
				check(row.Context+"|"+row.Perturbation+"|"+m, row.Values[k], m)
			}
		}
		for _, m := range []string{metrics.PDisc, metrics.PDiscNorm, metrics.DESpearmanSig} {
			s, _ := rep.Aggregate(m)
			check("|_agg|"+m, s.Mean, m)
		}
		if n != countConfig(want, name) {
			t.Errorf("%s: compared %d values, reference has %d", name, n, countConfig(want, name))
		}
		// Per-context aggregates equal the reference rows of that context:
		// pdisc = mean of (1 − discrimination_score_l1), mae = mean of mae.
		if rep.WithContexts {
			for _, c := range rep.Contexts {
				var n, pd, mae float64
				for k, v := range want {
					if strings.HasPrefix(k, name+"|"+c+"|") && strings.HasSuffix(k, "|"+metrics.DiscriminationL1) {
						pd += 1 - v
						mae += want[strings.TrimSuffix(k, metrics.DiscriminationL1)+metrics.MAE]
						n++
					}
				}
				for _, s := range rep.ContextAggregates[c] {
					if s.Metric == metrics.PDisc && math.Abs(s.Mean-pd/n) > 1e-12 {
						t.Errorf("%s: context %s pdisc %v, reference rows give %v", name, c, s.Mean, pd/n)
					}
					if s.Metric == metrics.MAE && math.Abs(s.Mean-mae/n) > 1e-9 {
						t.Errorf("%s: context %s mae %v, reference rows give %v", name, c, s.Mean, mae/n)
					}
				}
			}
		}
		t.Logf("%s: %d rows × %d metrics, %d values compared, worst continuous error %.3g; warnings: %q", name, len(rep.Rows), len(rep.Metrics), n, worst, rep.Warnings)
	}
}

func countConfig(want map[string]float64, name string) int {
	n := 0
	for k := range want {
		if strings.HasPrefix(k, name+"|") {
			n++
		}
	}
	return n
}

func readReference(t testing.TB) map[string]float64 {
	f, err := os.Open(filepath.Join(repoRoot(t), "testdata", "pert", "perturbench_metrics_reference.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "config,") {
			continue
		}
		p := strings.Split(line, ",")
		v, err := strconv.ParseFloat(p[4], 64)
		if err != nil {
			t.Fatalf("reference: %q: %v", line, err)
		}
		out[p[0]+"|"+p[1]+"|"+p[2]+"|"+p[3]] = v
	}
	return out
}
