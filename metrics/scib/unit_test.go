package scib

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics"
	"gonum.org/v1/gonum/graph/community"
	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/mat"
)

// blobs makes nPerLabel cells per (label, batch) around well-separated
// label centres, shifted by batch·batchShift along dimension 1.
func blobs(seed uint64, labels, batches, nPer, dims int, batchShift float64) (*data.Dense, []string, []string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := &data.Dense{Cols: dims}
	var lab, bat []string
	for l := 0; l < labels; l++ {
		for b := 0; b < batches; b++ {
			for k := 0; k < nPer; k++ {
				for d := 0; d < dims; d++ {
					v := rng.NormFloat64() * 0.3
					if d == 0 {
						v += 10 * float64(l)
					}
					if d == 1 {
						v += batchShift * float64(b)
					}
					x.Data = append(x.Data, v)
				}
				lab = append(lab, "L"+itoa(l))
				bat = append(bat, "B"+itoa(b))
				x.Rows++
			}
		}
	}
	return x, lab, bat
}

func TestHandComputed(t *testing.T) {
	// Four points on a line: 0, 1 (label a) and 10, 12 (label b).
	x := &data.Dense{Rows: 4, Cols: 1, Data: []float64{0, 1, 10, 12}}
	c := Encode([]string{"a", "a", "b", "b"})
	w := SilhouetteSamples(x, c, 1)
	// Hand-computed: cell 0: a = 1, b = (10+12)/2 = 11 → 10/11;
	// cell 1: a = 1, b = (9+11)/2 = 10 → 9/10; cell 2: a = 2, b = (10+9)/2 =
	// 9.5 → 7.5/9.5; cell 3: a = 2, b = (12+11)/2 = 11.5 → 9.5/11.5.
	want := []float64{10.0 / 11, 9.0 / 10, 7.5 / 9.5, 9.5 / 11.5}
	for i := range want {
		if math.Abs(w[i]-want[i]) > 1e-15 {
			t.Errorf("silhouette[%d] = %v, want %v", i, w[i], want[i])
		}
	}
	// Hand-computed NMI/ARI: identical partitions → 1; a split of one class.
	a := Encode([]string{"x", "x", "y", "y"})
	b := Encode([]string{"p", "q", "r", "r"})
	if v := NMI(a, a); math.Abs(v-1) > 1e-15 {
		t.Errorf("NMI(a, a) = %v", v)
	}
	// MI = ln 2; H(a) = ln 2; H(b) = 1.5 ln 2 → NMI = 1/1.25 = 0.8.
	if v := NMI(a, b); math.Abs(v-0.8) > 1e-15 {
		t.Errorf("NMI = %v, want 0.8", v)
	}
	// Pairs: 6; together in a: 2; in b: 1; in both: 1 → tp=1, fn=1, fp=0, tn=4
	// (ordered pairs ×2 cancel): ARI = 2(1·4 − 0)/((2)(5) + (1)(4)) = 8/14.
	if v := ARI(a, b); math.Abs(v-8.0/14) > 1e-15 {
		t.Errorf("ARI = %v, want %v", v, 8.0/14)
	}
	// PCR: batch means ±1 on one axis, within-batch spread ±1 on the other.
	px := &data.Dense{Rows: 4, Cols: 2, Data: []float64{-1, -1, -1, 1, 1, -1, 1, 1}}
	pb := Encode([]string{"u", "u", "v", "v"})
	if v := PCR(px, pb); math.Abs(v-0.5) > 1e-15 {
		t.Errorf("PCR = %v, want 0.5", v)
	}
}

func TestKNNSelfFirstAndTies(t *testing.T) {
	// Duplicated points: every cell must list itself first, then ties by index.
	x := &data.Dense{Rows: 4, Cols: 1, Data: []float64{5, 5, 5, 7}}
	nb := ExactKNN(x, 3, 2)
	want := [][]int32{{0, 1, 2}, {1, 0, 2}, {2, 0, 1}, {3, 0, 1}}
	for i, w := range want {
		idx, _ := nb.Row(i)
		for r := range w {
			if idx[r] != w[r] {
				t.Errorf("row %d = %v, want %v", i, idx, w)
				break
			}
		}
	}
}

