package h5ad

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/cellbench/cellbench/data"
)

// Meta is what ReadMeta learns without loading X: shapes, encodings and the
// obs/var frames.
type Meta struct {
	Path      string
	NCells    int
	NGenes    int
	XEncoding string // "csr_matrix", "csc_matrix" or "array"
	XDtype    string // "float32", "float64", "int32", "int64", ...
	NNZ       int64  // stored entries of X (cells·genes for dense)
	Obs       data.Frame
	Var       data.Frame
	Layers    []string
	Obsm      []string
	HasRaw    bool
	// Skipped lists top-level elements cellbench does not model (uns, obsp,
	// varm, varp); they are ignored, never half-read.
	Skipped []string
}

// Reader reads an .h5ad file incrementally: metadata first, then X (or a
// layer) in row blocks, so a file larger than memory can be inspected.
// A Reader must be closed.
type Reader struct {
	path  string
	root  node
	close func() error
	Meta  Meta
}

// Open opens path and reads its metadata (obs, var, shapes; not X). It
// errors, naming the file, when the file is missing, not HDF5, not an
// AnnData file, or missing X/obs/var (a file cellbench cannot fully read is
// an error, never a partially-empty dataset).
//
// In a cgo build Open reads through libhdf5; without cgo (CGO_ENABLED=0,
// GOOS=js) through the pure-Go reader (see the package doc).
func Open(path string) (*Reader, error) {
	root, closeFile, err := openFile(path)
	if err != nil {
		return nil, oneLine(fmt.Errorf("%s: %w", path, err))
	}
	return newReader(path, root, closeFile)
}

func newReader(path string, root node, closeFile func() error) (*Reader, error) {
	r := &Reader{path: path, root: root, close: closeFile}
	if err := r.readMeta(); err != nil {
		r.Close()
		return nil, oneLine(fmt.Errorf("%s: %w", path, err))
	}
	return r, nil
}

// oneLine keeps an error on one line whatever the file holds: names and
// strings from a file reach messages, and a name may contain a newline
// (found by FuzzReadBytes). Control characters are shown escaped; the
// error still unwraps to the original.
func oneLine(err error) error {
	if err == nil || !strings.ContainsFunc(err.Error(), unicode.IsControl) {
		return err
	}
	return escapedError{err}
}

type escapedError struct{ err error }

func (e escapedError) Unwrap() error { return e.err }

