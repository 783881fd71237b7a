package pert

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/metrics/de"
)

// tiny builds an Input from dense rows (genes as columns) and labels.
func tiny(rows [][]float32, perts []string) Input {
	g := len(rows[0])
	dense := make([]float32, 0, len(rows)*g)
	for _, r := range rows {
		dense = append(dense, r...)
	}
	return Input{X: data.NewCSRFromDense(len(rows), g, dense), Perts: perts}
}

func tinyOpts(genes ...string) Options {
	o := DefaultOptions()
	o.Genes = genes
	o.Control = "ctrl"
	return o
}

// TestExpressionHandChecked: two perturbations, three genes, values chosen
// so every expression metric can be computed by hand.
func TestExpressionHandChecked(t *testing.T) {
	// real: ctrl mean (1,1,1); A mean (2,1,1) → δ_R(A) = (1,0,0); B mean (1,1,3) → δ_R(B) = (0,0,2)
	real := tiny([][]float32{{1, 1, 1}, {1, 1, 1}, {2, 1, 1}, {2, 1, 1}, {1, 1, 3}, {1, 1, 3}},
		[]string{"ctrl", "ctrl", "A", "A", "B", "B"})
	// pred: ctrl mean (1,1,1); A mean (1.5,1,1) → δ_P(A) = (0.5,0,0); B cells (1,1,2),(1,1,4) mean (1,1,3) → δ_P(B) = (0,0,2)
	pred := tiny([][]float32{{1, 1, 1}, {1, 1, 1}, {1.5, 1, 1}, {1.5, 1, 1}, {1, 1, 2}, {1, 1, 4}},
		[]string{"ctrl", "ctrl", "A", "A", "B", "B"})
	o := tinyOpts("g0", "g1", "g2")
	o.Metrics = []string{metrics.MAE, metrics.MSE, metrics.MAEDelta, metrics.DiscriminationL1, metrics.DiscriminationL2,
		metrics.DiscriminationCosine, metrics.PDisc, metrics.PDiscNorm, metrics.EnergyDistance, metrics.PearsonDelta}
	rep, err := Evaluate(real, pred, o)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-computed expectations.
	want := map[string]map[string]float64{
		"A": {metrics.MAE: 0.5 / 3, metrics.MSE: 0.25 / 3, metrics.MAEDelta: 0.5 / 3,
			// L1: d(δP(A), δR(A)) = 0.5, d(δP(A), δR(B)) = 0.5+2 = 2.5 → r = 0 → 1
			metrics.DiscriminationL1: 1, metrics.DiscriminationL2: 1, metrics.DiscriminationCosine: 1,
			// energy: real A cells identical, pred A cells identical, all cross distances 0.5 → 2·0.5
			metrics.EnergyDistance: 1,
			// δ_P(A) = (0.5,0,0), δ_R(A) = (1,0,0): Pearson 1
			metrics.PearsonDelta: 1},
		"B": {metrics.MAE: 0, metrics.MSE: 0, metrics.MAEDelta: 0,
			metrics.DiscriminationL1: 1, metrics.DiscriminationL2: 1, metrics.DiscriminationCosine: 1,
			// real B identical cells (1,1,3); pred B (1,1,2),(1,1,4): cross distances all 1 →
			// 2·1 − 0 − (0+2+2+0)/4 = 1
			metrics.EnergyDistance: 1, metrics.PearsonDelta: 1},
	}
	for p, ms := range want {
		for m, w := range ms {
			got, ok := rep.Value("", p, m)
			if !ok || math.Abs(got-w) > 1e-12 {
				t.Errorf("%s %s = %v, want %v", p, m, got, w)
			}
		}
	}
	if s, _ := rep.Aggregate(metrics.PDiscNorm); s.Mean != 1 {
		t.Errorf("pdisc_norm = %v, want 1", s.Mean)
	}
}

