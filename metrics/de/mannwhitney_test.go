package de

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// smallCases: expected values from scipy 1.10.1 (Debian bookworm python3)
// scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic",
// use_continuity=True); statistic is U1 of x.
var smallCases = []struct {
	name string
	x, y []float64
	u, p float64
}{
	{"ties", []float64{1, 2, 2, 3, 0, 0}, []float64{2, 2, 0, 0, 0, 5, 1}, 22.5, 0.8812705959975824},
	{"all zero (σ = 0)", []float64{0, 0, 0}, []float64{0, 0, 0, 0}, 6.0, 1.0},
	{"one cell", []float64{3.5}, []float64{0, 1, 2, 3, 4, 0}, 5.0, 0.44917720161029007},
	{"identical groups", []float64{0, 1, 1, 2, 3}, []float64{0, 1, 1, 2, 3}, 12.5, 1.0},
	{"separated", []float64{5, 6, 7, 8, 9, 10}, []float64{0, 0, 1, 2, 3, 0, 0, 0}, 48.0, 0.0019170134510058958},
	{"negatives", []float64{-1, 0, 0, 2.5, -1}, []float64{0, -2, -1, 0, 3, 0}, 15.0, 1.0},
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300)
}

func TestMannWhitneySmall(t *testing.T) {
	for _, c := range smallCases {
		u, p := MannWhitney(c.x, c.y)
		if u != c.u || relErr(p, c.p) > 1e-12 {
			t.Errorf("%s: MannWhitney = (%v, %v), want (%v, %v)", c.name, u, p, c.u, c.p)
		}
	}
}

// caseCSR builds a one-gene matrix whose first len(x) cells are the target
// and the rest the reference.
func caseCSR(x, y []float64) (*data.CSR, []int, []int) {
	n := len(x) + len(y)
	dense := make([]float32, n)
	var tgt, ref []int
	for i, v := range x {
		dense[i] = float32(v)
		tgt = append(tgt, i)
	}
	for i, v := range y {
		dense[len(x)+i] = float32(v)
		ref = append(ref, len(x)+i)
	}
	return data.NewCSRFromDense(n, 1, dense), tgt, ref
}

func TestTestGroupsSmall(t *testing.T) {
	for _, c := range smallCases {
		m, tgt, refRows := caseCSR(c.x, c.y)
		ref, err := NewReference(m, refRows, 1)
		if err != nil {
			t.Fatal(err)
		}
		st, err := TestGroups(m, [][]int{tgt}, ref, 1)
		if err != nil {
			t.Fatal(err)
		}
		if st[0].U[0] != c.u || relErr(st[0].P[0], c.p) > 1e-12 {
			t.Errorf("%s: TestGroups = (%v, %v), want (%v, %v)", c.name, st[0].U[0], st[0].P[0], c.u, c.p)
		}
	}
}

// naiveMWU is an independent textbook implementation used as a cross-check:
// pool, sort, average ranks of ties, rank sum, tie term from the runs.
func naiveMWU(x, y []float64) (float64, float64) {
	type e struct {
		v   float64
		isX bool
	}
	var all []e
	for _, v := range x {
		all = append(all, e{v, true})
	}
	for _, v := range y {
		all = append(all, e{v, false})
	}
	slices.SortFunc(all, func(a, b e) int {
		if a.v < b.v {
			return -1
		} else if a.v > b.v {
			return 1
		}
		return 0
	})
	r1, tie := 0.0, 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if all[k].isX {
				r1 += avg
			}
		}
		t := float64(j - i)
		tie += t*t*t - t
		i = j
	}
	n1 := float64(len(x))
	u1 := r1 - n1*(n1+1)/2
	return u1, pValue(u1, len(x), len(y), tie)
}

