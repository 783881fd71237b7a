package reports

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/results"
)

func baselineRoundTrip(t *testing.T, bl *Baseline) *Baseline {
	t.Helper()
	p := filepath.Join(t.TempDir(), "b.json")
	var buf bytes.Buffer
	if err := WriteBaseline(&buf, bl); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, buf.Bytes(), 0o644)
	got, err := ReadBaseline(p)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCompareSameRunPasses(t *testing.T) {
	recs := synthRecords()
	bl := baselineRoundTrip(t, NewBaseline(recs, "quick", "synthetic", DefaultBaselineDefaults))
	if len(bl.Metrics) != 9 { // 3 models × 3 metrics
		t.Fatalf("baseline has %d metrics, want 9", len(bl.Metrics))
	}
	cmp := Compare(recs, bl)
	if cmp.Failed() {
		var b strings.Builder
		cmp.WriteMarkdown(&b)
		t.Fatalf("identical run fails:\n%s", b.String())
	}
}

// brokenRun zeroes the perturbation effect of one model: its pearson_delta
// and discrimination collapse to the control model's, as a perturbation-
// mean baseline with its offsets set to zero would.
func brokenRun() []results.Record {
	recs := synthRecords()
	ctrl := map[[4]string]float64{}
	for _, r := range recs {
		if r.Model == "control" {
			ctrl[[4]string{r.Metric, r.Perturbation, r.Context, string(rune('0' + r.Seed))}] = r.Value
		}
	}
	for i, r := range recs {
		if r.Model == "perturbation-mean" {
			recs[i].Value = ctrl[[4]string{r.Metric, r.Perturbation, r.Context, string(rune('0' + r.Seed))}]
		}
	}
	return recs
}

func TestCompareBrokenRunFails(t *testing.T) {
	bl := NewBaseline(synthRecords(), "quick", "synthetic", DefaultBaselineDefaults)
	cmp := Compare(brokenRun(), bl)
	if !cmp.Failed() {
		t.Fatal("zeroed perturbation offsets did not fail the comparison")
	}
	// pearson_delta and discrimination fall (higher is better); mae rises
	// (lower is better): 3 regressions, all of perturbation-mean.
	if got := cmp.Regressions(); got != 3 {
		t.Errorf("regressions = %d, want 3", got)
	}
	for _, m := range cmp.Metrics {
		if m.Model == "perturbation-mean" && m.Status != StatusRegressed {
			t.Errorf("%s of perturbation-mean: status %s, want regressed", m.Metric, m.Status)
		}
		if m.Model != "perturbation-mean" && m.Status != StatusSame {
			t.Errorf("%s of %s: status %s, want same", m.Metric, m.Model, m.Status)
		}
	}
	var b strings.Builder
	if err := cmp.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"**FAIL**", "❌ regressed", "perturbation-mean", "pearson_delta"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if s := cmp.FailureSummary(); !strings.HasPrefix(s, "3 metric regressions beyond tolerance, 0 slowdowns") {
		t.Errorf("summary = %q", s)
	}
}

func TestCompareRules(t *testing.T) {
	// Hand-built cases: baseline 0.5, tolerance 0.02 + 0.05·0.5 = 0.045.
	rec := func(metric string, v float64) []results.Record {
		return []results.Record{{Task: "t", Dataset: "d", Split: "s", Model: "m", Metric: metric, Perturbation: AggregatePerturbation, Value: v}}
	}
	bl := func(metric, dir string) *Baseline {
		return &Baseline{Defaults: DefaultBaselineDefaults, Metrics: []BaselineMetric{{Task: "t", Dataset: "d", Split: "s", Model: "m", Metric: metric, Value: 0.5, Direction: dir}}}
	}
	for _, c := range []struct {
		dir  string
		run  float64
		want string
	}{
		{"higher", 0.46, StatusSame}, {"higher", 0.45, StatusRegressed}, {"higher", 0.55, StatusImproved},
		{"lower", 0.54, StatusSame}, {"lower", 0.55, StatusRegressed}, {"lower", 0.45, StatusImproved},
		{"none", 0.55, StatusRegressed}, {"none", 0.45, StatusRegressed}, {"none", 0.5, StatusSame},
		{"higher", math.NaN(), StatusRegressed},
	} {
		cmp := Compare(rec("x", c.run), bl("x", c.dir))
		if got := cmp.Metrics[0].Status; got != c.want {
			t.Errorf("direction %s, run %v: %s, want %s (tolerance %v)", c.dir, c.run, got, c.want, cmp.Metrics[0].Tolerance)
		}
	}
	if cmp := Compare(rec("y", 0.5), bl("x", "higher")); cmp.Metrics[0].Status != StatusMissing || !cmp.Failed() {
		t.Errorf("missing metric: status %s, failed %v", cmp.Metrics[0].Status, cmp.Failed())
	}
	// Timing: budget 3×, floor 5 s.
	timed := func(wall float64) []results.Record {
		r := rec("x", 0.5)
		r[0].WallS = wall
		return r
	}
	tb := bl("x", "higher")
	tb.Timings = []BaselineTiming{{Task: "t", Dataset: "d", Model: "m", WallS: 10}}
	for _, c := range []struct {
		wall float64
		want string
	}{{29, StatusSame}, {31, StatusSlower}, {3, StatusImproved}} {
		if got := Compare(timed(c.wall), tb).Timings[0].Status; got != c.want {
			t.Errorf("wall %v s vs 10 s: %s, want %s", c.wall, got, c.want)
		}
	}
	small := bl("x", "higher")
	small.Timings = []BaselineTiming{{Task: "t", Dataset: "d", Model: "m", WallS: 1}}
	if got := Compare(timed(4), small).Timings[0].Status; got != StatusSame {
		t.Errorf("4× of 1 s (under the 5 s floor): %s, want same", got)
	}
}

func TestReadBaselineErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty.json":   `{"suite":"q","metrics":[],"timings":[]}`,
		"unknown.json": `{"suite":"q","metricz":[]}`,
		"dir.json":     `{"metrics":[{"task":"t","metric":"m","value":1,"direction":"up"}]}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := ReadBaseline(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A metric missing because its cell failed says so, with the cell's
// reason; the markdown marks the run incomplete and lists the failures.
func TestCompareFailedCellReasons(t *testing.T) {
	recs := synthRecords()
	bl := NewBaseline(recs, "quick", "synthetic", DefaultBaselineDefaults)
	var kept []results.Record
	for _, r := range recs {
		if r.Model != "linear-ridge" {
			kept = append(kept, r)
		}
	}
	task, dataset := recs[0].Task, recs[0].Dataset
	cmp := Compare(kept, bl)
	cmp.AddStatus(&results.RunStatus{GridCells: 6, Done: 4, Failed: []results.FailedCell{
		{Task: task, Dataset: dataset, Model: "linear-ridge", Seed: 0, Reason: "linear-ridge: predict: command exited with status 2", Attempts: 1}}, NotRun: 1})
	if !cmp.Failed() {
		t.Fatal("a run with a failed cell passes")
	}
	var b strings.Builder
	cmp.WriteMarkdown(&b)
	md := b.String()
	for _, want := range []string{"> **Incomplete run — 4 of 6 cells of the grid done, 1 failed, 1 not run", "### Failed cells",
		"| " + task + " | " + dataset + " | linear-ridge | 0 | 1 | linear-ridge: predict: command exited with status 2 |", "❌ missing (cell failed)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if s := cmp.FailureSummary(); !strings.Contains(s, "missing: cell failed (seed 0): linear-ridge: predict: command exited with status 2") {
		t.Errorf("failure summary %q", s)
	}
}
