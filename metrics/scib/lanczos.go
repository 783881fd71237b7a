package scib

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// symCSR is a symmetric sparse matrix in compressed rows (both triangles
// stored; the diagonal may be present).
type symCSR struct {
	n   int
	ptr []int
	col []int32
	val []float64
}

// mulVec sets dst = A·x.
func (a *symCSR) mulVec(dst, x []float64) {
	for i := 0; i < a.n; i++ {
		var s float64
		for p := a.ptr[i]; p < a.ptr[i+1]; p++ {
			s += a.val[p] * x[a.col[p]]
		}
		dst[i] = s
	}
}

// dense returns A as a gonum symmetric matrix.
func (a *symCSR) dense() *mat.SymDense {
	d := mat.NewSymDense(a.n, nil)
	for i := 0; i < a.n; i++ {
		for p := a.ptr[i]; p < a.ptr[i+1]; p++ {
			if j := int(a.col[p]); j >= i {
				d.SetSym(i, j, a.val[p])
			}
		}
	}
	return d
}

// eigenLMDenseMax is the largest order solved densely by eigenLM.
const eigenLMDenseMax = 64

// eigenLMTol is the residual bound ‖A·y − θ·y‖ ≤ tol·max(|θ_1|, tiny) of
// every returned Lanczos Ritz pair.
const eigenLMTol = 1e-12

// eigenLM returns the k eigenpairs of largest magnitude of the symmetric
// matrix a (scipy.sparse.linalg.eigsh(a, k, which="LM"), the solver
// scib-metrics' diffusion map uses): vals[c] in decreasing algebraic order
// (as scib-metrics reverses eigsh's ascending output) and vecs (n × k,
// column c the unit eigenvector of vals[c], sign arbitrary).
//
// Matrices of order ≤ 64, or with m ≥ n − 20, are solved densely
// (gonum mat.EigenSym, LAPACK dsyev). Larger ones use thick-restart Lanczos
// (Wu & Simon 2000, SIAM J. Matrix Anal. Appl. 22(2):602–616; the
// symmetric Krylov–Schur form of ARPACK's implicit restart) with a basis of
// m = max(2k + 1, 20) vectors (eigsh's default ncv), full
// reorthogonalisation (classical Gram–Schmidt, twice), a start vector from
// PCG(seed, seed), and restarts keeping the k + (m − k)/2 Ritz vectors of
// largest |θ|, until each of the k wanted Ritz pairs has a residual
// ≤ 1e-12·|θ_max| (or an error after 300 restarts). Eigenvalues of
// multiplicity > 1 are found only as far as rounding lets a single-vector
// Krylov method find them (as with ARPACK); callers split block-diagonal
// matrices into their blocks first. It panics if k < 1 or k ≥ n.
func eigenLM(a *symCSR, k int, seed uint64) (vals []float64, vecs *mat.Dense, err error) {
	n := a.n
	if k < 1 || k >= n {
		panic(fmt.Sprintf("scib: eigenLM: k = %d for order %d", k, n))
	}
	m := min(n, max(2*k+1, 20))
	if n <= eigenLMDenseMax || m >= n-20 {
		return eigenLMDense(a, k)
	}
	return eigenLMLanczos(a, k, m, seed)
}

// eigenLMDense is eigenLM by a full dense decomposition.
func eigenLMDense(a *symCSR, k int) ([]float64, *mat.Dense, error) {
	var es mat.EigenSym
	if !es.Factorize(a.dense(), true) {
		return nil, nil, fmt.Errorf("dense symmetric eigendecomposition of order %d did not converge", a.n)
	}
	theta := es.Values(nil)
	var y mat.Dense
	es.VectorsTo(&y)
	sel := largestMagnitude(theta, k)
	return pickEigenpairs(theta, sel, func(c int, dst []float64) { mat.Col(dst, c, &y) }, a.n)
}

