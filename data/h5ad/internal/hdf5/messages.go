package hdf5

// Storage layouts (data layout message, layout class).
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
	layoutVirtual    = 3
)

// Chunk index types (data layout message version 4). indexBTree1 is this
// reader's name for the version-1 B-tree of layout versions 1–3.
const (
	indexBTree1      = 0
	indexSingle      = 1
	indexImplicit    = 2
	indexFixedArray  = 3
	indexExtensible  = 4
	indexBTree2      = 5
	layoutFlagNoEdge = 0x01 // do not filter partial edge chunks
	layoutFlagSingle = 0x02 // single chunk is filtered
)

type layout struct {
	class     int
	compact   []byte
	addr      uint64   // contiguous data, or the chunk index
	size      uint64   // contiguous size in bytes (0 for layout versions 1–2)
	chunk     []uint64 // chunk dimensions (without the element-size dimension)
	chunkElem uint64   // element size recorded with the chunk dimensions
	flags     uint8
	index     int
	single    struct {
		size uint64
		mask uint32
	}
}

func parseLayout(f *File, b []byte) (*layout, error) {
	d := &decoder{b: b, f: f, what: "data layout message"}
	version := d.u8()
	l := &layout{}
	if version == 1 || version == 2 {
		ndims := int(d.u8())
		l.class = int(d.u8())
		d.skip(5)
		if l.class != layoutCompact {
			l.addr = d.addr()
		}
		dims := make([]uint64, 0, ndims)
		for i := 0; i < ndims && d.err == nil; i++ {
			dims = append(dims, uint64(d.u32()))
		}
		switch l.class {
		case layoutChunked:
			if err := l.setChunkDims(dims); err != nil {
				return nil, err
			}
		case layoutCompact:
			n := int(d.u32())
			l.compact = d.bytes(n)
		}
		return l, d.err
	}
	if version != 3 && version != 4 && version != 5 {
		return nil, unsupported("data layout message version %d", version)
	}
	l.class = int(d.u8())
	switch l.class {
	case layoutCompact:
		n := int(d.u16())
		l.compact = d.bytes(n)
	case layoutContiguous:
		l.addr = d.addr()
		l.size = d.length()
	case layoutChunked:
		if version == 3 {
			ndims := int(d.u8())
			l.addr = d.addr()
			dims := make([]uint64, 0, ndims)
			for i := 0; i < ndims && d.err == nil; i++ {
				dims = append(dims, uint64(d.u32()))
			}
			if d.err != nil {
				return nil, d.err
			}
			l.index = indexBTree1
			if err := l.setChunkDims(dims); err != nil {
				return nil, err
			}
			break
		}
		l.flags = d.u8()
		ndims := int(d.u8())
		enc := int(d.u8())
		if d.err == nil && (enc < 1 || enc > 8) {
			return nil, corrupt("data layout: %d-byte chunk dimensions", enc)
		}
		dims := make([]uint64, 0, ndims)
		for i := 0; i < ndims && d.err == nil; i++ {
			dims = append(dims, d.uvar(enc))
		}
		l.index = int(d.u8())
		switch l.index {
		case indexSingle:
			if l.flags&layoutFlagSingle != 0 {
				l.single.size = d.length()
				l.single.mask = d.u32()
			}
		case indexImplicit:
		case indexFixedArray:
			d.skip(1) // page bits (also in the fixed array header)
		case indexExtensible:
			d.skip(5) // creation parameters (also in the array header)
		case indexBTree2:
			d.skip(6) // node size, split and merge percent (also in the B-tree header)
		default:
			if d.err == nil {
				return nil, unsupported("chunk index type %d", l.index)
			}
		}
		l.addr = d.addr()
		if d.err != nil {
			return nil, d.err
		}
		if err := l.setChunkDims(dims); err != nil {
			return nil, err
		}
	case layoutVirtual:
		return nil, unsupported("virtual datasets")
	default:
		return nil, corrupt("data layout class %d", l.class)
	}
	return l, d.err
}

func (l *layout) setChunkDims(dims []uint64) error {
	if len(dims) < 2 || len(dims) > 33 {
		return corrupt("chunked layout with %d dimensions", len(dims))
	}
	l.chunk, l.chunkElem = dims[:len(dims)-1], dims[len(dims)-1]
	for _, c := range l.chunk {
		if c == 0 {
			return corrupt("chunk dimension of 0")
		}
	}
	return nil
}

// Filter identifiers (H5Zpublic.h; LZF is h5py's registered filter).
const (
	filterDeflate    = 1
	filterShuffle    = 2
	filterFletcher32 = 3
	filterSzip       = 4
	filterNbit       = 5
	filterScaleOff   = 6
	filterLZF        = 32000
	filterOptional   = 0x0001
)

type filter struct {
	id    uint16
	flags uint16
	cd    []uint32
}

