// Package h5adcorpus is test support: it writes cellbench's corpus of
// broken .h5ad inputs, made by code so that no broken file is committed.
// The tests of every command that reads .h5ad run against it, and the
// h5ad reader's fuzz target uses it as seeds.
//
// Writing needs cgo (internal/h5adwrite); in a build without cgo
// WriteBadInputCorpus returns h5adwrite.ErrUnavailable and callers skip.
package h5adcorpus

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/h5adwrite"
)

// BadInput is one file of the broken-input corpus: what is wrong with it and
// a fragment the error message must contain.
type BadInput struct {
	Name    string // file name below the corpus directory
	Problem string // what is broken, for test names
	WantErr string // substring of the expected one-line error
}

// Base returns the dataset every corpus file is a broken variant of: 4
// cells × 3 genes of counts with a categorical perturbation column.
func Base() *data.Dataset {
	x := data.NewCSRFromDense(4, 3, []float32{1, 0, 2, 0, 3, 0, 4, 1, 0, 0, 0, 5})
	obs := data.Frame{IndexName: "cell", Index: []string{"c0", "c1", "c2", "c3"}}
	obs.Set(data.NewCategorical("target_gene", []string{"non-targeting", "non-targeting", "G1", "G1"}))
	return &data.Dataset{X: x, Obs: obs, Var: data.Frame{IndexName: "gene", Index: []string{"g0", "g1", "g2"}}}
}

