// Package h5adwrite writes AnnData .h5ad files through libhdf5 (cgo): the
// writer behind data/h5ad.Write, plus the options that let test support
// (internal/h5adcorpus) write deliberately broken or unusual files.
//
// Files are what anndata ≥ 0.8 reads: X as float32 CSR (encoding
// csr_matrix 0.1.0), obs/var dataframes (0.2.0) with categorical, string,
// numeric and bool columns, layers, obsm and raw. In a build without cgo
// (CGO_ENABLED=0, GOOS=js) Available is false and File returns
// ErrUnavailable.
package h5adwrite

import "errors"

// ErrUnavailable is returned by File in builds without cgo.
var ErrUnavailable = errors.New("writing .h5ad needs libhdf5 through cgo, and this binary was built without cgo (CGO_ENABLED=0 or GOOS=js); reading works in every build")

// Options shape what File writes. The zero value writes every element with
// its proper encoding, in HDF5's default (oldest compatible) format.
type Options struct {
	// Skip names top-level elements not to write ("X", "obs", "var");
	// "all" also leaves out layers, obsm, obsp, uns, varm, varp and raw.
	Skip map[string]bool
	// XEncoding is the encoding-type written for X (default csr_matrix).
	XEncoding string
	// NoShape omits X's shape attribute.
	NoShape bool
	// LatestFormat writes HDF5's newest format (superblock v3, object
	// header v2, fixed-array chunk indexes), as h5py's libver="latest" does.
	LatestFormat bool
}
