package scib

// KNNCellTyping is SPEC zero-shot cell typing: leave-one-out k-NN
// classification on the neighbour table nb (self excluded): each cell is
// given the label most common among its k nearest other cells, ties going
// to the tied label whose first occurrence is nearest. It returns
// `knn_accuracy` (fraction of cells labelled correctly) and
// `knn_balanced_accuracy` (mean over labels of per-label recall, as sklearn
// balanced_accuracy_score); both higher is better, in [0, 1]. It panics if
// nb has fewer than k+1 columns.
func KNNCellTyping(nb *Neighbors, labels Codes, k int) (acc, balanced float64) {
	if nb.K < k+1 {
		panic("scib: KNNCellTyping: neighbour table narrower than k+1")
	}
	L := len(labels.Names)
	votes := make([]int, L)
	firstAt := make([]int, L)
	correct := make([]int, L)
	total := 0
	for i := 0; i < nb.N; i++ {
		idx, _ := nb.Row(i)
		clear(votes)
		taken := 0
		for r := 0; r < nb.K && taken < k; r++ {
			j := int(idx[r])
			if j == i {
				continue
			}
			l := labels.Code[j]
			if votes[l] == 0 {
				firstAt[l] = taken
			}
			votes[l]++
			taken++
		}
		best := -1
		for l, v := range votes {
			if v == 0 {
				continue
			}
			if best < 0 || v > votes[best] || (v == votes[best] && firstAt[l] < firstAt[best]) {
				best = l
			}
		}
		if best == labels.Code[i] {
			correct[best]++
			total++
		}
	}
	acc = float64(total) / float64(nb.N)
	var s float64
	for l := range correct {
		s += float64(correct[l]) / float64(labels.Count[l])
	}
	return acc, s / float64(L)
}
