package scib

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cellbench/cellbench/data"
)

// PCA2 returns the first two principal-component scores of x (columns
// centred; eigen-decomposition of the dims × dims covariance) and the
// fraction of total variance each explains. The sign of each component is
// fixed so that its largest-magnitude loading is positive (deterministic
// across platforms). It errors when x has fewer than 2 rows or columns.
// Embedding artifacts store these scores; reports.PCA2 is this function.
func PCA2(x *data.Dense) (scores [][2]float64, explained [2]float64, err error) {
	if x == nil || x.Rows < 2 || x.Cols < 2 {
		return nil, explained, fmt.Errorf("pca: need at least 2 cells and 2 dimensions")
	}
	n, d := x.Rows, x.Cols
	mu := make([]float64, d)
	for i := range n {
		for j, v := range x.Row(i) {
			mu[j] += v
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	cov := mat.NewSymDense(d, nil)
	row := make([]float64, d)
	for i := range n {
		for j, v := range x.Row(i) {
			row[j] = v - mu[j]
		}
		for a := range d {
			for b := a; b < d; b++ {
				cov.SetSym(a, b, cov.At(a, b)+row[a]*row[b])
			}
		}
	}
	cov.ScaleSym(1/float64(n-1), cov)
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, explained, fmt.Errorf("pca: eigendecomposition failed")
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	total := 0.0
	for _, v := range vals {
		total += math.Max(v, 0)
	}
	comp := [2][]float64{}
	for k := range 2 {
		col := d - 1 - k
		comp[k] = make([]float64, d)
		big := 0.0
		for j := range d {
			comp[k][j] = vecs.At(j, col)
			if math.Abs(comp[k][j]) > math.Abs(big) {
				big = comp[k][j]
			}
		}
		if big < 0 {
			for j := range comp[k] {
				comp[k][j] = -comp[k][j]
			}
		}
		if total > 0 {
			explained[k] = math.Max(vals[col], 0) / total
		}
	}
	scores = make([][2]float64, n)
	for i := range n {
		r := x.Row(i)
		for k := range 2 {
			s := 0.0
			for j := range d {
				s += (r[j] - mu[j]) * comp[k][j]
			}
			scores[i][k] = s
		}
	}
	return scores, explained, nil
}
