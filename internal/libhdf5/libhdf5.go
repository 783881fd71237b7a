//go:build cgo

package libhdf5

/*
#cgo pkg-config: hdf5-serial
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

static void cb_silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static hid_t cb_native_double(void) { return H5T_NATIVE_DOUBLE; }
static hid_t cb_native_float(void)  { return H5T_NATIVE_FLOAT; }
static hid_t cb_native_int64(void)  { return H5T_NATIVE_INT64; }
static hid_t cb_native_int32(void)  { return H5T_NATIVE_INT32; }
static hid_t cb_native_int8(void)   { return H5T_NATIVE_INT8; }
static hid_t cb_c_s1(void)          { return H5T_C_S1; }
static hid_t cb_p_default(void)     { return H5P_DEFAULT; }
static hid_t cb_s_all(void)         { return H5S_ALL; }
static hid_t cb_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static hid_t cb_p_file_access(void) { return H5P_FILE_ACCESS; }
static int cb_superblock_version(hid_t f) {
	unsigned v = 0;
	H5F_info2_t info;
	if (H5Fget_info2(f, &info) < 0) return -1;
	v = info.super.version;
	return (int)v;
}

static hid_t cb_vlen_str(void) {
	hid_t t = H5Tcopy(H5T_C_S1);
	H5Tset_size(t, H5T_VARIABLE);
	H5Tset_cset(t, H5T_CSET_UTF8);
	return t;
}

static hid_t cb_bool_enum(void) {
	hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
	signed char v = 0;
	H5Tenum_insert(t, "FALSE", &v);
	v = 1;
	H5Tenum_insert(t, "TRUE", &v);
	return t;
}

static char* cb_str_at(char** arr, size_t i) { return arr[i]; }
static void  cb_str_set(char** arr, size_t i, char* s) { arr[i] = s; }
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"
)

// quiet pins the calling goroutine to its OS thread and turns off
// libhdf5's automatic error printing there. The setting is per thread in
// Debian's thread-safe libhdf5, so silencing once at init left other
// threads printing HDF5-DIAG traces to stderr on a broken file; every
// entry point starts with defer quiet()(), so failures only come back as
// Go errors.
func quiet() func() {
	runtime.LockOSThread()
	C.cb_silence()
	return runtime.UnlockOSThread
}

// File is an open HDF5 file.
type File struct {
	id   C.hid_t
	Path string
}

// ErrNotHDF5 is returned when a file exists but is not HDF5.
var ErrNotHDF5 = errors.New("not an HDF5 file")

// Open opens path read-only; ErrNotHDF5 when it is not an HDF5 file.
func Open(path string) (*File, error) {
	defer quiet()()
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("is a directory")
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if C.H5Fis_hdf5(cpath) <= 0 {
		return nil, ErrNotHDF5
	}
	id := C.H5Fopen(cpath, C.H5F_ACC_RDONLY, C.cb_p_default())
	if id < 0 {
		return nil, fmt.Errorf("HDF5 cannot open the file (truncated or corrupt)")
	}
	return &File{id: id, Path: path}, nil
}

// Create creates (truncates) path. latest selects the newest file format
// (superblock v3, as h5py's libver="latest" writes).
func Create(path string, latest bool) (*File, error) {
	defer quiet()()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	fapl := C.cb_p_default()
	if latest {
		fapl = C.H5Pcreate(C.cb_p_file_access())
		defer C.H5Pclose(fapl)
		C.H5Pset_libver_bounds(fapl, C.H5F_LIBVER_LATEST, C.H5F_LIBVER_LATEST)
	}
	id := C.H5Fcreate(cpath, C.H5F_ACC_TRUNC, C.cb_p_default(), fapl)
	if id < 0 {
		return nil, fmt.Errorf("HDF5 cannot create %s", path)
	}
	return &File{id: id, Path: path}, nil
}

// SuperblockVersion returns the file's HDF5 superblock version.
func (f *File) SuperblockVersion() int {
	defer quiet()()
	return int(C.cb_superblock_version(f.id))
}

// Close closes the file.
func (f *File) Close() error {
	defer quiet()()
	if f.id < 0 {
		return nil
	}
	rc := C.H5Fclose(f.id)
	f.id = -1
	if rc < 0 {
		return fmt.Errorf("HDF5 close failed")
	}
	return nil
}

// Obj is an open group or dataset.
type Obj struct {
	id      C.hid_t
	IsGroup bool
	Path    string
}

// Close releases the object.
func (o Obj) Close() {
	defer quiet()()
	if o.id >= 0 {
		C.H5Oclose(o.id)
	}
}

// Root opens the root group.
func (f *File) Root() (Obj, error) {
	defer quiet()()
	return openObj(f.id, "/", "/")
}

// exists reports whether the link path exists below loc, checking each
// component (H5Lexists fails on a missing intermediate group).
func exists(loc C.hid_t, path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	prefix := ""
	for _, p := range parts {
		if prefix != "" {
			prefix += "/"
		}
		prefix += p
		cp := C.CString(prefix)
		ok := C.H5Lexists(loc, cp, C.cb_p_default())
		C.free(unsafe.Pointer(cp))
		if ok <= 0 {
			return false
		}
	}
	return true
}

func openObj(loc C.hid_t, name, full string) (Obj, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	id := C.H5Oopen(loc, cn, C.cb_p_default())
	if id < 0 {
		return Obj{id: -1}, fmt.Errorf("%s: cannot open", full)
	}
	t := C.H5Iget_type(id)
	return Obj{id: id, IsGroup: t == C.H5I_GROUP, Path: full}, nil
}

// Has reports whether the group has a child (or path) name.
func (o Obj) Has(name string) bool {
	defer quiet()()
	return exists(o.id, name)
}

// Child opens a child group or dataset.
func (o Obj) Child(name string) (Obj, error) {
	defer quiet()()
	if !o.Has(name) {
		return Obj{id: -1}, fmt.Errorf("%s: missing", joinPath(o.Path, name))
	}
	return openObj(o.id, name, joinPath(o.Path, name))
}

func joinPath(a, b string) string {
	if a == "/" {
		return "/" + b
	}
	return a + "/" + b
}

// Children lists the link names of a group, in name order.
func (o Obj) Children() ([]string, error) {
	defer quiet()()
	var info C.H5G_info_t
	if C.H5Gget_info(o.id, &info) < 0 {
		return nil, fmt.Errorf("%s: cannot list group", o.Path)
	}
	dot := C.CString(".")
	defer C.free(unsafe.Pointer(dot))
	out := make([]string, 0, int(info.nlinks))
	for i := C.hsize_t(0); i < info.nlinks; i++ {
		n := C.H5Lget_name_by_idx(o.id, dot, C.H5_INDEX_NAME, C.H5_ITER_INC, i, nil, 0, C.cb_p_default())
		if n < 0 {
			return nil, fmt.Errorf("%s: cannot read link name %d", o.Path, i)
		}
		buf := (*C.char)(C.malloc(C.size_t(n + 1)))
		C.H5Lget_name_by_idx(o.id, dot, C.H5_INDEX_NAME, C.H5_ITER_INC, i, buf, C.size_t(n+1), C.cb_p_default())
		out = append(out, C.GoString(buf))
		C.free(unsafe.Pointer(buf))
	}
	return out, nil
}

// ---------- attributes ----------

// HasAttr reports whether the object has the named attribute.
func (o Obj) HasAttr(name string) bool {
	defer quiet()()
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	return C.H5Aexists(o.id, cn) > 0
}

// withAttr opens the named attribute and calls read with it, its
// dataspace, its file type and its number of elements; ok is false (and
// read is not called) when the object has no such attribute.
func (o Obj) withAttr(name string, read func(a, space, ftype C.hid_t, n int) error) (ok bool, err error) {
	if !o.HasAttr(name) {
		return false, nil
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	a := C.H5Aopen(o.id, cn, C.cb_p_default())
	if a < 0 {
		return true, fmt.Errorf("%s: cannot open attribute %q", o.Path, name)
	}
	defer C.H5Aclose(a)
	space := C.H5Aget_space(a)
	defer C.H5Sclose(space)
	ftype := C.H5Aget_type(a)
	defer C.H5Tclose(ftype)
	return true, read(a, space, ftype, int(C.H5Sget_simple_extent_npoints(space)))
}

// AttrStrings reads a string attribute (scalar or 1-D array; vlen or fixed).
// An empty numeric array (as anndata writes an empty column-order) reads as
// no strings. ok is false when the attribute does not exist.
func (o Obj) AttrStrings(name string) (vals []string, ok bool, err error) {
	defer quiet()()
	ok, err = o.withAttr(name, func(a, space, ftype C.hid_t, n int) error {
		if C.H5Tget_class(ftype) != C.H5T_STRING {
			if n == 0 {
				return nil
			}
			return fmt.Errorf("%s: attribute %q is not a string", o.Path, name)
		}
		v, err := readStringsWith(ftype, n, func(mem C.hid_t, buf unsafe.Pointer) C.herr_t {
			return C.H5Aread(a, mem, buf)
		}, space)
		if err != nil {
			return fmt.Errorf("%s: attribute %q: %w", o.Path, name, err)
		}
		vals = v
		return nil
	})
	if err != nil {
		return nil, ok, err
	}
	return vals, ok, nil
}

// AttrInts reads a numeric (or bool) attribute as int64 values.
func (o Obj) AttrInts(name string) (vals []int64, ok bool, err error) {
	defer quiet()()
	ok, err = o.withAttr(name, func(a, space, ftype C.hid_t, n int) error {
		out := make([]int64, n)
		vals = out
		if n == 0 {
			return nil
		}
		switch C.H5Tget_class(ftype) {
		case C.H5T_INTEGER, C.H5T_FLOAT:
			if C.H5Aread(a, C.cb_native_int64(), unsafe.Pointer(&out[0])) < 0 {
				return fmt.Errorf("%s: cannot read attribute %q", o.Path, name)
			}
		case C.H5T_ENUM:
			raw, err := readEnumBytes(ftype, n, func(mem C.hid_t, buf unsafe.Pointer) C.herr_t { return C.H5Aread(a, mem, buf) })
			if err != nil {
				return fmt.Errorf("%s: attribute %q: %w", o.Path, name, err)
			}
			for i, b := range raw {
				out[i] = int64(b)
			}
		default:
			return fmt.Errorf("%s: attribute %q is not numeric", o.Path, name)
		}
		return nil
	})
	if err != nil {
		return nil, ok, err
	}
	return vals, ok, nil
}

// readEnumBytes reads an enum (h5py bool) as its integer values (size 1 base).
func readEnumBytes(ftype C.hid_t, n int, read func(C.hid_t, unsafe.Pointer) C.herr_t) ([]int8, error) {
	native := C.H5Tget_native_type(ftype, C.H5T_DIR_ASCEND)
	defer C.H5Tclose(native)
	if C.H5Tget_size(native) != 1 {
		return nil, fmt.Errorf("enum with %d-byte base is not a boolean", int(C.H5Tget_size(native)))
	}
	out := make([]int8, n)
	if n == 0 {
		return out, nil
	}
	if read(native, unsafe.Pointer(&out[0])) < 0 {
		return nil, fmt.Errorf("cannot read enum values")
	}
	return out, nil
}

// readStringsWith reads n strings of file type ftype (vlen or fixed length).
func readStringsWith(ftype C.hid_t, n int, read func(C.hid_t, unsafe.Pointer) C.herr_t, space C.hid_t) ([]string, error) {
	out := make([]string, n)
	if n == 0 {
		return out, nil
	}
	if C.H5Tis_variable_str(ftype) > 0 {
		mem := C.cb_vlen_str()
		defer C.H5Tclose(mem)
		buf := (**C.char)(C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(buf))
		if read(mem, unsafe.Pointer(buf)) < 0 {
			return nil, fmt.Errorf("cannot read variable-length strings")
		}
		for i := 0; i < n; i++ {
			s := C.cb_str_at(buf, C.size_t(i))
			if s != nil {
				out[i] = C.GoString(s)
			}
		}
		C.H5Dvlen_reclaim(mem, space, C.cb_p_default(), unsafe.Pointer(buf))
		return out, nil
	}
	size := int(C.H5Tget_size(ftype))
	mem := C.H5Tcopy(C.cb_c_s1())
	defer C.H5Tclose(mem)
	C.H5Tset_size(mem, C.size_t(size))
	buf := make([]byte, n*size)
	if read(mem, unsafe.Pointer(&buf[0])) < 0 {
		return nil, fmt.Errorf("cannot read fixed-length strings")
	}
	for i := 0; i < n; i++ {
		s := buf[i*size : (i+1)*size]
		if k := strings.IndexByte(string(s), 0); k >= 0 {
			s = s[:k]
		}
		out[i] = string(s)
	}
	return out, nil
}

// ---------- datasets ----------

// Dims returns the dataset's extent.
func (o Obj) Dims() ([]int, error) {
	defer quiet()()
	space := C.H5Dget_space(o.id)
	if space < 0 {
		return nil, fmt.Errorf("%s: cannot get dataspace", o.Path)
	}
	defer C.H5Sclose(space)
	nd := int(C.H5Sget_simple_extent_ndims(space))
	if nd < 0 {
		return nil, fmt.Errorf("%s: bad dataspace", o.Path)
	}
	if nd == 0 {
		return []int{}, nil
	}
	d := make([]C.hsize_t, nd)
	C.H5Sget_simple_extent_dims(space, &d[0], nil)
	out := make([]int, nd)
	for i := range d {
		out[i] = int(d[i])
	}
	return out, nil
}

// Class describes a dataset's element type.
type Class int

// The element classes cellbench distinguishes.
const (
	ClassOther Class = iota
	ClassInt
	ClassFloat
	ClassString
	ClassEnum
	ClassCompound
)

// Dtype returns a dataset's element class and size in bytes.
func (o Obj) Dtype() (Class, int) {
	defer quiet()()
	t := C.H5Dget_type(o.id)
	if t < 0 {
		return ClassOther, 0
	}
	defer C.H5Tclose(t)
	size := int(C.H5Tget_size(t))
	switch C.H5Tget_class(t) {
	case C.H5T_INTEGER:
		return ClassInt, size
	case C.H5T_FLOAT:
		return ClassFloat, size
	case C.H5T_STRING:
		return ClassString, size
	case C.H5T_ENUM:
		return ClassEnum, size
	case C.H5T_COMPOUND:
		return ClassCompound, size
	}
	return ClassOther, size
}

// readSlab reads rows [start, start+count) of the first axis (the whole
// dataset when count < 0) with memory type mem into buf, which must hold
// count·(product of the other dims) elements.
func (o Obj) readSlab(mem C.hid_t, buf unsafe.Pointer, start, count int) error {
	if count < 0 {
		if C.H5Dread(o.id, mem, C.cb_s_all(), C.cb_s_all(), C.cb_p_default(), buf) < 0 {
			return fmt.Errorf("%s: read failed (corrupt or truncated data)", o.Path)
		}
		return nil
	}
	dims, err := o.Dims()
	if err != nil {
		return err
	}
	if len(dims) == 0 || start < 0 || start+count > dims[0] {
		return fmt.Errorf("%s: rows [%d,%d) out of range", o.Path, start, start+count)
	}
	fspace := C.H5Dget_space(o.id)
	defer C.H5Sclose(fspace)
	off := make([]C.hsize_t, len(dims))
	cnt := make([]C.hsize_t, len(dims))
	off[0], cnt[0] = C.hsize_t(start), C.hsize_t(count)
	for i := 1; i < len(dims); i++ {
		cnt[i] = C.hsize_t(dims[i])
	}
	if C.H5Sselect_hyperslab(fspace, C.H5S_SELECT_SET, &off[0], nil, &cnt[0], nil) < 0 {
		return fmt.Errorf("%s: cannot select rows", o.Path)
	}
	mspace := C.H5Screate_simple(C.int(len(dims)), &cnt[0], nil)
	defer C.H5Sclose(mspace)
	if C.H5Dread(o.id, mem, mspace, fspace, C.cb_p_default(), buf) < 0 {
		return fmt.Errorf("%s: read failed (corrupt or truncated data)", o.Path)
	}
	return nil
}

func (o Obj) numElems(count int) (int, error) {
	dims, err := o.Dims()
	if err != nil {
		return 0, err
	}
	n := 1
	for i, d := range dims {
		if i == 0 && count >= 0 {
			d = count
		}
		n *= d
	}
	return n, nil
}

func (o Obj) checkNumeric() error {
	switch c, _ := o.Dtype(); c {
	case ClassInt, ClassFloat:
		return nil
	case ClassEnum:
		return nil
	default:
		return fmt.Errorf("%s: not a numeric dataset", o.Path)
	}
}

// readAs reads rows [start, start+count) (count < 0: all) into a new
// []T, libhdf5 converting the file's values to the native type mem (which
// must have T's layout).
func readAs[T any](o Obj, mem C.hid_t, start, count int) ([]T, error) {
	n, err := o.numElems(count)
	if err != nil {
		return nil, err
	}
	out := make([]T, n)
	if n == 0 {
		return out, nil
	}
	return out, o.readSlab(mem, unsafe.Pointer(&out[0]), start, count)
}

// requireInt refuses a dataset that is not of an integer type (indices and
// codes must be integers).
func (o Obj) requireInt() error {
	if c, _ := o.Dtype(); c != ClassInt {
		return fmt.Errorf("%s: not an integer dataset", o.Path)
	}
	return nil
}

// ReadFloat32 reads (rows of) a numeric dataset converted to float32.
func (o Obj) ReadFloat32(start, count int) ([]float32, error) {
	defer quiet()()
	if err := o.checkNumeric(); err != nil {
		return nil, err
	}
	return readAs[float32](o, C.cb_native_float(), start, count)
}

// ReadFloat64 reads (rows of) a numeric dataset converted to float64.
func (o Obj) ReadFloat64(start, count int) ([]float64, error) {
	defer quiet()()
	if err := o.checkNumeric(); err != nil {
		return nil, err
	}
	return readAs[float64](o, C.cb_native_double(), start, count)
}

// ReadInt64 reads (rows of) an integer dataset as int64.
func (o Obj) ReadInt64(start, count int) ([]int64, error) {
	defer quiet()()
	if err := o.requireInt(); err != nil {
		return nil, err
	}
	return readAs[int64](o, C.cb_native_int64(), start, count)
}

// ReadInt32 reads (rows of) an integer dataset as int32. Values outside
// the int32 range are clamped by libhdf5's conversion (no error): callers
// range-check indices and codes afterwards.
func (o Obj) ReadInt32(start, count int) ([]int32, error) {
	defer quiet()()
	if err := o.requireInt(); err != nil {
		return nil, err
	}
	return readAs[int32](o, C.cb_native_int32(), start, count)
}

// ReadBools reads an h5py bool (enum) or integer dataset as booleans.
func (o Obj) ReadBools() ([]bool, error) {
	defer quiet()()
	n, err := o.numElems(-1)
	if err != nil {
		return nil, err
	}
	out := make([]bool, n)
	switch c, _ := o.Dtype(); c {
	case ClassEnum:
		t := C.H5Dget_type(o.id)
		defer C.H5Tclose(t)
		raw, err := readEnumBytes(t, n, func(mem C.hid_t, buf unsafe.Pointer) C.herr_t {
			return C.H5Dread(o.id, mem, C.cb_s_all(), C.cb_s_all(), C.cb_p_default(), buf)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Path, err)
		}
		for i, b := range raw {
			out[i] = b != 0
		}
	case ClassInt:
		v, err := o.ReadInt64(0, -1)
		if err != nil {
			return nil, err
		}
		for i, b := range v {
			out[i] = b != 0
		}
	default:
		return nil, fmt.Errorf("%s: not a boolean dataset", o.Path)
	}
	return out, nil
}

// ReadStrings reads a 1-D string dataset.
func (o Obj) ReadStrings() ([]string, error) {
	defer quiet()()
	if c, _ := o.Dtype(); c != ClassString {
		return nil, fmt.Errorf("%s: not a string dataset", o.Path)
	}
	n, err := o.numElems(-1)
	if err != nil {
		return nil, err
	}
	t := C.H5Dget_type(o.id)
	defer C.H5Tclose(t)
	space := C.H5Dget_space(o.id)
	defer C.H5Sclose(space)
	v, err := readStringsWith(t, n, func(mem C.hid_t, buf unsafe.Pointer) C.herr_t {
		return C.H5Dread(o.id, mem, C.cb_s_all(), C.cb_s_all(), C.cb_p_default(), buf)
	}, space)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Path, err)
	}
	return v, nil
}

// ---------- writing ----------

// CreateGroup creates a child group; the result must be closed.
func (o Obj) CreateGroup(name string) (Obj, error) {
	defer quiet()()
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	id := C.H5Gcreate2(o.id, cn, C.cb_p_default(), C.cb_p_default(), C.cb_p_default())
	if id < 0 {
		return Obj{id: -1}, fmt.Errorf("%s: cannot create group", joinPath(o.Path, name))
	}
	return Obj{id: id, IsGroup: true, Path: joinPath(o.Path, name)}, nil
}

// WriteDataset writes a 1-D or 2-D dataset of a Go slice type: []float32,
// []float64, []int8, []int32, []int64, []bool (h5py enum), []string (vlen
// UTF-8). dims nil means 1-D of len(data). Datasets above 64 KiB are
// chunked and gzip-compressed (level 4). The returned object must be closed.
func (o Obj) WriteDataset(name string, data any, dims []int) (Obj, error) {
	defer quiet()()
	var n int
	var mem C.hid_t
	var buf unsafe.Pointer
	var elem int
	var freeType bool
	var cstrs **C.char
	switch v := data.(type) {
	case []float32:
		mem, elem = C.cb_native_float(), 4
		n, buf = sliceBuf(v)
	case []float64:
		mem, elem = C.cb_native_double(), 8
		n, buf = sliceBuf(v)
	case []int8:
		mem, elem = C.cb_native_int8(), 1
		n, buf = sliceBuf(v)
	case []int32:
		mem, elem = C.cb_native_int32(), 4
		n, buf = sliceBuf(v)
	case []int64:
		mem, elem = C.cb_native_int64(), 8
		n, buf = sliceBuf(v)
	case []bool:
		b := make([]int8, len(v))
		for i, x := range v {
			if x {
				b[i] = 1
			}
		}
		mem, elem, freeType = C.cb_bool_enum(), 1, true
		n, buf = sliceBuf(b)
		defer func() { _ = b }()
	case []string:
		n, mem, elem, freeType = len(v), C.cb_vlen_str(), 8, true
		if n > 0 {
			cstrs = (**C.char)(C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof(uintptr(0)))))
			for i, s := range v {
				C.cb_str_set(cstrs, C.size_t(i), C.CString(s))
			}
			buf = unsafe.Pointer(cstrs)
			defer func() {
				for i := 0; i < n; i++ {
					C.free(unsafe.Pointer(C.cb_str_at(cstrs, C.size_t(i))))
				}
				C.free(unsafe.Pointer(cstrs))
			}()
		}
	default:
		panic(fmt.Sprintf("libhdf5: writeDataset: unsupported type %T", data))
	}
	if freeType {
		defer C.H5Tclose(mem)
	}
	if dims == nil {
		dims = []int{n}
	}
	cd := make([]C.hsize_t, len(dims))
	total := 1
	for i, d := range dims {
		cd[i] = C.hsize_t(d)
		total *= d
	}
	if total != n {
		panic(fmt.Sprintf("libhdf5: writeDataset %s: %d values for dims %v", name, n, dims))
	}
	space := C.H5Screate_simple(C.int(len(dims)), &cd[0], nil)
	defer C.H5Sclose(space)
	dcpl := C.cb_p_default()
	if n*elem > 64<<10 {
		dcpl = C.H5Pcreate(C.cb_p_dataset_create())
		defer C.H5Pclose(dcpl)
		chunk := make([]C.hsize_t, len(dims))
		rowElems := 1
		for i := 1; i < len(dims); i++ {
			chunk[i] = cd[i]
			rowElems *= dims[i]
		}
		rows := (256 << 10) / (elem * max(rowElems, 1))
		chunk[0] = C.hsize_t(max(1, min(rows, dims[0])))
		C.H5Pset_chunk(dcpl, C.int(len(dims)), &chunk[0])
		C.H5Pset_deflate(dcpl, 4)
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	ds := C.H5Dcreate2(o.id, cn, mem, space, C.cb_p_default(), dcpl, C.cb_p_default())
	if ds < 0 {
		return Obj{id: -1}, fmt.Errorf("%s: cannot create dataset", joinPath(o.Path, name))
	}
	obj := Obj{id: ds, Path: joinPath(o.Path, name)}
	if n > 0 && C.H5Dwrite(ds, mem, C.cb_s_all(), C.cb_s_all(), C.cb_p_default(), buf) < 0 {
		obj.Close()
		return Obj{id: -1}, fmt.Errorf("%s: write failed", obj.Path)
	}
	return obj, nil
}

// SetAttr writes an attribute: string (scalar vlen), []string (1-D vlen),
// []int64 (1-D), bool (h5py enum scalar).
func (o Obj) SetAttr(name string, val any) error {
	defer quiet()()
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var space, typ C.hid_t
	var buf unsafe.Pointer
	switch v := val.(type) {
	case string:
		space = C.H5Screate(C.H5S_SCALAR)
		typ = C.cb_vlen_str()
		cs := C.CString(v)
		defer C.free(unsafe.Pointer(cs))
		p := (**C.char)(C.malloc(C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(p))
		C.cb_str_set(p, 0, cs)
		buf = unsafe.Pointer(p)
	case []string:
		d := C.hsize_t(len(v))
		space = C.H5Screate_simple(1, &d, nil)
		typ = C.cb_vlen_str()
		if len(v) > 0 {
			p := (**C.char)(C.malloc(C.size_t(len(v)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
			for i, s := range v {
				C.cb_str_set(p, C.size_t(i), C.CString(s))
			}
			defer func() {
				for i := range v {
					C.free(unsafe.Pointer(C.cb_str_at(p, C.size_t(i))))
				}
				C.free(unsafe.Pointer(p))
			}()
			buf = unsafe.Pointer(p)
		}
	case []int64:
		d := C.hsize_t(len(v))
		space = C.H5Screate_simple(1, &d, nil)
		typ = C.H5Tcopy(C.cb_native_int64())
		if len(v) > 0 {
			buf = unsafe.Pointer(&v[0])
		}
	case bool:
		space = C.H5Screate(C.H5S_SCALAR)
		typ = C.cb_bool_enum()
		b := C.schar(0)
		if v {
			b = 1
		}
		buf = unsafe.Pointer(&b)
	default:
		panic(fmt.Sprintf("libhdf5: setAttr: unsupported type %T", val))
	}
	defer C.H5Sclose(space)
	defer C.H5Tclose(typ)
	a := C.H5Acreate2(o.id, cn, typ, space, C.cb_p_default(), C.cb_p_default())
	if a < 0 {
		return fmt.Errorf("%s: cannot create attribute %q", o.Path, name)
	}
	defer C.H5Aclose(a)
	if buf != nil && C.H5Awrite(a, typ, buf) < 0 {
		return fmt.Errorf("%s: cannot write attribute %q", o.Path, name)
	}
	return nil
}

// sliceBuf returns a slice's length and the address of its first element
// (nil when empty), for passing Go memory without pointers to HDF5.
func sliceBuf[T any](v []T) (int, unsafe.Pointer) {
	if len(v) == 0 {
		return 0, nil
	}
	return len(v), unsafe.Pointer(&v[0])
}
