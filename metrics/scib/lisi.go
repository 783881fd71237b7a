package scib

import (
	"fmt"
	"math"
	"sort"

	"github.com/cellbench/cellbench/internal/par"
)

// LISI returns the local inverse Simpson index of every cell for the
// grouping c, from its neighbour table nb (self included, as ExactKNN
// returns it), following scib-metrics 0.6 `utils/_lisi.py`:
//
//	P_j ∝ exp(−β·d_ij) over the neighbours j ≠ i (the self entry is masked),
//	d plain Euclidean distances; β found by bisection starting at β = 1
//	(doubling/halving while unbounded) until |H(P) − log(perplexity)| <
//	1e-5, at most 50 updates; H = log ΣP + β·Σ d·P / ΣP;
//	Simpson_i = Σ_g (Σ_{j ∈ g} P_j)², LISI_i = 1/Simpson_i.
//
// A cell whose kernel sums to 0 (every exp underflows) has no defined LISI:
// its entry is NaN (scib-metrics returns −1 there); nanMedian skips it.
// perplexity ≤ 0 means floor(K/3). It panics if len(c.Code) != nb.N.
func LISI(nb *Neighbors, c Codes, perplexity float64, workers int) []float64 {
	return LISIs(nb, []Codes{c}, perplexity, workers)[0]
}

// LISIs is LISI for several groupings of the same cells (e.g. cell types
// and batches) at once: the per-cell calibration of β, which depends only
// on the distances, is done once and shared, so each result equals LISI's
// for its grouping bit for bit.
func LISIs(nb *Neighbors, groupings []Codes, perplexity float64, workers int) [][]float64 {
	for _, c := range groupings {
		if len(c.Code) != nb.N {
			panic(fmt.Sprintf("scib: LISI: %d labels for %d cells", len(c.Code), nb.N))
		}
	}
	if perplexity <= 0 {
		perplexity = math.Floor(float64(nb.K) / 3)
	}
	logU := math.Log(perplexity)
	const tol = 1e-5
	out := make([][]float64, len(groupings))
	maxNames := 0
	for g, c := range groupings {
		out[g] = make([]float64, nb.N)
		maxNames = max(maxNames, len(c.Names))
	}
	workers = par.Workers(workers)
	scratchP := make([][]float64, workers)
	scratchG := make([][]float64, workers)
	for w := range scratchP {
		scratchP[w] = make([]float64, nb.K)
		scratchG[w] = make([]float64, maxNames)
	}
	par.Range(nb.N, workers, 256, func(w, lo, hi int) {
		P := scratchP[w]
		for i := lo; i < hi; i++ {
			idx, dist := nb.Row(i)
			hbeta := func(beta float64) (float64, float64) {
				var sumP, sumDP float64
				for r, j := range idx {
					if int(j) == i {
						P[r] = 0
						continue
					}
					p := math.Exp(-dist[r] * beta)
					P[r] = p
					sumP += p
					sumDP += dist[r] * p
				}
				if sumP == 0 {
					return 0, 0
				}
				return math.Log(sumP) + beta*sumDP/sumP, sumP
			}
			beta, betaMin, betaMax := 1.0, math.Inf(-1), math.Inf(1)
			H, sumP := hbeta(beta)
			diff := H - logU
			for step := 0; step < 50 && math.Abs(diff) >= tol; step++ {
				if diff > 0 {
					betaMin = beta
					if math.IsInf(betaMax, 1) {
						beta *= 2
					} else {
						beta = (beta + betaMax) / 2
					}
				} else {
					betaMax = beta
					if math.IsInf(betaMin, -1) {
						beta /= 2
					} else {
						beta = (beta + betaMin) / 2
					}
				}
				H, sumP = hbeta(beta)
				diff = H - logU
			}
			for g, c := range groupings {
				if sumP == 0 || H == 0 {
					out[g][i] = math.NaN()
					continue
				}
				G := scratchG[w][:len(c.Names)]
				clear(G)
				for r, j := range idx {
					G[c.Code[j]] += P[r] / sumP
				}
				var simpson float64
				for _, v := range G {
					simpson += v * v
				}
				out[g][i] = 1 / simpson
			}
		}
	})
	return out
}

// CLISI is scib-metrics' clisi_knn (SPEC name `clisi`, higher is better, in
// [0, 1]): (L − median LISI)/(L − 1) over cell-type labels, L the number of
// labels. NaN with a reason when L = 1.
func CLISI(lisi []float64, nLabels int) (float64, string) {
	if nLabels < 2 {
		return math.NaN(), "only one label: cLISI needs at least 2"
	}
	m, nan := nanMedian(lisi)
	if math.IsNaN(m) {
		return m, "LISI undefined for every cell"
	}
	return (float64(nLabels) - m) / float64(nLabels-1), nanNote(nan)
}

// ILISI is scib-metrics' ilisi_knn (SPEC name `ilisi`, higher is better, in
// [0, 1]): (median LISI − 1)/(B − 1) over batches, B the number of batches.
// NaN with a reason when B = 1.
func ILISI(lisi []float64, nBatches int) (float64, string) {
	if nBatches < 2 {
		return math.NaN(), "only one batch: iLISI needs at least 2"
	}
	m, nan := nanMedian(lisi)
	if math.IsNaN(m) {
		return m, "LISI undefined for every cell"
	}
	return (m - 1) / float64(nBatches-1), nanNote(nan)
}

func nanNote(nan int) string {
	if nan == 0 {
		return ""
	}
	return fmt.Sprintf("%d cells with undefined LISI (kernel underflow) skipped", nan)
}

// nanMedian is numpy.nanmedian: the median of the non-NaN values (mean of
// the two middle ones for an even count), NaN if there are none; it also
// returns how many NaNs were skipped.
func nanMedian(v []float64) (float64, int) {
	w := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			w = append(w, x)
		}
	}
	nan := len(v) - len(w)
	if len(w) == 0 {
		return math.NaN(), nan
	}
	sort.Float64s(w)
	m := len(w) / 2
	if len(w)%2 == 1 {
		return w[m], nan
	}
	return (w[m-1] + w[m]) / 2, nan
}
