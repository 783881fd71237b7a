// Package libhdf5 is cellbench's thin cgo binding to the HDF5 C library
// (Debian libhdf5-dev, pkg-config hdf5-serial): open, walk, read and write
// groups, datasets and attributes with the element types AnnData uses.
//
// It exists only in cgo builds. data/h5ad reads through it by default when
// cgo is on (its pure-Go reader is used otherwise), and internal/h5adwrite
// writes .h5ad files with it. Programmer errors (an unsupported Go type
// passed to WriteDataset or SetAttr) panic with a "libhdf5:" prefix;
// everything a file can cause returns an error naming the object path.
//
// libhdf5's automatic error printing is silenced at init: every failure
// comes back as a Go error instead.
package libhdf5
