package h5ad

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// readPure reads path with the pure-Go reader whatever the build.
func readPure(t testing.TB, path string) (*data.Dataset, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return ReadFrom(f, st.Size(), path)
}

// sharedFiles lists every .h5ad below the shared data directory and its
// upstream/ folder.
func sharedFiles(t testing.TB) []string {
	dir := sharedData(t)
	var files []string
	for _, pat := range []string{"*.h5ad", "upstream/*.h5ad"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 13 {
		t.Fatalf("found %d .h5ad files in %s, want the 13 of SOURCES.md", len(files), dir)
	}
	return files
}

// diffDatasets returns the first difference between two datasets, value
// for value (floats compared bit for bit, so NaN equals NaN), or "".
func diffDatasets(a, b *data.Dataset) string {
	if a.Path != b.Path {
		return fmt.Sprintf("path %q vs %q", a.Path, b.Path)
	}
	if d := diffCSR(a.X, b.X); d != "" {
		return "X: " + d
	}
	if d := diffFrame(a.Obs, b.Obs); d != "" {
		return "obs: " + d
	}
	if d := diffFrame(a.Var, b.Var); d != "" {
		return "var: " + d
	}
	if len(a.Layers) != len(b.Layers) {
		return fmt.Sprintf("%d vs %d layers", len(a.Layers), len(b.Layers))
	}
	for k, l := range a.Layers {
		if d := diffCSR(l, b.Layers[k]); d != "" {
			return "layer " + k + ": " + d
		}
	}
	if len(a.Obsm) != len(b.Obsm) {
		return fmt.Sprintf("%d vs %d obsm", len(a.Obsm), len(b.Obsm))
	}
	for k, m := range a.Obsm {
		o := b.Obsm[k]
		if o == nil || m.Rows != o.Rows || m.Cols != o.Cols {
			return "obsm " + k + ": shape"
		}
		if d := diffFloats(m.Data, o.Data); d != "" {
			return "obsm " + k + ": " + d
		}
	}
	if (a.Raw == nil) != (b.Raw == nil) {
		return "raw present in one only"
	}
	if a.Raw != nil {
		if d := diffCSR(a.Raw.X, b.Raw.X); d != "" {
			return "raw/X: " + d
		}
		if d := diffFrame(a.Raw.Var, b.Raw.Var); d != "" {
			return "raw/var: " + d
		}
	}
	if a.Scale != b.Scale {
		return "scale"
	}
	return ""
}

func diffCSR(a, b *data.CSR) string {
	if a.Rows != b.Rows || a.Cols != b.Cols {
		return fmt.Sprintf("shape %d×%d vs %d×%d", a.Rows, a.Cols, b.Rows, b.Cols)
	}
	if len(a.Indptr) != len(b.Indptr) || len(a.Indices) != len(b.Indices) || len(a.Data) != len(b.Data) {
		return "lengths differ"
	}
	for i := range a.Indptr {
		if a.Indptr[i] != b.Indptr[i] {
			return fmt.Sprintf("indptr[%d] %d vs %d", i, a.Indptr[i], b.Indptr[i])
		}
	}
	for i := range a.Indices {
		if a.Indices[i] != b.Indices[i] {
			return fmt.Sprintf("indices[%d] %d vs %d", i, a.Indices[i], b.Indices[i])
		}
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			return fmt.Sprintf("data[%d] %v vs %v", i, a.Data[i], b.Data[i])
		}
	}
	return ""
}

func diffFloats(a, b []float64) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d vs %d values", len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return fmt.Sprintf("[%d] %v vs %v", i, a[i], b[i])
		}
	}
	return ""
}

func diffFrame(a, b data.Frame) string {
	if a.IndexName != b.IndexName || fmt.Sprint(a.Index) != fmt.Sprint(b.Index) {
		return "index"
	}
	if len(a.Columns) != len(b.Columns) {
		return fmt.Sprintf("%d vs %d columns", len(a.Columns), len(b.Columns))
	}
	for i, c := range a.Columns {
		o := b.Columns[i]
		switch {
		case c.Name != o.Name, c.Kind != o.Kind, c.Ordered != o.Ordered:
			return fmt.Sprintf("column %d: %s %v %v vs %s %v %v", i, c.Name, c.Kind, c.Ordered, o.Name, o.Kind, o.Ordered)
		case fmt.Sprint(c.Categories) != fmt.Sprint(o.Categories), fmt.Sprint(c.Codes) != fmt.Sprint(o.Codes):
			return "column " + c.Name + ": categories or codes"
		case fmt.Sprint(c.Strings) != fmt.Sprint(o.Strings), fmt.Sprint(c.Ints) != fmt.Sprint(o.Ints),
			fmt.Sprint(c.Bools) != fmt.Sprint(o.Bools):
			return "column " + c.Name + ": values"
		}
		if d := diffFloats(c.Floats, o.Floats); d != "" {
			return "column " + c.Name + ": " + d
		}
	}
	return ""
}

// summary describes what a dataset holds, for the equality test's log.
func summary(d *data.Dataset) string {
	var cols []string
	for _, c := range d.Obs.Columns {
		cols = append(cols, c.Name+":"+c.Kind.String())
	}
	sort.Strings(cols)
	return fmt.Sprintf("%d×%d nnz %d, obs %v, %d var columns, %d layers, %d obsm, raw %v",
		d.NCells(), d.NGenes(), d.X.NNZ(), cols, len(d.Var.Columns), len(d.Layers), len(d.Obsm), d.Raw != nil)
}
