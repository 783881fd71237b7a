package tasks

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// Names of the perturbation tasks (see doc.go for their definitions).
const (
	PertFewShot  = "pert-fewshot"
	PertZeroShot = "pert-zeroshot"
	PertCombo    = "pert-combo"
	StimCellType = "stim-celltype"
)

// splitTasks lists every task BuildSplit knows.
var splitTasks = []string{PertFewShot, PertZeroShot, PertCombo, StimCellType}

// TaskConfig selects a task and its split parameters.
type TaskConfig struct {
	Name string `yaml:"name" json:"name"`
	// Holdout is the held-out context (pert-fewshot, pert-zeroshot,
	// stim-celltype) or the context whose doubles are split (pert-combo);
	// "" lets the seed choose among the eligible contexts (pert-combo: all
	// contexts).
	Holdout string `yaml:"holdout,omitempty" json:"holdout,omitempty"`
	// TrainFraction is, for pert-fewshot, the fraction of the held-out
	// context's perturbations kept for training (default 0.3).
	TrainFraction float64 `yaml:"train_fraction,omitempty" json:"train_fraction,omitempty"`
	// TestFraction is, for pert-combo, the fraction of combinations held
	// out (default 0.5).
	TestFraction float64 `yaml:"test_fraction,omitempty" json:"test_fraction,omitempty"`
	// PromptContext is, for incontext, the context whose perturbed cells
	// prompt the held-out (query) context; "" lets the seed choose among
	// the contexts that share a perturbation with it.
	PromptContext string `yaml:"prompt_context,omitempty" json:"prompt_context,omitempty"`
	// PromptCells caps, for incontext, the prompt cells per perturbation
	// (subsampled by the seed); 0 = DefaultPromptCells.
	PromptCells int `yaml:"prompt_cells,omitempty" json:"prompt_cells,omitempty"`
	// Imputation tasks (impute-genes, impute-cells; see impute.go):
	// MaskRatios are the masking levels (fraction of a test cell's genes,
	// or of a bag's cells), BagSize the cells per bag, MaxGenes the gene
	// panel (0 = every gene); TestFraction is then the fraction of cells
	// held out for masking (default 0.25).
	MaskRatios []float64 `yaml:"mask_ratios,omitempty" json:"mask_ratios,omitempty"`
	BagSize    int       `yaml:"bag_size,omitempty" json:"bag_size,omitempty"`
	MaxGenes   int       `yaml:"max_genes,omitempty" json:"max_genes,omitempty"`
}

// Defaults of TaskConfig.
const (
	DefaultTrainFraction = 0.3
	DefaultTestFraction  = 0.5
)

// WithDefaults returns c with zero fractions replaced by the defaults.
func (c TaskConfig) WithDefaults() TaskConfig {
	if c.TrainFraction == 0 {
		c.TrainFraction = DefaultTrainFraction
	}
	if c.TestFraction == 0 {
		c.TestFraction = DefaultTestFraction
	}
	return c
}

// Split is one deterministic train/test partition of a dataset's cells.
// Train and Test are disjoint, sorted row indices; Test holds exactly the
// cells of the (context, perturbation) groups in TestGroups, and no Train
// cell belongs to such a group. Controls are never test cells: the
// evaluation compares test cells with their context's (training) controls.
type Split struct {
	Task    string `json:"task"`
	Seed    uint64 `json:"seed"`
	Holdout string `json:"holdout,omitempty"` // the held-out or split context ("" = all)
	// TrainPerturbations are the non-control perturbations of the held-out
	// context that stay in training (pert-fewshot support set; pert-combo
	// training combinations).
	TrainPerturbations []string `json:"train_perturbations"`
	// TestPerturbations are the held-out perturbations, sorted.
	TestPerturbations []string `json:"test_perturbations"`
	TestGroups        []Group  `json:"test_groups"`
	Train             []int    `json:"train"`
	Test              []int    `json:"test"`
}

// Group is one (context, perturbation) pair.
type Group struct {
	Context      string `json:"context"`
	Perturbation string `json:"perturbation"`
}

