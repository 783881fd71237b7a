package tasks

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// synthCounts builds n cells × g genes of Poisson-like integer counts with
// obs columns x, y (a grid) — synthetic, made by code.
func synthCounts(n, g int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	dense := make([]float32, n*g)
	for i := range n {
		for j := range g {
			if rng.Float64() < 0.3 {
				dense[i*g+j] = float32(1 + rng.IntN(1+j%9))
			}
		}
		dense[i*g+i%g] += 3 // no empty cell
	}
	d := &data.Dataset{X: data.NewCSRFromDense(n, g, dense), Scale: data.Counts}
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range n {
		d.Obs.Index = append(d.Obs.Index, fmt.Sprintf("c%d", i))
		xs[i], ys[i] = float64(i%12), float64(i/12)
	}
	d.Obs.Set(&data.Column{Name: "x", Kind: data.Float, Floats: xs})
	d.Obs.Set(&data.Column{Name: "y", Kind: data.Float, Floats: ys})
	for j := range g {
		d.Var.Index = append(d.Var.Index, fmt.Sprintf("g%d", j))
	}
	return d
}

// TestImputeSetupContract: train and test partition the cells, bags
// partition the test cells with at most bag_size each, the panel has
// max_genes genes, and the truth has one binning per test cell; the same
// seed gives the same setup, another seed another split; region hold-outs
// are contiguous along some direction.
func TestImputeSetupContract(t *testing.T) {
	d := synthCounts(120, 40, 1)
	for _, tc := range []struct {
		coords []string
		cfg    TaskConfig
	}{
		{nil, TaskConfig{Name: ImputeGenes}},
		{nil, TaskConfig{Name: ImputeCells, BagSize: 7, MaxGenes: 16, TestFraction: 0.4}},
		{[]string{"x", "y"}, TaskConfig{Name: ImputeCells, BagSize: 10}},
	} {
		s, err := NewImputeSetup(d, tc.coords, tc.cfg, 5, 3)
		if err != nil {
			t.Fatal(err)
		}
		all := append(slices.Clone(s.Train), s.Test...)
		slices.Sort(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("%+v: train ∪ test is not a partition of the cells", tc.cfg)
			}
		}
		wantTest := int(math.Round(s.Config.TestFraction * 120))
		if len(s.Test) != wantTest || len(s.Truth) != wantTest {
			t.Errorf("%+v: %d test cells (%d truths), want %d", tc.cfg, len(s.Test), len(s.Truth), wantTest)
		}
		var inBags []int
		for _, b := range s.Bags {
			if len(b) == 0 || len(b) > s.Config.BagSize {
				t.Errorf("%+v: bag of %d cells", tc.cfg, len(b))
			}
			inBags = append(inBags, b...)
		}
		slices.Sort(inBags)
		for i, v := range inBags {
			if v != i {
				t.Fatalf("%+v: bags do not partition the test cells", tc.cfg)
			}
		}
		if tc.cfg.MaxGenes > 0 && s.Data.NGenes() != tc.cfg.MaxGenes {
			t.Errorf("%+v: %d panel genes", tc.cfg, s.Data.NGenes())
		}
		again, _ := NewImputeSetup(d, tc.coords, tc.cfg, 5, 3)
		if !slices.Equal(again.Test, s.Test) || !slices.Equal(again.Panel, s.Panel) {
			t.Errorf("%+v: same seed, different setup", tc.cfg)
		}
		other, _ := NewImputeSetup(d, tc.coords, tc.cfg, 5, 4)
		if slices.Equal(other.Test, s.Test) {
			t.Errorf("%+v: seeds 3 and 4 hold out the same cells", tc.cfg)
		}
		if s.Holdout == "region" {
			// a region: some direction (searched on a 0.1° grid) puts every
			// test spot at or beyond every training spot.
			c, _ := Coords(d, tc.coords)
			found := false
			for a := 0; a < 3600 && !found; a++ {
				ux, uy := math.Cos(float64(a)*math.Pi/1800), math.Sin(float64(a)*math.Pi/1800)
				lo, hi := math.Inf(1), math.Inf(-1)
				for _, i := range s.Test {
					lo = min(lo, c[i][0]*ux+c[i][1]*uy)
				}
				for _, i := range s.Train {
					hi = max(hi, c[i][0]*ux+c[i][1]*uy)
				}
				found = lo >= hi-1e-9
			}
			if !found {
				t.Errorf("%+v: the held-out region is not a half-plane of the spots", tc.cfg)
			}
		}
	}
	// both tasks of one seed share the split and panel
	a, _ := NewImputeSetup(d, nil, TaskConfig{Name: ImputeGenes, MaxGenes: 16}, 5, 9)
	b, _ := NewImputeSetup(d, nil, TaskConfig{Name: ImputeCells, MaxGenes: 16}, 5, 9)
	if !slices.Equal(a.Test, b.Test) || !slices.Equal(a.Panel, b.Panel) {
		t.Error("impute-genes and impute-cells of one seed differ in split or panel")
	}
}

