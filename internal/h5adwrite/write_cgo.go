//go:build cgo

package h5adwrite

import (
	"fmt"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/libhdf5"
)

// Available reports whether this build can write .h5ad files (it can: cgo
// with libhdf5).
const Available = true

// File writes d to path (created or truncated) without validating it,
// shaped by opts. On error the file at path may be incomplete: data/h5ad's
// Write writes to a temporary name and renames.
func File(path string, d *data.Dataset, opts Options) (err error) {
	f, err := libhdf5.Create(path, opts.LatestFormat)
	if err != nil {
		return err
	}
	root, err := f.Root()
	if err != nil {
		f.Close()
		return err
	}
	defer func() {
		root.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := setEncoding(root, "anndata", "0.1.0"); err != nil {
		return err
	}
	if !opts.Skip["X"] {
		if err := writeMatrix(root, "X", d.X, opts.XEncoding, !opts.NoShape); err != nil {
			return err
		}
	}
	if !opts.Skip["obs"] {
		if err := writeFrame(root, "obs", d.Obs); err != nil {
			return err
		}
	}
	if !opts.Skip["var"] {
		if err := writeFrame(root, "var", d.Var); err != nil {
			return err
		}
	}
	if opts.Skip["all"] {
		return nil
	}
	layers, err := dictGroup(root, "layers")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(d.Layers) {
		if err := writeCSR(layers, k, d.Layers[k]); err != nil {
			layers.Close()
			return err
		}
	}
	layers.Close()
	obsm, err := dictGroup(root, "obsm")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(d.Obsm) {
		m := d.Obsm[k]
		ds, err := obsm.WriteDataset(k, m.Data, []int{m.Rows, m.Cols})
		if err == nil {
			err = setEncoding(ds, "array", "0.2.0")
			ds.Close()
		}
		if err != nil {
			obsm.Close()
			return err
		}
	}
	obsm.Close()
	for _, g := range []string{"obsp", "uns", "varm", "varp"} {
		grp, err := dictGroup(root, g)
		if err != nil {
			return err
		}
		grp.Close()
	}
	if d.Raw != nil {
		raw, err := root.CreateGroup("raw")
		if err != nil {
			return err
		}
		defer raw.Close()
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
		varm.Close()
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

func setEncoding(o libhdf5.Obj, typ, version string) error {
	if err := o.SetAttr("encoding-type", typ); err != nil {
		return err
	}
	return o.SetAttr("encoding-version", version)
}

func dictGroup(parent libhdf5.Obj, name string) (libhdf5.Obj, error) {
	g, err := parent.CreateGroup(name)
	if err != nil {
		return g, err
	}
	if err := setEncoding(g, "dict", "0.1.0"); err != nil {
		g.Close()
		return g, err
	}
	return g, nil
}

func writeCSR(parent libhdf5.Obj, name string, m *data.CSR) error {
	return writeMatrix(parent, name, m, "", true)
}

func writeMatrix(parent libhdf5.Obj, name string, m *data.CSR, encoding string, shape bool) error {
	if encoding == "" {
		encoding = "csr_matrix"
	}
	g, err := parent.CreateGroup(name)
	if err != nil {
		return err
	}
	defer g.Close()
	if err := setEncoding(g, encoding, "0.1.0"); err != nil {
		return err
	}
	if shape {
		if err := g.SetAttr("shape", []int64{int64(m.Rows), int64(m.Cols)}); err != nil {
			return err
		}
	}
	for _, part := range []struct {
		name string
		v    any
	}{{"data", m.Data}, {"indices", m.Indices}, {"indptr", m.Indptr}} {
		ds, err := g.WriteDataset(part.name, part.v, nil)
		if err != nil {
			return err
		}
		ds.Close()
	}
	return nil
}

func writeFrame(parent libhdf5.Obj, name string, f data.Frame) error {
	g, err := parent.CreateGroup(name)
	if err != nil {
		return err
	}
	defer g.Close()
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
	if err := g.SetAttr("_index", idxName); err != nil {
		return err
	}
	order := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		order[i] = c.Name
	}
	if err := g.SetAttr("column-order", order); err != nil {
		return err
	}
	ix, err := g.WriteDataset(idxName, f.Index, nil)
	if err != nil {
		return err
	}
	err = setEncoding(ix, "string-array", "0.2.0")
	ix.Close()
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

func writeColumn(g libhdf5.Obj, c *data.Column) error {
	if c.Kind == data.Categorical {
		cg, err := g.CreateGroup(c.Name)
		if err != nil {
			return err
		}
		defer cg.Close()
		if err := setEncoding(cg, "categorical", "0.2.0"); err != nil {
			return err
		}
		if err := cg.SetAttr("ordered", c.Ordered); err != nil {
			return err
		}
		cats := c.Categories
		if cats == nil {
			cats = []string{}
		}
		ds, err := cg.WriteDataset("categories", cats, nil)
		if err != nil {
			return err
		}
		err = setEncoding(ds, "string-array", "0.2.0")
		ds.Close()
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
		ds, err = cg.WriteDataset("codes", codes, nil)
		if err != nil {
			return err
		}
		defer ds.Close()
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
	ds, err := g.WriteDataset(c.Name, v, nil)
	if err != nil {
		return err
	}
	defer ds.Close()
	return setEncoding(ds, enc, "0.2.0")
}
