package pert

import (
	"math"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/par"
)

// Pseudobulk returns the arithmetic mean over the given rows of x of every
// gene (log1p values), i.e. μ(t) of SPEC-metrics.md: x.MeanRows(rows). It
// panics on an empty row set.
func Pseudobulk(x *data.CSR, rows []int) []float64 {
	if len(rows) == 0 {
		panic("pert: Pseudobulk of no cells")
	}
	return x.MeanRows(rows)
}

func pseudobulks(x *data.CSR, groups [][]int, threads int) [][]float64 {
	out := make([][]float64, len(groups))
	par.For(len(groups), threads, func(i int) { out[i] = Pseudobulk(x, groups[i]) })
	return out
}

// meanAbsSq returns mean |a−b| and mean (a−b)² over the genes.
func meanAbsSq(a, b []float64) (mae, mse float64) {
	for j := range a {
		d := a[j] - b[j]
		mae += math.Abs(d)
		mse += d * d
	}
	n := float64(len(a))
	return mae / n, mse / n
}

func sub(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for j := range a {
		out[j] = a[j] - b[j]
	}
	return out
}

// EnergyDistance returns the energy distance between the cells xRows of x
// and the cells yRows of y (log1p vectors, Euclidean):
//
//	2·mean_{i,j} ‖x_i − y_j‖ − mean_{i,i'} ‖x_i − x_i'‖ − mean_{j,j'} ‖y_j − y_j'‖
//
// with every mean over all ordered pairs including i = i' (scperturb's
// edist and cell-eval's pairwise-distance form). Distances are computed
// exactly on the sparse rows (merge of the non-zeros, no expansion of
// ‖x‖² + ‖y‖² − 2x·y), so identical cells are at distance 0. Cost:
// (n+m)²·(non-zeros per row); nothing is densified. Panics on an empty set.
func EnergyDistance(x *data.CSR, xRows []int, y *data.CSR, yRows []int) float64 {
	if len(xRows) == 0 || len(yRows) == 0 {
		panic("pert: EnergyDistance of an empty cell set")
	}
	cross := 0.0
	for _, i := range xRows {
		ai, av := x.Row(i)
		for _, j := range yRows {
			bi, bv := y.Row(j)
			cross += math.Sqrt(sqDist(ai, av, bi, bv))
		}
	}
	within := func(m *data.CSR, rows []int) float64 {
		s := 0.0
		for p, i := range rows {
			ai, av := m.Row(i)
			for _, j := range rows[p+1:] {
				bi, bv := m.Row(j)
				s += math.Sqrt(sqDist(ai, av, bi, bv))
			}
		}
		return 2 * s // ordered pairs; the diagonal contributes 0
	}
	nx, ny := float64(len(xRows)), float64(len(yRows))
	return 2*cross/(nx*ny) - within(x, xRows)/(nx*nx) - within(y, yRows)/(ny*ny)
}

// sqDist is Σ_g (a_g − b_g)² of two sparse rows (sorted indices).
func sqDist(ai []int32, av []float32, bi []int32, bv []float32) float64 {
	s := 0.0
	p, q := 0, 0
	for p < len(ai) && q < len(bi) {
		switch {
		case ai[p] == bi[q]:
			d := float64(av[p]) - float64(bv[q])
			s += d * d
			p++
			q++
		case ai[p] < bi[q]:
			d := float64(av[p])
			s += d * d
			p++
		default:
			d := float64(bv[q])
			s += d * d
			q++
		}
	}
	for ; p < len(ai); p++ {
		d := float64(av[p])
		s += d * d
	}
	for ; q < len(bi); q++ {
		d := float64(bv[q])
		s += d * d
	}
	return s
}

// l1Dist is Σ|a_j − b_j| with four independent accumulators (the loop is
// bound by floating-point add latency otherwise). len(b) ≥ len(a).
func l1Dist(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(a); j += 4 {
		s0 += math.Abs(a[j] - b[j])
		s1 += math.Abs(a[j+1] - b[j+1])
		s2 += math.Abs(a[j+2] - b[j+2])
		s3 += math.Abs(a[j+3] - b[j+3])
	}
	for ; j < len(a); j++ {
		s0 += math.Abs(a[j] - b[j])
	}
	return (s0 + s1) + (s2 + s3)
}
