package stack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/baselines"
	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/recon"
	"github.com/cellbench/cellbench/tasks"
)

// libEstimate: L̂ = observed sum / predicted mass of the unmasked genes;
// hand-computed values.
func TestLibEstimate(t *testing.T) {
	const tol = 1e-12 // exact arithmetic on these values up to rounding
	p := []float32{0.5, 0.25, 0.25, 0}
	for _, tc := range []struct {
		name     string
		unmasked []int32
		sum      float64
		want     float64
		ok       bool
	}{
		{"unmasked cell: L̂ = U", []int32{0, 1, 2, 3}, 40, 40, true},
		{"half the mass masked: U doubled", []int32{0}, 10, 20, true},
		{"a quarter masked", []int32{0, 2}, 30, 40, true},
		{"zero observed counts: L̂ = 0", []int32{1}, 0, 0, true},
		{"fully masked: unknown", nil, 0, 0, false},
		{"no predicted mass on the unmasked genes: unknown", []int32{3}, 5, 0, false},
	} {
		got, ok := libEstimate(p, tc.unmasked, tc.sum)
		if ok != tc.ok || math.Abs(got-tc.want) > tol {
			t.Errorf("%s: libEstimate = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// imputeFixture prepares impute-genes (30 % of the genes) on the
// integration fixture with its first nUnknown genes renamed to names no
// checkpoint knows.
func imputeFixture(t *testing.T, task string, ratio float64, nUnknown int) *tasks.ImputeSetup {
	t.Helper()
	d := countsFixture(t, fixtureInteg)
	for j := range nUnknown {
		d.Var.Index[j] = fmt.Sprintf("NOT-A-GENE-%d", j)
	}
	s, err := tasks.NewImputeSetup(d, nil, tasks.TaskConfig{Name: task, MaskRatios: []float64{ratio}, BagSize: 20}, recon.DefaultBins, 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A tiny STACK pre-trained on the two fixtures imputes masked genes of
// held-out fixture cells: positions of genes outside its universe get
// the mode baseline exactly, the others a finite value; the answer is
// deterministic and does not depend on the order of the bags or of their
// rows; and it beats a trivially wrong predictor (each masked value
// answered with the value of another, random masked position of the same
// cell set — right marginals, no information).
func TestImputeTiny(t *testing.T) {
	m := pretrainTiny(t, tinyConfig(t, ""), "", 0)
	im := m.ForKind(tasks.KindImputation).(*Imputer)
	const unknown = 3
	for _, tc := range []struct {
		task  string
		ratio float64
	}{{tasks.ImputeGenes, 0.3}, {tasks.ImputeCells, 0.2}} {
		t.Run(tc.task, func(t *testing.T) {
			s := imputeFixture(t, tc.task, tc.ratio, unknown)
			spec := s.Spec()
			if err := im.Fit(context.Background(), s.TrainData(), tasks.ImputeSpec{Bins: spec.Bins, Seed: spec.Seed}); err != nil {
				t.Fatal(err)
			}
			mk := s.Mask(tc.ratio)
			test := s.MaskedTest(mk)
			imp, err := im.Impute(context.Background(), test, mk.Positions, spec)
			if err != nil {
				t.Fatal(err)
			}
			gm := newGeneMap(m.Genes(), s.Data.Var.Index)
			notes := strings.Join(im.Notes(), "; ")
			if missing := s.Data.NGenes() - gm.nPresent(); missing < unknown || !strings.Contains(notes, fmt.Sprintf("stack: %d of the %d panel genes are not in the checkpoint's gene universe", missing, s.Data.NGenes())) {
				t.Errorf("notes %q do not count the %d unknown genes (≥ %d renamed)", notes, missing, unknown)
			}
			mode := baselines.NewModeImputer()
			if err := mode.Fit(context.Background(), s.TrainData(), spec); err != nil {
				t.Fatal(err)
			}
			want, err := mode.Impute(context.Background(), test, mk.Positions, spec)
			if err != nil {
				t.Fatal(err)
			}
			var own int
			for k, p := range mk.Positions {
				if gm.col[p.Gene] < 0 {
					if !slices.Equal(imp.Probs[k], want.Probs[k]) {
						t.Fatalf("position %d (gene %s, not in the universe): probs %v, mode's %v", k, s.Data.Var.Index[p.Gene], imp.Probs[k], want.Probs[k])
					}
					continue
				}
				own++
				if imp.Probs != nil && imp.Probs[k] != nil || !(imp.Log1p[k] >= 0) || math.IsInf(imp.Log1p[k], 0) {
					t.Fatalf("position %d: probs %v, log1p %v; want a finite value only", k, imp.Probs[k], imp.Log1p[k])
				}
			}
			if own == 0 || own == len(mk.Positions) {
				t.Fatalf("%d of %d positions predicted by STACK: the test needs both kinds", own, len(mk.Positions))
			}

			// deterministic; bags and their rows permuted: same values
			// (float32 attention sums in another order: tolerance)
			const permTol = 1e-4
			again, err := im.Impute(context.Background(), test, mk.Positions, spec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again.Log1p, imp.Log1p) {
				t.Error("a second Impute gives other values")
			}
			rng := rand.New(rand.NewPCG(7, 7))
			perm := spec
			perm.Bags = nil
			for _, b := range rng.Perm(len(spec.Bags)) {
				bag := slices.Clone(spec.Bags[b])
				rng.Shuffle(len(bag), func(i, j int) { bag[i], bag[j] = bag[j], bag[i] })
				perm.Bags = append(perm.Bags, bag)
			}
			permuted, err := im.Impute(context.Background(), test, mk.Positions, perm)
			if err != nil {
				t.Fatal(err)
			}
			for k := range imp.Log1p {
				if math.Abs(permuted.Log1p[k]-imp.Log1p[k]) > permTol {
					t.Fatalf("position %d: %v with the bags permuted, %v before", k, permuted.Log1p[k], imp.Log1p[k])
				}
			}

			// beats the shuffled answer on the positions it predicts
			ownScores := func(imp tasks.Imputation) recon.Scores {
				t.Helper()
				ps, _, err := s.Score(mk, imp)
				if err != nil {
					t.Fatal(err)
				}
				var mine []recon.Position
				for k, p := range mk.Positions {
					if gm.col[p.Gene] >= 0 {
						mine = append(mine, ps[k])
					}
				}
				sc, err := recon.Score(mine, s.Bins)
				if err != nil {
					t.Fatal(err)
				}
				return sc
			}
			wrong := tasks.Imputation{Log1p: slices.Clone(imp.Log1p), Probs: imp.Probs}
			rng.Shuffle(len(wrong.Log1p), func(i, j int) {
				if imp.Probs[i] == nil && imp.Probs[j] == nil {
					wrong.Log1p[i], wrong.Log1p[j] = wrong.Log1p[j], wrong.Log1p[i]
				}
			})
			sc, scWrong := ownScores(imp), ownScores(wrong)
			if !(sc.MCC > scWrong.MCC && sc.MAECounts < scWrong.MAECounts) {
				t.Errorf("on STACK's positions: MCC %.4f, MAE %.4f; shuffled answer %.4f, %.4f", sc.MCC, sc.MAECounts, scWrong.MCC, scWrong.MAECounts)
			}
			t.Logf("%s: MCC %.4f (shuffled %.4f), MAE %.4f (shuffled %.4f), %d of %d positions by STACK", tc.task, sc.MCC, scWrong.MCC, sc.MAECounts, scWrong.MAECounts, own, len(mk.Positions))
		})
	}
}

// Impute refuses before Fit, a panel of another width and bags that are
// not a partition of rows.
func TestImputeErrors(t *testing.T) {
	m := pretrainTiny(t, tinyConfig(t, ""), "", 0)
	im := m.ForKind(tasks.KindImputation).(*Imputer)
	s := imputeFixture(t, tasks.ImputeGenes, 0.3, 0)
	mk := s.Mask(0.3)
	test := s.MaskedTest(mk)
	if _, err := im.Impute(context.Background(), test, mk.Positions, s.Spec()); err == nil || !strings.Contains(err.Error(), "before Fit") {
		t.Errorf("Impute before Fit: %v", err)
	}
	if err := im.Fit(context.Background(), s.TrainData(), tasks.ImputeSpec{Bins: s.Bins}); err != nil {
		t.Fatal(err)
	}
	bad := s.Spec()
	bad.Bags = [][]int{{0, 1}, {1, 2}}
	cols := []int{0, 1, 2, 3, 4}
	narrow := *test
	narrow.X, narrow.Var = test.X.SubsetCols(cols), test.Var.Subset(cols)
	for _, tc := range []struct {
		name string
		d    *data.Dataset
		spec tasks.ImputeSpec
		want string
	}{
		{"other panel", &narrow, s.Spec(), "another panel"},
		{"row in two bags", test, bad, "in two bags"},
	} {
		if _, err := im.Impute(context.Background(), tc.d, mk.Positions, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
