//go:build cgo

package h5ad

import (
	"github.com/cellbench/cellbench/internal/libhdf5"
)

// libhdf5Node is a node read through the HDF5 C library.
type libhdf5Node struct{ o libhdf5.Obj }

// openFile opens path with libhdf5 (the cgo build's reader).
func openFile(path string) (node, func() error, error) {
	f, err := libhdf5.Open(path)
	if err != nil {
		return nil, nil, err
	}
	root, err := f.Root()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return libhdf5Node{root}, f.Close, nil
}

func (n libhdf5Node) isGroup() bool                               { return n.o.IsGroup }
func (n libhdf5Node) path() string                                { return n.o.Path }
func (n libhdf5Node) children() ([]string, error)                 { return n.o.Children() }
func (n libhdf5Node) has(name string) bool                        { return n.o.Has(name) }
func (n libhdf5Node) attrInts(name string) ([]int64, bool, error) { return n.o.AttrInts(name) }
func (n libhdf5Node) dims() ([]int, error)                        { return n.o.Dims() }
func (n libhdf5Node) readBools() ([]bool, error)                  { return n.o.ReadBools() }
func (n libhdf5Node) readStrings() ([]string, error)              { return n.o.ReadStrings() }
func (n libhdf5Node) close()                                      { n.o.Close() }

func (n libhdf5Node) child(name string) (node, error) {
	c, err := n.o.Child(name)
	if err != nil {
		return nil, err
	}
	return libhdf5Node{c}, nil
}

func (n libhdf5Node) attrStrings(name string) ([]string, bool, error) {
	return n.o.AttrStrings(name)
}

func (n libhdf5Node) dtype() (dtypeClass, int) {
	c, size := n.o.Dtype()
	switch c {
	case libhdf5.ClassInt:
		return classInt, size
	case libhdf5.ClassFloat:
		return classFloat, size
	case libhdf5.ClassString:
		return classString, size
	case libhdf5.ClassEnum:
		return classEnum, size
	case libhdf5.ClassCompound:
		return classCompound, size
	}
	return classOther, size
}

func (n libhdf5Node) readFloat32(start, count int) ([]float32, error) {
	return n.o.ReadFloat32(start, count)
}

func (n libhdf5Node) readFloat64(start, count int) ([]float64, error) {
	return n.o.ReadFloat64(start, count)
}

func (n libhdf5Node) readInt64(start, count int) ([]int64, error) {
	return n.o.ReadInt64(start, count)
}

func (n libhdf5Node) readInt32(start, count int) ([]int32, error) {
	return n.o.ReadInt32(start, count)
}
