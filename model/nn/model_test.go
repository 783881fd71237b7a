package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := NewBackendFromConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBackendSelection(t *testing.T) {
	b, err := NewBackendFromConfig("")
	if err != nil || b.Name() != "Go Backend" || BackendConfig() != "go" {
		t.Fatalf("default backend: %v %v", b, err)
	}
	_, err = NewBackendFromConfig("nosuch")
	if err == nil || !strings.Contains(err.Error(), "unknown backend") {
		t.Fatalf("unknown backend error: %v", err)
	}
	// No PJRT plugin is installed on these machines (TOOLCHAIN.md): asking for
	// XLA must fail loudly and name PJRT_PLUGIN_LIBRARY_PATH, never fall back.
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	_, err = NewBackendFromConfig("xla:cpu")
	if err == nil {
		t.Skip("an XLA PJRT plugin is installed here; the no-plugin error cannot be exercised")
	}
	if !strings.Contains(err.Error(), "PJRT_PLUGIN_LIBRARY_PATH") {
		t.Fatalf("xla error does not name PJRT_PLUGIN_LIBRARY_PATH: %v", err)
	}
}

func TestScheduleGraphMatchesGo(t *testing.T) {
	s := Schedule{PeakLR: 1e-3, Warmup: 10, Total: 100, FinalFrac: 0.3}
	// Hand-computed: step 0 → 1e-4 (1/10 of peak), step 9 → peak, step 10 →
	// peak (p=0), step 55 → p=0.5 → 0.3+0.7·0.5 = 0.65·peak, step 100+ → 0.3·peak.
	for _, tc := range []struct {
		step int64
		want float64
	}{{0, 1e-4}, {9, 1e-3}, {10, 1e-3}, {55, 6.5e-4}, {100, 3e-4}, {500, 3e-4}} {
		if got := s.At(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("At(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
	exec := MustNewExec(goBackend(t), func(step *Node) *Node { return s.Graph(step, dtypes.Float32) })
	for step := int64(0); step < 120; step += 7 {
		got := float64(tensors.ToScalar[float32](exec.MustCall1(step)))
		if math.Abs(got-s.At(step)) > 1e-9 {
			t.Errorf("Graph(%d) = %g, At = %g", step, got, s.At(step))
		}
	}
}

// energyRef is the float64 reference: E|X−Y| − ½E|X−X'| − ½E|Y−Y'|.
func energyRef(x, y [][]float64) float64 {
	dist := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += (a[i] - b[i]) * (a[i] - b[i])
		}
		return math.Sqrt(s)
	}
	mean := func(a, b [][]float64) float64 {
		s := 0.0
		for _, p := range a {
			for _, q := range b {
				s += dist(p, q)
			}
		}
		return s / float64(len(a)*len(b))
	}
	return mean(x, y) - 0.5*mean(x, x) - 0.5*mean(y, y)
}

func TestEnergyDistance(t *testing.T) {
	backend := goBackend(t)
	exec := MustNewExec(backend, func(x, y, xm, ym *Node) *Node { return EnergyDistance(x, y, xm, ym) })
	// 1-D case against scipy 1.10.1: scipy.stats.energy_distance(u, v) = 0.90138781886599
	// with u = [0, 2, 3.5, −1], v = [1, 1.5, 4] (y padded with one masked cell);
	// our value is scipy²/2 = 0.40625.
	x := tensors.FromFlatDataAndDimensions([]float32{0, 2, 3.5, -1}, 1, 4, 1)
	y := tensors.FromFlatDataAndDimensions([]float32{1, 1.5, 4, 99}, 1, 4, 1)
	xm := tensors.FromFlatDataAndDimensions([]bool{true, true, true, true}, 1, 4)
	ym := tensors.FromFlatDataAndDimensions([]bool{true, true, true, false}, 1, 4)
	got := tensors.MustCopyFlatData[float32](exec.MustCall1(x, y, xm, ym))[0]
	if math.Abs(float64(got)-0.40625) > 1e-4 {
		t.Errorf("1-D energy = %v, want 0.40625 (scipy)", got)
	}
	// 3-D random sets against the float64 reference, two sets per batch.
	B, N, M, D := 2, 5, 3, 3
	xs := make([]float32, B*N*D)
	ys := make([]float32, B*M*D)
	for i := range xs {
		xs[i] = float32(math.Sin(float64(i)*1.3)) * 2
	}
	for i := range ys {
		ys[i] = float32(math.Cos(float64(i) * 0.7))
	}
	xmask := make([]bool, B*N)
	for i := range xmask {
		xmask[i] = true
	}
	ymask := []bool{true, true, true, true, true, false}
	out := tensors.MustCopyFlatData[float32](exec.MustCall1(
		tensors.FromFlatDataAndDimensions(xs, B, N, D), tensors.FromFlatDataAndDimensions(ys, B, M, D),
		tensors.FromFlatDataAndDimensions(xmask, B, N), tensors.FromFlatDataAndDimensions(ymask, B, M)))
	for b := range B {
		var xr, yr [][]float64
		for n := range N {
			row := make([]float64, D)
			for d := range D {
				row[d] = float64(xs[(b*N+n)*D+d])
			}
			xr = append(xr, row)
		}
		for m := range M {
			if !ymask[b*M+m] {
				continue
			}
			row := make([]float64, D)
			for d := range D {
				row[d] = float64(ys[(b*M+m)*D+d])
			}
			yr = append(yr, row)
		}
		want := energyRef(xr, yr)
		if math.Abs(float64(out[b])-want) > 1e-4 {
			t.Errorf("set %d: energy = %v, want %v (float64 reference)", b, out[b], want)
		}
	}
	// Identical sets → 0 (up to the sqrt(eps) guard).
	same := tensors.MustCopyFlatData[float32](exec.MustCall1(
		tensors.FromFlatDataAndDimensions(xs, B, N, D), tensors.FromFlatDataAndDimensions(xs, B, N, D),
		tensors.FromFlatDataAndDimensions(xmask, B, N), tensors.FromFlatDataAndDimensions(xmask, B, N)))
	for b, v := range same {
		if math.Abs(float64(v)) > 1e-3 {
			t.Errorf("identical sets %d: energy %v, want 0", b, v)
		}
	}
}

func TestEnergyDistanceGradientFinite(t *testing.T) {
	exec := MustNewExec(goBackend(t), func(x *Node) *Node {
		e := ReduceAllSum(EnergyDistance(x, x, nil, nil))
		return Gradient(e, x)[0]
	})
	x := tensors.FromFlatDataAndDimensions([]float32{1, 2, 1, 2, 3, 4}, 1, 3, 2) // duplicate points
	for i, v := range tensors.MustCopyFlatData[float32](exec.MustCall1(x)) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("gradient[%d] = %v", i, v)
		}
	}
}

