package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/tasks"
)

// External perturbation models. An external model of kind perturbation
// is a tasks.PerturbationModel whose Fit and Predict go through files, so
// tasks.RunPert builds its split, requests and evaluation sets exactly as
// for a registry model (no leakage: the files hold the training cells
// and the requested groups' training controls, nothing else):
//
//   - {train}: the training cells of the split (X log1p, the dataset's
//     genes, obs = the spec's perturbation and context columns);
//   - {requests}: for each requested (context, perturbation), the
//     training control cells of the context, in request order; obs: the
//     perturbation column = the perturbation to predict, the context
//     column (when the spec has one), n_cells = how many cells to predict
//     for the group (on each of its rows), request = the request's index;
//   - {out}: the predicted cells: .h5ad, X log1p with the genes of
//     {train} in the same order, obs with the perturbation (and context)
//     column saying which group each cell belongs to, exactly n_cells
//     cells per requested group, no other group.
//
// readPertOutput validates {out} as strictly as `score pert` validates
// its files. The same model reads a prediction made elsewhere (a
// directory written by Export, Runner.Predictions) or writes the inputs
// without running anything (Export).

// errExported ends an export-mode cell once its inputs are written.
var errExported = errors.New("inputs exported")

// Obs columns of {requests} besides the spec's columns.
const (
	RequestNCellsCol = "n_cells"
	RequestIndexCol  = "request"
)

// externalPert is the tasks.PerturbationModel of an external model in one
// cell.
type externalPert struct {
	r    *Runner
	c    Cell
	kind tasks.Kind // the cell's kind (its input files)
	spec tasks.PertSpec
	cc   *commandCell // command mode
	// unit is the cell's export unit (export and predictions modes) and
	// unitDir its absolute directory.
	unit    *ExportUnit
	unitDir string
	genes   data.Frame
	fp      hash.Hash // fingerprint of the inputs (train, then requests)
}

// newExternalPert prepares the external model of cell c (perturbation or
// in-context: both write {train} in Fit): its command directory (command
// mode) or its export unit.
func (r *Runner) newExternalPert(c Cell, spec tasks.PertSpec) (*externalPert, error) {
	e := &externalPert{r: r, c: c, kind: c.Model.externalKind(), spec: spec, fp: sha256.New()}
	switch {
	case r.export != nil:
		e.unit, e.unitDir = r.export.unit(c, spec)
		if err := os.MkdirAll(e.unitDir, 0o755); err != nil {
			return nil, err
		}
	case r.predictions != nil:
		u, err := r.predictions.lookup(c)
		if err != nil {
			return nil, err
		}
		e.unit, e.unitDir = u, filepath.Join(r.predictions.Dir, filepath.FromSlash(u.Dir))
	default:
		cc, err := newCommandCell(r.Out, c, spec)
		if err != nil {
			return nil, err
		}
		e.cc = cc
	}
	return e, nil
}

func (e *externalPert) Name() string { return e.c.Model.ID() }

// Fit writes {train} (command and export modes) and fingerprints it.
func (e *externalPert) Fit(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	e.genes = data.Frame{IndexName: train.Var.IndexName, Index: train.Var.Index}
	perts, ctxs, err := spec.Labels(train)
	if err != nil {
		return err
	}
	hashStrings(e.fp, e.genes.Index)
	hashStrings(e.fp, train.Obs.Index)
	hashStrings(e.fp, perts)
	hashStrings(e.fp, ctxs)
	path := e.inputPath("train")
	if path == "" {
		return nil
	}
	obs := data.Frame{IndexName: train.Obs.IndexName, Index: train.Obs.Index}
	for _, col := range []string{spec.PertCol, spec.ContextCol} {
		if col == "" {
			continue
		}
		c, err := train.Obs.Column(col)
		if err != nil {
			return err
		}
		obs.Set(c)
	}
	return h5ad.Write(path, &data.Dataset{X: train.X, Obs: obs, Var: e.genes, Scale: data.Log1p})
}

// Predict writes {requests} and runs the command, or reads the predictions
// directory's file, and returns the validated predictions; in export mode
// it writes {requests} and returns errExported.
func (e *externalPert) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	for _, q := range reqs {
		hashStrings(e.fp, []string{q.Context, q.Perturbation, fmt.Sprint(q.NCells)})
		hashCSR(e.fp, q.Controls)
	}
	path, rel, err := e.output(ctx, func() error { return writeRequests(e.inputPath("requests"), e.genes, e.spec, reqs) })
	if err != nil {
		return nil, err
	}
	return readPertOutput(path, rel, e.genes.Index, e.spec, reqs)
}

