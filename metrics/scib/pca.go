package scib

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cellbench/cellbench/data"
	"gonum.org/v1/gonum/mat"
)

// PCAResult is a principal component analysis of a cells × genes matrix.
type PCAResult struct {
	Scores   *data.Dense // cells × comps: centred data projected on the loadings
	Loadings *mat.Dense  // genes × comps, orthonormal columns
	Variance []float64   // per component, σ²/(n−1), decreasing
}

// PCA computes the first comps principal components of m (cells × genes,
// e.g. log1p HVG values), centring each gene (no scaling), as
// sklearn/scanpy PCA. m stays sparse: the centred matrix is applied
// implicitly (X·v − 1·(μᵀv)). The method is subspace iteration (Halko,
// Martinsson & Tropp 2011, Alg. 4.4) on 2·comps + 10 vectors started from a
// PCG(seed, seed) Gaussian block, re-orthonormalised (QR) each half-step,
// iterated until the leading comps singular values change by < 1e-12
// (relative) between iterations (at most 200 iterations), then
// Rayleigh–Ritz (SVD of the small projected matrix).
//
// Orthonormalisation is modified Gram–Schmidt applied twice (O(rows·l²),
// never forming a square Q).
//
// Sign convention (deterministic): each loading vector is flipped so that
// its entry of largest magnitude is positive (sklearn ≥ 1.5's
// svd_flip(u_based_decision=False)). It errors when comps is not in
// [1, min(cells, genes)].
func PCA(m *data.CSR, comps int, seed uint64) (*PCAResult, error) {
	n, g := m.Rows, m.Cols
	if comps < 1 || comps > min(n, g) {
		return nil, fmt.Errorf("pca: %d components out of range [1, min(%d cells, %d genes)]", comps, n, g)
	}
	mu := make([]float64, g)
	for i := 0; i < n; i++ {
		idx, val := m.Row(i)
		for k, j := range idx {
			mu[j] += float64(val[k])
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	l := min(2*comps+10, min(n, g))
	rng := rand.New(rand.NewPCG(seed, seed))
	omega := mat.NewDense(g, l, nil)
	for r := 0; r < g; r++ {
		for c := 0; c < l; c++ {
			omega.Set(r, c, rng.NormFloat64())
		}
	}
	// Y = Xc·Ω (n × l), Z = Xcᵀ·Q (g × l).
	mulX := func(v *mat.Dense) *mat.Dense {
		out := mat.NewDense(n, l, nil)
		shift := make([]float64, l)
		for j := 0; j < g; j++ {
			for c := 0; c < l; c++ {
				shift[c] += mu[j] * v.At(j, c)
			}
		}
		vraw := v.RawMatrix()
		oraw := out.RawMatrix()
		for i := 0; i < n; i++ {
			row := oraw.Data[i*oraw.Stride : i*oraw.Stride+l]
			idx, val := m.Row(i)
			for k, j := range idx {
				x := float64(val[k])
				vr := vraw.Data[int(j)*vraw.Stride : int(j)*vraw.Stride+l]
				for c := range row {
					row[c] += x * vr[c]
				}
			}
			for c := range row {
				row[c] -= shift[c]
			}
		}
		return out
	}
	mulXt := func(q *mat.Dense) *mat.Dense {
		out := mat.NewDense(g, l, nil)
		colSum := make([]float64, l)
		qraw := q.RawMatrix()
		oraw := out.RawMatrix()
		for i := 0; i < n; i++ {
			qr := qraw.Data[i*qraw.Stride : i*qraw.Stride+l]
			for c, v := range qr {
				colSum[c] += v
			}
			idx, val := m.Row(i)
			for k, j := range idx {
				x := float64(val[k])
				or := oraw.Data[int(j)*oraw.Stride : int(j)*oraw.Stride+l]
				for c, v := range qr {
					or[c] += x * v
				}
			}
		}
		for j := 0; j < g; j++ {
			or := oraw.Data[j*oraw.Stride : j*oraw.Stride+l]
			for c := range or {
				or[c] -= mu[j] * colSum[c]
			}
		}
		return out
	}
	q := orth(mulX(omega))
	var prev []float64
	var svd mat.SVD
	var sv []float64
	for it := 0; it < 200; it++ {
		z := orth(mulXt(q))
		q = orth(mulX(z))
		// Rayleigh–Ritz: Bᵀ = Xcᵀ·Q (g × l); singular values of B.
		bt := mulXt(q)
		if !svd.Factorize(bt, mat.SVDThin) {
			return nil, fmt.Errorf("pca: SVD did not converge")
		}
		sv = svd.Values(nil)
		if prev != nil && it >= 3 {
			conv := true
			for c := 0; c < comps; c++ {
				if math.Abs(sv[c]-prev[c]) > 1e-12*math.Max(sv[0], 1e-300) {
					conv = false
					break
				}
			}
			if conv {
				break
			}
		}
		prev = sv
	}
	// Bᵀ = U Σ Vᵀ with U (g × l) the loadings; scores = Q·V·Σ.
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	res := &PCAResult{Loadings: mat.NewDense(g, comps, nil), Variance: make([]float64, comps),
		Scores: &data.Dense{Rows: n, Cols: comps, Data: make([]float64, n*comps)}}
	var qv mat.Dense
	qv.Mul(q, v.Slice(0, l, 0, comps))
	for c := 0; c < comps; c++ {
		best, sign := 0.0, 1.0
		for j := 0; j < g; j++ {
			if a := math.Abs(u.At(j, c)); a > best {
				best = a
				sign = math.Copysign(1, u.At(j, c))
			}
		}
		for j := 0; j < g; j++ {
			res.Loadings.Set(j, c, sign*u.At(j, c))
		}
		for i := 0; i < n; i++ {
			res.Scores.Data[i*comps+c] = sign * qv.At(i, c) * sv[c]
		}
		res.Variance[c] = sv[c] * sv[c] / float64(n-1)
	}
	return res, nil
}

// orth returns a matrix with orthonormal columns spanning the columns of a
// (rows × l): modified Gram–Schmidt, repeated once for stability. A column
// that vanishes (rank deficiency) is left as zeros.
func orth(a *mat.Dense) *mat.Dense {
	r, l := a.Dims()
	cols := make([][]float64, l)
	for c := range cols {
		cols[c] = make([]float64, r)
		mat.Col(cols[c], c, a)
	}
	for pass := 0; pass < 2; pass++ {
		for c := range cols {
			v := cols[c]
			for p := 0; p < c; p++ {
				u := cols[p]
				var dot float64
				for i, x := range v {
					dot += x * u[i]
				}
				for i := range v {
					v[i] -= dot * u[i]
				}
			}
			var norm float64
			for _, x := range v {
				norm += x * x
			}
			norm = math.Sqrt(norm)
			if norm == 0 {
				continue
			}
			for i := range v {
				v[i] /= norm
			}
		}
	}
	out := mat.NewDense(r, l, nil)
	for c, v := range cols {
		out.SetCol(c, v)
	}
	return out
}
