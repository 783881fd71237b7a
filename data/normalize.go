package data

import (
	"fmt"
	"math"
	"sort"
)

// LibrarySizes returns the sum of each row of m (total counts per cell).
func LibrarySizes(m *CSR) []float64 {
	out := make([]float64, m.Rows)
	for i := range out {
		_, val := m.Row(i)
		s := 0.0
		for _, v := range val {
			s += float64(v)
		}
		out[i] = s
	}
	return out
}

// NormalizeLog1p returns log1p(x · targetSum / librarySize) for every stored
// value of the counts matrix m (scanpy normalize_total + log1p). targetSum
// 0 means the median library size of the non-empty cells (scanpy's default).
// Empty cells stay empty. m is not modified.
func NormalizeLog1p(m *CSR, targetSum float64) *CSR {
	lib := LibrarySizes(m)
	if targetSum == 0 {
		var nz []float64
		for _, s := range lib {
			if s > 0 {
				nz = append(nz, s)
			}
		}
		targetSum = median(nz)
	}
	out := m.Clone()
	for i := 0; i < out.Rows; i++ {
		a, b := out.Indptr[i], out.Indptr[i+1]
		if lib[i] == 0 {
			continue
		}
		f := targetSum / lib[i]
		for k := a; k < b; k++ {
			out.Data[k] = float32(math.Log1p(float64(out.Data[k]) * f))
		}
	}
	return out
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// DefaultTargetSum is the library size cells are normalised to (SPEC-metrics.md --target-sum).
const DefaultTargetSum = 1e4

// CheckTargetSum returns an error unless targetSum is a usable library size
// for NormalizeLog1p: finite and > 0, or exactly 0 (the median library
// size). A negative or non-finite one would write negative or NaN "log1p"
// values. Commands call it on their --target-sum flag before reading data.
func CheckTargetSum(targetSum float64) error {
	if targetSum == 0 || (targetSum > 0 && !math.IsInf(targetSum, 1)) {
		return nil
	}
	return fmt.Errorf("target sum %g: want a library size > 0, or 0 for the median library size", targetSum)
}

// ToLog1p returns X of d on the log1p scale under the strict contract of
// SPEC-metrics.md. scale is "auto" (detect; a mixed or impossible matrix is
// an error), "counts" (must pass as counts: normalise to targetSum then
// log1p) or "log1p" (must lie in [0, 15): used as is). targetSum 0 means the
// median library size. It also sets d.Scale to the verdict. Errors about X
// name the dataset's path; an unknown scale or an unusable targetSum
// (CheckTargetSum) is the caller's and says so without blaming the file.
func ToLog1p(d *Dataset, scale string, targetSum float64) (*CSR, error) {
	want, err := ParseScale(scale)
	if err != nil {
		return nil, err
	}
	if err := CheckTargetSum(targetSum); err != nil {
		return nil, err
	}
	rep, err := DetectScale(d.X)
	if err != nil {
		return nil, fmt.Errorf("%s: X: %w", d.name(), err)
	}
	switch want {
	case Counts:
		if rep.Scale != Counts {
			return nil, fmt.Errorf("%s: --scale counts, but X holds non-integer values (max %g): it looks like log1p", d.name(), rep.Max)
		}
	case Log1p:
		if rep.Max >= Log1pMax {
			return nil, fmt.Errorf("%s: --scale log1p, but X has values up to %g (≥ %d): it looks like counts", d.name(), rep.Max, Log1pMax)
		}
		d.Scale = Log1p
		return d.X, nil
	}
	d.Scale = rep.Scale
	if rep.Scale == Log1p {
		return d.X, nil
	}
	return NormalizeLog1p(d.X, targetSum), nil
}
