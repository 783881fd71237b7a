package tasks

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// checkInContextSplit asserts the InContextSplit contract on labelled
// cells: Train and Test are disjoint; Test is exactly B's cells of the
// tested perturbations; no perturbed cell of B is in Train; Query is B's
// controls and lies in Train; every prompt row is a Train cell of A with
// the right label; prompts respect the size cap.
func checkInContextSplit(t *testing.T, sp *InContextSplit, perts, ctxs []string, control string, cap int) {
	t.Helper()
	b, a := sp.QueryContext, sp.PromptContext
	if a == b {
		t.Fatalf("prompt context %q is the query context", a)
	}
	train := map[int]bool{}
	for _, i := range sp.Train {
		train[i] = true
		if ctxs[i] == b && perts[i] != control {
			t.Fatalf("perturbed cell %d (%s, %s) of the query context is in training", i, ctxs[i], perts[i])
		}
	}
	for _, i := range sp.Test {
		if train[i] {
			t.Fatalf("cell %d is both train and test", i)
		}
		if ctxs[i] != b || !slices.Contains(sp.Perturbations, perts[i]) {
			t.Fatalf("test cell %d (%s, %s) is not a cell of a tested group", i, ctxs[i], perts[i])
		}
	}
	nTest, nQuery := 0, 0
	for i := range perts {
		if ctxs[i] == b && slices.Contains(sp.Perturbations, perts[i]) {
			nTest++
		}
		if ctxs[i] == b && perts[i] == control {
			nQuery++
		}
	}
	if nTest != len(sp.Test) || nQuery != len(sp.Query) {
		t.Fatalf("test %d cells (want %d), query %d (want %d)", len(sp.Test), nTest, len(sp.Query), nQuery)
	}
	for _, i := range sp.Query {
		if !train[i] || ctxs[i] != b || perts[i] != control {
			t.Fatalf("query cell %d (%s, %s) is not a training control of %s", i, ctxs[i], perts[i], b)
		}
	}
	if len(sp.Prompts) != len(sp.Perturbations) {
		t.Fatalf("%d prompts for %d perturbations", len(sp.Prompts), len(sp.Perturbations))
	}
	for k, pr := range sp.Prompts {
		p := sp.Perturbations[k]
		if pr.Perturbation != p || pr.Wrong == p {
			t.Fatalf("prompt %d: perturbation %q wrong %q, want %q and another", k, pr.Perturbation, pr.Wrong, p)
		}
		for _, set := range []struct {
			rows  []int
			label string
		}{{pr.Cells, p}, {pr.WrongCells, pr.Wrong}} {
			if len(set.rows) == 0 || len(set.rows) > cap || !slices.IsSorted(set.rows) {
				t.Fatalf("prompt %q: %d rows (cap %d), sorted %v", set.label, len(set.rows), cap, slices.IsSorted(set.rows))
			}
			for _, i := range set.rows {
				if !train[i] || ctxs[i] != a || perts[i] != set.label {
					t.Fatalf("prompt row %d (%s, %s) is not a training cell of (%s, %s)", i, ctxs[i], perts[i], a, set.label)
				}
			}
		}
	}
}

func TestBuildInContextSplitContract(t *testing.T) {
	perts, ctxs := synthLabels() // 4 contexts × control + 9 singles (5 cells each); k562 + 6 doubles
	seenPairs := map[[2]string]bool{}
	for seed := uint64(0); seed < 12; seed++ {
		for _, cfg := range []TaskConfig{
			{Name: InContext},
			{Name: InContext, Holdout: "k562", PromptContext: "A172", PromptCells: 3},
			{Name: InContext, Holdout: "A172"},
		} {
			sp, err := BuildInContextSplit(perts, ctxs, "control", cfg, seed)
			if err != nil {
				t.Fatalf("seed %d %+v: %v", seed, cfg, err)
			}
			checkInContextSplit(t, sp, perts, ctxs, "control", cfg.PromptCellsOrDefault())
			if cfg.Holdout != "" && sp.QueryContext != cfg.Holdout || cfg.PromptContext != "" && sp.PromptContext != cfg.PromptContext {
				t.Fatalf("contexts %s/%s, config asked %s/%s", sp.QueryContext, sp.PromptContext, cfg.Holdout, cfg.PromptContext)
			}
			if cfg.Holdout == "" {
				seenPairs[[2]string{sp.QueryContext, sp.PromptContext}] = true
			}
			// k562 as the query: its 6 doubles have no prompt in A172
			// (held out, untested); as the prompt, doubles are not tested.
			switch {
			case sp.QueryContext == "k562" && len(sp.Unprompted) != 6:
				t.Fatalf("query k562: unprompted %v, want the 6 doubles", sp.Unprompted)
			case sp.QueryContext != "k562" && len(sp.Unprompted) != 0:
				t.Fatalf("query %s: unprompted %v, want none", sp.QueryContext, sp.Unprompted)
			case len(sp.Perturbations) != 9:
				t.Fatalf("%d tested perturbations, want the 9 shared singles", len(sp.Perturbations))
			}
			again, _ := BuildInContextSplit(perts, ctxs, "control", cfg, seed)
			if !reflect.DeepEqual(sp, again) {
				t.Fatalf("seed %d %+v: two builds differ", seed, cfg)
			}
		}
	}
	// 12 seeds draw several (query, prompt) pairs, not one.
	if len(seenPairs) < 4 {
		t.Fatalf("12 seeds drew only %d (query, prompt) pairs: %v", len(seenPairs), seenPairs)
	}
}

