package scib

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// scaled returns a copy of x with every coordinate multiplied by 2^e
// (exact in float64).
func scaled(x *data.Dense, e int) *data.Dense {
	out := &data.Dense{Rows: x.Rows, Cols: x.Cols, Data: make([]float64, len(x.Data))}
	for i, v := range x.Data {
		out.Data[i] = math.Ldexp(v, e)
	}
	return out
}

// fastOptions are DefaultOptions with small sweeps (the robustness cases
// need every metric, not the full Louvain/Leiden sweeps).
func fastOptions() Options {
	o := DefaultOptions()
	o.Resolutions = []float64{0.5, 1}
	o.LeidenResolutions = []float64{0.5, 1}
	o.Workers = 2
	return o
}

// TestBenchmarkScaleRobust: an embedding at 2^530 (coordinates around
// 1e160, whose squared distances overflow float64; k-means++ used to pick
// a centre at index −1 and panic) or at 2^-530 scores exactly as the same
// embedding inside float64's safe range would: it is rescaled by a power
// of two (exact), so every metric equals the unscaled one bit for bit,
// and the note says so. The reference is the embedding at the scale the
// conditioning brings it to (its median magnitude in [0.5, 1)), which is
// not rescaled itself.
func TestBenchmarkScaleRobust(t *testing.T) {
	x, lab, bat := blobs(7, 3, 2, 20, 4, 0.5)
	_, eMed := medianExponent(x)
	ref := scaled(x, -eMed) // median magnitude in [0.5, 1): left as is
	opt := fastOptions()
	opt.Pre = ref
	want, err := Benchmark(ref, lab, bat, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Notes) != 0 {
		t.Fatalf("reference was conditioned: %v", want.Notes)
	}
	for _, e := range []int{530, -530, 200, -200} {
		big := scaled(ref, e)
		o := opt
		o.Pre = big
		got, err := Benchmark(big, lab, bat, o)
		if err != nil {
			t.Fatalf("2^%d: %v", e, err)
		}
		if len(got.Notes) != 2 || !strings.Contains(got.Notes[0], "rescaled by 2^") {
			t.Errorf("2^%d: notes %v, want the embedding and the pre-integration one rescaled", e, got.Notes)
		}
		for i, v := range want.Values {
			w := got.Values[i]
			if v.Value != w.Value && !(math.IsNaN(v.Value) && math.IsNaN(w.Value)) {
				t.Errorf("2^%d: %s = %v, want %v as unscaled", e, v.Name, w.Value, v.Value)
			}
		}
		for _, name := range []string{CLISIName, ILISIName} {
			if v, _ := got.Get(name); !strings.Contains(v.Reason, "rescaled") {
				t.Errorf("2^%d: %s reason %q does not say the embedding was rescaled", e, name, v.Reason)
			}
		}
	}
}

// medianExponent returns the frexp exponent of the largest and of the
// median non-zero magnitude of x (naive twin of conditionEmbedding's
// histogram, by sorting).
func medianExponent(x *data.Dense) (int, int) {
	var mags []float64
	maxAbs := 0.0
	for _, v := range x.Data {
		if a := math.Abs(v); a > 0 {
			mags = append(mags, a)
			maxAbs = max(maxAbs, a)
		}
	}
	for i := 1; i < len(mags); i++ {
		for j := i; j > 0 && mags[j] < mags[j-1]; j-- {
			mags[j], mags[j-1] = mags[j-1], mags[j]
		}
	}
	_, eMax := math.Frexp(maxAbs)
	_, eMed := math.Frexp(mags[(len(mags)-1)/2])
	return eMax, eMed
}

// TestConditionEmbeddingMedianExponent checks the histogram median of
// conditionEmbedding against sorting, on random magnitudes spread over
// many binades.
func TestConditionEmbeddingMedianExponent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for trial := 0; trial < 20; trial++ {
		x := &data.Dense{Rows: 30, Cols: 3, Data: make([]float64, 90)}
		shift := rng.IntN(600) - 300
		for i := range x.Data {
			if rng.IntN(5) == 0 {
				continue // zeros are left out of the median
			}
			x.Data[i] = math.Ldexp(rng.NormFloat64(), shift+rng.IntN(40))
		}
		_, eMed := medianExponent(x)
		out, note, err := conditionEmbedding(x, "embedding")
		if err != nil {
			t.Fatal(err)
		}
		if note == "" {
			if out != x {
				t.Fatal("unconditioned embedding was copied")
			}
			continue
		}
		_, gotMed := medianExponent(out)
		if gotMed != 0 {
			t.Errorf("trial %d: after conditioning the median exponent is %d, want 0 (input median exponent %d)", trial, gotMed, eMed)
		}
	}
}