func TestLouvainAgainstGonum(t *testing.T) {
	// Three well-separated blobs: at a low resolution both Louvain
	// implementations must find exactly the 3 blobs; at higher resolutions
	// (where a 15-NN graph splits each blob) our modularity must match
	// gonum's community.Q on our partition and not fall below the Q of
	// gonum's own partition.
	x, lab, _ := blobs(3, 3, 1, 60, 4, 0)
	g := FuzzyConnectivities(ExactKNN(x, 15, 2).First(15), 2)
	ours := Louvain(g, 0.1, 0)
	ref := LouvainGonum(g, 0.1, 0)
	if NMI(encodeInts(ours), Encode(lab)) < 1-1e-12 || ARI(encodeInts(ref), encodeInts(ours)) != 1 {
		t.Fatalf("Louvain communities differ from the planted ones / gonum")
	}
	// Cross-check Modularity against gonum's community.Q on the same partition.
	sg := simple.NewWeightedUndirectedGraph(0, 0)
	for i := 0; i < g.N; i++ {
		sg.AddNode(simple.Node(i))
	}
	for i := 0; i < g.N; i++ {
		for p := g.Ptr[i]; p < g.Ptr[i+1]; p++ {
			if j := int(g.Adj[p]); i < j {
				sg.SetWeightedEdge(simple.WeightedEdge{F: simple.Node(i), T: simple.Node(j), W: g.W[p]})
			}
		}
	}
	for _, res := range []float64{0.5, 1, 2} {
		part := Louvain(g, res, 0)
		var comms [][]int
		for i, c := range part {
			for len(comms) <= c {
				comms = append(comms, nil)
			}
			comms[c] = append(comms[c], i)
		}
		want := community.Q(sg, toGonumCommunities(comms), res)
		if got := Modularity(g, part, res); math.Abs(got-want) > 1e-12 {
			t.Errorf("res %v: Modularity %v, gonum Q %v", res, got, want)
		}
		refQ := Modularity(g, LouvainGonum(g, res, 0), res)
		if got := Modularity(g, part, res); got < refQ-1e-3 {
			t.Errorf("res %v: our Q %v well below gonum's %v", res, got, refQ)
		}
	}
}