// TestImputeMasks: impute-genes masks round(r·G) genes of every test cell,
// impute-cells round(r·n) whole cells of each bag (1 ≤ k ≤ n−1), positions
// sorted, and the masked test data hold no masked entry.
func TestImputeMasks(t *testing.T) {
	d := synthCounts(120, 40, 2)
	sg, _ := NewImputeSetup(d, nil, TaskConfig{Name: ImputeGenes}, 5, 1)
	m := sg.Mask(0.3)
	if len(m.Positions) != len(sg.Test)*12 {
		t.Errorf("genes 0.3: %d positions, want %d × 12", len(m.Positions), len(sg.Test))
	}
	if !slices.IsSortedFunc(m.Positions, func(a, b Position) int {
		if a.Cell != b.Cell {
			return a.Cell - b.Cell
		}
		return a.Gene - b.Gene
	}) {
		t.Error("positions not sorted by cell then gene")
	}
	mt := sg.MaskedTest(m)
	for _, p := range m.Positions {
		if mt.X.At(p.Cell, p.Gene) != 0 {
			t.Fatalf("masked entry (%d,%d) still in X", p.Cell, p.Gene)
		}
	}
	if mt.X.NNZ() >= sg.Data.SubsetCells(sg.Test).X.NNZ() {
		t.Error("masking removed no entry")
	}
	sc, _ := NewImputeSetup(d, nil, TaskConfig{Name: ImputeCells, BagSize: 10}, 5, 1)
	for _, r := range []float64{0.02, 0.2, 0.8, 1} {
		m := sc.Mask(r)
		cells := map[int]bool{}
		for _, p := range m.Positions {
			cells[p.Cell] = true
		}
		want := 0
		for _, b := range sc.Bags {
			k := max(1, int(math.Round(r*float64(len(b)))))
			if len(b) >= 2 {
				k = min(k, len(b)-1)
			}
			want += k
		}
		if len(cells) != want || len(m.Positions) != want*sc.Data.NGenes() {
			t.Errorf("cells %g: %d cells / %d positions, want %d cells", r, len(cells), len(m.Positions), want)
		}
	}
}

