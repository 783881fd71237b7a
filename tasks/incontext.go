package tasks

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// InContext is the in-context prompting task (KindInContext, see doc.go).
const InContext = "incontext"

// DefaultPromptCells is the prompt size of the incontext task when the task
// sets none: 128 cells, the prompt of STACK's released post-training
// configuration (ArcInstitute/stack: sample_size 512, replacement_ratio
// 0.75 → 128 prompt cells of 512).
const DefaultPromptCells = 128

// Prompt variants of an InContextModel on the incontext task; records carry
// them in results.Record.Prompt. A plain PerturbationModel ignores prompts
// and its records carry no variant ("").
const (
	// PromptMatched: the prompt holds perturbed cells of the requested
	// perturbation p in the prompt context (the task as posed).
	PromptMatched = "matched"
	// PromptNone: no prompt (a nil Prompt); what the checkpoint predicts
	// from the query cells and the label alone.
	PromptNone = "none"
	// PromptWrong: the prompt holds cells of another perturbation q ≠ p of
	// the prompt context (its controls when it measures no other
	// perturbation), while the request still names p.
	PromptWrong = "wrong"
)

// PromptCellsOrDefault is c.PromptCells, or DefaultPromptCells when 0.
func (c TaskConfig) PromptCellsOrDefault() int {
	if c.PromptCells == 0 {
		return DefaultPromptCells
	}
	return c.PromptCells
}

// InContextSplit is one deterministic split of the incontext task: the
// query context B, whose perturbed cells are all held out of training; the
// prompt context A, whose perturbed cells (in training) prompt the model;
// and the prompt cells drawn for each tested perturbation.
//
// Train and Test are disjoint sorted row indices; Test holds exactly B's
// cells of Perturbations; Train holds every cell that is neither in Test
// nor one of B's cells of Unprompted (held out, not evaluated); Query
// holds B's controls (all in Train). Every prompt row is a Train cell of
// context A.
type InContextSplit struct {
	Task          string `json:"task"`
	Seed          uint64 `json:"seed"`
	QueryContext  string `json:"query_context"`
	PromptContext string `json:"prompt_context"`
	// Perturbations are B's perturbations that A measures too (tested),
	// sorted; Unprompted are B's other perturbations (held out of
	// training, not tested: no prompt exists for them in A).
	Perturbations []string `json:"perturbations"`
	Unprompted    []string `json:"unprompted"`
	// Prompts[k] is the prompt of Perturbations[k].
	Prompts []InContextPrompt `json:"prompts"`
	Train   []int             `json:"train"`
	Test    []int             `json:"test"`
	Query   []int             `json:"query"`
}

// InContextPrompt holds the prompt rows of one tested perturbation: Cells
// are A's cells of it (PromptMatched), WrongCells A's cells of the
// perturbation Wrong (PromptWrong; the control label when A measures no
// other perturbation). Both are sorted and capped at the prompt size.
type InContextPrompt struct {
	Perturbation string `json:"perturbation"`
	Cells        []int  `json:"cells"`
	Wrong        string `json:"wrong"`
	WrongCells   []int  `json:"wrong_cells"`
}

// Groups are the test groups (B, p) of the split, in Perturbations order.
func (s *InContextSplit) Groups() []Group {
	out := make([]Group, len(s.Perturbations))
	for k, p := range s.Perturbations {
		out[k] = Group{s.QueryContext, p}
	}
	return out
}

