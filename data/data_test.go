package data

import (
	"math"
	"strings"
	"testing"
)

func csr(rows, cols int, vals ...float32) *CSR { return NewCSRFromDense(rows, cols, vals) }

func TestDetectScale(t *testing.T) {
	cases := []struct {
		name    string
		m       *CSR
		want    Scale
		wantErr string
	}{
		{"counts", csr(2, 3, 0, 1, 5, 2, 0, 100), Counts, ""},
		{"all zero is counts", csr(2, 2, 0, 0, 0, 0), Counts, ""},
		{"log1p", csr(2, 2, 0.69, 1.1, 0, 2.3), Log1p, ""},
		{"log1p with an empty cell", csr(2, 2, 0.69, 1.1, 0, 0), Log1p, ""},
		{"negative", csr(1, 2, -1, 2), 0, "negative value -1"},
		{"NaN", csr(1, 2, float32(math.NaN()), 2), 0, "non-finite"},
		{"fractional ≥ 15", csr(1, 2, 15.5, 2), 0, "non-integer value 15.5"},
		{"mixed counts and log1p cells", csr(2, 2, 0.69, 1.1, 3, 7), 0, "mixed scale"},
		// SPEC: log1p values lie in [0, 15): an integer ≥ 15 beside
		// non-integer values is neither scale (it passed as log1p before).
		{"log1p with an integer 20", csr(2, 2, 0.69, 20, 0, 2.3), 0, "value 20 ≥ 15 at cell 0, gene 1"},
		{"log1p with an integer 1e30", csr(2, 2, 0.69, 1.1, 1e30, 2.3), 0, "value 1e+30 ≥ 15 at cell 1, gene 0"},
		{"log1p with exactly 15", csr(1, 2, 0.5, 15), 0, "value 15 ≥ 15"},
		{"counts with 20 and 1e30", csr(2, 2, 20, 1, 1e30, 2), Counts, ""},
	}
	for _, c := range cases {
		rep, err := DetectScale(c.m)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || rep.Scale != c.want {
			t.Errorf("%s: got %v, %v; want %v", c.name, rep.Scale, err, c.want)
		}
	}
}

func TestNormalizeLog1p(t *testing.T) {
	// Hand-computed: cell 0 total 4 → x·10/4; cell 1 total 10 → x·10/10.
	m := csr(2, 2, 1, 3, 0, 10)
	got := NormalizeLog1p(m, 10)
	want := []float64{math.Log1p(2.5), math.Log1p(7.5), math.Log1p(10)}
	for k, w := range want {
		if math.Abs(float64(got.Data[k])-w) > 1e-6 {
			t.Errorf("value %d = %v, want %v", k, got.Data[k], w)
		}
	}
	// targetSum 0 = median library size of non-empty cells: median(4, 10) = 7.
	got = NormalizeLog1p(m, 0)
	if w := math.Log1p(7.0 / 4); math.Abs(float64(got.Data[0])-w) > 1e-6 {
		t.Errorf("median target: %v, want %v", got.Data[0], w)
	}
}

func TestToLog1pContract(t *testing.T) {
	d := &Dataset{Path: "x.h5ad", X: csr(1, 2, 0.5, 1.5)}
	if _, err := ToLog1p(d, "counts", 1e4); err == nil || !strings.Contains(err.Error(), "looks like log1p") {
		t.Errorf("log1p data declared counts: err = %v", err)
	}
	d = &Dataset{Path: "x.h5ad", X: csr(1, 2, 20, 100)}
	if _, err := ToLog1p(d, "log1p", 1e4); err == nil || !strings.Contains(err.Error(), "looks like counts") {
		t.Errorf("counts declared log1p: err = %v", err)
	}
	if _, err := ToLog1p(d, "auto", 1e4); err != nil || d.Scale != Counts {
		t.Errorf("auto on counts: %v, scale %v", err, d.Scale)
	}
	// An unusable target sum is the caller's error, not the file's.
	for _, ts := range []float64{-1, -1e-9, math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := ToLog1p(d, "auto", ts)
		if err == nil || !strings.Contains(err.Error(), "want a library size > 0") || strings.Contains(err.Error(), "x.h5ad") {
			t.Errorf("target sum %v: err = %v", ts, err)
		}
	}
	for _, ts := range []float64{0, 1, 1e4} {
		if err := CheckTargetSum(ts); err != nil {
			t.Errorf("target sum %v: %v", ts, err)
		}
	}
}

func TestAlignGenes(t *testing.T) {
	perm, err := AlignGenes([]string{"a", "b", "c"}, []string{"c", "a", "b"})
	if err != nil || perm[0] != 1 || perm[1] != 2 || perm[2] != 0 {
		t.Fatalf("perm %v, %v", perm, err)
	}
	_, err = AlignGenes([]string{"a", "b"}, []string{"a", "z"})
	if err == nil || !strings.Contains(err.Error(), `1 missing ("b"), 1 extra ("z")`) {
		t.Fatalf("err = %v", err)
	}
	// A trailing space is visible in the message (it was not before).
	_, err = AlignGenes([]string{"KAZN", "g"}, []string{"KAZN ", "g"})
	if err == nil || !strings.Contains(err.Error(), `1 missing ("KAZN"), 1 extra ("KAZN ")`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := AlignGenes([]string{"a"}, []string{"a", "a"}); err == nil {
		t.Fatal("duplicate accepted")
	}
}

func TestCSRRoundTrips(t *testing.T) {
	m := csr(3, 4, 1, 0, 2, 0, 0, 0, 0, 3, 4, 5, 0, 0)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	back := m.ToCSC().ToCSR()
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			if back.At(i, j) != m.At(i, j) {
				t.Fatalf("(%d,%d) %v != %v", i, j, back.At(i, j), m.At(i, j))
			}
		}
	}
	s := m.SubsetCols([]int{3, 0})
	if s.At(0, 1) != 1 || s.At(1, 0) != 3 || s.At(2, 1) != 4 {
		t.Fatalf("SubsetCols wrong: %+v", s)
	}
	r := m.SubsetRows([]int{2, 2, 0})
	if r.At(0, 1) != 5 || r.At(1, 0) != 4 || r.At(2, 2) != 2 {
		t.Fatalf("SubsetRows wrong: %+v", r)
	}
}

// TestHVGSmall checks the seurat-flavour dispersion on a hand-sized case:
// gene 2 is constant (dispersion NaN, ranked last), gene 0 varies most.
func TestHVGSmall(t *testing.T) {
	m := csr(4, 3,
		0, 1, 1,
		5, 1, 1,
		0, 2, 1,
		6, 1, 1)
	res, err := HighlyVariableGenes(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(res.Dispersions[2]) {
		t.Errorf("constant gene dispersion %v, want NaN", res.Dispersions[2])
	}
	// Gene 0: x̃ = expm1(0,5,0,6); mean = (e^5 + e^6 - 2)/4.
	mu := (math.Expm1(5) + math.Expm1(6)) / 4
	if math.Abs(res.Means[0]-math.Log1p(mu)) > 1e-9 {
		t.Errorf("mean %v, want %v", res.Means[0], math.Log1p(mu))
	}
	if len(res.Selected) != 1 || res.Selected[0] != 0 {
		t.Errorf("selected %v, want [0]", res.Selected)
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry(t.TempDir())
	if _, err := r.Path("tahoe-100m"); err == nil || !strings.Contains(err.Error(), "not available here") {
		t.Errorf("upstream-only: %v", err)
	}
	if _, err := r.Path("nope"); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("unknown: %v", err)
	}
	if _, err := r.Path("tapseq"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing file: %v", err)
	}
}