// WriteBadInputCorpus writes cellbench's corpus of broken .h5ad inputs into
// dir (made by code, so no broken file is committed) and returns its cases.
// Each file has exactly one defect that a user could bring: truncation,
// wrong format, missing elements, inconsistent CSR structure, impossible
// values, duplicate gene names, empty or mismatched shapes, and so on. The
// tests of every command that reads .h5ad run against it.
func WriteBadInputCorpus(dir string) ([]BadInput, error) {
	base := Base
	var cases []BadInput
	add := func(name, problem, want string, write func(p string) error) error {
		p := filepath.Join(dir, name)
		if err := write(p); err != nil {
			return fmt.Errorf("corpus %s: %w", name, err)
		}
		cases = append(cases, BadInput{name, problem, want})
		return nil
	}
	withDataset := func(mutate func(d *data.Dataset), opts h5adwrite.Options) func(string) error {
		return func(p string) error {
			d := base()
			if mutate != nil {
				mutate(d)
			}
			return h5adwrite.File(p, d, opts)
		}
	}
	good := filepath.Join(dir, "good.h5ad")
	if err := h5adwrite.File(good, base(), h5adwrite.Options{}); err != nil {
		return nil, err
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		return nil, err
	}
	steps := []struct {
		name, problem, want string
		write               func(string) error
	}{
		{"truncated.h5ad", "file cut in half", "", func(p string) error { return os.WriteFile(p, goodBytes[:len(goodBytes)/2], 0o644) }},
		{"not_hdf5.h5ad", "a CSV renamed to .h5ad", "not an HDF5 file", func(p string) error { return os.WriteFile(p, []byte("cell,gene\nc0,1\n"), 0o644) }},
		{"empty.h5ad", "zero-byte file", "not an HDF5 file", func(p string) error { return os.WriteFile(p, nil, 0o644) }},
		{"hdf5_not_anndata.h5ad", "an HDF5 file with nothing in it", "not an AnnData file", withDataset(nil, h5adwrite.Options{Skip: map[string]bool{"X": true, "obs": true, "var": true, "all": true}})},
		{"missing_x.h5ad", "no /X", "no /X", withDataset(nil, h5adwrite.Options{Skip: map[string]bool{"X": true}})},
		// Superblock v3 (h5py libver="latest"): one pure-Go HDF5 library
		// returns such files empty; a reader must read /X when it is there
		// and say so when it is not.
		{"missing_x_latest_format.h5ad", "no /X, newest HDF5 format", "no /X", withDataset(nil, h5adwrite.Options{Skip: map[string]bool{"X": true}, LatestFormat: true})},
		{"truncated_latest_format.h5ad", "newest HDF5 format cut in half", "", func(p string) error {
			full := p + ".full"
			if err := h5adwrite.File(full, base(), h5adwrite.Options{LatestFormat: true}); err != nil {
				return err
			}
			b, err := os.ReadFile(full)
			if err != nil {
				return err
			}
			if err := os.Remove(full); err != nil {
				return err
			}
			return os.WriteFile(p, b[:len(b)/2], 0o644)
		}},
		{"missing_var.h5ad", "no /var", "no /var", withDataset(nil, h5adwrite.Options{Skip: map[string]bool{"var": true}})},
		{"indptr_inconsistent.h5ad", "indptr does not end at nnz", "indptr", withDataset(func(d *data.Dataset) { d.X.Indptr[4] = 3 }, h5adwrite.Options{})},
		{"indptr_decreasing.h5ad", "indptr decreases", "indptr decreases", withDataset(func(d *data.Dataset) { d.X.Indptr[2] = 1 }, h5adwrite.Options{})},
		{"index_out_of_range.h5ad", "a column index ≥ n_genes", "out of range", withDataset(func(d *data.Dataset) { d.X.Indices[0] = 7 }, h5adwrite.Options{})},
		{"duplicate_entry.h5ad", "the same (cell, gene) stored twice", "not strictly increasing", withDataset(func(d *data.Dataset) { d.X.Indices[1] = d.X.Indices[0] }, h5adwrite.Options{})},
		{"negative_counts.h5ad", "a negative count", "negative value", withDataset(func(d *data.Dataset) { d.X.Data[0] = -3 }, h5adwrite.Options{})},
		{"nan.h5ad", "a NaN in X", "non-finite value NaN", withDataset(func(d *data.Dataset) { d.X.Data[1] = float32(math.NaN()) }, h5adwrite.Options{})},
		{"inf.h5ad", "+Inf in X", "non-finite value +Inf", withDataset(func(d *data.Dataset) { d.X.Data[2] = float32(math.Inf(1)) }, h5adwrite.Options{})},
		{"fractional_large.h5ad", "a non-integer value ≥ 15", "non-integer value 20.5", withDataset(func(d *data.Dataset) { d.X.Data[0] = 20.5 }, h5adwrite.Options{})},
		{"mixed_scale.h5ad", "log1p cells mixed with count cells", "mixed scale", withDataset(func(d *data.Dataset) { d.X.Data[0], d.X.Data[1] = 0.69, 1.1 }, h5adwrite.Options{})},
		{"duplicate_genes.h5ad", "two genes with one name", "duplicate gene name", withDataset(func(d *data.Dataset) { d.Var.Index[2] = "g0" }, h5adwrite.Options{})},
		{"empty_gene_name.h5ad", "a gene with an empty name", "empty name", withDataset(func(d *data.Dataset) { d.Var.Index[1] = "" }, h5adwrite.Options{})},
		{"zero_cells.h5ad", "X with no cells", "zero cells", withDataset(func(d *data.Dataset) {
			d.X = &data.CSR{Rows: 0, Cols: 3, Indptr: []int64{0}}
			d.Obs = data.Frame{IndexName: "cell", Index: []string{}}
		}, h5adwrite.Options{})},
		{"zero_genes.h5ad", "X with no genes", "zero genes", withDataset(func(d *data.Dataset) {
			d.X = &data.CSR{Rows: 4, Cols: 0, Indptr: make([]int64, 5)}
			d.Var = data.Frame{IndexName: "gene", Index: []string{}}
		}, h5adwrite.Options{})},
		{"obs_length_mismatch.h5ad", "obs has fewer rows than X", "obs has 3 rows but X has 4 cells", withDataset(func(d *data.Dataset) {
			d.Obs = d.Obs.Subset([]int{0, 1, 2})
		}, h5adwrite.Options{})},
		{"var_length_mismatch.h5ad", "var has more rows than X has genes", "var has 4 rows but X has 3 genes", withDataset(func(d *data.Dataset) {
			d.Var.Index = append(d.Var.Index, "g3")
		}, h5adwrite.Options{})},
		{"bad_category_code.h5ad", "a categorical code past its categories", "category code", withDataset(func(d *data.Dataset) {
			c, _ := d.Obs.Column("target_gene")
			c.Codes[3] = 9
		}, h5adwrite.Options{})},
		{"unknown_x_encoding.h5ad", "X stored with an unknown encoding", "unsupported encoding-type \"coo_matrix\"", withDataset(nil, h5adwrite.Options{XEncoding: "coo_matrix"})},
		{"x_without_shape.h5ad", "sparse X without its shape attribute", "without a valid shape", withDataset(nil, h5adwrite.Options{NoShape: true})},
		{"column_length_mismatch.h5ad", "an obs column shorter than the index", "has 2 rows, index has 4", withDataset(func(d *data.Dataset) {
			d.Obs.Set(&data.Column{Name: "dose", Kind: data.Float, Floats: []float64{1, 2}})
		}, h5adwrite.Options{})},
	}
	for _, s := range steps {
		if err := add(s.name, s.problem, s.want, s.write); err != nil {
			return nil, err
		}
	}
	return cases, os.Remove(good)
}