// inputPath is where the input of a placeholder (train, requests,
// masked) is written: in the command directory (command mode, which also
// sets the placeholder) or the export unit; "" in predictions mode.
func (e *externalPert) inputPath(placeholder string) string {
	switch {
	case e.cc != nil:
		return e.cc.setFile(placeholder, inputFile(placeholder))
	case e.r.export != nil:
		return filepath.Join(e.unitDir, inputFile(placeholder))
	}
	return ""
}

// output finishes the fingerprint (the caller has hashed its requests)
// and returns the output file to read and its name in errors: in command
// mode after writing the inputs left after Fit with write (to
// inputPath's files) and running the command, in predictions mode the
// unit's file once its fingerprint matches; in export mode it writes the
// inputs and returns errExported. A command's {out} is out.<ext> with the
// extension of the kind's outputName.
func (e *externalPert) output(ctx context.Context, write func() error) (path, rel string, err error) {
	fp := hex.EncodeToString(e.fp.Sum(nil))[:16]
	switch {
	case e.r.export != nil:
		if err := write(); err != nil {
			return "", "", err
		}
		e.unit.Fingerprint = fp
		return "", "", errExported
	case e.r.predictions != nil:
		if e.unit.Fingerprint != fp {
			return "", "", fmt.Errorf("predictions directory %s: unit %s was exported for another split or cellbench version (input fingerprint %s, this run's %s): export again", e.r.predictions.Dir, e.unit.Dir, e.unit.Fingerprint, fp)
		}
		out := e.unit.Outputs[e.c.Model.ID()].Out
		return filepath.Join(e.r.predictions.Dir, filepath.FromSlash(out)), out, nil
	}
	if err := write(); err != nil {
		return "", "", err
	}
	name := "out" + filepath.Ext(outputName(e.kind, "out"))
	out := e.cc.setFile("out", name)
	if err := e.cc.run(ctx); err != nil {
		return "", "", err
	}
	return out, e.cc.relPath(name), nil
}

// done removes a successful command cell's inputs.
func (e *externalPert) done() {
	if e.cc != nil {
		e.cc.removeInputs(e.kind)
	}
}

func hashStrings(h hash.Hash, ss []string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(ss)))
	h.Write(n[:])
	for _, s := range ss {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
}

func hashCSR(h hash.Hash, m *data.CSR) {
	binary.Write(h, binary.LittleEndian, int64(m.Rows))
	binary.Write(h, binary.LittleEndian, int64(m.Cols))
	binary.Write(h, binary.LittleEndian, m.Indptr)
	binary.Write(h, binary.LittleEndian, m.Indices)
	binary.Write(h, binary.LittleEndian, m.Data)
}

// writeRequests writes {requests}: the controls of each request, in
// order, with the columns described above.
func writeRequests(path string, genes data.Frame, spec tasks.PertSpec, reqs []tasks.PredictRequest) error {
	for _, col := range []string{spec.PertCol, spec.ContextCol} {
		if col == RequestNCellsCol || col == RequestIndexCol {
			return fmt.Errorf("requests: the dataset's column %q collides with the requests column of that name", col)
		}
	}
	var parts []*data.CSR
	var perts, ctxs, index []string
	var nCells, reqIdx []int64
	for k, q := range reqs {
		parts = append(parts, q.Controls)
		for i := 0; i < q.Controls.Rows; i++ {
			perts = append(perts, q.Perturbation)
			ctxs = append(ctxs, q.Context)
			nCells = append(nCells, int64(q.NCells))
			reqIdx = append(reqIdx, int64(k))
			index = append(index, fmt.Sprintf("request%d-control%d", k, i))
		}
	}
	obs := data.Frame{IndexName: "cell", Index: index}
	obs.Set(data.NewCategorical(spec.PertCol, perts))
	if spec.ContextCol != "" {
		obs.Set(data.NewCategorical(spec.ContextCol, ctxs))
	}
	obs.Set(&data.Column{Name: RequestNCellsCol, Kind: data.Int, Ints: nCells})
	obs.Set(&data.Column{Name: RequestIndexCol, Kind: data.Int, Ints: reqIdx})
	return h5ad.Write(path, &data.Dataset{X: data.VStack(parts, len(genes.Index)), Obs: obs, Var: genes, Scale: data.Log1p})
}

