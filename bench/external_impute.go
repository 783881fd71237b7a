package bench

import (
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/tasks"
)

// External imputation models. An external model of kind imputation is a
// tasks.ImputeBatchModel whose Fit and ImputeLevels go through files, so
// tasks.RunImpute builds its held-out cells, gene panel, bags and masks
// exactly as for a registry imputer, and one run of the command answers
// every masking level of the cell (one fit). No leakage: the files hold
// the split's training cells and the test cells with the masked entries
// removed (what tasks.Imputer.Impute receives), never a masked value.
//
//   - {train}: the training cells (raw counts, the task's gene panel in
//     panel order; obs index = cell names; obs = the dataset's coordinate
//     columns, as floats, for spatial data, nothing else);
//   - {requests}: for each masking level (in the task's order), the test
//     cells (raw counts, the genes of {train}) with that level's masked
//     entries removed from X (a masked entry reads as 0: only {masked}
//     tells it from a true zero). obs, on every row: level = the level's
//     index (0, 1, …); mask_ratio = its mask ratio; cell = the test cell's
//     name (obs index: "<level>/<cell>"); bag = the index of the cell's
//     bag (sets of at most the task's bag_size test cells evaluated
//     together: random cells, or spatial neighbourhoods; the same bags at
//     every level); the coordinate columns (spatial data); no other
//     column;
//   - {masked}: the positions to predict, a CSV with header level, cell,
//     gene (cell and gene names), one row per masked position, in the
//     order the task scores them (level, then test cell, then gene in
//     panel order);
//   - {out}: a CSV with header level, cell, gene and either one value
//     column — log1p (the predicted log1p(count)) or count (the predicted
//     count) — or the bin probabilities p0 … p4 (the metrics/recon bins of
//     the true cell: p0 = not expressed, p1 … p4 uniform over its
//     non-zero log1p range). One row per position of {masked}, in any
//     order; no other column.
//
// readImputeOutput validates {out} strictly: every position of {masked}
// exactly once, no other position, every value a finite number, values
// ≥ 0 on their scale, probabilities ≥ 0 summing to 1 within 1e-3; a
// failure is one line naming the file and the first bad row. The task
// scores the answer as a registry imputer's (tasks.ImputeSetup.Score:
// argmax bin and probability-weighted medians, or the value binned with
// the true cell's edges).

// Obs columns of an imputation {requests}.
const (
	RequestLevelCol     = "level"
	RequestMaskRatioCol = "mask_ratio"
	RequestCellCol      = "cell"
	RequestBagCol       = "bag"
)

// Value columns of an imputation {out} besides p0 … p<bins−1>.
const (
	ImputeLog1pCol = "log1p"
	ImputeCountCol = "count"
)

// externalImpute is the tasks.ImputeBatchModel of an external imputation
// model in one cell: an externalPert (command directory or export unit,
// fingerprint, output modes) with imputation files.
type externalImpute struct {
	*externalPert
}

// Fit writes {train} (command and export modes) and fingerprints it.
func (e *externalImpute) Fit(_ context.Context, train *data.Dataset, spec tasks.ImputeSpec) error {
	e.genes = data.Frame{IndexName: train.Var.IndexName, Index: train.Var.Index}
	obs, err := coordFrame(train, spec.CoordCols, train.Obs.Index, 1)
	if err != nil {
		return err
	}
	hashStrings(e.fp, e.genes.Index)
	hashStrings(e.fp, train.Obs.Index)
	hashStrings(e.fp, spec.CoordCols)
	hashCSR(e.fp, train.X)
	path := e.inputPath("train")
	if path == "" {
		return nil
	}
	return h5ad.Write(path, &data.Dataset{X: train.X, Obs: obs, Var: e.genes, Scale: data.Counts})
}

// coordFrame is an obs frame with the given index and d's coordinate
// columns as floats, d's rows repeated times times (one block per
// masking level).
func coordFrame(d *data.Dataset, coordCols, index []string, times int) (data.Frame, error) {
	obs := data.Frame{IndexName: "cell", Index: index}
	if len(coordCols) == 0 {
		return obs, nil
	}
	xy, err := tasks.Coords(d, coordCols)
	if err != nil {
		return obs, err
	}
	for a, name := range coordCols {
		v := make([]float64, 0, times*len(xy))
		for range times {
			for _, c := range xy {
				v = append(v, c[a])
			}
		}
		obs.Set(&data.Column{Name: name, Kind: data.Float, Floats: v})
	}
	return obs, nil
}

// Impute refuses a per-level call: RunImpute asks an ImputeBatchModel
// through ImputeLevels, one command run for every level.
func (e *externalImpute) Impute(context.Context, *data.Dataset, []tasks.Position, tasks.ImputeSpec) (tasks.Imputation, error) {
	return tasks.Imputation{}, fmt.Errorf("external imputation model %s answers every masking level in one run (ImputeLevels)", e.Name())
}

