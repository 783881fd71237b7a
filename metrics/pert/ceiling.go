package pert

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// BootstrapHalves builds the two halves of cell-eval's ceiling
// (MetricsEvaluator._bootstrap_halves): for every (context, label) group
// of n cells of in, including the control, 2n cells are drawn with
// replacement (PCG seeded by seed); the first n form half A, the last n
// half B. The halves share in's columns.
func BootstrapHalves(in Input, seed uint64) (a, b Input) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed_ce11))
	type key struct{ ctx, pert string }
	groups := map[key][]int{}
	var keys []key
	for i, p := range in.Perts {
		k := key{pert: p}
		if in.Contexts != nil {
			k.ctx = in.Contexts[i]
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	slices.SortFunc(keys, func(x, y key) int {
		if x.ctx != y.ctx {
			if x.ctx < y.ctx {
				return -1
			}
			return 1
		}
		if x.pert < y.pert {
			return -1
		} else if x.pert > y.pert {
			return 1
		}
		return 0
	})
	var ra, rb []int
	for _, k := range keys {
		g := groups[k]
		n := len(g)
		for i := 0; i < 2*n; i++ {
			r := g[rng.IntN(n)]
			if i < n {
				ra = append(ra, r)
			} else {
				rb = append(rb, r)
			}
		}
	}
	side := func(rows []int) Input {
		out := Input{X: in.X.SubsetRows(rows), Perts: make([]string, len(rows))}
		if in.Contexts != nil {
			out.Contexts = make([]string, len(rows))
		}
		for i, r := range rows {
			out.Perts[i] = in.Perts[r]
			if in.Contexts != nil {
				out.Contexts[i] = in.Contexts[r]
			}
		}
		return out
	}
	return side(ra), side(rb)
}

// Ceiling evaluates the real data against itself: the same metrics of opts
// computed between two bootstrap halves of the real cells (BootstrapHalves),
// an upper bound for what a model can reach (cell-eval --ceiling). It needs
// memory for two resampled copies of real.X.
func Ceiling(real Input, opts Options, seed uint64) (*Report, error) {
	if real.X == nil {
		return nil, fmt.Errorf("ceiling: no real matrix")
	}
	a, b := BootstrapHalves(real, seed)
	rep, err := Evaluate(a, b, opts)
	if err != nil {
		return nil, fmt.Errorf("ceiling: %w", err)
	}
	return rep, nil
}