// TestDiscriminationSwapped: predictions of A and B swapped → each ranks
// the other first: r = 1 of N = 2 → score 0.5, pdisc 0.5, pdisc_norm 0.
// Also checks target-gene exclusion: perturbation named after gene g0.
func TestDiscriminationSwapped(t *testing.T) {
	real := tiny([][]float32{{1, 1, 1}, {2, 1, 1}, {1, 1, 3}}, []string{"ctrl", "A", "B"})
	pred := tiny([][]float32{{1, 1, 1}, {1, 1, 3}, {2, 1, 1}}, []string{"ctrl", "A", "B"})
	o := tinyOpts("g0", "g1", "g2")
	o.Metrics = []string{metrics.DiscriminationL1, metrics.PDisc, metrics.PDiscNorm}
	rep, err := Evaluate(real, pred, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"A", "B"} {
		if v, _ := rep.Value("", p, metrics.DiscriminationL1); v != 0.5 {
			t.Errorf("%s: discrimination_score_l1 = %v, want 0.5", p, v)
		}
	}
	if s, _ := rep.Aggregate(metrics.PDiscNorm); s.Mean != 0 {
		t.Errorf("pdisc_norm = %v, want 0", s.Mean)
	}
	// Exclusion: name the perturbations after the genes that carry their
	// effect. Without g0 (for "g0") and g2 (for "g2"), δ_P("g0") = (0,0,[2])
	// masked to (·,0,2) vs δ_R: d to δR(g0)=(·,0,0) is 2, to δR(g2)=(·,0,2) is 0 → r = 1.
	real.Perts = []string{"ctrl", "g0", "g2"}
	pred.Perts = []string{"ctrl", "g0", "g2"}
	rep, err = Evaluate(real, pred, o)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := rep.Value("", "g0", metrics.DiscriminationL1); v != 0.5 {
		t.Errorf("g0 with exclusion: %v, want 0.5", v)
	}
}

