package pert

import (
	"math"
	"slices"

	"github.com/cellbench/cellbench/metrics/de"
)

// deValues are the DE-based metrics of one perturbation.
type deValues struct {
	nsigReal, nsigPred int
	overlapN           float64
	overlapK           [4]float64 // at 50, 100, 200, 500
	precisionN         float64
	recall             float64
	directionMatch     float64
	spearmanLFCSig     float64
}

var overlapKs = [4]int{50, 100, 200, 500}

// significant returns the significant genes of r (fdr < alpha and
// |LFC| ≥ minLFC), ranked by |LFC| descending, ties by gene order.
func significant(r *de.Result, alpha, minLFC float64) []int {
	var sig []int
	for g, q := range r.FDR {
		if q < alpha && math.Abs(r.LFC[g]) >= minLFC {
			sig = append(sig, g)
		}
	}
	slices.SortStableFunc(sig, func(a, b int) int {
		x, y := math.Abs(r.LFC[a]), math.Abs(r.LFC[b])
		switch {
		case x > y:
			return -1
		case x < y:
			return 1
		}
		return 0
	})
	return sig
}

// intersect counts the genes shared by a and b (each without repeats).
func intersect(a, b []int, nGenes int, mark []bool) int {
	clear(mark)
	for _, g := range a {
		mark[g] = true
	}
	n := 0
	for _, g := range b {
		if mark[g] {
			n++
		}
	}
	return n
}

func sign(x float64) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// deMetrics computes the DE metrics of SPEC-metrics.md from the real and
// predicted DE tables of one perturbation.
func deMetrics(real, pred *de.Result, alpha, minLFC float64) deValues {
	nGenes := len(real.FDR)
	rs := significant(real, alpha, minLFC)
	ps := significant(pred, alpha, minLFC)
	k, kp := len(rs), len(ps)
	mark := make([]bool, nGenes)
	v := deValues{nsigReal: k, nsigPred: kp}
	top := func(s []int, n int) []int { return s[:min(n, len(s))] }
	if k == 0 {
		v.overlapN = 0
		for i := range v.overlapK {
			v.overlapK[i] = 0
		}
	} else {
		v.overlapN = float64(intersect(rs, top(ps, k), nGenes, mark)) / float64(k)
		for i, K := range overlapKs {
			ke := min(K, k)
			v.overlapK[i] = float64(intersect(top(rs, ke), top(ps, ke), nGenes, mark)) / float64(ke)
		}
	}
	both := intersect(rs, ps, nGenes, mark)
	if kp == 0 {
		v.precisionN = 0
	} else {
		v.precisionN = float64(both) / float64(kp)
	}
	if k == 0 {
		v.recall, v.directionMatch, v.spearmanLFCSig = math.NaN(), math.NaN(), math.NaN()
		return v
	}
	v.recall = float64(both) / float64(k)
	match := 0
	lr := make([]float64, k)
	lp := make([]float64, k)
	for i, g := range rs {
		if sign(real.LFC[g]) == sign(pred.LFC[g]) {
			match++
		}
		lr[i], lp[i] = real.LFC[g], pred.LFC[g]
	}
	v.directionMatch = float64(match) / float64(k)
	v.spearmanLFCSig = Spearman(lr, lp)
	return v
}
