// Package h5ad reads and writes AnnData .h5ad files (HDF5) into cellbench's
// in-memory model, data.Dataset.
//
// # Two readers, one AnnData layer
//
// How HDF5 is decoded depends on the build; what the file means does not.
// The AnnData layer (encodings, frames, validation, errors) is written once
// over an HDF5 node interface with two implementations:
//
//	build                           Open, Read, ReadMeta       ReadBytes, ReadFrom, OpenFrom
//	cgo (default on Linux)          libhdf5 (Debian libhdf5)   pure Go
//	CGO_ENABLED=0, GOOS=js (wasm)   pure Go                    pure Go
//
// The pure-Go reader (internal/hdf5) implements the part of HDF5 that
// anndata and h5py write: superblock versions 0–3, object headers v1 and
// v2, symbol-table groups and compact or dense (fractal heap + v2 B-tree)
// links and attributes, contiguous, compact and chunked datasets with
// every chunk index (v1 B-tree, single chunk, implicit, fixed array,
// extensible array, v2 B-tree), the deflate, shuffle, fletcher32 and LZF
// filters, fill values for chunks never written, integer (1–8 bytes,
// either byte order), IEEE float (16/32/64-bit), enum (h5py bool),
// fixed-length and variable-length (global heap) strings. A test reads
// every file in ../shared/data (and upstream/) with both readers and
// requires the same dataset value for value.
//
// ReadBytes, ReadFrom and OpenFrom take the file as bytes or an
// io.ReaderAt: the browser build gets files that way, with no filesystem.
//
// # What is read
//
//   - X and every layer as float32 CSR: csr_matrix (rows sorted if the file
//     stores them unsorted, as anndata may), csc_matrix (converted), or a
//     dense 2-D array; float32/64 and integer values.
//   - obs and var (encoding dataframe 0.2.0): the index (strings or
//     integers), and columns that are categorical (string or numeric
//     categories, the ordered flag, code -1 for missing), string arrays,
//     numbers, booleans, and nullable integer/boolean/string arrays.
//   - obsm dense arrays as float64; raw (its X and var).
//   - uns, obsp, varm and varp are listed in Meta.Skipped and not read.
//
// # Errors
//
// A file is read completely or not at all: never a partly empty dataset.
// Every error is one line naming the file. These are errors: a file that
// is missing, not HDF5 ("not an HDF5 file"), truncated or corrupt
// (checksums of HDF5 metadata are verified), not AnnData, or without /X,
// /obs or /var; an unknown X encoding; sparse X without its shape;
// inconsistent CSR structure, out-of-range or duplicate indices; obs/var
// lengths that do not match X; a non-finite value in X; duplicate or
// empty gene names; a category code past its categories; legacy
// (anndata < 0.7) compound frames. HDF5 features outside the list above
// (szip, n-bit or scale-offset filters, virtual or external datasets,
// soft links on the path read, shared datatypes) are errors that say
// "unsupported HDF5 feature". In the pure-Go reader, what a file decodes
// to is bounded by its size (at most 1100× it, the deflate limit, plus
// 64 MiB), so a small crafted file cannot claim gigabytes; a fuzz target
// (FuzzReadBytes) checks that no input panics or hangs.
//
// # Writing
//
// Write and WriteUnvalidated need libhdf5, so cgo: in a build without it
// they return a one-line error and touch nothing. Write validates the
// dataset, writes a temporary file beside the target and renames it, so a
// failure never leaves a partial file. Files written are read by anndata
// ≥ 0.8.
//
// # Example
//
//	d, err := h5ad.Read("pbmc.h5ad") // or h5ad.ReadBytes(b, "pbmc.h5ad") in the browser
//	if err != nil {
//		return err // e.g. "pbmc.h5ad: not a complete AnnData file: no /X (top level has [obs var])"
//	}
//	labels, err := d.ObsLabels("cell_type")
//
// For files larger than memory, Open reads the metadata and ReadRows
// reads X (or a layer) in row blocks.
package h5ad
