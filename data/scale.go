package data

import (
	"fmt"
	"math"
	"strings"
)

// ScaleReport is what DetectScale saw in a matrix.
type ScaleReport struct {
	Scale           Scale
	Min, Max        float64 // over stored values (0 when none)
	IntegerCells    int     // cells with at least one non-zero value, all integers
	FractionalCells int     // cells with at least one non-integer value
	EmptyCells      int     // cells with no non-zero value
}

// Log1pMax is the exclusive upper bound of log1p-normalised values (SPEC-metrics.md).
const Log1pMax = 15

// DetectScale applies the strict scale rule of SPEC-metrics.md to m:
//
//   - Counts when every stored value is a non-negative integer (exactly:
//     v == trunc(v));
//   - Log1p when all values are in [0, 15) and some are non-integer, and no
//     non-empty cell is integer-only with a value ≥ 1 (that would be a cell
//     of counts mixed into log1p cells);
//   - otherwise an error saying what was found: a negative value, NaN/Inf,
//     a non-integer value ≥ 15, an integer value ≥ 15 beside non-integer
//     values (20.0 or 1e30 in an otherwise log1p matrix), or a mix of
//     integer (count) and fractional (log1p) cells.
//
// It never guesses silently. An all-zero matrix is reported as Counts.
func DetectScale(m *CSR) (ScaleReport, error) {
	var sc ScaleScanner
	if err := sc.Add(m, 0); err != nil {
		return sc.Report(), err
	}
	return sc.Verdict()
}

// ScaleScanner accumulates DetectScale's evidence over row blocks, so a
// matrix can be judged while it is streamed from disk.
type ScaleScanner struct {
	rep              ScaleReport
	seen             bool
	firstIntCell     int // index of the first integer-only cell with a value ≥ 1
	firstFracCell    int
	intCellWithLarge bool
	// The first value ≥ Log1pMax (an integer: a non-integer one is an
	// error at once); it rules out log1p.
	hugeCell, hugeGene int
	hugeValue          float64
}

// Add scans the rows of block, whose first row is cell rowOffset of the
// whole matrix. It returns an error at the first value that no scale allows
// (negative, NaN/Inf, or fractional and ≥ 15).
func (s *ScaleScanner) Add(block *CSR, rowOffset int) error {
	if !s.seen {
		s.rep.Min, s.rep.Max = math.Inf(1), math.Inf(-1)
		s.firstIntCell, s.firstFracCell, s.hugeCell = -1, -1, -1
		s.seen = true
	}
	for i := 0; i < block.Rows; i++ {
		idx, val := block.Row(i)
		cell := rowOffset + i
		frac, nonzero, large := false, false, false
		for k, v32 := range val {
			v := float64(v32)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("non-finite value %v at cell %d, gene %d", v, cell, idx[k])
			}
			if v < 0 {
				return fmt.Errorf("negative value %g at cell %d, gene %d: neither counts nor log1p", v, cell, idx[k])
			}
			if v < s.rep.Min {
				s.rep.Min = v
			}
			if v > s.rep.Max {
				s.rep.Max = v
			}
			if v != 0 {
				nonzero = true
			}
			if v >= 1 {
				large = true
			}
			if v >= Log1pMax && s.hugeCell < 0 {
				s.hugeCell, s.hugeGene, s.hugeValue = cell, int(idx[k]), v
			}
			if v != math.Trunc(v) {
				frac = true
				if v >= Log1pMax {
					return fmt.Errorf("non-integer value %g ≥ %d at cell %d, gene %d: neither counts nor log1p", v, Log1pMax, cell, idx[k])
				}
			}
		}
		switch {
		case !nonzero:
			s.rep.EmptyCells++
		case frac:
			s.rep.FractionalCells++
			if s.firstFracCell < 0 {
				s.firstFracCell = cell
			}
		default:
			s.rep.IntegerCells++
			if large && s.firstIntCell < 0 {
				s.firstIntCell = cell
			}
		}
	}
	return nil
}

// Report returns the evidence so far.
func (s *ScaleScanner) Report() ScaleReport {
	r := s.rep
	if !s.seen || math.IsInf(r.Min, 0) {
		r.Min, r.Max = 0, 0
	}
	return r
}

// Verdict returns the scale for everything added so far, or an error for a
// mix of count cells and log1p cells.
func (s *ScaleScanner) Verdict() (ScaleReport, error) {
	r := s.Report()
	switch {
	case r.FractionalCells == 0:
		r.Scale = Counts
	case s.hugeCell >= 0:
		return r, fmt.Errorf("value %v ≥ %d at cell %d, gene %d in a matrix with non-integer values (first: cell %d): log1p values lie in [0, %d) and counts are all integers, so it is neither",
			float32(s.hugeValue), Log1pMax, s.hugeCell, s.hugeGene, s.firstFracCell, Log1pMax)
	case s.firstIntCell >= 0:
		return r, fmt.Errorf("mixed scale: %d cells look like log1p (first: cell %d) but %d cells hold only integers (first: cell %d); convert every cell to one scale",
			r.FractionalCells, s.firstFracCell, r.IntegerCells, s.firstIntCell)
	default:
		r.Scale = Log1p
	}
	return r, nil
}

// ParseScale parses "auto", "counts" or "log1p" (auto returns ScaleUnknown).
func ParseScale(s string) (Scale, error) {
	switch strings.ToLower(s) {
	case "auto", "":
		return ScaleUnknown, nil
	case "counts":
		return Counts, nil
	case "log1p":
		return Log1p, nil
	}
	return ScaleUnknown, fmt.Errorf("unknown scale %q (want auto, counts or log1p)", s)
}
