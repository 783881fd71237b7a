package recon

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/cellbench/cellbench/metrics"
)

// PositionColumns are the columns of a positions file (positions.csv), in
// the order WritePositions writes them: one row per masked position.
var PositionColumns = []string{"cell", "gene", "true_count", "true_bin", "pred_bin", "pred_count"}

// WritePositions writes ps as CSV with a PositionColumns header; counts
// are spelled with metrics.FormatValue.
func WritePositions(w io.Writer, ps []Position) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(PositionColumns); err != nil {
		return err
	}
	row := make([]string, len(PositionColumns))
	for _, p := range ps {
		row[0], row[1] = p.Cell, p.Gene
		row[2] = metrics.FormatValue(p.TrueCount)
		row[3] = strconv.Itoa(p.TrueBin)
		row[4] = strconv.Itoa(p.PredBin)
		row[5] = metrics.FormatValue(p.PredCount)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadPositions reads a positions file written by any tool: a CSV whose
// header holds at least PositionColumns (any order; other columns are
// ignored). Bins must be integers, counts numbers (metrics.ParseValue
// spellings); a missing column, a short row or a bad value is an error
// naming the line and column. It does not check ranges (Score does).
func ReadPositions(r io.Reader) ([]Position, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file: want a header with columns cell, gene, true_count, true_bin, pred_bin, pred_count")
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("header: column %q appears twice", h)
		}
		col[h] = i
	}
	idx := make([]int, len(PositionColumns))
	for k, name := range PositionColumns {
		i, ok := col[name]
		if !ok {
			return nil, fmt.Errorf("header: missing column %q (want %v)", name, PositionColumns)
		}
		idx[k] = i
	}
	var out []Position
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var p Position
		p.Cell, p.Gene = rec[idx[0]], rec[idx[1]]
		for k, dst := range []*float64{&p.TrueCount, &p.PredCount} {
			c := []int{2, 5}[k]
			if *dst, err = metrics.ParseValue(rec[idx[c]]); err != nil {
				return nil, fmt.Errorf("line %d, column %s: %w", line, PositionColumns[c], err)
			}
		}
		for k, dst := range []*int{&p.TrueBin, &p.PredBin} {
			c := []int{3, 4}[k]
			if *dst, err = strconv.Atoi(rec[idx[c]]); err != nil {
				return nil, fmt.Errorf("line %d, column %s: %q is not an integer bin", line, PositionColumns[c], rec[idx[c]])
			}
		}
		out = append(out, p)
	}
}

// ResultColumns are the columns of an imputation results.csv, one row.
var ResultColumns = []string{NameMCC, NameMCCExpressed, NameMAECounts, "n_positions", "n_expressed", "notes"}

// WriteResults writes s as a one-row CSV with ResultColumns; notes joins
// the reasons (metric: reason; …) so that every NaN or convention value
// carries its reason.
func WriteResults(w io.Writer, s Scores) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ResultColumns); err != nil {
		return err
	}
	if err := cw.Write([]string{metrics.FormatValue(s.MCC), metrics.FormatValue(s.MCCExpressed), metrics.FormatValue(s.MAECounts),
		strconv.Itoa(s.N), strconv.Itoa(s.NExpressed), s.Notes()}); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// Notes joins the reasons in metric order ("mcc: …; mae_counts: …").
func (s Scores) Notes() string {
	out := ""
	for _, name := range []string{NameMCC, NameMCCExpressed, NameMAECounts} {
		if r, ok := s.Reasons[name]; ok {
			if out != "" {
				out += "; "
			}
			out += name + ": " + r
		}
	}
	return out
}
