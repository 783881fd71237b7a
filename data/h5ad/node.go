package h5ad

import "fmt"

// node is one HDF5 group or dataset as the AnnData layer sees it. Two
// implementations exist: libhdf5Node (cgo builds, libhdf5) and pureNode
// (every build, the pure-Go reader in internal/hdf5). read.go is written
// once against this interface, so both readers interpret AnnData the same
// way and differ only in how they decode HDF5.
type node interface {
	isGroup() bool
	path() string
	// children lists a group's link names in byte order.
	children() ([]string, error)
	// has reports whether the slash-separated path exists below a group.
	has(name string) bool
	// child opens the object at a slash-separated path below a group.
	child(name string) (node, error)
	// attrStrings reads a string attribute (scalar or 1-D, fixed or
	// variable length); an empty numeric array reads as no strings. ok is
	// false when the attribute does not exist.
	attrStrings(name string) (vals []string, ok bool, err error)
	// attrInts reads a numeric or enum attribute as int64 values.
	attrInts(name string) (vals []int64, ok bool, err error)
	dims() ([]int, error)
	dtype() (dtypeClass, int)
	// The read methods read rows [start, start+count) of the first axis
	// (count < 0: all of it), converted to the named type.
	readFloat32(start, count int) ([]float32, error)
	readFloat64(start, count int) ([]float64, error)
	readInt64(start, count int) ([]int64, error)
	readInt32(start, count int) ([]int32, error)
	readBools() ([]bool, error)
	readStrings() ([]string, error)
	close()
}

// dtypeClass describes a dataset's element type.
type dtypeClass int

const (
	classOther dtypeClass = iota
	classInt
	classFloat
	classString
	classEnum
	classCompound
)

// attrString reads a scalar (or one-element) string attribute.
func attrString(o node, name string) (string, bool, error) {
	v, ok, err := o.attrStrings(name)
	if err != nil || !ok {
		return "", ok, err
	}
	if len(v) != 1 {
		return "", true, fmt.Errorf("%s: attribute %q has %d values, want 1", o.path(), name, len(v))
	}
	return v[0], true, nil
}