func TestPCAMatchesFullSVD(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	n, g := 60, 25
	dense := make([]float32, n*g)
	for i := range dense {
		if rng.Float64() < 0.4 {
			dense[i] = float32(rng.ExpFloat64())
		}
	}
	m := data.NewCSRFromDense(n, g, dense)
	res, err := PCA(m, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Reference: gonum full SVD of the explicitly centred dense matrix.
	c := mat.NewDense(n, g, nil)
	for j := 0; j < g; j++ {
		var mu float64
		for i := 0; i < n; i++ {
			mu += float64(dense[i*g+j])
		}
		mu /= float64(n)
		for i := 0; i < n; i++ {
			c.Set(i, j, float64(dense[i*g+j])-mu)
		}
	}
	var svd mat.SVD
	svd.Factorize(c, mat.SVDThin)
	sv := svd.Values(nil)
	var v mat.Dense
	svd.VTo(&v)
	for k := 0; k < 5; k++ {
		if want := sv[k] * sv[k] / float64(n-1); math.Abs(res.Variance[k]-want) > 1e-9*want {
			t.Errorf("variance[%d] = %v, want %v", k, res.Variance[k], want)
		}
		// Same direction after applying the sign convention to the reference.
		best, sign := 0.0, 1.0
		for j := 0; j < g; j++ {
			if a := math.Abs(v.At(j, k)); a > best {
				best, sign = a, math.Copysign(1, v.At(j, k))
			}
		}
		for j := 0; j < g; j++ {
			if d := math.Abs(res.Loadings.At(j, k) - sign*v.At(j, k)); d > 1e-7 {
				t.Fatalf("loading (%d, %d) = %v, want %v", j, k, res.Loadings.At(j, k), sign*v.At(j, k))
			}
		}
	}
	again, _ := PCA(m, 5, 0)
	for i, v := range res.Scores.Data {
		if again.Scores.Data[i] != v {
			t.Fatal("PCA not deterministic")
		}
	}
}

func TestBenchmarkKnownAnswers(t *testing.T) {
	opt := DefaultOptions()
	opt.Workers = 2
	// Perfectly mixed batches, separated labels: high bio and batch.
	mixed, lab, bat := blobs(1, 3, 2, 40, 5, 0)
	// Batches shifted far apart: poor batch metrics.
	split, _, _ := blobs(1, 3, 2, 40, 5, 6)
	opt.Pre = split
	good, err := Benchmark(mixed, lab, bat, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Pre = split
	bad, err := Benchmark(split, lab, bat, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{SilhouetteLabelName, NMIKMeansName, ARIKMeansName, NMILouvainName, CLISIName, KNNAccuracyName} {
		v, _ := good.Get(name)
		if !(v.Value > 0.9) {
			t.Errorf("mixed: %s = %v, want > 0.9", name, v.Value)
		}
	}
	for _, name := range []string{ILISIName, KBETName, PCRComparisonName} {
		g, _ := good.Get(name)
		b, _ := bad.Get(name)
		if !(g.Value > b.Value+0.3) {
			t.Errorf("%s: mixed %v should beat split %v by > 0.3", name, g.Value, b.Value)
		}
	}
	if v, _ := bad.Get(PCRComparisonName); v.Value != 0 {
		t.Errorf("pcr_comparison of the pre-embedding itself = %v, want 0", v.Value)
	}
	tot, _ := good.Get(TotalName)
	bio, _ := good.Get(BioName)
	batch, _ := good.Get(BatchName)
	if math.Abs(tot.Value-(0.6*bio.Value+0.4*batch.Value)) > 1e-15 {
		t.Errorf("total %v != 0.6·%v + 0.4·%v", tot.Value, bio.Value, batch.Value)
	}
	// Determinism: the same call gives bit-identical values.
	again, _ := Benchmark(mixed, lab, bat, func() Options { o := opt; o.Pre = split; return o }())
	for i, v := range good.Values {
		w := again.Values[i]
		if v.Value != w.Value && !(math.IsNaN(v.Value) && math.IsNaN(w.Value)) {
			t.Errorf("%s not deterministic: %v vs %v", v.Name, v.Value, w.Value)
		}
	}
}

func TestBadInput(t *testing.T) {
	x, lab, bat := blobs(2, 3, 2, 15, 3, 0)
	opt := DefaultOptions()
	nanX := &data.Dense{Rows: x.Rows, Cols: x.Cols, Data: append([]float64(nil), x.Data...)}
	nanX.Data[7] = math.NaN()
	errCases := []struct {
		name    string
		x       *data.Dense
		lab     []string
		bat     []string
		metrics []string
		want    string
	}{
		{"nan", nanX, lab, bat, nil, "non-finite value NaN at cell 2, column 1"},
		{"labels length", x, lab[1:], bat, nil, "labels for"},
		{"batches length", x, lab, bat[:3], nil, "batches for"},
		{"empty label", x, append([]string{""}, lab[1:]...), bat, nil, "empty label"},
		{"unknown metric", x, lab, bat, []string{"asw"}, `unknown metric "asw"`},
	}
	for _, c := range errCases {
		o := opt
		o.Metrics = c.metrics
		_, err := Benchmark(c.x, c.lab, c.bat, o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// Single batch: batch metrics NaN with reasons, bio still defined.
	one := make([]string, len(bat))
	for i := range one {
		one[i] = "only"
	}
	rep, err := Benchmark(x, lab, one, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{SilhouetteBatchName, ILISIName, KBETName, PCRComparisonName, BatchName, TotalName} {
		v, _ := rep.Get(name)
		if !math.IsNaN(v.Value) || v.Reason == "" {
			t.Errorf("single batch: %s = %v (%q), want NaN with a reason", name, v.Value, v.Reason)
		}
	}
	if v, _ := rep.Get(SilhouetteLabelName); math.IsNaN(v.Value) {
		t.Errorf("single batch: silhouette_label should be defined")
	}
	// A label with one cell: silhouette treats it as 0, kBET skips it.
	lab1 := append([]string(nil), lab...)
	lab1[0] = "singleton"
	rep, err = Benchmark(x, lab1, bat, opt)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := rep.Get(KBETName); !strings.Contains(v.Reason, "skipped") {
		t.Errorf("singleton label: kbet reason %q should say a label was skipped", v.Reason)
	}
	// A single label: label metrics NaN with reasons.
	oneLab := make([]string, len(lab))
	for i := range oneLab {
		oneLab[i] = "all"
	}
	rep, err = Benchmark(x, oneLab, bat, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{SilhouetteLabelName, CLISIName, IsolatedLabelsName} {
		v, _ := rep.Get(name)
		if !math.IsNaN(v.Value) || v.Reason == "" {
			t.Errorf("one label: %s = %v (%q), want NaN with a reason", name, v.Value, v.Reason)
		}
	}
}

func TestRegistryHasEveryMetric(t *testing.T) {
	for _, name := range AllMetrics() {
		if _, ok := metrics.All.Lookup(name); !ok {
			t.Errorf("metric %q missing from metrics.All", name)
		}
	}
}

func TestReadEmbeddingCSVErrors(t *testing.T) {
	cases := []struct{ body, glob, want string }{
		{"id,X1,X2,ct\na,1,2,t\nb,NA,2,t\n", "X*", `row 2, column "X1": "NA" is not a finite number`},
		{"id,X1,X2,ct\na,1,2,t\n", "Z*", `no column matches --embed-cols "Z*"`},
		{"id,X1,X2\na,1,2\n", "X*", `unknown column "ct"`},
		{"id,X1,X2,ct\na,1,2\n", "X*", "wrong number of fields"},
		{"id,X1,X2,ct\n", "X*", "no data rows"},
	}
	for _, c := range cases {
		_, err := readEmbeddingCSV(strings.NewReader(c.body), "e.csv", c.glob, []string{"ct"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.body, err, c.want)
		}
	}
}

func TestKDTreeEqualsBruteForce(t *testing.T) {
	// Clustered data with exact duplicates and ties: the k-d tree must give
	// the same table as the brute-force scan, ties by index included.
	x, _, _ := blobs(9, 4, 3, 50, 6, 2)
	for i := 0; i < 40; i++ {
		copy(x.Row(i+100), x.Row(i)) // duplicates
	}
	for i := 400; i < 500; i++ {
		copy(x.Row(i), x.Row(7)) // 101 identical points: an unsplittable leaf > kdLeaf
	}
	for _, k := range []int{1, 2, 15, 90} {
		tree := ExactKNN(x, k, 2)
		brute := bruteKNN(x, &Neighbors{N: x.Rows, K: k, Indices: make([]int32, x.Rows*k), Distances: make([]float64, x.Rows*k)}, k, 2)
		for p := range tree.Indices {
			if tree.Indices[p] != brute.Indices[p] || tree.Distances[p] != brute.Distances[p] {
				t.Fatalf("k=%d: entry %d (cell %d): tree (%d, %v), brute (%d, %v)", k, p, p/k,
					tree.Indices[p], tree.Distances[p], brute.Indices[p], brute.Distances[p])
			}
		}
	}
}

func TestSilhouetteMatchesNaive(t *testing.T) {
	if silhouetteTile >= 310 {
		t.Fatal("test needs more than one tile")
	}
	// The tiled half-pair scan (310 cells: two tiles) and the ordered-pair
	// fallback agree with a plain double loop over ordered pairs (scalar
	// distances, per-cell group sums), on group sizes that are not
	// multiples of the vector width, with 1 and 3 workers.
	x, lab, _ := blobs(4, 5, 2, 31, 7, 1)
	c := Encode(lab)
	want := silhouetteNaive(x, c)
	for _, workers := range []int{1, 3} {
		g := groupCells(x, c)
		for name, got := range map[string][]float64{
			"tiles": SilhouetteSamples(x, c, workers),
			"rows":  silhouetteRows(x, c, g, workers),
		} {
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-12 {
					t.Fatalf("%s, workers=%d: cell %d: %v vs naive %v", name, workers, i, got[i], want[i])
				}
			}
		}
	}
}

// silhouetteNaive is the textbook silhouette: every ordered pair, scalar.
func silhouetteNaive(x *data.Dense, c Codes) []float64 {
	out := make([]float64, x.Rows)
	s := make([]float64, len(c.Names))
	for i := 0; i < x.Rows; i++ {
		clear(s)
		for j := 0; j < x.Rows; j++ {
			s[c.Code[j]] += math.Sqrt(sqDist(x.Row(i), x.Row(j)))
		}
		out[i] = silhouetteFromSums(s, c, c.Code[i])
	}
	return out
}

func TestDistanceKernelsMatchScalar(t *testing.T) {
	// The vector kernels (AVX-512/AVX2 under GOEXPERIMENT=simd) give
	// bit-identical squared distances to the scalar kernel, for every
	// range length 0…40 and offset, sums of distances within 1e-13, and
	// the same running minimum (minUpdate).
	t.Logf("kernel: %s", simdKernel())
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 3, 8, 13} {
		x := &data.Dense{Rows: 60, Cols: d, Data: make([]float64, 60*d)}
		for p := range x.Data {
			x.Data[p] = rng.NormFloat64() * 10
		}
		tm := newDimsMajor[int](x, nil)
		q := x.Row(5)
		got, want := make([]float64, 60), make([]float64, 60)
		for lo := 0; lo < 20; lo++ {
			for hi := lo; hi <= min(60, lo+40); hi++ {
				sqDists(q, tm, lo, hi, got)
				sqDistsScalar(q, tm, lo, hi, want)
				for p := range hi - lo {
					if got[p] != want[p] {
						t.Fatalf("d=%d [%d,%d) p=%d: %v vs scalar %v", d, lo, hi, p, got[p], want[p])
					}
				}
				a, b := sumDists(q, tm, lo, hi), sumDistsScalar(q, tm, lo, hi)
				if math.Abs(a-b) > 1e-13*math.Max(1, b) {
					t.Fatalf("d=%d [%d,%d): sum %v vs scalar %v", d, lo, hi, a, b)
				}
				// minUpdate against its scalar twin, with ties (equal values).
				m := hi - lo
				best1, best2 := make([]float64, m), make([]float64, m)
				arg1, arg2 := make([]int64, m), make([]int64, m)
				for p := range best1 {
					best1[p] = want[(p*7)%max(m, 1)]
					best2[p], arg1[p], arg2[p] = best1[p], int64(p), int64(p)
				}
				minUpdate(got[:m], best1, arg1, 99)
				minUpdateScalar(want[:m], best2, arg2, 99)
				for p := range best1 {
					if best1[p] != best2[p] || arg1[p] != arg2[p] {
						t.Fatalf("d=%d [%d,%d): minUpdate lane %d: (%v, %d) vs scalar (%v, %d)", d, lo, hi, p, best1[p], arg1[p], best2[p], arg2[p])
					}
				}
			}
		}
	}
}

func TestBoxAndMaskKernelsMatchScalar(t *testing.T) {
	// boxSqDist is bit-identical to the branchy scalar loop (q inside,
	// outside on either side, on the boundary; D not a multiple of 8), and
	// maskLE sets exactly the bits of values ≤ bound (ties included).
	rng := rand.New(rand.NewPCG(7, 8))
	for _, d := range []int{1, 5, 8, 11, 17} {
		for trial := 0; trial < 200; trial++ {
			q, lo, hi := make([]float64, d), make([]float64, d), make([]float64, d)
			for c := range q {
				a, b := rng.NormFloat64(), rng.NormFloat64()
				lo[c], hi[c] = min(a, b), max(a, b)
				q[c] = rng.NormFloat64() * 2
				if rng.IntN(5) == 0 {
					q[c] = lo[c] // on the boundary
				}
			}
			if got, want := boxSqDist(q, lo, hi), boxSqDistScalar(q, lo, hi); got != want {
				t.Fatalf("d=%d: boxSqDist %v, scalar %v", d, got, want)
			}
		}
	}
	for n := 0; n <= 64; n++ {
		v := make([]float64, n)
		for p := range v {
			v[p] = float64(rng.IntN(5))
		}
		for _, bound := range []float64{-1, 0, 2, 4, math.Inf(1)} {
			if got, want := maskLE(v, bound), maskLEScalar(v, bound); got != want {
				t.Fatalf("n=%d bound=%v: maskLE %b, scalar %b", n, bound, got, want)
			}
			for p, x := range v {
				if (maskLEScalar(v, bound)>>p)&1 != uint64(b2i(x <= bound)) {
					t.Fatalf("n=%d bound=%v: bit %d wrong", n, bound, p)
				}
			}
		}
	}
}

func TestSelectByCoord(t *testing.T) {
	// The k-d tree's median split: after selectByCoord the first k rows are
	// the k smallest in (coordinate, index) order, with many equal
	// coordinates, for every k.
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 100; trial++ {
		n, d := 1+rng.IntN(70), 3
		x := make([]float64, n*d)
		for p := range x {
			x[p] = float64(rng.IntN(4))
		}
		dim := rng.IntN(d)
		ref := make([]int32, n)
		for i := range ref {
			ref[i] = int32(i)
		}
		sort.Slice(ref, func(a, b int) bool {
			va, vb := x[int(ref[a])*d+dim], x[int(ref[b])*d+dim]
			return va < vb || (va == vb && ref[a] < ref[b])
		})
		for k := 0; k < n; k++ {
			seg := make([]int32, n)
			for i := range seg { // a random permutation
				seg[i] = int32(i)
			}
			rng.Shuffle(n, func(a, b int) { seg[a], seg[b] = seg[b], seg[a] })
			selectByCoord(seg, k, x, d, dim)
			got := append([]int32(nil), seg[:k]...)
			slices.Sort(got)
			want := append([]int32(nil), ref[:k]...)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d n=%d k=%d: %v, want %v", trial, n, k, got, want)
			}
		}
	}
}

func TestNearestListTies(t *testing.T) {
	// Offers with many equal distances (small integers) in random order:
	// the kept list must be the m smallest in (distance, index) order, as a
	// full sort gives, for every m.
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(300)
		type c struct {
			d float64
			j int32
		}
		all := make([]c, n)
		for p := range all {
			all[p] = c{float64(rng.IntN(12)), int32(rng.IntN(1000))}
		}
		m := rng.IntN(n + 1)
		var h nearest
		h.reset(m)
		for _, x := range all {
			h.offer(x.d, x.j)
		}
		nb := &Neighbors{N: 1, K: m + 1, Indices: make([]int32, m+1), Distances: make([]float64, m+1)}
		h.write(nb, 0)
		sort.Slice(all, func(a, b int) bool {
			return all[a].d < all[b].d || (all[a].d == all[b].d && all[a].j < all[b].j)
		})
		for r := 0; r < m; r++ {
			if nb.Indices[r+1] != all[r].j || nb.Distances[r+1] != math.Sqrt(all[r].d) {
				t.Fatalf("trial %d (n=%d, m=%d): rank %d = (%v, %d), want (%v, %d)", trial, n, m, r,
					nb.Distances[r+1], nb.Indices[r+1], math.Sqrt(all[r].d), all[r].j)
			}
		}
	}
}
