package hdf5

import "fmt"

// Class is an HDF5 datatype class.
type Class uint8

// The datatype classes of the HDF5 format (datatype message, class field).
const (
	ClassInt       Class = 0 // fixed-point
	ClassFloat     Class = 1
	ClassTime      Class = 2
	ClassString    Class = 3
	ClassBitfield  Class = 4
	ClassOpaque    Class = 5
	ClassCompound  Class = 6
	ClassReference Class = 7
	ClassEnum      Class = 8
	ClassVlen      Class = 9
	ClassArray     Class = 10
)

// Datatype is a decoded datatype message. Only what reading numbers,
// booleans and strings needs is kept.
type Datatype struct {
	Class     Class
	Size      int  // bytes per element in the file
	BigEndian bool // integers, floats, enum bases
	Signed    bool // integers
	// VarString marks a variable-length string (class vlen, type string);
	// FixedString is class string. StrPad is the padding of either
	// (0 null-terminated, 1 null-padded, 2 space-padded).
	VarString bool
	StrPad    int
	// Base is the base type of an enum or variable-length type.
	Base *Datatype
	// ieee says a float has the standard IEEE 754 binary16/32/64 layout.
	ieee bool
	// plainInt says an integer uses all of its bytes (offset 0, full precision).
	plainInt bool
}

func (t *Datatype) String() string {
	switch t.Class {
	case ClassInt:
		if t.Signed {
			return fmt.Sprintf("int%d", 8*t.Size)
		}
		return fmt.Sprintf("uint%d", 8*t.Size)
	case ClassFloat:
		return fmt.Sprintf("float%d", 8*t.Size)
	case ClassString:
		return fmt.Sprintf("fixed-length string (%d bytes)", t.Size)
	case ClassVlen:
		if t.VarString {
			return "variable-length string"
		}
		return "variable-length sequence"
	case ClassEnum:
		return "enum of " + t.Base.String()
	}
	return fmt.Sprintf("datatype class %d", t.Class)
}

const maxTypeDepth = 8

// parseDatatype decodes a datatype message from b and returns it with the
// number of bytes it used (0 when the class's length is unknown and only
// the caller's message size bounds it).
func parseDatatype(f *File, b []byte, depth int) (*Datatype, int, error) {
	if depth > maxTypeDepth {
		return nil, 0, corrupt("datatype nested more than %d deep", maxTypeDepth)
	}
	d := &decoder{b: b, f: f, what: "datatype message"}
	cv := d.u8()
	flags := d.uvar(3)
	size := d.u32()
	if d.err != nil {
		return nil, 0, d.err
	}
	t := &Datatype{Class: Class(cv & 0x0f), Size: int(size)}
	if size == 0 || size > 1<<24 {
		return nil, 0, corrupt("datatype of %d bytes", size)
	}
	switch t.Class {
	case ClassInt:
		t.BigEndian = flags&1 != 0
		t.Signed = flags&8 != 0
		off, prec := d.u16(), d.u16()
		t.plainInt = off == 0 && int(prec) == 8*t.Size
	case ClassFloat:
		order := flags&1 | (flags>>5)&2 // bit 0 and bit 6
		t.BigEndian = order == 1
		off, prec := d.u16(), d.u16()
		eloc, esize, mloc, msize := d.u8(), d.u8(), d.u8(), d.u8()
		bias := d.u32()
		sign := (flags >> 8) & 0xff
		norm := (flags >> 4) & 3
		switch {
		case order > 1, off != 0, norm != 2:
		case t.Size == 2 && prec == 16 && eloc == 10 && esize == 5 && mloc == 0 && msize == 10 && bias == 15 && sign == 15,
			t.Size == 4 && prec == 32 && eloc == 23 && esize == 8 && mloc == 0 && msize == 23 && bias == 127 && sign == 31,
			t.Size == 8 && prec == 64 && eloc == 52 && esize == 11 && mloc == 0 && msize == 52 && bias == 1023 && sign == 63:
			t.ieee = true
		}
	case ClassString:
		t.StrPad = int(flags & 0x0f)
	case ClassEnum:
		base, _, err := parseDatatype(f, b[d.pos:], depth+1)
		if err != nil {
			return nil, 0, err
		}
		if base.Class != ClassInt {
			return nil, 0, corrupt("enum with a %s base", base)
		}
		t.Base, t.BigEndian = base, base.BigEndian
		if base.Size != t.Size {
			return nil, 0, corrupt("enum of %d bytes with a %d-byte base", t.Size, base.Size)
		}
		return t, 0, nil // member names and values follow; not needed
	case ClassVlen:
		t.VarString = flags&0x0f == 1
		t.StrPad = int(flags>>4) & 0x0f
		base, n, err := parseDatatype(f, b[d.pos:], depth+1)
		if err != nil {
			return nil, 0, err
		}
		t.Base = base
		if want := 4 + f.offSize + 4; t.Size != want {
			return nil, 0, corrupt("variable-length type of %d bytes, want %d", t.Size, want)
		}
		if n == 0 {
			return t, 0, nil
		}
		return t, d.pos + n, nil
	default:
		return t, 0, nil // compound, array, reference, ...: recognised, not decoded
	}
	if d.err != nil {
		return nil, 0, d.err
	}
	return t, d.pos, nil
}

// unlimited is H5S_UNLIMITED in a dataspace's maximum dimensions.
const unlimited = ^uint64(0)

// dataspace is a decoded dataspace message.
type dataspace struct {
	dims    []uint64
	maxdims []uint64 // nil when not stored (= dims)
	null    bool     // no elements at all
}

// scalar reports a rank-0 dataspace holding one element.
func (s *dataspace) scalar() bool { return !s.null && len(s.dims) == 0 }

// count returns the number of elements, or an error when it overflows.
func (s *dataspace) count() (uint64, error) {
	if s.null {
		return 0, nil
	}
	n := uint64(1)
	for _, d := range s.dims {
		if d != 0 && n > (1<<62)/d {
			return 0, corrupt("dataspace %v has too many elements", s.dims)
		}
		n *= d
	}
	return n, nil
}

func parseDataspace(f *File, b []byte) (*dataspace, error) {
	d := &decoder{b: b, f: f, what: "dataspace message"}
	version := d.u8()
	rank := int(d.u8())
	flags := d.u8()
	s := &dataspace{}
	switch version {
	case 1:
		d.skip(5)
	case 2:
		switch d.u8() {
		case 0: // scalar
			rank = 0
		case 1: // simple
		case 2:
			s.null = true
			rank = 0
		default:
			return nil, corrupt("dataspace type")
		}
	default:
		return nil, unsupported("dataspace message version %d", version)
	}
	if rank > 32 {
		return nil, corrupt("dataspace of rank %d", rank)
	}
	s.dims = make([]uint64, rank)
	for i := range s.dims {
		s.dims[i] = d.length()
	}
	if flags&1 != 0 {
		s.maxdims = make([]uint64, rank)
		for i := range s.maxdims {
			v := d.length()
			if f.lenSize < 8 && v == 1<<(8*f.lenSize)-1 {
				v = unlimited
			}
			s.maxdims[i] = v
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}
