package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
)

// Numeric range of an embedding. Every metric squares coordinate
// differences and sums them over dimensions and cells, so float64 needs
// the coordinates well inside its exponent range: with |x| ≤ 2^100 a
// squared distance summed over a million cells and thousands of
// dimensions stays below 2^240, and with |x| ≥ 2^-100 it stays far above
// the subnormal range. An embedding outside [2^-100, 2^100] (coordinates
// around 1e160 overflowed k-means++ and made it pick a cell at index −1)
// is rescaled by a power of two, which is exact; an embedding whose
// magnitudes span more than 2^400 (one coordinate 1e200 among values near
// 1) cannot be scored in float64 at all: beside it the other cells'
// squared differences underflow to 0.
const (
	safeExponent  = 100 // rescale when max |x| is outside [2^-100, 2^100]
	rangeExponent = 400 // refuse when max |x| / median |x| ≥ 2^400
)

// conditionEmbedding returns x ready for the metrics: x itself when its
// largest magnitude lies in [2^-safeExponent, 2^safeExponent] (every
// embedding in practice: the result is then bit-identical to not
// conditioning), otherwise x times the power of two that brings its
// median non-zero magnitude into [0.5, 1), with a note saying so. Every
// metric of this package except LISI is invariant to that scaling; LISI
// (clisi, ilisi), as scib-metrics defines it, is not, and is then computed
// on the rescaled embedding. It returns an error when the magnitudes span
// 2^rangeExponent or more (after removing zeros), naming the largest
// coordinate. what names x in messages.
func conditionEmbedding(x *data.Dense, what string) (*data.Dense, string, error) {
	shift, maxAbs, err := conditionShift(what, x)
	if err != nil || shift == 0 {
		return x, "", err
	}
	return shiftDense(x, shift), fmt.Sprintf("%s rescaled by 2^%d (largest magnitude %.3g is outside float64's safe range for squared distances; the metrics are scale-invariant except LISI, computed on the rescaled values)", what, shift, maxAbs), nil
}

// conditionShift returns the power of two (0 for none) by which the
// matrices ms, scaled together, are brought into float64's safe range
// (see conditionEmbedding), and their largest magnitude; or the error for
// magnitudes spanning 2^rangeExponent or more, naming the coordinate.
func conditionShift(what string, ms ...*data.Dense) (int, float64, error) {
	// One pass: the largest magnitude and a histogram of the binary
	// exponents of the non-zero magnitudes (whose median is the exponent
	// of the median magnitude), so no sort of n·d values.
	const bias = 1100 // frexp exponents lie in [−1073, 1024]
	var hist [2200]int
	maxAbs, nonzero := 0.0, 0
	var atM *data.Dense
	at := -1
	for _, x := range ms {
		for p, v := range x.Data {
			a := math.Abs(v)
			if a == 0 {
				continue
			}
			if a > maxAbs {
				maxAbs, at, atM = a, p, x
			}
			_, e := math.Frexp(a)
			hist[e+bias]++
			nonzero++
		}
	}
	if maxAbs == 0 {
		return 0, 0, nil // every coordinate 0: the metrics say what is undefined
	}
	eMed, rank := 0, (nonzero-1)/2
	for e, c := range hist {
		if rank < c {
			eMed = e - bias
			break
		}
		rank -= c
	}
	_, eMax := math.Frexp(maxAbs)
	if eMax-eMed >= rangeExponent {
		return 0, maxAbs, fmt.Errorf("%s: value %g at cell %d, column %d is about 2^%d (%.0e) times the median magnitude of its coordinates: float64 cannot score it (beside it the other cells' squared distances underflow to 0); such a coordinate is almost certainly corrupt",
			what, atM.Data[at], at/atM.Cols, at%atM.Cols, eMax-eMed, math.Ldexp(1, eMax-eMed))
	}
	if eMax <= safeExponent && eMax > -safeExponent {
		return 0, maxAbs, nil
	}
	return -eMed, maxAbs, nil
}

// shiftDense returns x times 2^shift (exact in float64 for the shifts
// conditionShift returns).
func shiftDense(x *data.Dense, shift int) *data.Dense {
	out := &data.Dense{Rows: x.Rows, Cols: x.Cols, Data: make([]float64, len(x.Data))}
	for p, v := range x.Data {
		out.Data[p] = math.Ldexp(v, shift)
	}
	return out
}

// checkResult is the last guard of Benchmark: a metric value that is not
// finite and has no reason gets one (a NaN must always say why), and an
// infinite value, which no metric of this package can legitimately take,
// becomes NaN with a reason.
func checkResult(v float64, reason string) (float64, string) {
	switch {
	case math.IsInf(v, 0):
		return math.NaN(), joinReasons(fmt.Sprintf("a non-finite intermediate value (%v) made the metric undefined", v), reason)
	case math.IsNaN(v) && reason == "":
		return v, "a non-finite intermediate value (NaN) made the metric undefined for this input"
	}
	return v, reason
}
