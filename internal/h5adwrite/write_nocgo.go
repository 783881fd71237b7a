//go:build !cgo

package h5adwrite

import "github.com/cellbench/cellbench/data"

// Available reports whether this build can write .h5ad files (it cannot:
// no cgo).
const Available = false

// File returns ErrUnavailable: writing needs cgo.
func File(path string, d *data.Dataset, opts Options) error { return ErrUnavailable }
