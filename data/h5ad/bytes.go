package h5ad

import (
	"fmt"
	"io"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad/internal/hdf5"
)

// OpenFrom opens an .h5ad whose bytes r holds (size of them) with the
// pure-Go reader, in every build — how a browser, which gets files as
// bytes and has no filesystem, reads them. name labels errors and
// Meta.Path ("" reads as "h5ad input"). r must stay readable until the
// Reader is closed.
func OpenFrom(r io.ReaderAt, size int64, name string) (*Reader, error) {
	if name == "" {
		name = "h5ad input"
	}
	root, err := openPure(r, size)
	if err != nil {
		return nil, oneLine(fmt.Errorf("%s: %w", name, err))
	}
	return newReader(name, root, func() error { return nil })
}

// ReadFrom is Read for an .h5ad held by r: the pure-Go reader in every
// build, the same validation and errors as Read.
func ReadFrom(r io.ReaderAt, size int64, name string) (*data.Dataset, error) {
	rd, err := OpenFrom(r, size, name)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return rd.ReadAll()
}

// ReadBytes is Read for an .h5ad held in memory (b must not change while
// it runs); the pure-Go reader decodes straight from b.
func ReadBytes(b []byte, name string) (*data.Dataset, error) {
	if name == "" {
		name = "h5ad input"
	}
	f, err := hdf5.OpenBytes(b)
	if err != nil {
		return nil, oneLine(fmt.Errorf("%s: %w", name, err))
	}
	root, err := f.Root()
	if err != nil {
		return nil, oneLine(fmt.Errorf("%s: %w", name, err))
	}
	rd, err := newReader(name, pureNode{root}, func() error { return nil })
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return rd.ReadAll()
}

// openPure opens r with the pure-Go HDF5 reader and returns its root group.
func openPure(r io.ReaderAt, size int64) (node, error) {
	f, err := hdf5.Open(r, size)
	if err != nil {
		return nil, err
	}
	root, err := f.Root()
	if err != nil {
		return nil, err
	}
	return pureNode{root}, nil
}