func parseFilters(f *File, b []byte) ([]filter, error) {
	d := &decoder{b: b, f: f, what: "filter pipeline message"}
	version := d.u8()
	n := int(d.u8())
	if version == 1 {
		d.skip(6)
	} else if version != 2 {
		return nil, unsupported("filter pipeline message version %d", version)
	}
	if n > 32 {
		return nil, corrupt("filter pipeline of %d filters", n)
	}
	out := make([]filter, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var fl filter
		fl.id = d.u16()
		nameLen := 0
		if version == 1 || fl.id >= 256 {
			nameLen = int(d.u16())
		}
		fl.flags = d.u16()
		ncd := int(d.u16())
		d.skip(nameLen)
		if ncd > 256 {
			return nil, corrupt("filter with %d parameters", ncd)
		}
		for j := 0; j < ncd; j++ {
			fl.cd = append(fl.cd, d.u32())
		}
		if version == 1 && ncd%2 == 1 {
			d.skip(4)
		}
		out = append(out, fl)
	}
	return out, d.err
}

// parseFill returns the fill value bytes of a fill value message (type 5,
// versions 1–3) or of the old fill value message (type 4); nil means the
// default (all zero bytes).
func parseFill(f *File, m *message) ([]byte, error) {
	d := &decoder{b: m.data, f: f, what: "fill value message"}
	if m.typ == msgFillOld {
		n := int(d.u32())
		return d.bytes(n), d.err
	}
	version := d.u8()
	defined := false
	switch version {
	case 1, 2:
		d.skip(2) // allocation and write times
		defined = d.u8() != 0
		if version == 1 || defined {
			n := int(d.u32())
			v := d.bytes(n)
			if defined {
				return v, d.err
			}
		}
		return nil, d.err
	case 3:
		flags := d.u8()
		if flags&0x20 != 0 {
			n := int(d.u32())
			return d.bytes(n), d.err
		}
		return nil, d.err
	}
	return nil, unsupported("fill value message version %d", version)
}

// Link types.
const (
	linkHard     = 0
	linkSoft     = 1
	linkExternal = 64
)

type link struct {
	name string
	typ  uint8
	addr uint64
}

func parseLink(f *File, b []byte) (link, error) {
	d := &decoder{b: b, f: f, what: "link message"}
	var l link
	if v := d.u8(); d.err == nil && v != 1 {
		return l, corrupt("link message version %d", v)
	}
	flags := d.u8()
	if flags&0x08 != 0 {
		l.typ = d.u8()
	}
	if flags&0x04 != 0 {
		d.skip(8) // creation order
	}
	if flags&0x10 != 0 {
		d.skip(1) // character set
	}
	n := int(d.uvar(1 << (flags & 3)))
	l.name = string(d.bytes(n))
	if l.typ == linkHard {
		l.addr = d.addr()
	}
	if d.err == nil && n == 0 {
		return l, corrupt("link with an empty name")
	}
	return l, d.err
}

// storageInfo is a link info or attribute info message: where dense
// storage lives (fractal heap and name-index v2 B-tree), if it is used.
type storageInfo struct {
	heap, nameIndex uint64
}

func parseStorageInfo(f *File, b []byte, attr bool) (storageInfo, error) {
	what := "link info message"
	if attr {
		what = "attribute info message"
	}
	d := &decoder{b: b, f: f, what: what}
	var s storageInfo
	if v := d.u8(); d.err == nil && v != 0 {
		return s, unsupported("%s version %d", what, v)
	}
	flags := d.u8()
	if flags&1 != 0 {
		if attr {
			d.skip(2)
		} else {
			d.skip(8)
		}
	}
	s.heap = d.addr()
	s.nameIndex = d.addr()
	return s, d.err
}

// Attribute is one attribute of an object: its name, type, shape and raw
// value bytes (variable-length elements hold global heap references).
type Attribute struct {
	Name  string
	Type  *Datatype
	space *dataspace
	data  []byte
	f     *File
}

// Dims returns the attribute's dimensions (empty for a scalar).
func (a *Attribute) Dims() []uint64 { return a.space.dims }

func parseAttribute(f *File, b []byte) (*Attribute, error) {
	d := &decoder{b: b, f: f, what: "attribute message"}
	version := d.u8()
	flags := uint8(0)
	if version == 1 {
		d.skip(1)
	} else if version == 2 || version == 3 {
		flags = d.u8()
	} else {
		return nil, unsupported("attribute message version %d", version)
	}
	nameLen, typeLen, spaceLen := int(d.u16()), int(d.u16()), int(d.u16())
	if version == 3 {
		d.skip(1) // name character set
	}
	pad := func(n int) int {
		if version == 1 {
			return (n + 7) &^ 7
		}
		return n
	}
	name := d.bytes(pad(nameLen))
	tb := d.bytes(pad(typeLen))
	sb := d.bytes(pad(spaceLen))
	if d.err != nil {
		return nil, d.err
	}
	if flags&0x03 != 0 {
		return nil, unsupported("shared datatype or dataspace in an attribute")
	}
	if nameLen > 0 && nameLen <= len(name) {
		name = name[:nameLen]
	}
	if i := indexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	t, _, err := parseDatatype(f, tb, 0)
	if err != nil {
		return nil, err
	}
	s, err := parseDataspace(f, sb)
	if err != nil {
		return nil, err
	}
	n, err := s.count()
	if err != nil {
		return nil, err
	}
	if n > uint64(d.remaining())/uint64(t.Size) {
		return nil, corrupt("attribute %q: %d values of %d bytes in a %d-byte message", name, n, t.Size, len(b))
	}
	a := &Attribute{Name: string(name), Type: t, space: s, f: f}
	a.data = d.bytes(int(n) * t.Size)
	return a, d.err
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