// BuildSplit partitions cells given their perturbation and context labels
// (ctxs may be nil for a single context, labelled ""). It is deterministic
// in (cfg, seed) and the labels: the generator is PCG(seed, fnv64(task name)).
//
//   - pert-fewshot: one context (cfg.Holdout, or drawn from the contexts
//     with controls and ≥ 2 perturbations) keeps round(TrainFraction·n) of
//     its n perturbations for training (at least 1 is tested); the cells of
//     the others in that context are the test set. Other contexts stay in
//     training whole (STATE/PerturBench "underrepresented context").
//   - pert-zeroshot, stim-celltype: every perturbed cell of one context
//     (cfg.Holdout or drawn from the contexts with controls and ≥ 1
//     perturbation) is held out; its controls stay in training.
//   - pert-combo: of the combinations ("A+B") in cfg.Holdout (or in every
//     context when ""), round(TestFraction·m) are held out (at least 1, at
//     most m−1 when m ≥ 2); singles and the other combinations train.
//
// It returns an error when the labels cannot support the task (no such
// context, no controls there, too few perturbations or combinations).
func BuildSplit(perts, ctxs []string, control string, cfg TaskConfig, seed uint64) (*Split, error) {
	cfg = cfg.WithDefaults()
	if ctxs == nil {
		ctxs = make([]string, len(perts))
	}
	if len(ctxs) != len(perts) {
		panic(fmt.Sprintf("tasks: BuildSplit: %d context labels for %d cells", len(ctxs), len(perts)))
	}
	if cfg.TrainFraction < 0 || cfg.TrainFraction >= 1 {
		return nil, fmt.Errorf("%s: train_fraction %g not in [0, 1)", cfg.Name, cfg.TrainFraction)
	}
	if cfg.TestFraction <= 0 || cfg.TestFraction > 1 {
		return nil, fmt.Errorf("%s: test_fraction %g not in (0, 1]", cfg.Name, cfg.TestFraction)
	}
	// perturbations per context and control presence
	byCtx := map[string]map[string]bool{}
	hasCtrl := map[string]bool{}
	for i, p := range perts {
		c := ctxs[i]
		if byCtx[c] == nil {
			byCtx[c] = map[string]bool{}
		}
		if p == control {
			hasCtrl[c] = true
		} else {
			byCtx[c][p] = true
		}
	}
	contexts := make([]string, 0, len(byCtx))
	for c := range byCtx {
		contexts = append(contexts, c)
	}
	sort.Strings(contexts)
	h := fnv.New64a()
	h.Write([]byte(cfg.Name))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	sp := &Split{Task: cfg.Name, Seed: seed}

	pickContext := func(minPerts int) (string, error) {
		var ok []string
		for _, c := range contexts {
			if hasCtrl[c] && len(byCtx[c]) >= minPerts {
				ok = append(ok, c)
			}
		}
		if cfg.Holdout != "" {
			if _, found := byCtx[cfg.Holdout]; !found {
				return "", fmt.Errorf("%s: holdout context %q not in the data (have %s)", cfg.Name, cfg.Holdout, strings.Join(contexts, ", "))
			}
			if !slices.Contains(ok, cfg.Holdout) {
				return "", fmt.Errorf("%s: context %q needs %q controls and ≥ %d perturbations (has %d)", cfg.Name, cfg.Holdout, control, minPerts, len(byCtx[cfg.Holdout]))
			}
			return cfg.Holdout, nil
		}
		if len(ok) == 0 {
			return "", fmt.Errorf("%s: no context has %q controls and ≥ %d perturbations", cfg.Name, control, minPerts)
		}
		return ok[rng.IntN(len(ok))], nil
	}
	sortedKeys := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}

	testSet := map[Group]bool{}
	switch cfg.Name {
	case PertFewShot:
		c, err := pickContext(2)
		if err != nil {
			return nil, err
		}
		ps := sortedKeys(byCtx[c])
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		nTrain := int(math.Round(cfg.TrainFraction * float64(len(ps))))
		nTrain = min(nTrain, len(ps)-1)
		sp.Holdout = c
		sp.TrainPerturbations = sorted(ps[:nTrain])
		sp.TestPerturbations = sorted(ps[nTrain:])
		for _, p := range sp.TestPerturbations {
			testSet[Group{c, p}] = true
		}
	case PertZeroShot, StimCellType:
		c, err := pickContext(1)
		if err != nil {
			return nil, err
		}
		sp.Holdout = c
		sp.TrainPerturbations = []string{}
		sp.TestPerturbations = sortedKeys(byCtx[c])
		for _, p := range sp.TestPerturbations {
			testSet[Group{c, p}] = true
		}
	case PertCombo:
		scope := contexts
		if cfg.Holdout != "" {
			if _, found := byCtx[cfg.Holdout]; !found {
				return nil, fmt.Errorf("%s: context %q not in the data (have %s)", cfg.Name, cfg.Holdout, strings.Join(contexts, ", "))
			}
			scope = []string{cfg.Holdout}
		}
		combos := map[string]bool{}
		for _, c := range scope {
			for p := range byCtx[c] {
				if strings.Contains(p, "+") && hasCtrl[c] {
					combos[p] = true
				}
			}
		}
		cs := sortedKeys(combos)
		if len(cs) == 0 {
			return nil, fmt.Errorf("%s: no combination perturbations (labels with '+') in a context with %q controls", cfg.Name, control)
		}
		rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		nTest := int(math.Round(cfg.TestFraction * float64(len(cs))))
		nTest = max(1, nTest)
		if len(cs) >= 2 {
			nTest = min(nTest, len(cs)-1)
		}
		sp.Holdout = cfg.Holdout
		sp.TestPerturbations = sorted(cs[:nTest])
		sp.TrainPerturbations = sorted(cs[nTest:])
		held := map[string]bool{}
		for _, p := range sp.TestPerturbations {
			held[p] = true
		}
		for _, c := range scope {
			if !hasCtrl[c] {
				continue
			}
			for p := range byCtx[c] {
				if held[p] {
					testSet[Group{c, p}] = true
				}
			}
		}
	default:
		return nil, fmt.Errorf("unknown task %q (known: %s)", cfg.Name, strings.Join(splitTasks, ", "))
	}
	for g := range testSet {
		sp.TestGroups = append(sp.TestGroups, g)
	}
	sort.Slice(sp.TestGroups, func(a, b int) bool {
		if sp.TestGroups[a].Context != sp.TestGroups[b].Context {
			return sp.TestGroups[a].Context < sp.TestGroups[b].Context
		}
		return sp.TestGroups[a].Perturbation < sp.TestGroups[b].Perturbation
	})
	sp.Train, sp.Test = []int{}, []int{}
	for i, p := range perts {
		if testSet[Group{ctxs[i], p}] {
			sp.Test = append(sp.Test, i)
		} else {
			sp.Train = append(sp.Train, i)
		}
	}
	if len(sp.Test) == 0 {
		return nil, fmt.Errorf("%s: the split has no test cells", cfg.Name)
	}
	return sp, nil
}

func sorted(a []string) []string {
	out := append([]string{}, a...)
	sort.Strings(out)
	return out
}
