package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/par"
)

// BRAS is scib-metrics 0.6 bras, the batch removal adapted silhouette
// (SPEC name `bras`, higher is better, in [0, 1]; Rautenstrauch & Ohler
// 2025), with its defaults metric="cosine",
// between_cluster_distances="mean_other" (scib-metrics
// metrics/_silhouette.py bras → silhouette_batch, utils/_silhouette.py
// _silhouette_reduce). For each label with between 2 and (cells − 1)
// batches, on the label's cells only, with the cosine distance
// d(x, y) = 1 − x·y / (‖x‖‖y‖):
//
//	a_i = mean distance from i to the other cells of its batch,
//	b_i = mean distance from i to every cell of the label in another batch
//	      ("mean_other": one mean over all those cells, not the nearest
//	      batch as in a silhouette),
//	s_i = (b_i − a_i) / max(a_i, b_i), 0 when that is 0/0 (a batch of one
//	      cell, or all distances 0; scib-metrics' nan_to_num),
//
// the label scores mean_i (1 − |s_i|), and BRAS is the mean over scored
// labels (scib-metrics: pandas groupby mean, then mean).
//
// Cosine distances are computed as ‖u − v‖²/2 on the rows scaled to unit
// length (equal to scib-metrics' formula up to rounding: identical rows
// give exactly 0 in both, collinear unequal rows rounding-level values in
// both), each label's cells grouped by batch
// in dims-major order and scanned with the vector distance kernel:
// O(Σ_labels cells²·D) time, 8·cells·D bytes per label, no distance
// matrix. Cells are split over workers goroutines (≤ 0: GOMAXPROCS).
//
// It returns NaN and a reason when no label qualifies (e.g. a single
// batch; scib-metrics raises there) or when a cell is the zero vector
// (its cosine distance is undefined; scib-metrics propagates NaN).
func BRAS(x *data.Dense, labels, batches Codes, workers int) (float64, string) {
	unit := &data.Dense{Rows: x.Rows, Cols: x.Cols, Data: make([]float64, len(x.Data))}
	for i := 0; i < x.Rows; i++ {
		row := x.Row(i)
		var ss float64
		for _, v := range row {
			ss += v * v
		}
		if ss == 0 {
			return math.NaN(), fmt.Sprintf("cell %d is the zero vector: cosine distance undefined", i)
		}
		inv := 1 / math.Sqrt(ss)
		dst := unit.Data[i*x.Cols : (i+1)*x.Cols]
		for c, v := range row {
			dst[c] = v * inv
		}
	}
	workers = par.Workers(workers)
	var scores []float64
	for _, cells := range labels.members() {
		b := batches.subset(cells)
		if len(b.Names) == 1 || len(b.Names) == len(cells) {
			continue
		}
		scores = append(scores, brasLabel(subsetRows(unit, cells), b, workers))
	}
	if len(scores) == 0 {
		return math.NaN(), "no label has between 2 and (cells − 1) batches (single batch?)"
	}
	return mean(scores), ""
}

// brasLabel returns mean_i (1 − |s_i|) over the unit-length rows u of one
// label grouped by batch b (see BRAS).
func brasLabel(u *data.Dense, b Codes, workers int) float64 {
	n := u.Rows
	g := groupCells(u, b)
	terms := make([]float64, n)
	bufs := make([][]float64, workers)
	par.Range(n, workers, 64, func(w, lo, hi int) {
		if bufs[w] == nil {
			bufs[w] = make([]float64, n)
		}
		buf := bufs[w]
		for i := lo; i < hi; i++ {
			q := u.Row(i)
			own := b.Code[i]
			var intra, other float64
			for l := range b.Names {
				s, e := g.start[l], g.start[l+1]
				sqDists(q, g.t, s, e, buf)
				var sum float64
				for _, d := range buf[:e-s] {
					sum += d
				}
				if l == own {
					intra = sum / 2
				} else {
					other += sum / 2
				}
			}
			a := intra / float64(b.Count[own]-1) // NaN for a batch of one cell (0/0)
			bb := other / float64(n-b.Count[own])
			s := (bb - a) / math.Max(a, bb)
			if math.IsNaN(s) {
				s = 0
			}
			terms[i] = 1 - math.Abs(s)
		}
	})
	return mean(terms)
}
