package recon

import (
	"fmt"
	"math"
	"slices"
)

// DefaultBins is the number of expression levels of the sCT paper: bin 0
// (not expressed) and 4 uniform bins over a cell's non-zero log1p range.
const DefaultBins = 5

// lastEdgeBump is added to the last edge so that the cell's maximum falls
// inside the top bin (InstaDeep's get_paper_dataset.py: edges[-1] += 0.01).
const lastEdgeBump = 0.01

// CellBins is one cell's binning (see the package doc): Bins levels,
// Edges the Bins uniform edges over the cell's non-zero log1p range (last
// edge + 0.01) and Medians the per-bin medians of the cell's own non-zero
// log1p values (Medians[0] = 0).
type CellBins struct {
	Bins    int
	Edges   []float64
	Medians []float64
	// Equal is set when all non-zero values of the cell are equal (every
	// one is bin 1); Empty when the cell has no non-zero value.
	Equal, Empty bool
}

// NewCellBins bins a cell from its non-zero values on the log1p scale
// (log1p(count); zeros and negative values are ignored, so a dense row may
// be passed as is). It panics when bins < 2 (a programmer error).
func NewCellBins(log1p []float64, bins int) CellBins {
	if bins < 2 {
		panic(fmt.Sprintf("recon: NewCellBins: bins %d < 2", bins))
	}
	var nz []float64
	for _, x := range log1p {
		if x > 0 {
			nz = append(nz, x)
		}
	}
	c := CellBins{Bins: bins, Medians: make([]float64, bins)}
	if len(nz) == 0 {
		c.Empty = true
		for b := 1; b < bins; b++ {
			c.Medians[b] = math.Ln2 // one count
		}
		return c
	}
	lo, hi := slices.Min(nz), slices.Max(nz)
	c.Edges = make([]float64, bins)
	step := (hi - lo) / float64(bins-1)
	for i := range c.Edges {
		c.Edges[i] = lo + float64(i)*step // numpy linspace: start + i·step, last exactly stop
	}
	c.Edges[bins-1] = hi
	mid := func(b int) float64 { return (c.Edges[b-1] + c.Edges[b]) / 2 } // before the bump
	c.Equal = lo == hi
	c.Edges[bins-1] += lastEdgeBump
	per := make([][]float64, bins)
	for _, x := range nz {
		b := c.Bin(x)
		per[b] = append(per[b], x)
	}
	for b := 1; b < bins; b++ {
		if len(per[b]) == 0 {
			c.Medians[b] = mid(b)
			continue
		}
		c.Medians[b] = median(per[b])
	}
	return c
}

// Bin returns the bin of a log1p value x in this cell: np.digitize(x,
// Edges) clamped to [0, Bins−1] (x below the smallest non-zero value is 0,
// above the last edge Bins−1); x ≤ 0 (or NaN) is 0. In a cell whose
// non-zero values are all equal, x ≥ that value is bin 1; in an empty
// cell, x ≥ ln 2 is bin 1.
func (c CellBins) Bin(x float64) int {
	if !(x > 0) {
		return 0
	}
	if c.Empty {
		if x >= math.Ln2 {
			return 1
		}
		return 0
	}
	if c.Equal {
		if x >= c.Edges[0] {
			return 1
		}
		return 0
	}
	// np.digitize(x, edges), right=False: the number of edges ≤ x.
	n, _ := slices.BinarySearchFunc(c.Edges, x, func(e, t float64) int {
		if e <= t {
			return -1
		}
		return 1
	})
	return min(n, c.Bins-1)
}

// Expectation returns Σ_b p_b · Medians[b] (log1p scale) for a probability
// vector over the bins (len(p) must be Bins; it panics otherwise).
func (c CellBins) Expectation(p []float32) float64 {
	if len(p) != c.Bins {
		panic(fmt.Sprintf("recon: Expectation: %d probabilities for %d bins", len(p), c.Bins))
	}
	var s float64
	for b, pb := range p {
		s += float64(pb) * c.Medians[b]
	}
	return s
}

// median is numpy's median of a non-empty slice (sorted in place).
func median(x []float64) float64 {
	slices.Sort(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}