// TestBenchmarkNoPanicNoSilentNaN: degenerate and extreme embeddings never
// panic, and every NaN carries its reason (results.json promises it). An
// embedding whose magnitudes span beyond float64 (one coordinate 1e200
// among values near 1: the other cells' squared differences underflow
// beside it, which used to make three metrics NaN with no reason and
// wreck NMI) is an error naming the coordinate.
func TestBenchmarkNoPanicNoSilentNaN(t *testing.T) {
	x, lab, bat := blobs(11, 3, 2, 12, 3, 0.3)
	mod := func(f func(d []float64)) *data.Dense {
		y := &data.Dense{Rows: x.Rows, Cols: x.Cols, Data: append([]float64(nil), x.Data...)}
		f(y.Data)
		return y
	}
	cases := []struct {
		name    string
		x       *data.Dense
		wantErr string
	}{
		{"one coordinate 1e200", mod(func(d []float64) { d[9] = 1e200 }), "value 1e+200 at cell 3, column 0"},
		{"one coordinate -1e300", mod(func(d []float64) { d[4] = -1e300 }), "value -1e+300 at cell 1, column 1"},
		{"values near 1e-200, one near 1", mod(func(d []float64) {
			for i := range d {
				d[i] *= 1e-200
			}
			d[0] = 1
		}), "value 1 at cell 0, column 0"},
		{"one coordinate 1e100", mod(func(d []float64) { d[9] = 1e100 }), ""},
		{"one coordinate 1e30", mod(func(d []float64) { d[9] = 1e30 }), ""},
		{"all zero", mod(func(d []float64) { clear(d) }), ""},
		{"constant", mod(func(d []float64) {
			for i := range d {
				d[i] = 3
			}
		}), ""},
		{"all 1e300", mod(func(d []float64) {
			for i := range d {
				d[i] = 1e300
			}
		}), ""},
		{"two points", mod(func(d []float64) {
			for i := range d {
				d[i] = float64((i / 3) % 2)
			}
		}), ""},
		{"max float", mod(func(d []float64) {
			for i := range d {
				d[i] = math.MaxFloat64 * float64(i%3-1)
			}
		}), ""},
		{"smallest subnormals", mod(func(d []float64) {
			for i := range d {
				d[i] = math.SmallestNonzeroFloat64 * float64(i%5)
			}
		}), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := fastOptions()
			opt.Pre = c.x
			rep, err := Benchmark(c.x, lab, bat, opt)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range rep.Values {
				if math.IsInf(v.Value, 0) {
					t.Errorf("%s = %v", v.Name, v.Value)
				}
				if math.IsNaN(v.Value) && v.Reason == "" {
					t.Errorf("%s is NaN without a reason", v.Name)
				}
			}
		})
	}
}

// TestKMeansPlusPlusNonFinite: k-means++ on coordinates whose squared
// distances overflow (Benchmark conditions its input so this cannot reach
// it) still returns k centres of cells and never panics.
func TestKMeansPlusPlusNonFinite(t *testing.T) {
	x, _, _ := blobs(5, 4, 1, 10, 3, 0)
	big := scaled(x, 530)
	c := KMeansPlusPlusInit(big, 4, rand.New(rand.NewPCG(0, 0)))
	if len(c) != 4 {
		t.Fatalf("%d centres, want 4", len(c))
	}
}

// TestKNNTransferScaleRobust: cross-batch kNN typing of an embedding at
// 2^530 (squared distances +Inf before) equals that at scale 1, and a
// 1e200 coordinate is an error.
func TestKNNTransferScaleRobust(t *testing.T) {
	x, lab, _ := blobs(9, 3, 1, 20, 3, 0)
	ref, query := subsetRows(x, seq(0, 40)), subsetRows(x, seq(40, 60))
	a0, b0, err := KNNTransfer(ref, lab[:40], query, lab[40:], 5)
	if err != nil {
		t.Fatal(err)
	}
	a1, b1, err := KNNTransfer(scaled(ref, 530), lab[:40], scaled(query, 530), lab[40:], 5)
	if err != nil || a1 != a0 || b1 != b0 {
		t.Errorf("at 2^530: %v %v (%v), want %v %v", a1, b1, err, a0, b0)
	}
	bad := scaled(query, 0)
	bad.Data[0] = 1e200
	if _, _, err := KNNTransfer(ref, lab[:40], bad, lab[40:], 5); err == nil || !strings.Contains(err.Error(), "value 1e+200") {
		t.Errorf("1e200: err = %v", err)
	}
}

func seq(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}
