package scib

import (
	"fmt"
	"math"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// diffusionOperator returns the diffusion transitions of the fuzzy 15-NN
// graph of one blob of n cells in dims dimensions.
func diffusionOperator(t testing.TB, seed uint64, n, dims int) *symCSR {
	x, _, _ := blobs(seed, 1, 1, n, dims, 0)
	g := FuzzyConnectivities(ExactKNN(x, 15, 1))
	if _, c := g.components(nil); c != 1 {
		t.Logf("graph has %d components", c)
	}
	return diffusionTransitions(g)
}

func TestEigenLMLanczosMatchesDense(t *testing.T) {
	for _, c := range []struct{ n, k int }{{600, 20}, {600, 100}, {1500, 17}} {
		t.Run(fmt.Sprintf("n=%d,k=%d", c.n, c.k), func(t *testing.T) {
			a := diffusionOperator(t, 3, c.n, 5)
			t0 := time.Now()
			lv, lvec, err := eigenLMLanczos(a, c.k, min(a.n, max(2*c.k+1, 20)), 0)
			if err != nil {
				t.Fatal(err)
			}
			tl := time.Since(t0)
			t0 = time.Now()
			dv, dvec, err := eigenLMDense(a, c.k)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("lanczos %v, dense %v; λ: %.6f … %.6f", tl, time.Since(t0), lv[0], lv[c.k-1])
			for j := range lv {
				if math.Abs(lv[j]-dv[j]) > 1e-10 {
					t.Errorf("λ_%d = %.15g, dense %.15g", j, lv[j], dv[j])
				}
			}
			// Residuals of the Lanczos pairs.
			col := make([]float64, a.n)
			av := make([]float64, a.n)
			for j := range lv {
				mat.Col(col, j, lvec)
				a.mulVec(av, col)
				var r float64
				for i := range av {
					d := av[i] - lv[j]*col[i]
					r += d * d
				}
				if math.Sqrt(r) > 1e-10 {
					t.Errorf("pair %d: residual %g", j, math.Sqrt(r))
				}
			}
			_ = dvec
		})
	}
}
