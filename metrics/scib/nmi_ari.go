package scib

import (
	"fmt"
	"math"
)

// contingency returns the counts table of two labelings over the same cells
// with its row and column sums.
func contingency(a, b Codes) (table [][]float64, rows, cols []float64) {
	if len(a.Code) != len(b.Code) {
		panic(fmt.Sprintf("scib: contingency: %d vs %d cells", len(a.Code), len(b.Code)))
	}
	table = make([][]float64, len(a.Names))
	for r := range table {
		table[r] = make([]float64, len(b.Names))
	}
	for i := range a.Code {
		table[a.Code[i]][b.Code[i]]++
	}
	rows = make([]float64, len(a.Names))
	cols = make([]float64, len(b.Names))
	for r := range table {
		for c, v := range table[r] {
			rows[r] += v
			cols[c] += v
		}
	}
	return table, rows, cols
}

// NMI is the normalised mutual information of two labelings with the
// arithmetic-mean normalisation (natural log), as sklearn 1.2
// normalized_mutual_info_score(average_method="arithmetic"):
// MI / ((H(a) + H(b))/2); 1 when both labelings have a single level.
// Used for SPEC `nmi_kmeans` and `nmi_louvain` (higher is better, in [0, 1]).
func NMI(truth, pred Codes) float64 {
	if len(truth.Names) == 1 && len(pred.Names) == 1 {
		return 1
	}
	table, rows, cols := contingency(truth, pred)
	n := float64(len(truth.Code))
	var mi float64
	for r := range table {
		for c, v := range table[r] {
			if v > 0 {
				mi += v / n * (math.Log(v) + math.Log(n) - math.Log(rows[r]) - math.Log(cols[c]))
			}
		}
	}
	if mi <= 0 {
		return 0 // sklearn: MI = 0 cannot be a perfect match here
	}
	ha, hb := entropy(rows, n), entropy(cols, n)
	return mi / ((ha + hb) / 2)
}

func entropy(counts []float64, n float64) float64 {
	var h float64
	for _, v := range counts {
		if v > 0 {
			p := v / n
			h -= p * math.Log(p)
		}
	}
	return h
}

// ARI is the adjusted Rand index of two labelings, as sklearn 1.2
// adjusted_rand_score: 2(tp·tn − fn·fp)/((tp+fn)(fn+tn) + (tp+fp)(fp+tn))
// over pairs of cells (sklearn's pair_confusion_matrix); 1 when no pair
// disagrees (fn = fp = 0). Used for SPEC `ari_kmeans` and
// `ari_louvain` (higher is better; 0 = chance, 1 = identical).
func ARI(truth, pred Codes) float64 {
	table, rows, cols := contingency(truth, pred)
	N := float64(len(truth.Code))
	var sumSq float64
	for r := range table {
		for _, v := range table[r] {
			sumSq += v * v
		}
	}
	var sumRows, sumCols float64
	for _, v := range rows {
		sumRows += v * v
	}
	for _, v := range cols {
		sumCols += v * v
	}
	// sklearn pair_confusion_matrix.
	tp := sumSq - N
	fp := sumCols - sumSq // pairs together in pred but not in truth  (C[0,1])
	fn := sumRows - sumSq // pairs together in truth but not in pred (C[1,0])
	tn := N*N - fp - fn - sumSq
	if fn == 0 && fp == 0 {
		return 1
	}
	return 2 * (tp*tn - fn*fp) / ((tp+fn)*(fn+tn) + (tp+fp)*(fp+tn))
}
