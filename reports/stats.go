package reports

import (
	"math"

	"github.com/cellbench/cellbench/metrics/pert"
)

// finitePairs returns the pairs (x[i], y[i]) where both are finite.
func finitePairs(x, y []float64) (xs, ys []float64) {
	for i := range x {
		if isFinite(x[i]) && isFinite(y[i]) {
			xs = append(xs, x[i])
			ys = append(ys, y[i])
		}
	}
	return xs, ys
}

// pearson returns pert.Pearson over the pairs where both values are
// finite, and the number of such pairs (NaN when fewer than 2 or a side is
// constant).
func pearson(x, y []float64) (float64, int) {
	xs, ys := finitePairs(x, y)
	return pert.Pearson(xs, ys), len(xs)
}

// spearman returns pert.Spearman over the finite pairs, and their number.
func spearman(x, y []float64) (float64, int) {
	xs, ys := finitePairs(x, y)
	return pert.Spearman(xs, ys), len(xs)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