// ImputeLevels writes {requests} and {masked} and runs the command, or
// reads the predictions directory's file, and returns the validated
// answers of each level; in export mode it writes the inputs and returns
// errExported.
func (e *externalImpute) ImputeLevels(ctx context.Context, levels []tasks.ImputeRequest, spec tasks.ImputeSpec) ([]tasks.Imputation, error) {
	if len(levels) == 0 {
		return nil, errors.New("no masking level")
	}
	for _, l := range levels {
		hashStrings(e.fp, []string{strconv.FormatFloat(l.Ratio, 'g', -1, 64)})
		hashStrings(e.fp, l.Data.Obs.Index)
		hashCSR(e.fp, l.Data.X)
		pos := make([]int64, 0, 2*len(l.Masked))
		for _, p := range l.Masked {
			pos = append(pos, int64(p.Cell), int64(p.Gene))
		}
		binary.Write(e.fp, binary.LittleEndian, pos)
	}
	for _, bag := range spec.Bags {
		binary.Write(e.fp, binary.LittleEndian, int64(len(bag)))
		for _, i := range bag {
			binary.Write(e.fp, binary.LittleEndian, int64(i))
		}
	}
	path, rel, err := e.output(ctx, func() error {
		if err := writeImputeRequests(e.inputPath("requests"), e.genes, levels, spec); err != nil {
			return err
		}
		return writeMasked(e.inputPath("masked"), e.genes.Index, levels)
	})
	if err != nil {
		return nil, err
	}
	return readImputeOutput(path, rel, spec.Bins, e.genes.Index, levels)
}

// writeImputeRequests writes an imputation {requests} (see above).
func writeImputeRequests(path string, genes data.Frame, levels []tasks.ImputeRequest, spec tasks.ImputeSpec) error {
	for _, col := range spec.CoordCols {
		switch col {
		case RequestLevelCol, RequestMaskRatioCol, RequestCellCol, RequestBagCol:
			return fmt.Errorf("requests: the dataset's column %q collides with the requests column of that name", col)
		}
	}
	d0 := levels[0].Data
	n := d0.NCells()
	bag := make([]int64, n)
	for i := range bag {
		bag[i] = -1
	}
	for b, rows := range spec.Bags {
		for _, i := range rows {
			if i < 0 || i >= n {
				return fmt.Errorf("requests: bag %d holds row %d of %d test cells", b, i, n)
			}
			bag[i] = int64(b)
		}
	}
	var index, cells []string
	var lev, bags []int64
	var ratio []float64
	parts := make([]*data.CSR, len(levels))
	for l, lv := range levels {
		if lv.Data.NCells() != n {
			return fmt.Errorf("requests: level %d has %d test cells, level 0 %d", l, lv.Data.NCells(), n)
		}
		parts[l] = lv.Data.X
		for i, name := range lv.Data.Obs.Index {
			index = append(index, strconv.Itoa(l)+"/"+name)
			cells = append(cells, name)
			lev, bags, ratio = append(lev, int64(l)), append(bags, bag[i]), append(ratio, lv.Ratio)
		}
	}
	obs, err := coordFrame(d0, spec.CoordCols, index, len(levels))
	if err != nil {
		return err
	}
	obs.Set(&data.Column{Name: RequestLevelCol, Kind: data.Int, Ints: lev})
	obs.Set(&data.Column{Name: RequestMaskRatioCol, Kind: data.Float, Floats: ratio})
	obs.Set(&data.Column{Name: RequestCellCol, Kind: data.String, Strings: cells})
	obs.Set(&data.Column{Name: RequestBagCol, Kind: data.Int, Ints: bags})
	return h5ad.Write(path, &data.Dataset{X: data.VStack(parts, len(genes.Index)), Obs: obs, Var: genes, Scale: data.Counts})
}