func (e escapedError) Error() string {
	var b strings.Builder
	for _, r := range e.err.Error() {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close releases the file.
func (r *Reader) Close() error {
	r.root.close()
	return r.close()
}

func (r *Reader) readMeta() error {
	m := &r.Meta
	m.Path = r.path
	names, err := r.root.children()
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, n := range names {
		present[n] = true
	}
	for _, need := range []string{"X", "obs", "var"} {
		if !present[need] {
			if len(names) == 0 {
				return fmt.Errorf("not an AnnData file: the HDF5 file is empty (no /X, /obs, /var)")
			}
			return fmt.Errorf("not a complete AnnData file: no /%s (top level has %q)", need, names)
		}
	}
	for _, n := range names {
		switch n {
		case "X", "obs", "var", "layers", "obsm", "raw":
		default:
			m.Skipped = append(m.Skipped, n)
		}
	}
	x, err := r.root.child("X")
	if err != nil {
		return err
	}
	defer x.close()
	if m.XEncoding, m.NCells, m.NGenes, m.NNZ, m.XDtype, err = matrixInfo(x); err != nil {
		return fmt.Errorf("X: %w", err)
	}
	if m.Obs, err = readFrame(r.root, "obs"); err != nil {
		return err
	}
	if m.Var, err = readFrame(r.root, "var"); err != nil {
		return err
	}
	if m.Obs.Len() != m.NCells {
		return fmt.Errorf("obs has %d rows but X has %d cells", m.Obs.Len(), m.NCells)
	}
	if m.Var.Len() != m.NGenes {
		return fmt.Errorf("var has %d rows but X has %d genes", m.Var.Len(), m.NGenes)
	}
	for _, g := range []string{"layers", "obsm"} {
		if !present[g] {
			continue
		}
		grp, err := r.root.child(g)
		if err != nil {
			return err
		}
		keys, err := grp.children()
		grp.close()
		if err != nil {
			return err
		}
		if g == "layers" {
			m.Layers = keys
		} else {
			m.Obsm = keys
		}
	}
	m.HasRaw = present["raw"]
	return nil
}

// matrixInfo reports the encoding, shape, stored entries and dtype of a
// matrix element (CSR/CSC group or dense dataset).
func matrixInfo(x node) (enc string, rows, cols int, nnz int64, dtype string, err error) {
	if !x.isGroup() {
		dims, err := x.dims()
		if err != nil {
			return "", 0, 0, 0, "", err
		}
		if len(dims) != 2 {
			return "", 0, 0, 0, "", fmt.Errorf("dense matrix has %d dimensions, want 2", len(dims))
		}
		c, size := x.dtype()
		if c != classInt && c != classFloat {
			return "", 0, 0, 0, "", fmt.Errorf("dense matrix is not numeric")
		}
		return "array", dims[0], dims[1], int64(dims[0]) * int64(dims[1]), dtypeName(c, size), nil
	}
	enc, _, err = attrString(x, "encoding-type")
	if err != nil {
		return "", 0, 0, 0, "", err
	}
	if enc != "csr_matrix" && enc != "csc_matrix" {
		if enc == "" {
			return "", 0, 0, 0, "", fmt.Errorf("sparse group without encoding-type (written by anndata < 0.7?); re-save with anndata ≥ 0.8")
		}
		return "", 0, 0, 0, "", fmt.Errorf("unsupported encoding-type %q", enc)
	}
	shape, ok, err := x.attrInts("shape")
	if err != nil || !ok || len(shape) != 2 {
		return "", 0, 0, 0, "", fmt.Errorf("%s without a valid shape attribute", enc)
	}
	for _, part := range []string{"data", "indices", "indptr"} {
		if !x.has(part) {
			return "", 0, 0, 0, "", fmt.Errorf("%s is missing %q", enc, part)
		}
	}
	d, err := x.child("data")
	if err != nil {
		return "", 0, 0, 0, "", err
	}
	defer d.close()
	dd, err := d.dims()
	if err != nil {
		return "", 0, 0, 0, "", err
	}
	if len(dd) != 1 {
		return "", 0, 0, 0, "", fmt.Errorf("%s data is not 1-D", enc)
	}
	c, size := d.dtype()
	if c != classInt && c != classFloat {
		return "", 0, 0, 0, "", fmt.Errorf("%s data is not numeric", enc)
	}
	return enc, int(shape[0]), int(shape[1]), int64(dd[0]), dtypeName(c, size), nil
}

func dtypeName(c dtypeClass, size int) string {
	switch c {
	case classInt:
		return fmt.Sprintf("int%d", size*8)
	case classFloat:
		return fmt.Sprintf("float%d", size*8)
	}
	return "other"
}

// ReadRows reads rows [start, end) of X (or of layer, when layer != "") as
// CSR, reading only those rows' entries for CSR and dense storage. A CSC
// matrix is read whole and sliced (CSC has no row access).
func (r *Reader) ReadRows(layer string, start, end int) (*data.CSR, error) {
	m, err := r.readRows(layer, start, end)
	return m, oneLine(err)
}

func (r *Reader) readRows(layer string, start, end int) (*data.CSR, error) {
	el := "X"
	if layer != "" {
		el = "layers/" + layer
	}
	if start < 0 || end > r.Meta.NCells || start > end {
		return nil, fmt.Errorf("%s: rows [%d,%d) out of range for %d cells", r.path, start, end, r.Meta.NCells)
	}
	x, err := r.root.child(el)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	defer x.close()
	wantCols := -1
	if layer != "" {
		wantCols = r.Meta.NGenes // layers have X's shape
	}
	m, err := readMatrix(x, start, end, r.Meta.NCells, wantCols)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.path, el, err)
	}
	return m, nil
}

// readMatrix reads rows [start, end) of a matrix element (end < 0: all
// rows). Its shape must be wantRows × wantCols (wantCols < 0: any number
// of columns), checked before anything is read: the shape attribute of a
// sparse matrix is just two numbers, and they size allocations.
func readMatrix(x node, start, end, wantRows, wantCols int) (*data.CSR, error) {
	enc, rows, cols, _, _, err := matrixInfo(x)
	if err != nil {
		return nil, err
	}
	if rows != wantRows || wantCols >= 0 && cols != wantCols || cols < 0 {
		want := fmt.Sprintf("%d rows", wantRows)
		if wantCols >= 0 {
			want = fmt.Sprintf("%d×%d", wantRows, wantCols)
		}
		return nil, fmt.Errorf("is %d×%d, want %s", rows, cols, want)
	}
	if end < 0 {
		start, end = 0, rows
	}
	switch enc {
	case "array":
		vals, err := x.readFloat32(start, end-start)
		if err != nil {
			return nil, err
		}
		return data.NewCSRFromDense(end-start, cols, vals), nil
	case "csr_matrix":
		return readCSR(x, rows, cols, start, end)
	default: // csc_matrix
		m, err := readCSC(x, rows, cols)
		if err != nil {
			return nil, err
		}
		if start == 0 && end == rows {
			return m, nil
		}
		idx := make([]int, end-start)
		for i := range idx {
			idx[i] = start + i
		}
		return m.SubsetRows(idx), nil
	}
}

