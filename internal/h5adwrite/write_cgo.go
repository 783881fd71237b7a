package h5ad

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/cellbench/cellbench/data"
)

func nan() float64 { return math.NaN() }

// Write saves d as an .h5ad file that anndata ≥ 0.8 reads: X as float32
// CSR (encoding csr_matrix 0.1.0), obs/var as dataframes (0.2.0) with
// categorical, string, numeric and bool columns, layers, obsm and raw.
// The file is written to a temporary name beside path and renamed when
// complete, so a failure never leaves a partial file at path.
func Write(path string, d *data.Dataset) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmpf, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := tmpf.Name()
	tmpf.Close()
	if err := writeFileWith(tmp, d, writeOptions{}); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeOptions exist to build the broken-input corpus (corpus.go): Write
// itself always writes every element with its proper encoding.
type writeOptions struct {
	skip      map[string]bool // top-level elements not to write ("all": only X/obs/var unless skipped too)
	xEncoding string          // encoding-type written for X (default csr_matrix)
	noShape   bool            // omit X's shape attribute
	// latestFormat writes HDF5 superblock v3 (h5py libver="latest"): valid
	// files that one pure-Go HDF5 reader silently returns empty.
	latestFormat bool
}

func writeFileWith(path string, d *data.Dataset, opts writeOptions) (err error) {
	f, err := createH5(path, opts.latestFormat)
	if err != nil {
		return err
	}
	root, err := f.root()
	if err != nil {
		f.close()
		return err
	}
	defer func() {
		root.close()
		if cerr := f.close(); err == nil {
			err = cerr
		}
	}()
	if err := setEncoding(root, "anndata", "0.1.0"); err != nil {
		return err
	}
	if !opts.skip["X"] {
		if err := writeMatrix(root, "X", d.X, opts.xEncoding, !opts.noShape); err != nil {
			return err
		}
	}
	if !opts.skip["obs"] {
		if err := writeFrame(root, "obs", d.Obs); err != nil {
			return err
		}
	}
	if !opts.skip["var"] {
		if err := writeFrame(root, "var", d.Var); err != nil {
			return err
		}
	}
	if opts.skip["all"] {
		return nil
	}
	layers, err := dictGroup(root, "layers")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(d.Layers) {
		if err := writeCSR(layers, k, d.Layers[k]); err != nil {
			layers.close()
			return err
		}
	}
	layers.close()
	obsm, err := dictGroup(root, "obsm")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(d.Obsm) {
		m := d.Obsm[k]
		ds, err := obsm.writeDataset(k, m.Data, []int{m.Rows, m.Cols})
		if err == nil {
			err = setEncoding(ds, "array", "0.2.0")
			ds.close()
		}
		if err != nil {
			obsm.close()
			return err
		}
	}
	obsm.close()
	for _, g := range []string{"obsp", "uns", "varm", "varp"} {
		grp, err := dictGroup(root, g)
		if err != nil {
			return err
		}
		grp.close()
	}
	if d.Raw != nil {
		raw, err := root.createGroup("raw")
		if err != nil {
			return err
		}
		defer raw.close()
		if err := setEncoding(raw, "raw", "0.1.0"); err != nil {
			return err
		}
		if err := writeCSR(raw, "X", d.Raw.X); err != nil {
			return err
		}
		if err := writeFrame(raw, "var", d.Raw.Var); err != nil {
			return err
		}
		varm, err := dictGroup(raw, "varm")
		if err != nil {
			return err
		}
		varm.close()
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func setEncoding(o h5obj, typ, version string) error {
	if err := o.setAttr("encoding-type", typ); err != nil {
		return err
	}
	return o.setAttr("encoding-version", version)
}

func dictGroup(parent h5obj, name string) (h5obj, error) {
	g, err := parent.createGroup(name)
	if err != nil {
		return g, err
	}
	if err := setEncoding(g, "dict", "0.1.0"); err != nil {
		g.close()
		return g, err
	}
	return g, nil
}

func writeCSR(parent h5obj, name string, m *data.CSR) error {
	return writeMatrix(parent, name, m, "", true)
}

func writeMatrix(parent h5obj, name string, m *data.CSR, encoding string, shape bool) error {
	if encoding == "" {
		encoding = "csr_matrix"
	}
	g, err := parent.createGroup(name)
	if err != nil {
		return err
	}
	defer g.close()
	if err := setEncoding(g, encoding, "0.1.0"); err != nil {
		return err
	}
	if shape {
		if err := g.setAttr("shape", []int64{int64(m.Rows), int64(m.Cols)}); err != nil {
			return err
		}
	}
	for _, part := range []struct {
		name string
		v    any
	}{{"data", m.Data}, {"indices", m.Indices}, {"indptr", m.Indptr}} {
		ds, err := g.writeDataset(part.name, part.v, nil)
		if err != nil {
			return err
		}
		ds.close()
	}
	return nil
}

func writeFrame(parent h5obj, name string, f data.Frame) error {
	g, err := parent.createGroup(name)
	if err != nil {
		return err
	}
	defer g.close()
	if err := setEncoding(g, "dataframe", "0.2.0"); err != nil {
		return err
	}
	idxName := f.IndexName
	if idxName == "" {
		idxName = "_index"
	}
	for _, c := range f.Columns {
		if c.Name == idxName {
			idxName = "_index"
			break
		}
	}
	if err := g.setAttr("_index", idxName); err != nil {
		return err
	}
	order := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		order[i] = c.Name
	}
	if err := g.setAttr("column-order", order); err != nil {
		return err
	}
	ix, err := g.writeDataset(idxName, f.Index, nil)
	if err != nil {
		return err
	}
	err = setEncoding(ix, "string-array", "0.2.0")
	ix.close()
	if err != nil {
		return err
	}
	for _, c := range f.Columns {
		if err := writeColumn(g, c); err != nil {
			return fmt.Errorf("%s column %q: %w", name, c.Name, err)
		}
	}
	return nil
}

func writeColumn(g h5obj, c *data.Column) error {
	if c.Kind == data.Categorical {
		cg, err := g.createGroup(c.Name)
		if err != nil {
			return err
		}
		defer cg.close()
		if err := setEncoding(cg, "categorical", "0.2.0"); err != nil {
			return err
		}
		if err := cg.setAttr("ordered", c.Ordered); err != nil {
			return err
		}
		cats := c.Categories
		if cats == nil {
			cats = []string{}
		}
		ds, err := cg.writeDataset("categories", cats, nil)
		if err != nil {
			return err
		}
		err = setEncoding(ds, "string-array", "0.2.0")
		ds.close()
		if err != nil {
			return err
		}
		var codes any = c.Codes
		if len(c.Categories) < 127 {
			small := make([]int8, len(c.Codes))
			for i, x := range c.Codes {
				small[i] = int8(x)
			}
			codes = small
		}
		ds, err = cg.writeDataset("codes", codes, nil)
		if err != nil {
			return err
		}
		defer ds.close()
		return setEncoding(ds, "array", "0.2.0")
	}
	var v any
	enc := "array"
	switch c.Kind {
	case data.String:
		v, enc = c.Strings, "string-array"
	case data.Float:
		v = c.Floats
	case data.Int:
		v = c.Ints
	case data.Bool:
		v = c.Bools
	}
	ds, err := g.writeDataset(c.Name, v, nil)
	if err != nil {
		return err
	}
	defer ds.close()
	return setEncoding(ds, enc, "0.2.0")
}

// WriteUnvalidated writes d like Write but without validating it first, so
// tests can build inputs that Write refuses (a NaN prediction, say) and
// check that readers and scorers reject them. Not for production output.
func WriteUnvalidated(path string, d *data.Dataset) error {
	return writeFileWith(path, d, writeOptions{})
}
