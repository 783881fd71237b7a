package h5ad

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/h5adwrite"
)

// Write saves d as an .h5ad file that anndata ≥ 0.8 reads: X as float32
// CSR (encoding csr_matrix 0.1.0), obs/var as dataframes (0.2.0) with
// categorical, string, numeric and bool columns, layers, obsm and raw.
// The file is written to a temporary name beside path and renamed when
// complete, so a failure never leaves a partial file at path.
//
// Writing needs cgo (libhdf5): in a build without it Write returns a
// one-line error and touches nothing.
func Write(path string, d *data.Dataset) error {
	if !h5adwrite.Available {
		return fmt.Errorf("write %s: %w", path, h5adwrite.ErrUnavailable)
	}
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
	if err := h5adwrite.File(tmp, d, h5adwrite.Options{}); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteUnvalidated writes d like Write but without validating it first, so
// tests can build inputs that Write refuses (a NaN prediction, say) and
// check that readers and scorers reject them. Not for production output.
func WriteUnvalidated(path string, d *data.Dataset) error {
	if err := h5adwrite.File(path, d, h5adwrite.Options{}); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
