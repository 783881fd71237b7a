package pert

import (
	"math"
	"slices"
)

// Pearson is the Pearson correlation of x and y as scipy.stats.pearsonr
// computes it (centre, normalise, dot, clip to [−1, 1]); NaN when either
// input is constant or shorter than 2.
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || n != len(y) {
		return math.NaN()
	}
	constant := func(v []float64) bool {
		for _, a := range v[1:] {
			if a != v[0] {
				return false
			}
		}
		return true
	}
	if constant(x) || constant(y) {
		return math.NaN()
	}
	mx, my := 0.0, 0.0
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	sxx, syy := 0.0, 0.0
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxx += dx * dx
		syy += dy * dy
	}
	nx, ny := math.Sqrt(sxx), math.Sqrt(syy)
	r := 0.0
	for i := range x {
		r += ((x[i] - mx) / nx) * ((y[i] - my) / ny)
	}
	return math.Max(math.Min(r, 1), -1)
}

// averageRanks returns the 1-based ranks of v with ties given their average
// rank (scipy.stats.rankdata method="average").
func averageRanks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && v[idx[j]] == v[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		i = j
	}
	return r
}

// Spearman is the Spearman rank correlation (Pearson of average ranks, as
// scipy.stats.spearmanr); NaN when fewer than 2 values or either side is
// constant. Inputs must not hold NaN (±Inf rank normally).
func Spearman(x, y []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	return Pearson(averageRanks(x), averageRanks(y))
}

// Summary describes the distribution of one metric over the rows of a
// report. NaN values are counted in NaNCount and left out of the other
// statistics; with Count = 0 every statistic is NaN; Std is the sample
// standard deviation (n − 1, as polars/pandas describe) and NaN when
// Count < 2.
type Summary struct {
	Metric   string
	Count    int
	NaNCount int
	Mean     float64
	Std      float64
	Min      float64
	Median   float64
	Max      float64
}

func summarize(name string, values []float64) Summary {
	s := Summary{Metric: name, Mean: math.NaN(), Std: math.NaN(), Min: math.NaN(), Median: math.NaN(), Max: math.NaN()}
	var v []float64
	for _, x := range values {
		if math.IsNaN(x) {
			s.NaNCount++
		} else {
			v = append(v, x)
		}
	}
	s.Count = len(v)
	if s.Count == 0 {
		return s
	}
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	s.Mean = sum / float64(len(v))
	if len(v) > 1 {
		ss := 0.0
		for _, x := range v {
			d := x - s.Mean
			ss += d * d
		}
		s.Std = math.Sqrt(ss / float64(len(v)-1))
	}
	slices.Sort(v)
	s.Min, s.Max = v[0], v[len(v)-1]
	if n := len(v); n%2 == 1 {
		s.Median = v[n/2]
	} else {
		s.Median = (v[n/2-1] + v[n/2]) / 2
	}
	return s
}