func TestMMDRBF(t *testing.T) {
	// Hand-computed: x = {0}, y = {1} (1-D), σ = 1: k(0,1) = e^{−1/2};
	// MMD² = 1 + 1 − 2e^{−1/2} = 0.786938680574733.
	exec := MustNewExec(goBackend(t), func(x, y *Node) *Node { return MMDRBF(x, y, nil, nil, 1) })
	got := tensors.MustCopyFlatData[float32](exec.MustCall1(
		tensors.FromFlatDataAndDimensions([]float32{0}, 1, 1, 1), tensors.FromFlatDataAndDimensions([]float32{1}, 1, 1, 1)))[0]
	if math.Abs(float64(got)-0.786938680574733) > 1e-5 {
		t.Errorf("MMD² = %v", got)
	}
}

func TestLogGammaAndNB(t *testing.T) {
	backend := goBackend(t)
	lg := MustNewExec(backend, LogGamma)
	xs := []float32{0.05, 0.5, 1, 1.5, 2, 3.7, 10, 55.5, 300, 9999}
	got := tensors.MustCopyFlatData[float32](lg.MustCall1(tensors.FromFlatDataAndDimensions(xs, len(xs))))
	for i, x := range xs {
		want, _ := math.Lgamma(float64(x))
		if math.Abs(float64(got[i])-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("LogGamma(%v) = %v, want %v (math.Lgamma)", x, got[i], want)
		}
	}
	// −log NB against scipy 1.10.1 -nbinom.logpmf(y, n=θ, p=θ/(θ+μ)).
	nb := MustNewExec(backend, NegativeBinomialNLL)
	cases := []struct{ y, mu, theta, want float64 }{
		{0, 1, 1, 0.6931471805599453},
		{3, 2.5, 0.7, 2.42901265051},
		{10, 4, 20, 4.751283621266651},
		{7, 0.3, 2, 12.458255833897764},
	}
	nbf := MustNewExec(backend, NegativeBinomialNLLWithLogFactorial)
	for _, c := range cases {
		got := float64(tensors.ToScalar[float32](nb.MustCall1(float32(c.y), float32(c.mu), float32(c.theta))))
		if math.Abs(got-c.want) > 2e-5*math.Max(1, c.want) {
			t.Errorf("NB NLL(y=%v, μ=%v, θ=%v) = %v, want %v (scipy)", c.y, c.mu, c.theta, got, c.want)
		}
		lf, _ := math.Lgamma(c.y + 1)
		got = float64(tensors.ToScalar[float32](nbf.MustCall1(float32(c.y), float32(lf), float32(c.mu), float32(c.theta))))
		if math.Abs(got-c.want) > 2e-5*math.Max(1, c.want) {
			t.Errorf("NB NLL with ln y!(y=%v, μ=%v, θ=%v) = %v, want %v (scipy)", c.y, c.mu, c.theta, got, c.want)
		}
	}
}

func TestCrossEntropy(t *testing.T) {
	// Hand-computed: logits [0, ln 3] → p = [1/4, 3/4]; label 1 → −ln 0.75;
	// second row masked out.
	exec := MustNewExec(goBackend(t), func(l, y, m *Node) *Node { return CrossEntropyLogits(l, y, m) })
	got := tensors.ToScalar[float32](exec.MustCall1(
		tensors.FromFlatDataAndDimensions([]float32{0, float32(math.Log(3)), 5, -5}, 2, 2),
		tensors.FromFlatDataAndDimensions([]int32{1, 1}, 2),
		tensors.FromFlatDataAndDimensions([]bool{true, false}, 2)))
	if math.Abs(float64(got)+math.Log(0.75)) > 1e-6 {
		t.Errorf("cross-entropy = %v, want %v", got, -math.Log(0.75))
	}
}

func TestSetBatching(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{1, 1}, {2, 8}, {32, 32}, {33, 64}, {100, 128}, {600, 1024}} {
		if got := BucketSize(tc.n, DefaultSetBuckets); got != tc.want {
			t.Errorf("BucketSize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	rows := make([]int, 70)
	for i := range rows {
		rows[i] = 100 + i
	}
	sets := ChunkSets(rows, 32, DefaultSetBuckets)
	if len(sets) != 3 || len(sets[2].Rows) != 8 || sets[2].N != 6 || sets[2].Mask[6] || !sets[2].Mask[5] || sets[2].Rows[7] != 164 {
		t.Fatalf("ChunkSets: %+v", sets)
	}
	sizes, by := GroupBySize(sets)
	if len(sizes) != 2 || sizes[0] != 8 || len(by[32]) != 2 {
		t.Fatalf("GroupBySize: %v %v", sizes, by)
	}
}