// TestImputeScoreConversions: a perfect one-hot answer scores MCC 1 and
// MAE 0 only where the medians equal the counts; a log1p answer equal to
// the truth is binned to the true bins (MCC 1, MAE 0); malformed answers
// are errors.
func TestImputeScoreConversions(t *testing.T) {
	d := synthCounts(80, 30, 3)
	s, _ := NewImputeSetup(d, nil, TaskConfig{Name: ImputeGenes}, 5, 2)
	m := s.Mask(0.5)
	n := len(m.Positions)
	truthLog := make([]float64, n)
	oneHot := make([][]float32, n)
	for k, p := range m.Positions {
		c := float64(s.Data.X.At(s.Test[p.Cell], p.Gene))
		truthLog[k] = math.Log1p(c)
		oneHot[k] = make([]float32, 5)
		oneHot[k][s.Truth[p.Cell].Bin(truthLog[k])] = 1
	}
	_, sc, err := s.Score(m, Imputation{Log1p: truthLog})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(sc.MCC-1) > 1e-12 || sc.MAECounts > 1e-9 {
		t.Errorf("exact log1p answer: mcc %g mae %g, want 1 and 0", sc.MCC, sc.MAECounts)
	}
	_, sc, err = s.Score(m, Imputation{Probs: oneHot})
	if err != nil || math.Abs(sc.MCC-1) > 1e-12 {
		t.Errorf("one-hot true bins: mcc %g (%v), want 1", sc.MCC, err)
	}
	// both given: a nil Probs entry is scored from Log1p (the one-hot of a
	// wrong bin where Probs is set proves Probs wins there)
	wrongBin := make([]float32, 5)
	wrongBin[(s.Truth[m.Positions[0].Cell].Bin(truthLog[0])+1)%5] = 1
	mixed := Imputation{Log1p: truthLog, Probs: make([][]float32, n)}
	mixed.Probs[0] = wrongBin
	ps, _, err := s.Score(m, mixed)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].PredBin == ps[0].TrueBin || ps[1].PredBin != ps[1].TrueBin || math.Abs(ps[1].PredCount-ps[1].TrueCount) > 1e-9 {
		t.Errorf("mixed answer: position 0 %+v (want Probs' wrong bin), position 1 %+v (want Log1p's exact value)", ps[0], ps[1])
	}
	bad := slices.Clone(oneHot)
	bad[0] = []float32{0.5, 0.6, 0, 0, 0}
	for name, imp := range map[string]Imputation{
		"empty":       {},
		"short":       {Log1p: truthLog[1:]},
		"negative":    {Log1p: append([]float64{-1}, truthLog[1:]...)},
		"NaN":         {Log1p: append([]float64{math.NaN()}, truthLog[1:]...)},
		"sum 1.1":     {Probs: bad},
		"bins 4 of 5": {Probs: append([][]float32{{1, 0, 0, 0}}, oneHot[1:]...)},
		"mixed short": {Probs: oneHot, Log1p: truthLog[1:]},
		"probs nil":   {Probs: make([][]float32, n)},
	} {
		if _, _, err := s.Score(m, imp); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestImputeSetupBadInput: configuration and data errors name the problem.
func TestImputeSetupBadInput(t *testing.T) {
	d := synthCounts(40, 10, 4)
	logd := *d
	logd.X = data.NormalizeLog1p(d.X, 1e4)
	for _, c := range []struct {
		d      *data.Dataset
		coords []string
		cfg    TaskConfig
		want   string
	}{
		{d, nil, TaskConfig{Name: "pert-fewshot"}, "not an imputation task"},
		{d, nil, TaskConfig{Name: ImputeGenes, MaskRatios: []float64{0}}, "mask_ratios"},
		{d, nil, TaskConfig{Name: ImputeGenes, MaskRatios: []float64{0.1, 0.1}}, "mask_ratios"},
		{d, nil, TaskConfig{Name: ImputeGenes, TestFraction: 1}, "test_fraction"},
		{d, nil, TaskConfig{Name: ImputeGenes, Holdout: "region"}, "coordinate"},
		{d, []string{"x", "nosuch"}, TaskConfig{Name: ImputeCells}, "nosuch"},
		{&logd, nil, TaskConfig{Name: ImputeGenes}, "raw counts"},
	} {
		_, err := NewImputeSetup(c.d, c.coords, c.cfg, 5, 0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}

// levelsImputer answers each masked position with log1p of 1 + the
// number of observed (non-zero) entries of its cell, through Impute or,
// wrapped as batchImputer, through ImputeLevels; it records the calls.
type levelsImputer struct {
	imputeCalls int
	batchCalls  [][]ImputeRequest
}

func (m *levelsImputer) Name() string                                         { return "levels" }
func (m *levelsImputer) Fit(context.Context, *data.Dataset, ImputeSpec) error { return nil }
func (m *levelsImputer) Impute(_ context.Context, d *data.Dataset, masked []Position, _ ImputeSpec) (Imputation, error) {
	m.imputeCalls++
	out := Imputation{Log1p: make([]float64, len(masked))}
	for k, p := range masked {
		idx, _ := d.X.Row(p.Cell)
		out.Log1p[k] = math.Log1p(1 + float64(len(idx)))
	}
	return out, nil
}

type batchImputer struct{ *levelsImputer }

func (b batchImputer) ImputeLevels(ctx context.Context, levels []ImputeRequest, spec ImputeSpec) ([]Imputation, error) {
	b.batchCalls = append(b.batchCalls, levels)
	var out []Imputation
	for _, l := range levels {
		imp, err := b.levelsImputer.Impute(ctx, l.Data, l.Masked, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, imp)
	}
	return out, nil
}

// TestRunImputeBatch: an ImputeBatchModel is asked once for every level,
// in the task's order, with the masked data and positions Impute would
// get, and scores exactly as the same model asked level by level.
func TestRunImputeBatch(t *testing.T) {
	d := synthCounts(80, 24, 5)
	s, err := NewImputeSetup(d, nil, TaskConfig{Name: ImputeGenes}, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	plain := &levelsImputer{}
	want, err := RunImpute(context.Background(), plain, s)
	if err != nil {
		t.Fatal(err)
	}
	inner := &levelsImputer{}
	got, err := RunImpute(context.Background(), batchImputer{inner}, s)
	if err != nil {
		t.Fatal(err)
	}
	if plain.imputeCalls != 3 || len(inner.batchCalls) != 1 || len(inner.batchCalls[0]) != 3 {
		t.Fatalf("Impute calls %d (want 3); ImputeLevels calls %d (want 1 with 3 levels)", plain.imputeCalls, len(inner.batchCalls))
	}
	for i, l := range inner.batchCalls[0] {
		m := s.Mask(DefaultGeneMaskRatios[i])
		if l.Ratio != m.Ratio || !slices.Equal(l.Masked, m.Positions) || l.Data.X.Rows != len(s.Test) || l.Data.X.NNZ() != s.MaskedTest(m).X.NNZ() {
			t.Errorf("level %d: ratio %g, %d positions, %d stored entries; want %g, %d, %d", i, l.Ratio, len(l.Masked), l.Data.X.NNZ(), m.Ratio, len(m.Positions), s.MaskedTest(m).X.NNZ())
		}
	}
	for i := range want.Levels {
		if got.Levels[i].Ratio != want.Levels[i].Ratio || got.Levels[i].Scores.MCC != want.Levels[i].Scores.MCC || got.Levels[i].Scores.MAECounts != want.Levels[i].Scores.MAECounts {
			t.Errorf("level %d: batch %+v, plain %+v", i, got.Levels[i].Scores, want.Levels[i].Scores)
		}
	}
}
