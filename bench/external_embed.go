package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/tasks"
)

// External embedding models. An external model of kind embedding runs on
// the .h5ad datasets of the suite's embedding tasks, once per (dataset,
// seed):
//
//   - {data}: the cells the metrics score (after drop_missing), X as
//     stored in the dataset file (counts or log1p), obs = the batch column
//     only: the label column the metrics score against is withheld;
//   - {out}: the embedding, one row per cell of {data}: a CSV whose first
//     column holds the cell names ({data}'s obs index) and whose other
//     columns are the dimensions (pandas' DataFrame(Z,
//     index=adata.obs_names).to_csv(out) writes this), or an .h5ad whose
//     obsm["X_emb"] is the embedding. Cells may come in any order; each
//     cell of {data} exactly once, finite values, at least one dimension.
//
// The embedding is scored like the dataset's own (metrics/scib, the
// dataset's pre-integration embedding for pcr_comparison).

// EmbedOutputKey is the obsm entry an .h5ad embedding output holds.
const EmbedOutputKey = "X_emb"

// externalEmbedding returns the embedding of an external model's cell
// (rows in the order of cells), running its command, reading the
// predictions directory, or (export mode) writing {data} and returning
// errExported. It also returns the command cell (nil in other modes).
func (r *Runner) externalEmbedding(ctx context.Context, c Cell, cells *data.Dataset) (*data.Dense, *commandCell, error) {
	if cells == nil {
		return nil, nil, fmt.Errorf("dataset %s has no expression matrix to embed (external embedding models need an .h5ad dataset)", c.Dataset.Name)
	}
	fp := embedFingerprint(cells)
	switch {
	case r.export != nil:
		u, dir := r.export.unit(c, tasks.PertSpec{})
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
		if err := h5ad.Write(filepath.Join(dir, "data.h5ad"), cells); err != nil {
			return nil, nil, err
		}
		u.Fingerprint = fp
		return nil, nil, errExported
	case r.predictions != nil:
		u, err := r.predictions.lookup(c)
		if err != nil {
			return nil, nil, err
		}
		if u.Fingerprint != fp {
			return nil, nil, fmt.Errorf("predictions directory %s: unit %s was exported for other cells (input fingerprint %s, this run's %s): export again", r.predictions.Dir, u.Dir, u.Fingerprint, fp)
		}
		rel := u.Outputs[c.Model.ID()].Out
		path := filepath.Join(r.predictions.Dir, filepath.FromSlash(rel))
		if _, err := os.Stat(path); err != nil {
			// The .h5ad variant of <model>.csv.
			alt := strings.TrimSuffix(path, ".csv") + ".h5ad"
			if _, err := os.Stat(alt); err == nil {
				path, rel = alt, strings.TrimSuffix(rel, ".csv")+".h5ad"
			}
		}
		x, err := readEmbedOutput(path, rel, cells.Obs.Index)
		return x, nil, err
	}
	cc, err := newCommandCell(r.Out, c, tasks.PertSpec{})
	if err != nil {
		return nil, nil, err
	}
	if err := h5ad.Write(cc.setFile("data", "data.h5ad"), cells); err != nil {
		return nil, nil, err
	}
	out := cc.setFile("out", "out.csv")
	if err := cc.run(ctx); err != nil {
		return nil, nil, err
	}
	x, err := readEmbedOutput(out, cc.relPath("out.csv"), cells.Obs.Index)
	return x, cc, err
}

// embedFingerprint identifies {data}: cell names, batches, gene names, X.
func embedFingerprint(d *data.Dataset) string {
	h := sha256.New()
	hashStrings(h, d.Obs.Index)
	for _, c := range d.Obs.Columns {
		hashStrings(h, c.Labels())
	}
	hashStrings(h, d.Var.Index)
	hashCSR(h, d.X)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// readEmbedOutput reads an external embedding (CSV or .h5ad, told apart
// by the HDF5 signature) and returns it with rows in the order of cells.
// Errors name the file (rel) and the problem: unreadable, no dimension, a
// value that is not a finite number, a cell of {data} missing or given
// twice, a cell that is not in {data}.
func readEmbedOutput(path, rel string, cells []string) (*data.Dense, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("output %s: %s", rel, fmt.Sprintf(format, a...))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fail("no such file (the model wrote no output)")
	}
	var names []string
	var x *data.Dense
	if bytes.HasPrefix(b, []byte("\x89HDF\r\n\x1a\n")) {
		d, err := h5ad.Read(path)
		if err != nil {
			return nil, fail("%s", relErr(err, path, rel))
		}
		m, ok := d.Obsm[EmbedOutputKey]
		if !ok {
			return nil, fail("no obsm[%q] (an .h5ad output holds the embedding there)", EmbedOutputKey)
		}
		names, x = d.Obs.Index, m
	} else {
		if names, x, err = readEmbedCSV(bytes.NewReader(b)); err != nil {
			return nil, fail("%v", err)
		}
	}
	if x.Cols == 0 {
		return nil, fail("the embedding has no dimension")
	}
	for k, v := range x.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fail("non-finite value %v at cell %q, dimension %d", v, names[k/x.Cols], k%x.Cols)
		}
	}
	row := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := row[n]; dup {
			return nil, fail("cell %q is given twice", n)
		}
		row[n] = i
	}
	want := make(map[string]bool, len(cells))
	out := &data.Dense{Rows: len(cells), Cols: x.Cols, Data: make([]float64, 0, len(cells)*x.Cols)}
	missing := 0
	first := ""
	for _, n := range cells {
		want[n] = true
		i, ok := row[n]
		if !ok {
			if missing == 0 {
				first = n
			}
			missing++
			continue
		}
		out.Data = append(out.Data, x.Row(i)...)
	}
	if missing > 0 {
		return nil, fail("%d of the %d cells of {data} are missing (first: %q)", missing, len(cells), first)
	}
	for _, n := range names {
		if !want[n] {
			return nil, fail("cell %q is not in {data}", n)
		}
	}
	return out, nil
}

// readEmbedCSV reads "cell,d1,d2,…" rows: the first column names the
// cell, the others are numbers (metrics.ParseValue spellings excluded:
// an embedding must be finite).
func readEmbedCSV(r io.Reader) ([]string, *data.Dense, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("no header row: %v", err)
	}
	if len(header) < 2 {
		return nil, nil, errors.New("want a cell-name column and at least one dimension")
	}
	x := &data.Dense{Cols: len(header) - 1}
	var names []string
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		names = append(names, rec[0])
		for j, f := range rec[1:] {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d, column %q: %q is not a number", line, header[j+1], f)
			}
			x.Data = append(x.Data, v)
		}
		x.Rows++
	}
	if x.Rows == 0 {
		return nil, nil, errors.New("no rows")
	}
	return names, x, nil
}
