package tasks

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// synthLabels mimics perturbench devel: 4 contexts × (control + 9 singles),
// and context k562 also has 6 doubles; 5 cells per group.
func synthLabels() (perts, ctxs []string) {
	singles := []string{"S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9"}
	doubles := []string{"S1+S2", "S3+S4", "S5+S6", "S7+S8", "S1+S9", "S2+S3"}
	for _, c := range []string{"A172", "T98G", "U87MG", "k562"} {
		labels := append([]string{"control"}, singles...)
		if c == "k562" {
			labels = append(labels, doubles...)
		}
		for _, p := range labels {
			for i := 0; i < 5; i++ {
				perts = append(perts, p)
				ctxs = append(ctxs, c)
			}
		}
	}
	return
}

// checkNoLeak asserts the Split contract: Train and Test partition the
// cells, Test is exactly the cells of TestGroups, no control is tested.
func checkNoLeak(t *testing.T, sp *Split, perts, ctxs []string, control string) {
	t.Helper()
	if len(sp.Train)+len(sp.Test) != len(perts) {
		t.Fatalf("train %d + test %d != %d cells", len(sp.Train), len(sp.Test), len(perts))
	}
	groups := map[Group]bool{}
	for _, g := range sp.TestGroups {
		groups[g] = true
	}
	seen := map[int]bool{}
	for _, i := range sp.Test {
		seen[i] = true
		if !groups[Group{ctxs[i], perts[i]}] {
			t.Fatalf("test cell %d (%s, %s) is not in a test group", i, ctxs[i], perts[i])
		}
		if perts[i] == control {
			t.Fatalf("control cell %d is a test cell", i)
		}
	}
	for _, i := range sp.Train {
		if seen[i] {
			t.Fatalf("cell %d is both train and test", i)
		}
		if groups[Group{ctxs[i], perts[i]}] {
			t.Fatalf("train cell %d belongs to test group (%s, %s)", i, ctxs[i], perts[i])
		}
	}
}

func TestBuildSplitTasks(t *testing.T) {
	perts, ctxs := synthLabels()
	cases := []struct {
		cfg       TaskConfig
		wantTest  int // number of test perturbations
		wantTrain int // TrainPerturbations
		holdout   string
	}{
		// fewshot on A172 (9 singles): round(0.3·9)=3 train, 6 test.
		{TaskConfig{Name: PertFewShot, Holdout: "A172"}, 6, 3, "A172"},
		// k562 has 15 perturbations: round(0.3·15)=5 (4.5 rounds half away from zero) train, 10 test.
		{TaskConfig{Name: PertFewShot, Holdout: "k562"}, 10, 5, "k562"},
		{TaskConfig{Name: PertZeroShot, Holdout: "T98G"}, 9, 0, "T98G"},
		{TaskConfig{Name: StimCellType, Holdout: "U87MG"}, 9, 0, "U87MG"},
		// 6 doubles, test_fraction 0.5 → 3 held out, 3 train.
		{TaskConfig{Name: PertCombo, Holdout: "k562"}, 3, 3, "k562"},
		{TaskConfig{Name: PertCombo, TestFraction: 1}, 5, 1, ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", c.cfg.Name, c.cfg.Holdout), func(t *testing.T) {
			sp, err := BuildSplit(perts, ctxs, "control", c.cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			checkNoLeak(t, sp, perts, ctxs, "control")
			if len(sp.TestPerturbations) != c.wantTest || len(sp.TrainPerturbations) != c.wantTrain {
				t.Errorf("test %v train %v, want %d/%d", sp.TestPerturbations, sp.TrainPerturbations, c.wantTest, c.wantTrain)
			}
			if sp.Holdout != c.holdout {
				t.Errorf("holdout %q, want %q", sp.Holdout, c.holdout)
			}
			if c.cfg.Name == PertCombo {
				for _, p := range sp.TestPerturbations {
					if !strings.Contains(p, "+") {
						t.Errorf("combo test perturbation %q is not a combination", p)
					}
				}
			}
			again, _ := BuildSplit(perts, ctxs, "control", c.cfg, 3)
			if !reflect.DeepEqual(sp, again) {
				t.Error("same seed gave a different split")
			}
		})
	}
}

func TestBuildSplitSeeds(t *testing.T) {
	perts, ctxs := synthLabels()
	distinct := map[string]bool{}
	holdouts := map[string]bool{}
	for seed := uint64(0); seed < 20; seed++ {
		sp, err := BuildSplit(perts, ctxs, "control", TaskConfig{Name: PertFewShot}, seed)
		if err != nil {
			t.Fatal(err)
		}
		checkNoLeak(t, sp, perts, ctxs, "control")
		distinct[sp.Holdout+strings.Join(sp.TestPerturbations, ",")] = true
		holdouts[sp.Holdout] = true
	}
	// 20 seeds over 4 contexts × C(9,3) subsets: different seeds must give
	// different splits and reach every context (fails if the seed is ignored).
	if len(distinct) < 10 || len(holdouts) != 4 {
		t.Errorf("%d distinct splits, holdouts %v", len(distinct), holdouts)
	}
}

func TestBuildSplitErrors(t *testing.T) {
	perts, ctxs := synthLabels()
	for _, cfg := range []TaskConfig{
		{Name: "pert-nope"},
		{Name: PertFewShot, Holdout: "HeLa"},
		{Name: PertFewShot, TrainFraction: 1.5},
		{Name: PertCombo, Holdout: "A172"}, // no doubles there
	} {
		if _, err := BuildSplit(perts, ctxs, "control", cfg, 0); err == nil {
			t.Errorf("%+v: want an error", cfg)
		}
	}
	// A context without controls cannot be held out.
	if _, err := BuildSplit([]string{"a", "b", "control"}, []string{"X", "X", "Y"}, "control", TaskConfig{Name: PertZeroShot, Holdout: "X"}, 0); err == nil {
		t.Error("holdout without controls: want an error")
	}
}