// BuildInContextSplit builds the incontext split of cells labelled with
// perturbations perts and contexts ctxs. It is deterministic in (cfg,
// seed) and the labels; the generator is PCG(seed, fnv64a("incontext")),
// drawn in this order:
//
//  1. the query context B: cfg.Holdout, or one of the contexts (sorted)
//     that have control cells and share a perturbation with another
//     context;
//  2. the prompt context A: cfg.PromptContext, or one of the other
//     contexts (sorted) that measure a perturbation of B;
//  3. for each tested perturbation p (sorted): up to PromptCellsOrDefault
//     of A's cells of p (without replacement), then the wrong perturbation
//     q, uniform over A's other perturbations (sorted; A's controls when
//     there is none), then up to as many of A's cells of q.
//
// It returns an error naming the problem when a named context is absent,
// B has no controls, A is B or shares no perturbation with it, or no
// wrong prompt can be formed (A has neither another perturbation nor
// controls).
func BuildInContextSplit(perts, ctxs []string, control string, cfg TaskConfig, seed uint64) (*InContextSplit, error) {
	if ctxs == nil {
		ctxs = make([]string, len(perts))
	}
	if len(ctxs) != len(perts) {
		panic(fmt.Sprintf("tasks: BuildInContextSplit: %d context labels for %d cells", len(ctxs), len(perts)))
	}
	nPrompt := cfg.PromptCellsOrDefault()
	if nPrompt < 1 {
		return nil, fmt.Errorf("%s: prompt_cells %d must be ≥ 1", InContext, cfg.PromptCells)
	}
	rows := map[string]map[string][]int{} // context → label → rows
	for i, p := range perts {
		c := ctxs[i]
		if rows[c] == nil {
			rows[c] = map[string][]int{}
		}
		rows[c][p] = append(rows[c][p], i)
	}
	contexts := make([]string, 0, len(rows))
	for c := range rows {
		contexts = append(contexts, c)
	}
	sort.Strings(contexts)
	perturbed := func(c string) []string { // sorted non-control labels of c
		var out []string
		for p := range rows[c] {
			if p != control {
				out = append(out, p)
			}
		}
		sort.Strings(out)
		return out
	}
	shared := func(a, b string) []string { // b's perturbations measured in a
		var out []string
		for _, p := range perturbed(b) {
			if len(rows[a][p]) > 0 {
				out = append(out, p)
			}
		}
		return out
	}
	promptable := func(b string) []string { // contexts ≠ b sharing a perturbation with b
		var out []string
		for _, a := range contexts {
			if a != b && len(shared(a, b)) > 0 {
				out = append(out, a)
			}
		}
		return out
	}
	known := func(c string) error {
		if _, ok := rows[c]; !ok {
			return fmt.Errorf("%s: context %q not in the data (have %s)", InContext, c, strings.Join(contexts, ", "))
		}
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(InContext))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))

	b := cfg.Holdout
	if b != "" {
		if err := known(b); err != nil {
			return nil, err
		}
		if len(rows[b][control]) == 0 {
			return nil, fmt.Errorf("%s: query context %q has no %q cells to prompt", InContext, b, control)
		}
		if len(promptable(b)) == 0 {
			return nil, fmt.Errorf("%s: no other context measures a perturbation of query context %q", InContext, b)
		}
	} else {
		var ok []string
		for _, c := range contexts {
			if len(rows[c][control]) > 0 && len(promptable(c)) > 0 {
				ok = append(ok, c)
			}
		}
		if len(ok) == 0 {
			return nil, fmt.Errorf("%s: no context has %q cells and a perturbation measured in another context", InContext, control)
		}
		b = ok[rng.IntN(len(ok))]
	}
	a := cfg.PromptContext
	if a != "" {
		if err := known(a); err != nil {
			return nil, err
		}
		if a == b {
			return nil, fmt.Errorf("%s: prompt context %q is the query context", InContext, a)
		}
		if len(shared(a, b)) == 0 {
			return nil, fmt.Errorf("%s: prompt context %q measures none of the perturbations of query context %q", InContext, a, b)
		}
	} else {
		ok := promptable(b)
		a = ok[rng.IntN(len(ok))]
	}

	sp := &InContextSplit{Task: InContext, Seed: seed, QueryContext: b, PromptContext: a,
		Perturbations: shared(a, b), Unprompted: []string{}, Train: []int{}, Test: []int{}, Query: []int{}}
	for _, p := range perturbed(b) {
		if !slices.Contains(sp.Perturbations, p) {
			sp.Unprompted = append(sp.Unprompted, p)
		}
	}
	aPerts := perturbed(a)
	for _, p := range sp.Perturbations {
		pr := InContextPrompt{Perturbation: p, Cells: subsample(rows[a][p], nPrompt, rng)}
		var others []string
		for _, q := range aPerts {
			if q != p {
				others = append(others, q)
			}
		}
		switch {
		case len(others) > 0:
			pr.Wrong = others[rng.IntN(len(others))]
		case len(rows[a][control]) > 0:
			pr.Wrong = control
		default:
			return nil, fmt.Errorf("%s: prompt context %q has no other perturbation and no %q cells to form a wrong prompt for %q", InContext, a, control, p)
		}
		pr.WrongCells = subsample(rows[a][pr.Wrong], nPrompt, rng)
		sp.Prompts = append(sp.Prompts, pr)
	}
	for i, p := range perts {
		switch {
		case ctxs[i] != b:
			sp.Train = append(sp.Train, i)
		case p == control:
			sp.Train = append(sp.Train, i)
			sp.Query = append(sp.Query, i)
		case slices.Contains(sp.Perturbations, p):
			sp.Test = append(sp.Test, i)
		}
	}
	return sp, nil
}