// TestTestGroupsRandom cross-checks the rank-once kernel against the naive
// pooled-sort implementation on random sparse integer-ish data (many ties,
// many zeros, a few negatives), several groups, several gene blocks, with 1
// and 3 threads.
func TestTestGroupsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cells, genes := 400, 600 // 600 genes = 3 blocks
	dense := make([]float32, cells*genes)
	for i := range dense {
		switch u := rng.Float64(); {
		case u < 0.6:
		case u < 0.62:
			dense[i] = -float32(rng.IntN(3) + 1)
		case u < 0.9:
			dense[i] = float32(rng.IntN(5) + 1)
		default:
			dense[i] = float32(rng.Float64() * 4)
		}
	}
	// gene 7 all zero, gene 8 constant 2 everywhere
	for i := 0; i < cells; i++ {
		dense[i*genes+7] = 0
		dense[i*genes+8] = 2
	}
	m := data.NewCSRFromDense(cells, genes, dense)
	perm := rng.Perm(cells)
	refRows := perm[:150]
	groups := [][]int{perm[150:151], perm[151:200], perm[200:400]}
	for _, threads := range []int{1, 3} {
		ref, err := NewReference(m, refRows, threads)
		if err != nil {
			t.Fatal(err)
		}
		st, err := TestGroups(m, groups, ref, threads)
		if err != nil {
			t.Fatal(err)
		}
		col := func(rows []int, g int) []float64 {
			out := make([]float64, len(rows))
			for k, r := range rows {
				out[k] = float64(dense[r*genes+g])
			}
			return out
		}
		for gi, rows := range groups {
			for g := 0; g < genes; g++ {
				x, y := col(rows, g), col(refRows, g)
				wu, wp := naiveMWU(x, y)
				if st[gi].U[g] != wu || relErr(st[gi].P[g], wp) > 1e-12 {
					t.Fatalf("threads %d group %d gene %d: got (%v, %v), naive (%v, %v)", threads, gi, g, st[gi].U[g], st[gi].P[g], wu, wp)
				}
				mean := 0.0
				for _, v := range x {
					mean += v
				}
				mean /= float64(len(x))
				if math.Abs(st[gi].Mean[g]-mean) > 1e-12 {
					t.Fatalf("mean mismatch group %d gene %d: %v vs %v", gi, g, st[gi].Mean[g], mean)
				}
			}
			if st[gi].P[7] != 1 || st[gi].P[8] != 1 {
				t.Errorf("constant genes: p = %v, %v, want 1, 1 (σ = 0)", st[gi].P[7], st[gi].P[8])
			}
		}
	}
}

func TestErrors(t *testing.T) {
	m := data.NewCSRFromDense(3, 1, []float32{1, float32(math.NaN()), 0})
	if _, err := NewReference(m, []int{0, 1}, 1); err == nil {
		t.Error("NaN in reference: no error")
	}
	if _, err := NewReference(m, nil, 1); err == nil {
		t.Error("empty reference: no error")
	}
	ref, err := NewReference(m, []int{0, 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TestGroups(m, [][]int{{1}}, ref, 1); err == nil {
		t.Error("NaN in target: no error")
	}
	if _, err := TestGroups(m, [][]int{{}}, ref, 1); err == nil {
		t.Error("empty target: no error")
	}
}

func TestBenjaminiHochberg(t *testing.T) {
	// statsmodels 0.13.5 multipletests(p, method="fdr_bh")[1]
	p := []float64{0.01, 0.04, 0.03, 0.2, 0.04, 1.0, 0.0005}
	want := []float64{0.035, 0.056, 0.056, 0.23333333333333336, 0.056, 1.0, 0.0035}
	got := BenjaminiHochberg(p)
	for i := range want {
		if relErr(got[i], want[i]) > 1e-15 {
			t.Errorf("q[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestLog2FoldChange(t *testing.T) {
	// hand-computed: expm1(log1p(3)) = 3, expm1(log1p(1)) = 1 → log2(3/1)
	cases := []struct {
		t, r, eps, want float64
	}{
		{math.Log1p(3), math.Log1p(1), 0, math.Log2(3)},
		{math.Log1p(3), math.Log1p(1), 1e-9, math.Log2((3 + 1e-9) / (1 + 1e-9))},
		{0, 0, 0, 0},                       // 0/0 → 0 (pdex)
		{0, 0, 1e-9, 0},                    // ε/ε
		{math.Log1p(1), 0, 0, math.Inf(1)}, // one-sided zero with ε = 0
		{0, math.Log1p(1), 1e-9, math.Log2(1e-9 / (1 + 1e-9))},
	}
	for _, c := range cases {
		if got := Log2FoldChange(c.t, c.r, c.eps); got != c.want && relErr(got, c.want) > 1e-12 {
			t.Errorf("Log2FoldChange(%v, %v, %v) = %v, want %v", c.t, c.r, c.eps, got, c.want)
		}
	}
}

// TestSortKeys: the radix path and the short path order keys exactly as the
// floats they encode (negatives, positives, repeats).
func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{5, 127, 128, 1000, 5000} {
		f := make([]float32, n)
		for i := range f {
			f[i] = float32(rng.NormFloat64() * 3)
			if i%7 == 0 {
				f[i] = float32(rng.IntN(4)) // repeats
			}
			if f[i] == 0 {
				f[i] = 1
			}
		}
		keys := make([]uint32, n)
		for i, v := range f {
			keys[i] = sortKey(v)
		}
		var tmp []uint32
		sortKeys(keys, &tmp)
		slices.Sort(f)
		for i := range f {
			if keys[i] != sortKey(f[i]) {
				t.Fatalf("n=%d: position %d holds key %#x, want %#x (%v)", n, i, keys[i], sortKey(f[i]), f[i])
			}
		}
	}
}