func openParts(x node) (d, ind, ptr node, err error) {
	if d, err = x.child("data"); err != nil {
		return
	}
	if ind, err = x.child("indices"); err != nil {
		d.close()
		return
	}
	if ptr, err = x.child("indptr"); err != nil {
		d.close()
		ind.close()
	}
	return
}

func readCSR(x node, rows, cols, start, end int) (*data.CSR, error) {
	d, ind, ptr, err := openParts(x)
	if err != nil {
		return nil, err
	}
	defer d.close()
	defer ind.close()
	defer ptr.close()
	pd, err := ptr.dims()
	if err != nil {
		return nil, err
	}
	if len(pd) != 1 || pd[0] != rows+1 {
		return nil, fmt.Errorf("indptr has %v entries, want rows+1 = %d", pd, rows+1)
	}
	indptr, err := ptr.readInt64(start, end-start+1)
	if err != nil {
		return nil, err
	}
	lo, hi := indptr[0], indptr[len(indptr)-1]
	dd, _ := d.dims()
	id, _ := ind.dims()
	if len(dd) != 1 || len(id) != 1 || dd[0] != id[0] {
		return nil, fmt.Errorf("data has %v entries but indices has %v", dd, id)
	}
	if lo < 0 || hi < lo || hi > int64(dd[0]) {
		return nil, fmt.Errorf("indptr inconsistent: rows [%d,%d) span entries [%d,%d) of %d", start, end, lo, hi, dd[0])
	}
	// Whole-matrix reads select everything (H5S_ALL), which HDF5 serves
	// faster than an equal hyperslab.
	first, n := int(lo), int(hi-lo)
	if lo == 0 && hi == int64(dd[0]) {
		first, n = 0, -1
	}
	vals, err := d.readFloat32(first, n)
	if err != nil {
		return nil, err
	}
	idx, err := ind.readInt32(first, n)
	if err != nil {
		return nil, err
	}
	for i := range indptr {
		indptr[i] -= lo
	}
	m := &data.CSR{Rows: end - start, Cols: cols, Indptr: indptr, Indices: idx, Data: vals}
	if err := checkIndptr(m); err != nil {
		return nil, fmt.Errorf("invalid CSR: %w", err)
	}
	// scipy allows unsorted rows; anndata writes them as they are.
	if err := m.SortAndCheck(); err != nil {
		return nil, fmt.Errorf("invalid CSR: %w", err)
	}
	return m, nil
}

func readCSC(x node, rows, cols int) (*data.CSR, error) {
	d, ind, ptr, err := openParts(x)
	if err != nil {
		return nil, err
	}
	defer d.close()
	defer ind.close()
	defer ptr.close()
	indptr, err := ptr.readInt64(0, -1)
	if err != nil {
		return nil, err
	}
	if len(indptr) != cols+1 {
		return nil, fmt.Errorf("indptr has %d entries, want cols+1 = %d", len(indptr), cols+1)
	}
	vals, err := d.readFloat32(0, -1)
	if err != nil {
		return nil, err
	}
	idx, err := ind.readInt32(0, -1)
	if err != nil {
		return nil, err
	}
	// Validate as the transpose (a CSR of cols × rows), then convert.
	t := &data.CSR{Rows: cols, Cols: rows, Indptr: indptr, Indices: idx, Data: vals}
	if err := checkIndptr(t); err != nil {
		return nil, fmt.Errorf("invalid CSC: %w", err)
	}
	if err := t.SortAndCheck(); err != nil {
		return nil, fmt.Errorf("invalid CSC: %w", err)
	}
	c := &data.CSC{Rows: rows, Cols: cols, Indptr: indptr, Indices: idx, Data: vals}
	return c.ToCSR(), nil
}

// Read loads a whole .h5ad: X, layers, obs, var, obsm and raw. The dataset
// is validated (structure, finite values, unique gene names, lengths); its
// Scale is left unknown (see data.DetectScale). Errors name the file.
func Read(path string) (*data.Dataset, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ReadAll()
}

// ReadAll loads everything Read loads through an open Reader: X, layers,
// obsm and raw (obs and var are in Meta already), and validates the
// dataset.
func (r *Reader) ReadAll() (*data.Dataset, error) {
	d, err := r.readAll()
	if err != nil {
		return nil, oneLine(err)
	}
	return d, nil
}

