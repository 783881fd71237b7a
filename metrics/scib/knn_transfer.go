package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
)

// KNNTransfer is zero-shot cell typing across batches (task
// celltype-zeroshot): every query cell gets the label most common among
// its k nearest reference cells (Euclidean, ties in distance broken by
// reference index; ties in votes go to the tied label whose first
// occurrence is nearest — the voting rule of KNNCellTyping). It returns
// knn_accuracy (fraction of query cells labelled correctly) and
// knn_balanced_accuracy (mean over the labels present among the query
// cells of their recall, as sklearn balanced_accuracy_score; a label
// absent from the reference is never predicted and scores recall 0). Both
// higher is better, in [0, 1].
//
// ref and query are cells × dims with the same dims; refLabels and
// queryLabels one label per row. It errors on mismatched lengths or dims,
// empty sets, k < 1, a non-finite value, or magnitudes float64 cannot
// rank (conditionShift; coordinates outside its safe range are rescaled by
// a power of two, which changes no rank). When the reference has fewer
// than k cells all of them vote.
//
// Memory: a dims-major copy of ref (8·n_ref·d bytes) and one n_ref buffer.
func KNNTransfer(ref *data.Dense, refLabels []string, query *data.Dense, queryLabels []string, k int) (acc, balanced float64, err error) {
	switch {
	case ref == nil || query == nil || ref.Rows == 0 || query.Rows == 0:
		return math.NaN(), math.NaN(), fmt.Errorf("knn transfer: empty reference or query")
	case ref.Cols != query.Cols:
		return math.NaN(), math.NaN(), fmt.Errorf("knn transfer: reference has %d dims, query %d", ref.Cols, query.Cols)
	case len(refLabels) != ref.Rows || len(queryLabels) != query.Rows:
		return math.NaN(), math.NaN(), fmt.Errorf("knn transfer: %d/%d labels for %d/%d cells", len(refLabels), len(queryLabels), ref.Rows, query.Rows)
	case k < 1:
		return math.NaN(), math.NaN(), fmt.Errorf("knn transfer: k = %d", k)
	}
	for _, m := range []*data.Dense{ref, query} {
		for _, v := range m.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return math.NaN(), math.NaN(), fmt.Errorf("knn transfer: non-finite embedding value")
			}
		}
	}
	// Neighbour ranks are scale-invariant: reference and query are brought
	// into float64's safe range together (coordinates near 1e160 made every
	// squared distance +Inf), and magnitudes beyond it are an error.
	shift, _, err := conditionShift("knn transfer: embedding", ref, query)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	if shift != 0 {
		ref, query = shiftDense(ref, shift), shiftDense(query, shift)
	}
	names := map[string]int{}
	code := func(l string) int {
		c, ok := names[l]
		if !ok {
			c = len(names)
			names[l] = c
		}
		return c
	}
	refCode := make([]int, len(refLabels))
	for i, l := range refLabels {
		refCode[i] = code(l)
	}
	qCode := make([]int, len(queryLabels))
	for i, l := range queryLabels {
		qCode[i] = code(l)
	}
	L := len(names)
	k = min(k, ref.Rows)
	t := newDimsMajor[int](ref, nil)
	dist := make([]float64, ref.Rows)
	votes := make([]int, L)
	firstAt := make([]int, L)
	total := make([]int, L)
	correct := make([]int, L)
	var h nearest
	nb := &Neighbors{N: 1, K: k + 1, Indices: make([]int32, k+1), Distances: make([]float64, k+1)}
	nCorrect := 0
	for i := range query.Rows {
		sqDists(query.Row(i), t, 0, ref.Rows, dist)
		h.reset(k)
		for j, v := range dist {
			if v <= h.bound() {
				h.offer(v, int32(j))
			}
		}
		h.write(nb, 0) // slot 0 is the query itself, then the k references in order
		clear(votes)
		for r, j := range nb.Indices[1:] {
			l := refCode[j]
			if votes[l] == 0 {
				firstAt[l] = r
			}
			votes[l]++
		}
		best := -1
		for l, v := range votes {
			if v > 0 && (best < 0 || v > votes[best] || (v == votes[best] && firstAt[l] < firstAt[best])) {
				best = l
			}
		}
		total[qCode[i]]++
		if best == qCode[i] {
			correct[best]++
			nCorrect++
		}
	}
	var s float64
	present := 0
	for l := range L {
		if total[l] > 0 {
			s += float64(correct[l]) / float64(total[l])
			present++
		}
	}
	return float64(nCorrect) / float64(query.Rows), s / float64(present), nil
}
