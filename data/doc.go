// Package data holds cellbench's in-memory AnnData model and everything that
// prepares expression data for models and metrics, in pure Go (no cgo, so it
// builds for WASM too):
//
//   - Dataset: X as a float32 CSR matrix (cells × genes), obs/var frames with
//     categorical, string, numeric and bool columns, layers, obsm, raw.
//   - Scale: the strict counts-versus-log1p contract of SPEC-metrics.md
//     (DetectScale never guesses silently: a mix is an error).
//   - Normalisation (normalise-total + log1p), highly variable genes, gene
//     alignment between two datasets.
//   - The dataset registry: names → files under $CELLBENCH_DATA.
//
// Reading and writing .h5ad files lives in the subpackage data/h5ad: read
// with libhdf5 (cgo) or a pure-Go HDF5 reader (no cgo, js/wasm); written
// with libhdf5.
//
// Conventions: rows are cells, columns are genes; gene names are Var.Index
// and must be unique; functions that derive data allocate and never modify
// their inputs unless the parameter is named dst.
package data