func (r *Reader) readAll() (*data.Dataset, error) {
	path := r.path
	x, err := r.ReadRows("", 0, r.Meta.NCells)
	if err != nil {
		return nil, err
	}
	d := &data.Dataset{Path: path, X: x, Obs: r.Meta.Obs, Var: r.Meta.Var}
	for _, l := range r.Meta.Layers {
		m, err := r.ReadRows(l, 0, r.Meta.NCells)
		if err != nil {
			return nil, err
		}
		if d.Layers == nil {
			d.Layers = map[string]*data.CSR{}
		}
		d.Layers[l] = m
	}
	for _, k := range r.Meta.Obsm {
		o, err := r.root.child("obsm/" + k)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		dense, err := readDense(o)
		o.close()
		if err != nil {
			return nil, fmt.Errorf("%s: obsm %q: %w", path, k, err)
		}
		if d.Obsm == nil {
			d.Obsm = map[string]*data.Dense{}
		}
		d.Obsm[k] = dense
	}
	if r.Meta.HasRaw {
		raw, err := r.root.child("raw")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer raw.close()
		rv, err := readFrame(raw, "var")
		if err != nil {
			return nil, fmt.Errorf("%s: raw: %w", path, err)
		}
		rx, err := raw.child("X")
		if err != nil {
			return nil, fmt.Errorf("%s: raw: %w", path, err)
		}
		m, err := readMatrix(rx, 0, -1, x.Rows, rv.Len())
		rx.close()
		if err != nil {
			return nil, fmt.Errorf("%s: raw/X (raw/var has %d genes): %w", path, rv.Len(), err)
		}
		if rv.Len() != m.Cols || m.Rows != x.Rows {
			return nil, fmt.Errorf("%s: raw/X is %d×%d but raw/var has %d genes and X %d cells", path, m.Rows, m.Cols, rv.Len(), x.Rows)
		}
		d.Raw = &data.Raw{X: m, Var: rv}
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// ReadMeta returns the metadata of path without loading X.
func ReadMeta(path string) (*Meta, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m := r.Meta
	return &m, nil
}

func readDense(o node) (*data.Dense, error) {
	if o.isGroup() {
		enc, _, _ := attrString(o, "encoding-type")
		return nil, fmt.Errorf("only dense arrays are supported in obsm (found %q)", enc)
	}
	dims, err := o.dims()
	if err != nil {
		return nil, err
	}
	if len(dims) != 2 {
		return nil, fmt.Errorf("has %d dimensions, want 2", len(dims))
	}
	v, err := o.readFloat64(0, -1)
	if err != nil {
		return nil, err
	}
	return &data.Dense{Rows: dims[0], Cols: dims[1], Data: v}, nil
}

// readFrame reads an anndata dataframe group (encoding "dataframe" 0.2.0).
func readFrame(parent node, name string) (data.Frame, error) {
	var f data.Frame
	g, err := parent.child(name)
	if err != nil {
		return f, err
	}
	defer g.close()
	if !g.isGroup() {
		return f, fmt.Errorf("%s is a compound dataset (legacy anndata < 0.7 format); re-save it with anndata ≥ 0.8", name)
	}
	idxName, ok, err := attrString(g, "_index")
	if err != nil {
		return f, err
	}
	if !ok {
		return f, fmt.Errorf("%s: dataframe without an _index attribute", name)
	}
	f.IndexName = idxName
	order, _, err := g.attrStrings("column-order")
	if err != nil {
		return f, err
	}
	ix, err := g.child(idxName)
	if err != nil {
		return f, fmt.Errorf("%s: index: %w", name, err)
	}
	if c, _ := ix.dtype(); c == classString {
		f.Index, err = ix.readStrings()
	} else {
		var v []int64
		v, err = ix.readInt64(0, -1)
		f.Index = make([]string, len(v))
		for i, x := range v {
			f.Index[i] = fmt.Sprint(x)
		}
	}
	ix.close()
	if err != nil {
		return f, fmt.Errorf("%s: index: %w", name, err)
	}
	children, err := g.children()
	if err != nil {
		return f, err
	}
	listed := map[string]bool{idxName: true}
	for _, c := range order {
		listed[c] = true
	}
	// Columns present but not in column-order (e.g. __categories of old files) are ignored
	// only when they are not data; anything else must be listed.
	var extra []string
	for _, c := range children {
		if !listed[c] && c != "__categories" {
			extra = append(extra, c)
		}
	}
	sort.Strings(extra)
	for _, cname := range append(order, extra...) {
		col, err := readColumn(g, cname, f.Len())
		if err != nil {
			return f, fmt.Errorf("%s column %q: %w", name, cname, err)
		}
		f.Columns = append(f.Columns, col)
	}
	return f, nil
}

func readColumn(g node, name string, n int) (*data.Column, error) {
	o, err := g.child(name)
	if err != nil {
		return nil, err
	}
	defer o.close()
	enc, _, err := attrString(o, "encoding-type")
	if err != nil {
		return nil, err
	}
	col := &data.Column{Name: name}
	if o.isGroup() {
		switch enc {
		case "categorical":
			cats, err := o.child("categories")
			if err != nil {
				return nil, err
			}
			if c, _ := cats.dtype(); c == classString {
				col.Categories, err = cats.readStrings()
			} else {
				var v []float64
				v, err = cats.readFloat64(0, -1)
				for _, x := range v {
					col.Categories = append(col.Categories, fmt.Sprint(x))
				}
			}
			cats.close()
			if err != nil {
				return nil, err
			}
			codes, err := o.child("codes")
			if err != nil {
				return nil, err
			}
			col.Codes, err = codes.readInt32(0, -1)
			codes.close()
			if err != nil {
				return nil, err
			}
			ord, _, err := o.attrInts("ordered")
			if err != nil {
				return nil, err
			}
			col.Ordered = len(ord) == 1 && ord[0] != 0
			col.Kind = data.Categorical
		case "nullable-integer", "nullable-boolean", "nullable-string-array":
			vals, err := o.child("values")
			if err != nil {
				return nil, err
			}
			defer vals.close()
			mk, err := o.child("mask")
			if err != nil {
				return nil, err
			}
			mask, err := mk.readBools()
			mk.close()
			if err != nil {
				return nil, err
			}
			switch enc {
			case "nullable-integer":
				v, err := vals.readFloat64(0, -1)
				if err != nil {
					return nil, err
				}
				for i := range v {
					if i < len(mask) && mask[i] {
						v[i] = math.NaN()
					}
				}
				col.Kind, col.Floats = data.Float, v
			case "nullable-boolean":
				v, err := vals.readBools()
				if err != nil {
					return nil, err
				}
				col.Kind, col.Categories = data.Categorical, []string{"False", "True"}
				col.Codes = make([]int32, len(v))
				for i, b := range v {
					switch {
					case i < len(mask) && mask[i]:
						col.Codes[i] = -1
					case b:
						col.Codes[i] = 1
					}
				}
			default:
				v, err := vals.readStrings()
				if err != nil {
					return nil, err
				}
				col.Kind, col.Strings = data.String, v
			}
		default:
			return nil, fmt.Errorf("unsupported encoding-type %q", enc)
		}
	} else {
		dims, err := o.dims()
		if err != nil {
			return nil, err
		}
		if len(dims) != 1 {
			return nil, fmt.Errorf("has %d dimensions, want 1", len(dims))
		}
		switch c, _ := o.dtype(); c {
		case classString:
			col.Kind = data.String
			col.Strings, err = o.readStrings()
		case classInt:
			col.Kind = data.Int
			col.Ints, err = o.readInt64(0, -1)
		case classFloat:
			col.Kind = data.Float
			col.Floats, err = o.readFloat64(0, -1)
		case classEnum:
			col.Kind = data.Bool
			col.Bools, err = o.readBools()
		default:
			return nil, errors.New("unsupported element type")
		}
		if err != nil {
			return nil, err
		}
	}
	if col.Len() != n {
		return nil, fmt.Errorf("has %d rows, index has %d", col.Len(), n)
	}
	return col, nil
}

// Base returns the file name of a dataset path, for messages.
func Base(path string) string { return filepath.Base(path) }

// checkIndptr checks what must hold before rows can be sorted: lengths
// consistent and indptr monotone within [0, nnz]. Column indices are
// checked by Validate after sorting (sorting tolerates bad ones).
func checkIndptr(m *data.CSR) error {
	if len(m.Indptr) != m.Rows+1 || len(m.Indices) != len(m.Data) {
		return fmt.Errorf("indptr/indices/data lengths inconsistent")
	}
	if m.Indptr[0] != 0 || m.Indptr[m.Rows] != int64(len(m.Data)) {
		return fmt.Errorf("indptr spans [%d,%d) but there are %d entries", m.Indptr[0], m.Indptr[m.Rows], len(m.Data))
	}
	for i := 0; i < m.Rows; i++ {
		if m.Indptr[i+1] < m.Indptr[i] {
			return fmt.Errorf("indptr decreases at row %d", i)
		}
	}
	return nil
}
