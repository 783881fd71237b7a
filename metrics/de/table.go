package de

import (
	"fmt"
	"math"
	"slices"

	"github.com/cellbench/cellbench/data"
)

// Group names the cells (rows of a matrix) of one target group.
type Group struct {
	Name string
	Rows []int
}

// Result is the differential-expression table of one target group against
// the reference, one entry per gene (cell-eval / pdex columns).
type Result struct {
	Target     string
	NTarget    int       // cells in the target group
	NRef       int       // cells in the reference group
	TargetMean []float64 // expm1(mean log1p) of the target cells (count space, pdex's geometric pseudobulk)
	RefMean    []float64 // expm1(mean log1p) of the reference cells
	LFC        []float64 // log2_fold_change (see Log2FoldChange)
	Statistic  []float64 // Mann–Whitney U of the target group
	PValue     []float64 // two-sided asymptotic p-value in [0, 1]
	FDR        []float64 // Benjamini–Hochberg adjusted p-value across the genes of this target
}

// Compare tests every group of x (log1p values, cells × genes) against ref
// gene by gene (TestGroups), then adds the Benjamini–Hochberg FDR across the
// genes of each group and the log2 fold change with pseudocount eps
// (cell-eval's --lfc-epsilon; pdex's default 1e-9). threads ≤ 0 means
// GOMAXPROCS. Errors as TestGroups.
func Compare(x *data.CSR, groups []Group, ref *Reference, eps float64, threads int) ([]Result, error) {
	rows := make([][]int, len(groups))
	for i, g := range groups {
		rows[i] = g.Rows
	}
	stats, err := TestGroups(x, rows, ref, threads)
	if err != nil {
		if len(groups) > 0 {
			return nil, fmt.Errorf("%w (groups: %s, ...)", err, groups[0].Name)
		}
		return nil, err
	}
	refMean := make([]float64, ref.nGenes)
	for g, m := range ref.mean {
		refMean[g] = math.Expm1(m)
	}
	out := make([]Result, len(groups))
	parallel(len(stats), threads, func(_, i int, _ *scratch) {
		st := stats[i]
		r := Result{Target: groups[i].Name, NTarget: st.NTarget, NRef: st.NRef,
			TargetMean: make([]float64, ref.nGenes), RefMean: refMean,
			LFC: make([]float64, ref.nGenes), Statistic: st.U, PValue: st.P,
			FDR: BenjaminiHochberg(st.P)}
		for g, m := range st.Mean {
			r.TargetMean[g] = math.Expm1(m)
			r.LFC[g] = Log2FoldChange(m, ref.mean[g], eps)
		}
		out[i] = r
	})
	return out, nil
}

// Log2FoldChange returns log2((expm1(meanLog1pTarget) + eps) /
// (expm1(meanLog1pRef) + eps)), the pdex/cell-eval log2 fold change of
// geometric pseudobulks (SPEC-metrics.md, --lfc-epsilon). When numerator and
// denominator are both 0 (possible only with eps = 0) it returns 0 as pdex
// does; with eps = 0 and only one side zero it is ±Inf.
func Log2FoldChange(meanLog1pTarget, meanLog1pRef, eps float64) float64 {
	t := math.Expm1(meanLog1pTarget) + eps
	r := math.Expm1(meanLog1pRef) + eps
	if t == 0 && r == 0 {
		return 0
	}
	return math.Log2(t / r)
}

// BenjaminiHochberg returns the Benjamini–Hochberg adjusted p-values
// (q-values) of p in the original order: with p sorted ascending,
// q_(i) = min_{j ≥ i} p_(j) / (j/m), capped at 1 — the same operations as
// statsmodels fdrcorrection (multipletests method="fdr_bh") and scipy
// false_discovery_control. NaN p-values are not allowed (panics): the tests in
// this package never produce them.
func BenjaminiHochberg(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
		if math.IsNaN(p[i]) {
			panic("de: BenjaminiHochberg: NaN p-value")
		}
	}
	// Equal p-values end with equal q-values whatever their order, so an
	// unstable sort is enough.
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	q := make([]float64, m)
	running := math.Inf(1)
	for k := m - 1; k >= 0; k-- {
		i := order[k]
		v := p[i] / (float64(k+1) / float64(m))
		if v < running {
			running = v
		}
		q[i] = min(running, 1)
	}
	return q
}