// writeMasked writes {masked}: level, cell, gene per masked position.
func writeMasked(path string, genes []string, levels []tasks.ImputeRequest) error {
	return fsutil.WriteFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{RequestLevelCol, RequestCellCol, "gene"})
		for l, lv := range levels {
			ls := strconv.Itoa(l)
			for _, p := range lv.Masked {
				cw.Write([]string{ls, lv.Data.Obs.Index[p.Cell], genes[p.Gene]})
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// imputeKey is one requested position of an imputation {out}.
type imputeKey struct {
	level      int
	cell, gene string
}

// readImputeOutput reads an external imputation model's {out} from path
// (named rel in errors) and returns one tasks.Imputation per level, its
// predictions in the order of the level's masked positions. It fails,
// with one line naming the file and the first bad row, on: a missing or
// unreadable file; a header without level, cell, gene or without exactly
// one of log1p, count or p0 … p<bins−1>, or with another column; a row of
// another width, a level that is not an integer; a position that was not
// requested or is given twice; a value that is not a finite number; a
// negative log1p value or count; probabilities that are negative or do
// not sum to 1 within 1e-3; a requested position with no row.
func readImputeOutput(path, rel string, bins int, genes []string, levels []tasks.ImputeRequest) ([]tasks.Imputation, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("output %s: %s", rel, fmt.Sprintf(format, a...))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fail("no such file (the model wrote no output)")
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fail("no header row (want level, cell, gene and log1p, count or p0…p%d)", bins-1)
	}
	if err := data.CheckCSVHeader(head); err != nil {
		return nil, fail("header: %v", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	probCols := make([]string, bins)
	for b := range probCols {
		probCols[b] = "p" + strconv.Itoa(b)
	}
	var valCols []string
	for _, form := range [][]string{{ImputeLog1pCol}, {ImputeCountCol}, probCols} {
		if _, ok := col[form[0]]; ok {
			if valCols != nil {
				return nil, fail("header %q: give one of log1p, count or p0…p%d, not several", head, bins-1)
			}
			valCols = form
		}
	}
	if valCols == nil {
		return nil, fail("header %q: no value column (want log1p, count or p0…p%d)", head, bins-1)
	}
	want := append([]string{RequestLevelCol, RequestCellCol, "gene"}, valCols...)
	for _, name := range want {
		if _, ok := col[name]; !ok {
			return nil, fail("header %q: missing column %q (want %s)", head, name, strings.Join(want, ", "))
		}
	}
	if len(head) != len(want) {
		for _, h := range head {
			if !slices.Contains(want, h) {
				return nil, fail("header: unknown column %q (want exactly %s)", h, strings.Join(want, ", "))
			}
		}
	}
	idx := map[imputeKey]int{}
	for l, lv := range levels {
		for k, p := range lv.Masked {
			idx[imputeKey{l, lv.Data.Obs.Index[p.Cell], genes[p.Gene]}] = k
		}
	}
	out := make([]tasks.Imputation, len(levels))
	seen := make([][]bool, len(levels))
	for l, lv := range levels {
		seen[l] = make([]bool, len(lv.Masked))
		if len(valCols) == 1 {
			out[l].Log1p = make([]float64, len(lv.Masked))
		} else {
			out[l].Probs = make([][]float32, len(lv.Masked))
		}
	}
	vals := make([]float64, len(valCols))
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fail("%v", err)
		}
		lvl, err := strconv.Atoi(strings.TrimSpace(rec[col[RequestLevelCol]]))
		if err != nil {
			return nil, fail("line %d: level %q is not an integer", line, rec[col[RequestLevelCol]])
		}
		key := imputeKey{lvl, rec[col[RequestCellCol]], rec[col["gene"]]}
		k, ok := idx[key]
		pos := fmt.Sprintf("(level %d, cell %q, gene %q)", key.level, key.cell, key.gene)
		switch {
		case !ok:
			return nil, fail("line %d: position %s was not requested", line, pos)
		case seen[lvl][k]:
			return nil, fail("line %d: position %s is given twice", line, pos)
		}
		seen[lvl][k] = true
		for j, name := range valCols {
			v, err := metrics.ParseValue(strings.TrimSpace(rec[col[name]]))
			if err != nil {
				return nil, fail("line %d, column %s: %v", line, name, err)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fail("line %d, column %s: non-finite value %v at position %s", line, name, v, pos)
			}
			if v < 0 {
				return nil, fail("line %d, column %s: negative value %v at position %s", line, name, v, pos)
			}
			vals[j] = v
		}
		switch valCols[0] {
		case ImputeLog1pCol:
			out[lvl].Log1p[k] = vals[0]
		case ImputeCountCol:
			out[lvl].Log1p[k] = math.Log1p(vals[0])
		default:
			var sum float64
			p := make([]float32, bins)
			for b, v := range vals {
				sum += v
				p[b] = float32(v)
			}
			if math.Abs(sum-1) > 1e-3 {
				return nil, fail("line %d: probabilities at position %s sum to %g (want 1 within 1e-3)", line, pos, sum)
			}
			out[lvl].Probs[k] = p
		}
	}
	missing, first := 0, ""
	total := 0
	for l, lv := range levels {
		total += len(lv.Masked)
		for k, ok := range seen[l] {
			if !ok {
				if missing == 0 {
					p := lv.Masked[k]
					first = fmt.Sprintf("level %d, cell %q, gene %q", l, lv.Data.Obs.Index[p.Cell], genes[p.Gene])
				}
				missing++
			}
		}
	}
	if missing > 0 {
		return nil, fail("%d of the %d requested positions are missing (first: %s)", missing, total, first)
	}
	return out, nil
}
