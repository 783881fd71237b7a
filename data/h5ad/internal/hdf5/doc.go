// Package hdf5 is a pure-Go, read-only decoder for the part of the HDF5
// file format that anndata and h5py write: cellbench's HDF5 reader for
// builds without cgo (CGO_ENABLED=0, GOOS=js) and for data/h5ad's
// ReadBytes / ReadFrom in every build. It reads from an io.ReaderAt (or a
// byte slice), never the filesystem, so it works in a browser.
//
// # Supported
//
//   - Superblock versions 0, 1, 2 and 3 (h5py's default and
//     libver="latest"), 2-, 4- and 8-byte addresses and lengths, a user
//     block before the superblock.
//   - Object headers v1 and v2 with continuation chunks; groups as symbol
//     tables (v1 B-tree, symbol table nodes, local heap) or links (compact
//     link messages, or dense: fractal heap plus v2 B-tree name index);
//     attributes compact or dense; hard links.
//   - Datasets contiguous, compact or chunked with every chunk index:
//     v1 B-tree, single chunk, implicit, fixed array (paged or not),
//     extensible array (index, data and super blocks, paged or not), v2
//     B-tree; chunks never written read as the fill value.
//   - Filters deflate (gzip), shuffle, fletcher32 (verified) and h5py's
//     LZF; partial edge chunks left unfiltered when the layout says so.
//   - Element types: integers of 1–8 bytes (signed or not, either byte
//     order), IEEE floats of 2, 4 and 8 bytes, enums (h5py's bool),
//     fixed-length strings and variable-length strings (global heap).
//
// The metadata checksums of version-2 structures (lookup3) are verified.
//
// # Not supported
//
// These are errors wrapping ErrUnsupported: szip, n-bit and scale-offset
// filters; virtual and external datasets; soft and external links on a
// path being opened; shared (committed) datatypes; huge fractal-heap
// objects and filtered fractal heaps; integers with padding bits and
// non-IEEE floats. Compound, array, reference, time, bitfield and opaque
// element types may exist in a file; reading one as numbers or strings is
// an error saying what it holds.
//
// # Errors and bounds
//
// Open returns ErrNotHDF5 for input without the HDF5 signature. Anything
// structurally wrong (out-of-range addresses, truncation, bad signatures
// or checksums, loops in B-trees, heaps or header continuations) is an
// error saying "corrupt or truncated HDF5 file"; no input panics or hangs
// (FuzzOpenWalk here and data/h5ad's FuzzReadBytes check it). What reading
// a file may decode is bounded by its size: each read checks, before
// allocating, that contiguous and compact data lie within the file and
// resolves the chunk index, and every decoded byte is charged to a budget
// of 1100 × the file size plus 16 MiB (deflate cannot expand beyond
// 1032:1; chunks never written have no bytes behind them at all).
//
// # Use
//
//	f, err := hdf5.OpenBytes(b) // or hdf5.Open(readerAt, size)
//	root, err := f.Root()
//	x, err := root.Child("X/data")
//	vals, err := hdf5.ReadRows[float32](x, 0, -1) // all rows, converted
//	enc, err := root.Attr("encoding-type")        // nil when absent
//
// ReadRows converts integers, enums and floats to any numeric Go type
// (integers to integers only when every value fits; floats never to
// integers) and decodes chunks on up to GOMAXPROCS goroutines. A File is
// safe for concurrent use.
package hdf5
