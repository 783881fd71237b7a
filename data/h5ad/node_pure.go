package h5ad

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data/h5ad/internal/hdf5"
)

// pureNode is a node read by the pure-Go HDF5 reader.
type pureNode struct{ o *hdf5.Object }

func (n pureNode) isGroup() bool               { return n.o.IsGroup() }
func (n pureNode) path() string                { return n.o.Path() }
func (n pureNode) children() ([]string, error) { return n.o.Children() }
func (n pureNode) has(name string) bool        { return n.o.Has(name) }
func (n pureNode) close()                      {}

func (n pureNode) child(name string) (node, error) {
	c, err := n.o.Child(name)
	if err != nil {
		return nil, err
	}
	return pureNode{c}, nil
}

func (n pureNode) attr(name string) (*hdf5.Attribute, error) {
	a, err := n.o.Attr(name)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (n pureNode) attrStrings(name string) ([]string, bool, error) {
	a, err := n.attr(name)
	if err != nil || a == nil {
		return nil, a != nil, err
	}
	switch a.Type.Class {
	case hdf5.ClassString, hdf5.ClassVlen:
		v, err := a.Strings()
		if err != nil {
			return nil, true, fmt.Errorf("%s: attribute %q: %w", n.o.Path(), name, err)
		}
		return v, true, nil
	}
	if count(a.Dims()) == 0 {
		return nil, true, nil
	}
	return nil, true, fmt.Errorf("%s: attribute %q is not a string", n.o.Path(), name)
}

func (n pureNode) attrInts(name string) ([]int64, bool, error) {
	a, err := n.attr(name)
	if err != nil || a == nil {
		return nil, a != nil, err
	}
	switch a.Type.Class {
	case hdf5.ClassInt, hdf5.ClassFloat, hdf5.ClassEnum:
		v, err := a.Int64s()
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", n.o.Path(), err)
		}
		return v, true, nil
	}
	return nil, true, fmt.Errorf("%s: attribute %q is not numeric", n.o.Path(), name)
}

func count(dims []uint64) uint64 {
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

func (n pureNode) dims() ([]int, error) {
	if !n.o.IsDataset() {
		return nil, fmt.Errorf("%s: not a dataset", n.o.Path())
	}
	d := n.o.Dims()
	out := make([]int, len(d))
	for i, x := range d {
		if x > math.MaxInt32 {
			return nil, fmt.Errorf("%s: dimension of %d", n.o.Path(), x)
		}
		out[i] = int(x)
	}
	return out, nil
}

func (n pureNode) dtype() (dtypeClass, int) {
	t := n.o.Type()
	if t == nil {
		return classOther, 0
	}
	switch t.Class {
	case hdf5.ClassInt:
		return classInt, t.Size
	case hdf5.ClassFloat:
		return classFloat, t.Size
	case hdf5.ClassString:
		return classString, t.Size
	case hdf5.ClassVlen:
		if t.VarString {
			return classString, t.Size
		}
	case hdf5.ClassEnum:
		return classEnum, t.Size
	case hdf5.ClassCompound:
		return classCompound, t.Size
	}
	return classOther, t.Size
}

func (n pureNode) readFloat32(start, count int) ([]float32, error) {
	return hdf5.ReadRows[float32](n.o, start, count)
}

func (n pureNode) readFloat64(start, count int) ([]float64, error) {
	return hdf5.ReadRows[float64](n.o, start, count)
}

func (n pureNode) readInt64(start, count int) ([]int64, error) {
	if c, _ := n.dtype(); c != classInt {
		return nil, fmt.Errorf("%s: not an integer dataset", n.o.Path())
	}
	return hdf5.ReadRows[int64](n.o, start, count)
}

func (n pureNode) readInt32(start, count int) ([]int32, error) {
	if c, _ := n.dtype(); c != classInt {
		return nil, fmt.Errorf("%s: not an integer dataset", n.o.Path())
	}
	return hdf5.ReadRows[int32](n.o, start, count)
}

func (n pureNode) readBools() ([]bool, error) {
	switch c, size := n.dtype(); {
	case c == classEnum && size != 1:
		return nil, fmt.Errorf("%s: enum with %d-byte base is not a boolean", n.o.Path(), size)
	case c != classEnum && c != classInt:
		return nil, fmt.Errorf("%s: not a boolean dataset", n.o.Path())
	}
	v, err := hdf5.ReadRows[int64](n.o, 0, -1)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = x != 0
	}
	return out, nil
}

func (n pureNode) readStrings() ([]string, error) {
	if c, _ := n.dtype(); c != classString {
		return nil, fmt.Errorf("%s: not a string dataset", n.o.Path())
	}
	return hdf5.ReadStrings(n.o)
}