// largestMagnitude returns the indices of the k values of largest |θ|
// (ties: larger θ first, then lower index).
func largestMagnitude(theta []float64, k int) []int {
	idx := make([]int, len(theta))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		x, y := math.Abs(theta[idx[a]]), math.Abs(theta[idx[b]])
		if x != y {
			return x > y
		}
		return theta[idx[a]] > theta[idx[b]]
	})
	return idx[:k]
}

// pickEigenpairs orders the selected pairs by decreasing θ and copies their
// vectors (col fills a length-n column) into an n × k matrix.
func pickEigenpairs(theta []float64, sel []int, col func(c int, dst []float64), n int) ([]float64, *mat.Dense, error) {
	sel = append([]int(nil), sel...)
	sort.SliceStable(sel, func(a, b int) bool { return theta[sel[a]] > theta[sel[b]] })
	vals := make([]float64, len(sel))
	vecs := mat.NewDense(n, len(sel), nil)
	buf := make([]float64, n)
	for c, s := range sel {
		vals[c] = theta[s]
		col(s, buf)
		vecs.SetCol(c, buf)
	}
	return vals, vecs, nil
}

// eigenLMLanczos is eigenLM by thick-restart Lanczos with an m-vector basis.
func eigenLMLanczos(a *symCSR, k, m int, seed uint64) ([]float64, *mat.Dense, error) {
	n := a.n
	rng := rand.New(rand.NewPCG(seed, seed))
	// V holds the basis as rows: v_j = V[j·n : (j+1)·n], j = 0 … m.
	V := make([]float64, (m+1)*n)
	row := func(j int) []float64 { return V[j*n : (j+1)*n] }
	vec := func(x []float64) blas64.Vector { return blas64.Vector{N: len(x), Inc: 1, Data: x} }
	basis := func(rows int) blas64.General {
		return blas64.General{Rows: rows, Cols: n, Stride: n, Data: V[:rows*n]}
	}
	randomUnit := func(dst []float64, against int) bool {
		for i := range dst {
			dst[i] = rng.Float64() - 0.5
		}
		return orthonormalise(basis(against), dst, vec) > 0
	}
	if !randomUnit(row(0), 0) {
		return nil, nil, fmt.Errorf("lanczos: zero start vector")
	}
	alpha := make([]float64, m)
	beta := make([]float64, m)
	keep := 0                      // thick-restart vectors at the start of a cycle
	var keptTheta, arrow []float64 // their Ritz values and couplings to v_keep
	w := make([]float64, n)
	coef := make([]float64, m+1)
	H := mat.NewSymDense(m, nil)
	var es mat.EigenSym
	var Y mat.Dense
	keepTarget := k + (m-k)/2
	const maxRestarts = 300
	for restart := 0; ; restart++ {
		for j := keep; j < m; j++ {
			vj := row(j)
			a.mulVec(w, vj)
			if j == keep {
				for i := 0; i < keep; i++ {
					blas64.Axpy(-arrow[i], vec(row(i)), vec(w))
				}
			} else {
				blas64.Axpy(-beta[j-1], vec(row(j-1)), vec(w))
			}
			alpha[j] = blas64.Dot(vec(vj), vec(w))
			blas64.Axpy(-alpha[j], vec(vj), vec(w))
			// Full reorthogonalisation against v_0 … v_j, twice.
			for pass := 0; pass < 2; pass++ {
				c := vec(coef[:j+1])
				blas64.Gemv(blas.NoTrans, 1, basis(j+1), vec(w), 0, c)
				blas64.Gemv(blas.Trans, -1, basis(j+1), c, 1, vec(w))
				alpha[j] += coef[j]
			}
			beta[j] = blas64.Nrm2(vec(w))
			next := row(j + 1)
			if beta[j] <= 1e-14*math.Max(1, math.Abs(alpha[j])) {
				// Invariant subspace: continue with a fresh direction.
				beta[j] = 0
				if !randomUnit(next, j+1) {
					return nil, nil, fmt.Errorf("lanczos: cannot extend the basis of order %d", n)
				}
				continue
			}
			for i := range w {
				next[i] = w[i] / beta[j]
			}
		}
		// Projected matrix: arrow (kept Ritz values, couplings) + tridiagonal.
		for i := 0; i < m; i++ {
			for j := i; j < m; j++ {
				H.SetSym(i, j, 0)
			}
		}
		for i := 0; i < keep; i++ {
			H.SetSym(i, i, keptTheta[i])
			H.SetSym(i, keep, arrow[i])
		}
		for j := keep; j < m; j++ {
			H.SetSym(j, j, alpha[j])
			if j+1 < m {
				H.SetSym(j, j+1, beta[j])
			}
		}
		if !es.Factorize(H, true) {
			return nil, nil, fmt.Errorf("lanczos: projected eigenproblem of order %d did not converge", m)
		}
		theta := es.Values(nil)
		es.VectorsTo(&Y)
		order := largestMagnitude(theta, m)
		bm := beta[m-1]
		scale := math.Max(math.Abs(theta[order[0]]), 1e-300)
		converged := true
		for _, c := range order[:k] {
			if math.Abs(bm*Y.At(m-1, c)) > eigenLMTol*scale {
				converged = false
				break
			}
		}
		if converged || restart == maxRestarts {
			if !converged {
				return nil, nil, fmt.Errorf("lanczos: %d eigenpairs of order %d not converged after %d restarts", k, n, maxRestarts)
			}
			vals, vecs := ritzVectors(V, n, m, &Y, theta, order[:k])
			return vals, vecs, nil
		}
		// Thick restart: v'_i = Σ_j Y[j, c_i]·v_j for the kept Ritz pairs,
		// then v_m becomes v'_keep.
		keep = keepTarget
		sel := order[:keep]
		ys := mat.NewDense(keep, m, nil)
		keptTheta = make([]float64, keep)
		arrow = make([]float64, keep)
		for i, c := range sel {
			for j := 0; j < m; j++ {
				ys.Set(i, j, Y.At(j, c))
			}
			keptTheta[i] = theta[c]
			arrow[i] = bm * Y.At(m-1, c)
		}
		nv := make([]float64, keep*n)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, ys.RawMatrix(), basis(m), 0,
			blas64.General{Rows: keep, Cols: n, Stride: n, Data: nv})
		copy(V[keep*n:(keep+1)*n], row(m))
		copy(V[:keep*n], nv)
	}
}

