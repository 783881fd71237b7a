package recon

import (
	"fmt"
	"math"
)

// Confusion is a K×K confusion matrix of class labels 0…K−1 (rows: true,
// columns: predicted), accumulated position by position so that masked
// positions of many bags and runs pool without being kept.
type Confusion struct {
	K int
	C []int64 // row-major K×K
}

// NewConfusion returns an empty K×K matrix; it panics when k < 1.
func NewConfusion(k int) *Confusion {
	if k < 1 {
		panic(fmt.Sprintf("recon: NewConfusion(%d)", k))
	}
	return &Confusion{K: k, C: make([]int64, k*k)}
}

// Add counts one position; labels outside [0, K) panic (callers validate
// user input first).
func (m *Confusion) Add(truth, pred int) {
	if truth < 0 || truth >= m.K || pred < 0 || pred >= m.K {
		panic(fmt.Sprintf("recon: Confusion.Add(%d, %d) outside [0, %d)", truth, pred, m.K))
	}
	m.C[truth*m.K+pred]++
}

// Total is the number of positions counted.
func (m *Confusion) Total() int64 {
	var s int64
	for _, v := range m.C {
		s += v
	}
	return s
}

// MCC returns the multi-class Matthews correlation coefficient (Gorodkin's
// R_K) of the matrix, computed in float64 exactly as sklearn 1.2's
// matthews_corrcoef:
//
//	MCC = (c·s − Σ_k t_k p_k) / sqrt((s² − Σ_k p_k²)(s² − Σ_k t_k²))
//
// with t_k, p_k the true and predicted totals of class k, c the trace and s
// the total. When the denominator is 0 (one class only in the truth or in
// the prediction) it returns 0, as sklearn does, with a reason; with no
// positions it returns NaN with a reason. reason is "" otherwise.
// Direction: higher is better, best 1, 0 = chance; SPEC-metrics.md "mcc".
func (m *Confusion) MCC() (value float64, reason string) {
	K := m.K
	t := make([]float64, K)
	p := make([]float64, K)
	var c, s float64
	for i := range K {
		for j := range K {
			v := float64(m.C[i*K+j])
			t[i] += v
			p[j] += v
			s += v
			if i == j {
				c += v
			}
		}
	}
	if s == 0 {
		return math.NaN(), "no positions to score"
	}
	var tp, pp, tt float64
	for k := range K {
		tp += t[k] * p[k]
		pp += p[k] * p[k]
		tt += t[k] * t[k]
	}
	covYtYp := c*s - tp
	covYpYp := s*s - pp
	covYtYt := s*s - tt
	if covYpYp*covYtYt == 0 {
		what := "truth"
		if covYpYp == 0 {
			what = "prediction"
		}
		return 0, fmt.Sprintf("undefined: the %s holds a single class over %.0f positions; 0 as sklearn matthews_corrcoef", what, s)
	}
	return covYtYp / math.Sqrt(covYtYt*covYpYp), ""
}

// MCC returns the multi-class Matthews correlation of two label slices of
// equal length (labels in [0, k)); see Confusion.MCC. It panics on a length
// mismatch or a label out of range.
func MCC(truth, pred []int, k int) (float64, string) {
	if len(truth) != len(pred) {
		panic(fmt.Sprintf("recon: MCC: %d true and %d predicted labels", len(truth), len(pred)))
	}
	m := NewConfusion(k)
	for i := range truth {
		m.Add(truth[i], pred[i])
	}
	return m.MCC()
}