// TestBuildInContextSplitOnePerturbation: with one perturbation (Kang's
// stim), the wrong prompt is the prompt context's controls.
func TestBuildInContextSplitOnePerturbation(t *testing.T) {
	var perts, ctxs []string
	for _, c := range []string{"B cells", "CD4 T cells", "CD14+ Monocytes"} {
		for _, p := range []string{"ctrl", "stim"} {
			for range 4 {
				perts, ctxs = append(perts, p), append(ctxs, c)
			}
		}
	}
	sp, err := BuildInContextSplit(perts, ctxs, "ctrl", TaskConfig{Name: InContext, Holdout: "CD4 T cells", PromptContext: "B cells"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	checkInContextSplit(t, sp, perts, ctxs, "ctrl", DefaultPromptCells)
	if !reflect.DeepEqual(sp.Perturbations, []string{"stim"}) || sp.Prompts[0].Wrong != "ctrl" {
		t.Fatalf("perturbations %v, wrong prompt %q; want [stim] and ctrl", sp.Perturbations, sp.Prompts[0].Wrong)
	}
	// All 4 prompt cells are used when the cap exceeds the group.
	if !reflect.DeepEqual(sp.Prompts[0].Cells, []int{4, 5, 6, 7}) {
		t.Fatalf("prompt rows %v, want the 4 stim cells of B cells [4 5 6 7]", sp.Prompts[0].Cells)
	}
}

func TestBuildInContextSplitErrors(t *testing.T) {
	perts, ctxs := synthLabels()
	// A context that measures nothing the others do, and one without controls.
	for range 3 {
		perts, ctxs = append(perts, "Z1"), append(ctxs, "lonely")
		perts, ctxs = append(perts, "control"), append(ctxs, "lonely")
		perts, ctxs = append(perts, "S1"), append(ctxs, "noctrl")
	}
	onlyStim := []string{"ctrl", "stim", "stim"}
	for _, tc := range []struct {
		name        string
		perts, ctxs []string
		control     string
		cfg         TaskConfig
		want        string
	}{
		{"unknown query", perts, ctxs, "control", TaskConfig{Name: InContext, Holdout: "HeLa"}, `context "HeLa" not in the data`},
		{"unknown prompt", perts, ctxs, "control", TaskConfig{Name: InContext, PromptContext: "HeLa"}, `context "HeLa" not in the data`},
		{"prompt is query", perts, ctxs, "control", TaskConfig{Name: InContext, Holdout: "k562", PromptContext: "k562"}, "is the query context"},
		{"query without controls", perts, ctxs, "control", TaskConfig{Name: InContext, Holdout: "noctrl"}, `has no "control" cells`},
		{"nothing shared", perts, ctxs, "control", TaskConfig{Name: InContext, Holdout: "lonely"}, "no other context measures"},
		{"prompt shares nothing", perts, ctxs, "control", TaskConfig{Name: InContext, Holdout: "k562", PromptContext: "lonely"}, "measures none of the perturbations"},
		{"bad prompt size", perts, ctxs, "control", TaskConfig{Name: InContext, PromptCells: -2}, "prompt_cells -2"},
		{"one context", onlyStim, []string{"a", "a", "a"}, "ctrl", TaskConfig{Name: InContext}, "no context has"},
		{"no wrong prompt", []string{"ctrl", "stim", "stim"}, []string{"a", "a", "b"}, "ctrl", TaskConfig{Name: InContext}, "to form a wrong prompt"},
	} {
		_, err := BuildInContextSplit(tc.perts, tc.ctxs, tc.control, tc.cfg, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestKindRunBy(t *testing.T) {
	for _, tc := range []struct {
		task  Kind
		model []Kind
		want  bool
	}{
		{KindInContext, []Kind{KindPerturbation}, true}, // a PerturbationModel ignores the prompt
		{KindInContext, []Kind{KindInContext}, true},
		{KindPerturbation, []Kind{KindInContext}, false}, // an in-context-only model is not run on perturbation tasks
		{KindEmbedding, []Kind{KindPerturbation}, false},
		{KindInContext, []Kind{KindEmbedding, KindImputation}, false},
	} {
		if got := tc.task.RunBy(tc.model); got != tc.want {
			t.Errorf("%s.RunBy(%v) = %v, want %v", tc.task, tc.model, got, tc.want)
		}
	}
}