// readPertOutput reads an external model's predicted cells from path
// (named rel in errors) and returns one CSR per request, in request
// order, each with the group's cells in file order. It fails, with one
// line naming the file and the first problems, on what readPredicted
// refuses; a missing perturbation or context column; a group that was not
// requested; a requested group with no cells or another number of cells
// than requested.
func readPertOutput(path, rel string, genes []string, spec tasks.PertSpec, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	d, fail, err := readPredicted(path, rel, genes)
	if err != nil {
		return nil, err
	}
	perts, err := d.ObsLabels(spec.PertCol)
	if err != nil {
		return nil, fail("%s", relErr(err, path, rel))
	}
	ctxs := make([]string, len(perts))
	if spec.ContextCol != "" {
		if ctxs, err = d.ObsLabels(spec.ContextCol); err != nil {
			return nil, fail("%s", relErr(err, path, rel))
		}
	}
	keys := make([]string, len(perts))
	for i := range perts {
		keys[i] = "group " + groupName(tasks.Group{Context: ctxs[i], Perturbation: perts[i]})
	}
	want := make([]wantRows, len(reqs))
	for k, q := range reqs {
		want[k] = wantRows{key: "group " + groupName(tasks.Group{Context: q.Context, Perturbation: q.Perturbation}), n: q.NCells}
	}
	return splitPredicted(d, keys, want, fail)
}

// readPredicted reads and checks an external model's predicted cells (the
// checks every kind's {out} of predicted cells shares): a missing or
// unreadable file; an invalid matrix or NaN/Inf (data.Dataset.Validate);
// genes that differ from {train} in set or order; a scale other than
// log1p (negative values, raw counts, non-integers ≥ 15: data.DetectScale).
// fail formats the one-line error naming the file.
func readPredicted(path, rel string, genes []string) (*data.Dataset, func(string, ...any) error, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("output %s: %s", rel, fmt.Sprintf(format, a...))
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fail, fail("no such file (the model wrote no output)")
	}
	d, err := h5ad.Read(path)
	if err != nil {
		return nil, fail, fail("%s", relErr(err, path, rel))
	}
	if err := d.Validate(); err != nil {
		return nil, fail, fail("%s", relErr(err, path, rel))
	}
	if i := data.FirstOrderDifference(genes, d.Genes()); i >= 0 {
		if _, err := data.AlignGenes(genes, d.Genes()); err != nil {
			return nil, fail, fail("genes differ from {train}: %v", err)
		}
		return nil, fail, fail("genes are in another order than in {train} (position %d is %q, {train} has %q): write them in {train}'s order", i, d.Genes()[i], genes[i])
	}
	rep, err := data.DetectScale(d.X)
	if err != nil {
		return nil, fail, fail("not log1p: %v", err)
	}
	if rep.Scale == data.Counts && rep.Max >= 1 {
		return nil, fail, fail("values look like raw counts (every value an integer, max %g): write log1p values on the scale of {train}", rep.Max)
	}
	return d, fail, nil
}

// wantRows is one requested block of predicted cells: its key (as the
// rows' keys spell it, used in errors) and how many cells it must have.
type wantRows struct {
	key string
	n   int
	// name is the block in errors (default key).
	name string
}

// splitPredicted splits d's rows by their keys (one per row) into the
// requested blocks, in want's order, each with its rows in file order. It
// fails (through fail, naming at most three problems) on a requested key
// with no rows or another number of rows than requested, and on a key
// that was not requested.
func splitPredicted(d *data.Dataset, keys []string, want []wantRows, fail func(string, ...any) error) ([]*data.CSR, error) {
	rows := map[string][]int{}
	for i, k := range keys {
		rows[k] = append(rows[k], i)
	}
	requested := map[string]bool{}
	var problems []string
	for _, w := range want {
		requested[w.key] = true
		name := w.name
		if name == "" {
			name = w.key
		}
		switch n := len(rows[w.key]); {
		case n == 0:
			problems = append(problems, fmt.Sprintf("missing %s: no cells (%d requested)", name, w.n))
		case n != w.n:
			problems = append(problems, fmt.Sprintf("%s has %d cells, %d requested", name, n, w.n))
		}
	}
	for _, k := range keys {
		if !requested[k] {
			problems = append(problems, fmt.Sprintf("%s was not requested (%d cells)", k, len(rows[k])))
			requested[k] = true // once
		}
	}
	if len(problems) > 0 {
		msg := strings.Join(problems[:min(3, len(problems))], "; ")
		if len(problems) > 3 {
			msg += fmt.Sprintf("; and %d more", len(problems)-3)
		}
		return nil, fail("%s", msg)
	}
	out := make([]*data.CSR, len(want))
	for k, w := range want {
		out[k] = d.X.SubsetRows(rows[w.key])
	}
	return out, nil
}

// relErr is err's message with the file's absolute path replaced by its
// name in the run directory, and that name dropped from the front (the
// caller's message names the file already).
func relErr(err error, path, rel string) string {
	return strings.TrimPrefix(strings.ReplaceAll(err.Error(), path, rel), rel+": ")
}

// groupName is (context, perturbation), or the perturbation alone.
func groupName(g tasks.Group) string {
	if g.Context == "" {
		return fmt.Sprintf("%q", g.Perturbation)
	}
	return fmt.Sprintf("(%q, %q)", g.Context, g.Perturbation)
}
