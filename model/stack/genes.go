package stack

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/data"
)

// geneKey is how STACK matches gene names across datasets and checkpoints:
// upper-cased (get_gene_names_from_h5: np.char.upper), trimmed.
func geneKey(name string) string { return strings.ToUpper(strings.TrimSpace(name)) }

// geneMap maps a dataset's genes onto a gene universe: col[j] is the
// universe index of the dataset's column j (−1 = not in the universe),
// present[u] whether universe gene u is measured by the dataset. When two
// columns share a name after upper-casing, the last one wins (the
// release's dict comprehension); Duplicates counts the columns dropped so.
type geneMap struct {
	col        []int32
	present    []bool
	presentIdx []int32 // universe indices of present genes, ascending
	Duplicates int
	Unknown    int // dataset genes not in the universe
}

func newGeneMap(universe []string, genes []string) geneMap {
	pos := make(map[string]int32, len(universe))
	for u, g := range universe {
		pos[g] = int32(u)
	}
	m := geneMap{col: make([]int32, len(genes)), present: make([]bool, len(universe))}
	last := map[int32]int{}
	for j, g := range genes {
		u, ok := pos[geneKey(g)]
		if !ok {
			m.col[j] = -1
			m.Unknown++
			continue
		}
		if prev, dup := last[u]; dup {
			m.col[prev] = -1
			m.Duplicates++
		}
		last[u] = j
		m.col[j] = u
		m.present[u] = true
	}
	for u, p := range m.present {
		if p {
			m.presentIdx = append(m.presentIdx, int32(u))
		}
	}
	return m
}

// nPresent is the number of universe genes the dataset measures.
func (m geneMap) nPresent() int { return len(m.presentIdx) }

// denseRow writes row i of x (over the dataset's genes) into dst (over
// the universe, zeroed first).
func (m geneMap) denseRow(dst []float32, x *data.CSR, i int) {
	clear(dst)
	idx, val := x.Row(i)
	for k, j := range idx {
		if u := m.col[j]; u >= 0 {
			dst[u] = val[k]
		}
	}
}

// pearsonResidualVariance returns, for every gene of counts x restricted
// to the given rows, the variance over those cells of the analytic Pearson
// residuals of a negative binomial with θ (release:
// src/stack/data/hvg.py::compute_analytic_pearson_residuals, θ = 100):
//
//	μ_ij = d_i·a_j,  d_i = max(Σ_j x_ij, 1e-6),  a_j = max(Σ_i x_ij / Σ_i d_i, 1e-6)
//	r_ij = (x_ij − μ_ij) / √max(μ_ij + μ_ij²/θ, 1e-6),  Var_j = mean_i r_ij² − (mean_i r_ij)²
//
// (no clipping, population variance as np.var).
func pearsonResidualVariance(x *data.CSR, rows []int, theta float64) []float64 {
	G := x.Cols
	depth := make([]float64, len(rows))
	colSum := make([]float64, G)
	total := 0.0
	for k, i := range rows {
		idx, val := x.Row(i)
		s := 0.0
		for t, j := range idx {
			s += float64(val[t])
			colSum[j] += float64(val[t])
		}
		depth[k] = max(s, 1e-6)
		total += depth[k]
	}
	abund := make([]float64, G)
	for j := range G {
		abund[j] = max(colSum[j]/total, 1e-6)
	}
	sum := make([]float64, G)
	sumSq := make([]float64, G)
	dense := make([]float64, G)
	for k, i := range rows {
		clear(dense)
		idx, val := x.Row(i)
		for t, j := range idx {
			dense[j] = float64(val[t])
		}
		for j := range G {
			mu := depth[k] * abund[j]
			r := (dense[j] - mu) / math.Sqrt(max(mu+mu*mu/theta, 1e-6))
			sum[j] += r
			sumSq[j] += r * r
		}
	}
	n := float64(len(rows))
	out := make([]float64, G)
	for j := range G {
		m := sum[j] / n
		out[j] = max(sumSq[j]/n-m*m, 0)
	}
	return out
}

// GeneUniverse returns STACK's gene universe for a pool of count datasets:
// the sorted union (upper-cased names) of each dataset's top-k genes by
// analytic Pearson-residual variance (θ = 100) over at most maxCells of
// its cells (a seeded random subset) — the release's compute_hvg_union
// without its gene-name filter, whose pattern `.*P[0-9]*$` drops every gene
// ending in P (MMP9, CASP3, APP; stack-reference.md §6.10). A dataset with
// ≤ k genes contributes all of them. Ties in variance go to the earlier
// column. Errors: no dataset, a dataset without cells or genes.
func GeneUniverse(pool []*data.Dataset, k, maxCells int, seed uint64) ([]string, error) {
	if len(pool) == 0 {
		return nil, errors.New("gene universe: no datasets")
	}
	set := map[string]bool{}
	for di, d := range pool {
		if d.X == nil || d.X.Rows == 0 || d.X.Cols == 0 {
			return nil, fmt.Errorf("gene universe: dataset %s has no cells or genes", datasetName(d))
		}
		rows := make([]int, d.X.Rows)
		for i := range rows {
			rows[i] = i
		}
		if len(rows) > maxCells {
			rng := rand.New(rand.NewPCG(seed, uint64(di)))
			rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
			rows = rows[:maxCells]
			sort.Ints(rows)
		}
		v := pearsonResidualVariance(d.X, rows, 100)
		order := make([]int, len(v))
		for j := range order {
			order[j] = j
		}
		sort.SliceStable(order, func(a, b int) bool { return v[order[a]] > v[order[b]] })
		for _, j := range order[:min(k, len(order))] {
			set[geneKey(d.Var.Index[j])] = true
		}
	}
	out := make([]string, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	slices.Sort(out)
	return out, nil
}

func datasetName(d *data.Dataset) string {
	if d.Path != "" {
		return d.Path
	}
	return "(in memory)"
}
