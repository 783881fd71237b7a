package pert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cellbench/cellbench/data"
)

// Input is one side (real or predicted) of an evaluation: a log1p matrix and
// per-cell labels.
type Input struct {
	// X holds log1p-normalised expression, cells × genes (see
	// data.ToLog1p for the scale rule). It is only read.
	X *data.CSR
	// Perts is the perturbation label of every cell (len X.Rows); the
	// control label marks control cells.
	Perts []string
	// Contexts is the context (cell type, cell line) of every cell, or nil
	// for a single context. Every metric is computed within a context.
	Contexts []string
}

// context is the cells of one context of one side, grouped by label.
type sideContext struct {
	control []int            // rows of the control cells (nil if absent)
	groups  map[string][]int // non-control label → rows, ascending
}

// groupSide splits an input by context and label, checking lengths and
// finiteness. name is "real" or "pred" for messages.
func groupSide(in Input, name, control string) (map[string]*sideContext, error) {
	if in.X == nil {
		return nil, fmt.Errorf("%s: no expression matrix", name)
	}
	if err := in.X.Validate(); err != nil {
		return nil, fmt.Errorf("%s: X: %w", name, err)
	}
	if err := in.X.CheckFinite(); err != nil {
		return nil, fmt.Errorf("%s: X: %w (NaN/Inf are not valid expression values)", name, err)
	}
	if len(in.Perts) != in.X.Rows {
		return nil, fmt.Errorf("%s: %d perturbation labels for %d cells", name, len(in.Perts), in.X.Rows)
	}
	if in.Contexts != nil && len(in.Contexts) != in.X.Rows {
		return nil, fmt.Errorf("%s: %d context labels for %d cells", name, len(in.Contexts), in.X.Rows)
	}
	out := map[string]*sideContext{}
	for i, p := range in.Perts {
		if data.MissingLabel(p) {
			return nil, fmt.Errorf("%s: cell %d has a missing perturbation label %s: cells without a label are never scored as a perturbation", name, i, data.Quote(p))
		}
		c := ""
		if in.Contexts != nil {
			c = in.Contexts[i]
			if data.MissingLabel(c) {
				return nil, fmt.Errorf("%s: cell %d has a missing context label %s", name, i, data.Quote(c))
			}
		}
		sc := out[c]
		if sc == nil {
			sc = &sideContext{groups: map[string][]int{}}
			out[c] = sc
		}
		if p == control {
			sc.control = append(sc.control, i)
		} else {
			sc.groups[p] = append(sc.groups[p], i)
		}
	}
	return out, nil
}

// plan is the matched structure of real and pred: contexts in sorted order,
// each with its perturbations in sorted order.
type plan struct {
	contexts []planContext
}

type planContext struct {
	name               string
	perts              []string
	realRows, predRows [][]int // per perturbation
	realCtrl, predCtrl []int   // predCtrl nil when not used/absent
}

// matchSides checks that real and pred have the same contexts, the same
// perturbations in each context and the control where needed.
func matchSides(real, pred map[string]*sideContext, control string, needPredControl bool, withContexts bool) (*plan, error) {
	where := func(c string) string {
		if !withContexts {
			return ""
		}
		return " in context " + data.Quote(c)
	}
	var ctxs []string
	for c := range real {
		ctxs = append(ctxs, c)
	}
	slices.Sort(ctxs)
	var missing []string
	for c := range pred {
		if _, ok := real[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("contexts differ: pred has %s not in real%s", listHead(quoteAll(missing), 10), hintOf(nearMissHint(ctxs, missing)))
	}
	p := &plan{}
	for _, c := range ctxs {
		r, q := real[c], pred[c]
		if q == nil {
			return nil, fmt.Errorf("contexts differ: real has context %s, pred has no cell of it", data.Quote(c))
		}
		if r.control == nil {
			return nil, fmt.Errorf("real: control label %s has no cell%s", data.Quote(control), where(c))
		}
		if needPredControl && q.control == nil {
			return nil, fmt.Errorf("pred: control label %s has no cell%s (use control reference real if the model does not predict controls)", data.Quote(control), where(c))
		}
		var onlyReal, onlyPred []string
		for t := range r.groups {
			if _, ok := q.groups[t]; !ok {
				onlyReal = append(onlyReal, t)
			}
		}
		for t := range q.groups {
			if _, ok := r.groups[t]; !ok {
				onlyPred = append(onlyPred, t)
			}
		}
		if len(onlyReal)+len(onlyPred) > 0 {
			slices.Sort(onlyReal)
			slices.Sort(onlyPred)
			var parts []string
			if len(onlyReal) > 0 {
				parts = append(parts, fmt.Sprintf("missing from pred: %s", listHead(quoteAll(onlyReal), 10)))
			}
			if len(onlyPred) > 0 {
				parts = append(parts, fmt.Sprintf("not in real: %s", listHead(quoteAll(onlyPred), 10)))
			}
			if hint := nearMissHint(onlyReal, onlyPred); hint != "" {
				parts = append(parts, hint)
			}
			return nil, fmt.Errorf("perturbation sets differ%s: %s", where(c), strings.Join(parts, "; "))
		}
		if len(r.groups) == 0 {
			return nil, fmt.Errorf("no perturbation other than the control %s%s", data.Quote(control), where(c))
		}
		pc := planContext{name: c, realCtrl: r.control}
		if needPredControl {
			pc.predCtrl = q.control
		}
		for t := range r.groups {
			pc.perts = append(pc.perts, t)
		}
		slices.Sort(pc.perts)
		for _, t := range pc.perts {
			pc.realRows = append(pc.realRows, r.groups[t])
			pc.predRows = append(pc.predRows, q.groups[t])
		}
		p.contexts = append(p.contexts, pc)
	}
	return p, nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = data.Quote(x)
	}
	return out
}

// nearMissHint names the pairs of a and b that differ only by case,
// surrounding spaces or Unicode normalisation (data.LooseKey), or "".
func nearMissHint(a, b []string) string {
	byKey := map[string]string{}
	for _, x := range a {
		byKey[data.LooseKey(x)] = x
	}
	var pairs []string
	for _, y := range b {
		if x, ok := byKey[data.LooseKey(y)]; ok && x != y {
			pairs = append(pairs, data.Quote(x)+" vs "+data.Quote(y))
		}
	}
	if len(pairs) == 0 {
		return ""
	}
	return "labels that differ only by case, surrounding spaces or Unicode normalisation: " + listHead(pairs, 5)
}

// hintOf returns "; "+hint, or "" for no hint.
func hintOf(hint string) string {
	if hint == "" {
		return ""
	}
	return "; " + hint
}

// listHead joins at most n items and says how many more there are.
func listHead(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