// TestDEMetricsHandChecked exercises the DE metric rules on hand-made DE
// tables (5 genes).
func TestDEMetricsHandChecked(t *testing.T) {
	mk := func(fdr, lfc []float64) *de.Result { return &de.Result{FDR: fdr, LFC: lfc} }
	real := mk([]float64{0.01, 0.01, 0.5, 0.02, 0.04}, []float64{2, -1, 5, 0.5, -3})
	// real significant ranked by |LFC|: g4 (3), g0 (2), g1 (1), g3 (0.5) → k = 4
	pred := mk([]float64{0.01, 0.2, 0.01, 0.01, 0.01}, []float64{1, 1, 4, -0.2, -2})
	// pred significant ranked: g2 (4), g4 (2), g0 (1), g3 (0.2) → kp = 4
	v := deMetrics(real, pred, 0.05, 0)
	check := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-15 && !(math.IsNaN(want) && math.IsNaN(got)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("nsig_real", float64(v.nsigReal), 4)
	check("nsig_pred", float64(v.nsigPred), 4)
	check("overlap_at_N", v.overlapN, 3.0/4)     // {4,0,1,3} ∩ {2,4,0,3}
	check("overlap_at_50", v.overlapK[0], 3.0/4) // k_eff = 4
	check("precision_at_N", v.precisionN, 3.0/4) // 3 of 4 pred sig are real sig
	check("recall", v.recall, 3.0/4)             //
	check("direction", v.directionMatch, 2.0/4)  // g4 −/−, g0 +/+, g1 −/+, g3 +/−
	check("spearman", v.spearmanLFCSig, Spearman([]float64{-3, 2, -1, 0.5}, []float64{-2, 1, 1, -0.2}))
	// min |LFC| 1.5: real sig {g4, g0}, pred sig {g2, g4}
	v = deMetrics(real, pred, 0.05, 1.5)
	check("overlap_at_N minLFC", v.overlapN, 1.0/2)
	// no real significant gene: overlaps 0, recall/direction/spearman NaN
	none := mk([]float64{1, 1, 1, 1, 1}, []float64{0, 0, 0, 0, 0})
	v = deMetrics(none, pred, 0.05, 0)
	check("k=0 overlap", v.overlapN, 0)
	check("k=0 recall", v.recall, math.NaN())
	check("k=0 direction", v.directionMatch, math.NaN())
	check("k=0 spearman", v.spearmanLFCSig, math.NaN())
	v = deMetrics(real, none, 0.05, 0)
	check("kp=0 precision", v.precisionN, 0)
	check("kp=0 overlap", v.overlapN, 0)
}

func TestBadInput(t *testing.T) {
	base := func() (Input, Input) {
		r := tiny([][]float32{{1, 0}, {1, 2}, {0, 3}, {2, 2}}, []string{"ctrl", "A", "B", "A"})
		p := tiny([][]float32{{1, 0}, {1, 2}, {0, 3}, {2, 2}}, []string{"ctrl", "A", "B", "B"})
		return r, p
	}
	cases := []struct {
		name   string
		mutate func(r, p *Input, o *Options)
		want   string
	}{
		{"perturbation sets differ", func(r, p *Input, o *Options) { p.Perts[2] = "C"; p.Perts[3] = "C" }, "perturbation sets differ"},
		{"control missing in pred", func(r, p *Input, o *Options) { p.Perts[0] = "A" }, "pred: control label"},
		{"control missing in real", func(r, p *Input, o *Options) { r.Perts[0] = "A" }, "real: control label"},
		{"NaN in pred", func(r, p *Input, o *Options) { p.X.Data[1] = float32(math.NaN()) }, "NaN"},
		{"gene count differs", func(r, p *Input, o *Options) { p.X = p.X.SubsetCols([]int{0}) }, "gene counts differ"},
		{"label count", func(r, p *Input, o *Options) { p.Perts = p.Perts[:3] }, "3 perturbation labels for 4 cells"},
		{"contexts one side", func(r, p *Input, o *Options) { r.Contexts = []string{"a", "a", "a", "a"} }, "only one side"},
		{"context missing", func(r, p *Input, o *Options) {
			r.Contexts = []string{"a", "a", "a", "a"}
			p.Contexts = []string{"a", "a", "a", "b"}
		}, "contexts differ"},
		{"unknown profile", func(r, p *Input, o *Options) { o.Profile = "fast" }, "unknown profile"},
		{"bad fdr", func(r, p *Input, o *Options) { o.DEFDR = 0 }, "FDR threshold"},
		{"genes", func(r, p *Input, o *Options) { o.Genes = o.Genes[:1] }, "gene names"},
	}
	for _, c := range cases {
		r, p := base()
		o := tinyOpts("g0", "g1")
		c.mutate(&r, &p, &o)
		_, err := Evaluate(r, p, o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// With control reference real, pred controls are not needed.
	r, p := base()
	p.Perts[0] = "A"
	o := tinyOpts("g0", "g1")
	o.ControlRef = ControlReal
	rep, err := Evaluate(r, p, o)
	if err != nil {
		t.Fatalf("control-ref real without pred controls: %v", err)
	}
	// one-cell groups are computed and warned about
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "fewer than 2 cells") {
		t.Errorf("no warning for one-cell groups: %q", rep.Warnings)
	}
}

func TestSummarize(t *testing.T) {
	s := summarize("m", []float64{3, math.NaN(), 1, 2, 10})
	// hand-computed: values 1,2,3,10: mean 4, sample var ((9+4+1+36)/3) = 50/3
	if s.Count != 4 || s.NaNCount != 1 || s.Mean != 4 || s.Min != 1 || s.Max != 10 || s.Median != 2.5 ||
		math.Abs(s.Std-math.Sqrt(50.0/3)) > 1e-15 {
		t.Errorf("summarize = %+v", s)
	}
	if s := summarize("m", []float64{math.NaN()}); s.Count != 0 || !math.IsNaN(s.Mean) {
		t.Errorf("all-NaN summary = %+v", s)
	}
}

func TestBaselineScore(t *testing.T) {
	user := map[string]float64{metrics.MAE: 0.02, metrics.DiscriminationL1: 0.8, metrics.OverlapAtN: 0.05, metrics.DENSigReal: 3, metrics.PearsonDelta: math.NaN()}
	base := map[string]float64{metrics.MAE: 0.04, metrics.DiscriminationL1: 0.6, metrics.OverlapAtN: 0.1, metrics.DENSigReal: 5, metrics.PearsonDelta: 0.3}
	rows, avg, _ := BaselineScore([]string{metrics.PearsonDelta, metrics.MAE, metrics.DiscriminationL1, metrics.OverlapAtN, metrics.DENSigReal}, user, base)
	// hand-computed: pearson NaN → 0; mae 1 − 0.02/0.04 = 0.5; disc (0.8−0.6)/(1−0.6) = 0.5; overlap negative → 0; nsig has no direction
	want := []float64{0, 0.5, 0.5, 0}
	if len(rows) != 4 {
		t.Fatalf("rows = %+v", rows)
	}
	for i, w := range want {
		if math.Abs(rows[i].Score-w) > 1e-15 {
			t.Errorf("%s score = %v, want %v", rows[i].Metric, rows[i].Score, w)
		}
	}
	if math.Abs(avg-0.25) > 1e-15 {
		t.Errorf("avg = %v, want 0.25", avg)
	}
}

func TestAggRoundTrip(t *testing.T) {
	real := tiny([][]float32{{1, 0}, {1, 2}, {0, 3}, {2, 2}, {0, 1}}, []string{"ctrl", "A", "B", "A", "ctrl"})
	pred := tiny([][]float32{{1, 0}, {1, 1}, {0, 3}, {2, 2}, {1, 1}}, []string{"ctrl", "A", "B", "B", "ctrl"})
	rep, err := Evaluate(real, pred, tinyOpts("g0", "g1"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteAggCSV(&buf); err != nil {
		t.Fatal(err)
	}
	means, order, err := ReadAggMeans(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Aggregates {
		got := means[s.Metric]
		if !(got == s.Mean || math.IsNaN(got) && math.IsNaN(s.Mean)) {
			t.Errorf("%s: read %v, wrote %v", s.Metric, got, s.Mean)
		}
	}
	if len(order) != len(rep.Aggregates) {
		t.Errorf("order %v", order)
	}
	// A score against itself is 0 for every metric (no improvement).
	rows, avg, _ := BaselineScore(order, rep.AggMeans(), means)
	if avg != 0 {
		t.Errorf("self score %v: %+v", avg, rows)
	}
}

func TestCeilingDeterministic(t *testing.T) {
	in := tiny([][]float32{{1, 0}, {1, 2}, {0, 3}, {2, 2}, {0, 1}, {3, 3}}, []string{"ctrl", "A", "B", "A", "ctrl", "B"})
	a1, b1 := BootstrapHalves(in, 7)
	a2, _ := BootstrapHalves(in, 7)
	if fmt.Sprint(a1.X.Data) != fmt.Sprint(a2.X.Data) || a1.X.Rows != 6 || b1.X.Rows != 6 {
		t.Errorf("bootstrap halves not deterministic or wrong size")
	}
	if _, err := Ceiling(in, tinyOpts("g0", "g1"), 7); err != nil {
		t.Fatal(err)
	}
}

// ExampleEvaluate scores a prediction that swaps two perturbations.
func ExampleEvaluate() {
	genes := []string{"g0", "g1", "g2"}
	x := func(rows ...[]float32) *data.CSR {
		var d []float32
		for _, r := range rows {
			d = append(d, r...)
		}
		return data.NewCSRFromDense(len(rows), 3, d)
	}
	real := Input{X: x([]float32{1, 1, 1}, []float32{2, 1, 1}, []float32{1, 1, 3}), Perts: []string{"non-targeting", "A", "B"}}
	pred := Input{X: x([]float32{1, 1, 1}, []float32{1, 1, 3}, []float32{2, 1, 1}), Perts: []string{"non-targeting", "A", "B"}}
	opts := DefaultOptions()
	opts.Genes = genes
	opts.Metrics = []string{"mae", "discrimination_score_l1", "pdisc_norm"}
	rep, err := Evaluate(real, pred, opts)
	if err != nil {
		panic(err)
	}
	for _, s := range rep.Aggregates {
		fmt.Printf("%s %.4g\n", s.Metric, s.Mean)
	}
	// Output:
	// mae 1
	// discrimination_score_l1 0.5
	// pdisc_norm 0
}

// TestRegistryAndProfiles: every metric this package computes is declared in
// metrics.All (aggregate-only ones with Kind Aggregate), and every profile
// lists only known metrics.
func TestRegistryAndProfiles(t *testing.T) {
	for _, m := range AllMetrics() {
		info, ok := metrics.All.Lookup(m)
		if !ok {
			t.Errorf("%s missing from metrics.All", m)
			continue
		}
		if aggregateOnly(m) != (info.Kind == metrics.Aggregate) {
			t.Errorf("%s: kind %v, aggregate-only %v", m, info.Kind, aggregateOnly(m))
		}
	}
	for name := range Profiles {
		list, err := ProfileMetrics(name)
		if err != nil || len(list) == 0 {
			t.Errorf("profile %s: %v %v", name, list, err)
		}
	}
	if got, _ := ProfileMetrics("vcc"); fmt.Sprint(got) != "[mae discrimination_score_l1 overlap_at_N]" {
		t.Errorf("vcc profile = %v", got)
	}
}
