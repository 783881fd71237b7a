package scib

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/data"
)

// EmbeddingCSV is an embedding read from a CSV file: the columns whose
// names match a glob form the matrix, and other requested columns are kept
// as strings (labels, batches).
type EmbeddingCSV struct {
	Path      string
	EmbedCols []string            // matched column names, in file order
	X         *data.Dense         // cells × len(EmbedCols)
	Columns   map[string][]string // requested string columns
}

// ReadEmbeddingCSV reads a CSV with a header row. Columns whose names match
// the glob (path.Match syntax, e.g. "X*" or "scviDim_*") form the embedding,
// in file order; each of keep is returned as strings. It returns an error
// naming the file, row and column on: a missing header, no column matching
// the glob, an unknown keep column (listing the available ones), a ragged
// row, a column name that appears twice in the header, or an embedding
// value that is not a finite number ("NA" included).
func ReadEmbeddingCSV(file, glob string, keep []string) (*EmbeddingCSV, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readEmbeddingCSV(f, file, glob, keep)
}

func readEmbeddingCSV(r io.Reader, name, glob string, keep []string) (*EmbeddingCSV, error) {
	if _, err := path.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("bad --embed-cols glob %q: %w", glob, err)
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	if err := data.CheckCSVHeader(header); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := &EmbeddingCSV{Path: name, Columns: map[string][]string{}}
	var embIdx []int
	for j, h := range header {
		if ok, _ := path.Match(glob, h); ok {
			embIdx = append(embIdx, j)
			out.EmbedCols = append(out.EmbedCols, h)
		}
	}
	if len(embIdx) == 0 {
		return nil, fmt.Errorf("%s: no column matches --embed-cols %q (columns: %s)", name, glob, data.QuoteList(header, 0))
	}
	keepIdx := make([]int, len(keep))
	for k, c := range keep {
		keepIdx[k] = -1
		for j, h := range header {
			if h == c {
				keepIdx[k] = j
			}
		}
		if keepIdx[k] < 0 {
			return nil, fmt.Errorf("%s: unknown column %s (columns: %s)", name, data.Quote(c), data.QuoteList(header, 0))
		}
	}
	var vals []float64
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rows++
		for _, j := range embIdx {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[j]), 64)
			if err != nil || v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308 {
				return nil, fmt.Errorf("%s: row %d, column %q: %q is not a finite number", name, rows, header[j], rec[j])
			}
			vals = append(vals, v)
		}
		for k, j := range keepIdx {
			out.Columns[keep[k]] = append(out.Columns[keep[k]], rec[j])
		}
	}
	if rows == 0 {
		return nil, fmt.Errorf("%s: no data rows", name)
	}
	out.X = &data.Dense{Rows: rows, Cols: len(embIdx), Data: vals}
	return out, nil
}