// orthonormalise removes from x its components along the rows of q (twice)
// and normalises it; it returns the norm before normalising (0: x was in
// their span, left unnormalised).
func orthonormalise(q blas64.General, x []float64, vec func([]float64) blas64.Vector) float64 {
	if q.Rows > 0 {
		c := make([]float64, q.Rows)
		for pass := 0; pass < 2; pass++ {
			blas64.Gemv(blas.NoTrans, 1, q, vec(x), 0, vec(c))
			blas64.Gemv(blas.Trans, -1, q, vec(c), 1, vec(x))
		}
	}
	nrm := blas64.Nrm2(vec(x))
	if nrm < 1e-12 {
		return 0
	}
	blas64.Scal(1/nrm, vec(x))
	return nrm
}

// ritzVectors returns the selected Ritz pairs of the basis V (m rows of
// length n) and the projected eigenvectors Y, in decreasing θ.
func ritzVectors(V []float64, n, m int, Y *mat.Dense, theta []float64, sel []int) ([]float64, *mat.Dense) {
	sel = append([]int(nil), sel...)
	sort.SliceStable(sel, func(a, b int) bool { return theta[sel[a]] > theta[sel[b]] })
	k := len(sel)
	ys := mat.NewDense(m, k, nil)
	vals := make([]float64, k)
	for c, s := range sel {
		vals[c] = theta[s]
		for j := 0; j < m; j++ {
			ys.Set(j, c, Y.At(j, s))
		}
	}
	// vecs (n × k) = Vᵀ (n × m) · ys (m × k).
	vecs := mat.NewDense(n, k, nil)
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, blas64.General{Rows: m, Cols: n, Stride: n, Data: V[:m*n]},
		ys.RawMatrix(), 0, vecs.RawMatrix())
	return vals, vecs
}
