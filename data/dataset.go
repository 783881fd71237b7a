package data

import (
	"fmt"
)

// Scale says what the values of an expression matrix are.
type Scale int

const (
	// ScaleUnknown means the scale has not been declared or detected.
	ScaleUnknown Scale = iota
	// Counts are non-negative integer UMI/read counts.
	Counts
	// Log1p values are log1p of library-size-normalised counts, in [0, 15).
	Log1p
)

func (s Scale) String() string {
	switch s {
	case Counts:
		return "counts"
	case Log1p:
		return "log1p"
	}
	return "unknown"
}

// Dataset is an in-memory AnnData: X (cells × genes) with its obs/var frames.
//
// Var.Index holds the gene names (unique, checked by Validate); Obs.Index the
// cell barcodes. Layers and Obsm are keyed as in the file. Raw is the
// optional adata.raw (its own X and var). Scale is what X holds (set by the
// reader's detection or by the caller; see DetectScale).
type Dataset struct {
	Path   string
	X      *CSR
	Layers map[string]*CSR
	Obs    Frame
	Var    Frame
	Obsm   map[string]*Dense
	Raw    *Raw
	Scale  Scale
}

// Raw is adata.raw: an expression matrix over its own gene set.
type Raw struct {
	X   *CSR
	Var Frame
}

// NCells returns the number of cells (rows of X).
func (d *Dataset) NCells() int { return d.X.Rows }

// NGenes returns the number of genes (columns of X).
func (d *Dataset) NGenes() int { return d.X.Cols }

// Genes returns the gene names (Var.Index), sharing storage.
func (d *Dataset) Genes() []string { return d.Var.Index }

// ObsLabels returns the string labels of obs column name, or an error
// naming the dataset and listing the available columns.
func (d *Dataset) ObsLabels(name string) ([]string, error) {
	c, err := d.Obs.Column(name)
	if err != nil {
		return nil, fmt.Errorf("%s: obs: %w", d.name(), err)
	}
	return c.Labels(), nil
}

func (d *Dataset) name() string {
	if d.Path == "" {
		return "dataset"
	}
	return d.Path
}

// Validate checks that X is structurally sound and finite, that obs/var
// lengths match X, that gene names are unique and non-empty, and that every
// obs/var/obsm/layer has the right length. The error names the first problem.
func (d *Dataset) Validate() error {
	if d.X == nil {
		return fmt.Errorf("%s: no X matrix", d.name())
	}
	if err := d.X.Validate(); err != nil {
		return fmt.Errorf("%s: X: %w", d.name(), err)
	}
	if err := d.X.CheckFinite(); err != nil {
		return fmt.Errorf("%s: X: %w", d.name(), err)
	}
	if d.X.Rows == 0 {
		return fmt.Errorf("%s: X has zero cells", d.name())
	}
	if d.X.Cols == 0 {
		return fmt.Errorf("%s: X has zero genes", d.name())
	}
	if d.Obs.Len() != d.X.Rows {
		return fmt.Errorf("%s: obs has %d rows but X has %d cells", d.name(), d.Obs.Len(), d.X.Rows)
	}
	if d.Var.Len() != d.X.Cols {
		return fmt.Errorf("%s: var has %d rows but X has %d genes", d.name(), d.Var.Len(), d.X.Cols)
	}
	if err := checkFrame(d.Obs, "obs"); err != nil {
		return fmt.Errorf("%s: %w", d.name(), err)
	}
	if err := checkFrame(d.Var, "var"); err != nil {
		return fmt.Errorf("%s: %w", d.name(), err)
	}
	seen := make(map[string]int, len(d.Var.Index))
	for j, g := range d.Var.Index {
		if g == "" {
			return fmt.Errorf("%s: gene %d has an empty name", d.name(), j)
		}
		if k, ok := seen[g]; ok {
			return fmt.Errorf("%s: duplicate gene name %q at var indices %d and %d", d.name(), g, k, j)
		}
		seen[g] = j
	}
	for name, l := range d.Layers {
		if err := l.Validate(); err != nil {
			return fmt.Errorf("%s: layer %q: %w", d.name(), name, err)
		}
		if l.Rows != d.X.Rows || l.Cols != d.X.Cols {
			return fmt.Errorf("%s: layer %q is %d×%d but X is %d×%d", d.name(), name, l.Rows, l.Cols, d.X.Rows, d.X.Cols)
		}
	}
	for name, m := range d.Obsm {
		if m.Rows != d.X.Rows || len(m.Data) != m.Rows*m.Cols {
			return fmt.Errorf("%s: obsm %q has %d rows but X has %d cells", d.name(), name, m.Rows, d.X.Rows)
		}
	}
	return nil
}

func checkFrame(f Frame, what string) error {
	for _, c := range f.Columns {
		if c.Len() != f.Len() {
			return fmt.Errorf("%s column %q has %d rows, index has %d", what, c.Name, c.Len(), f.Len())
		}
		if c.Kind == Categorical {
			for i, code := range c.Codes {
				if code >= int32(len(c.Categories)) || code < -1 {
					return fmt.Errorf("%s column %q: row %d has category code %d of %d categories", what, c.Name, i, code, len(c.Categories))
				}
			}
		}
	}
	return nil
}

// SubsetCells returns a new dataset with the given cells (rows), in order:
// X, layers, obs and obsm are subset; var and raw.var are shared.
func (d *Dataset) SubsetCells(rows []int) *Dataset {
	out := &Dataset{Path: d.Path, X: d.X.SubsetRows(rows), Obs: d.Obs.Subset(rows), Var: d.Var, Scale: d.Scale}
	if len(d.Layers) > 0 {
		out.Layers = map[string]*CSR{}
		for k, l := range d.Layers {
			out.Layers[k] = l.SubsetRows(rows)
		}
	}
	if len(d.Obsm) > 0 {
		out.Obsm = map[string]*Dense{}
		for k, m := range d.Obsm {
			nm := &Dense{Rows: len(rows), Cols: m.Cols, Data: make([]float64, 0, len(rows)*m.Cols)}
			for _, r := range rows {
				nm.Data = append(nm.Data, m.Row(r)...)
			}
			out.Obsm[k] = nm
		}
	}
	if d.Raw != nil {
		out.Raw = &Raw{X: d.Raw.X.SubsetRows(rows), Var: d.Raw.Var}
	}
	return out
}
