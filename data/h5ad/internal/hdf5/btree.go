package hdf5

import "fmt"

// maxTreeDepth bounds B-tree descent; real trees are a handful of levels.
const maxTreeDepth = 64

// walkBTree1 visits every leaf entry of the version-1 B-tree at addr: for a
// group tree (nodeType 0) the children are symbol table node addresses and
// keySize is the length size; for a chunk tree (nodeType 1) the keys are
// chunk records of keySize bytes, passed to visit with each child address.
// Node levels must strictly decrease, which (with the visited set) makes
// every walk finite.
func (f *File) walkBTree1(addr uint64, nodeType uint8, keySize int, visit func(key []byte, child uint64) error) error {
	seen := map[uint64]bool{}
	var walk func(addr uint64, wantLevel int) error
	walk = func(addr uint64, wantLevel int) error {
		if seen[addr] {
			return corrupt("B-tree cycle at %d", addr)
		}
		seen[addr] = true
		hdrSize := uint64(8 + 2*f.offSize)
		head, err := f.readAt(addr, hdrSize)
		if err != nil {
			return err
		}
		d := &decoder{b: head, f: f, what: "B-tree node"}
		d.signature("TREE")
		typ, level, n := d.u8(), int(d.u8()), uint64(d.u16())
		if d.err != nil {
			return d.err
		}
		if typ != nodeType {
			return corrupt("B-tree node of type %d, want %d", typ, nodeType)
		}
		if wantLevel >= 0 && level != wantLevel {
			return corrupt("B-tree node at level %d, want %d", level, wantLevel)
		}
		entry := uint64(keySize + f.offSize)
		body, err := f.readAt(addr+hdrSize, n*entry+uint64(keySize))
		if err != nil {
			return err
		}
		bd := &decoder{b: body, f: f, what: "B-tree node"}
		for i := uint64(0); i < n; i++ {
			key := bd.bytes(keySize)
			child := bd.addr()
			if bd.err != nil {
				return bd.err
			}
			if level > 0 {
				if err := walk(child, level-1); err != nil {
					return err
				}
			} else if err := visit(key, child); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(addr, -1)
}

// localHeap returns the data segment of the local heap at addr.
func (f *File) localHeap(addr uint64) ([]byte, error) {
	head, err := f.readAt(addr, uint64(8+2*f.lenSize+f.offSize))
	if err != nil {
		return nil, err
	}
	d := &decoder{b: head, f: f, what: "local heap"}
	d.signature("HEAP")
	d.skip(4) // version, reserved
	size := d.length()
	d.length() // free list
	data := d.addr()
	if d.err != nil {
		return nil, d.err
	}
	return f.readAt(data, size)
}

// heapString returns the NUL-terminated string at off in a local heap.
func heapString(heap []byte, off uint64) (string, error) {
	if off >= uint64(len(heap)) {
		return "", corrupt("name offset %d outside the %d-byte local heap", off, len(heap))
	}
	s := heap[off:]
	i := indexByte(s, 0)
	if i < 0 {
		return "", corrupt("unterminated name in the local heap")
	}
	return string(s[:i]), nil
}

// symbolTableLinks lists the links of an old-style group (symbol table
// message: a version-1 B-tree of symbol table nodes plus a local heap).
func (f *File) symbolTableLinks(m *message) ([]link, error) {
	d := &decoder{b: m.data, f: f, what: "symbol table message"}
	tree, heapAddr := d.addr(), d.addr()
	if d.err != nil {
		return nil, d.err
	}
	heap, err := f.localHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	var links []link
	entrySize := uint64(2*f.offSize + 24)
	err = f.walkBTree1(tree, 0, f.lenSize, func(_ []byte, snod uint64) error {
		head, err := f.readAt(snod, 8)
		if err != nil {
			return err
		}
		d := &decoder{b: head, f: f, what: "symbol table node"}
		d.signature("SNOD")
		d.skip(2)
		n := uint64(d.u16())
		if d.err != nil {
			return d.err
		}
		body, err := f.readAt(snod+8, n*entrySize)
		if err != nil {
			return err
		}
		bd := &decoder{b: body, f: f, what: "symbol table node"}
		for i := uint64(0); i < n; i++ {
			nameOff := bd.uvar(f.offSize)
			obj := bd.addr()
			bd.skip(24)
			if bd.err != nil {
				return bd.err
			}
			name, err := heapString(heap, nameOff)
			if err != nil {
				return err
			}
			links = append(links, link{name: name, typ: linkHard, addr: obj})
		}
		return nil
	})
	return links, err
}

// btree2 is an open version-2 B-tree header.
type btree2 struct {
	f          *File
	typ        uint8
	nodeSize   uint64
	recordSize int
	depth      int
	root       uint64
	rootN      uint64
	// per depth: bytes of the child record count and of the total count
	maxNrecSize int
	cumNrecSize []int
}

func (f *File) openBTree2(addr uint64, wantType uint8) (*btree2, error) {
	size := uint64(4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + f.offSize + 2 + f.lenSize + 4)
	b, err := f.readBlock(addr, size, "v2 B-tree header")
	if err != nil {
		return nil, err
	}
	d := &decoder{b: b, f: f, what: "v2 B-tree header"}
	d.signature("BTHD")
	if v := d.u8(); d.err == nil && v != 0 {
		return nil, unsupported("v2 B-tree version %d", v)
	}
	t := &btree2{f: f}
	t.typ = d.u8()
	t.nodeSize = uint64(d.u32())
	t.recordSize = int(d.u16())
	t.depth = int(d.u16())
	d.skip(2)
	t.root = d.addr()
	t.rootN = uint64(d.u16())
	d.length() // total records
	if d.err != nil {
		return nil, d.err
	}
	if t.typ != wantType {
		return nil, corrupt("v2 B-tree of type %d, want %d", t.typ, wantType)
	}
	if t.recordSize == 0 || t.nodeSize < 16 || t.nodeSize > f.size || t.depth > maxTreeDepth {
		return nil, corrupt("v2 B-tree with record size %d, node size %d, depth %d", t.recordSize, t.nodeSize, t.depth)
	}
	// Sizes of the record counts in internal node pointers, as libhdf5's
	// H5B2__hdr_init computes them.
	const prefix = 10 // signature, version, type, checksum
	maxLeaf := (t.nodeSize - prefix) / uint64(t.recordSize)
	if maxLeaf == 0 {
		return nil, corrupt("v2 B-tree nodes hold no records")
	}
	t.maxNrecSize = bytesFor(maxLeaf)
	t.cumNrecSize = make([]int, t.depth+1)
	cum := maxLeaf
	for u := 1; u <= t.depth; u++ {
		ptr := uint64(f.offSize + t.maxNrecSize)
		if u > 1 {
			ptr += uint64(t.cumNrecSize[u-1])
		}
		if t.nodeSize < prefix+ptr {
			return nil, corrupt("v2 B-tree node too small")
		}
		maxInt := (t.nodeSize - (prefix + ptr)) / (uint64(t.recordSize) + ptr)
		next := (maxInt+1)*cum + maxInt
		if next < cum { // overflow: saturate
			next = ^uint64(0) >> 1
		}
		cum = next
		t.cumNrecSize[u] = bytesFor(cum)
	}
	return t, nil
}

// walk calls visit for every record of the tree.
func (t *btree2) walk(visit func(rec []byte) error) error {
	if t.root == undefAddr || t.rootN == 0 && t.depth == 0 {
		return nil
	}
	f := t.f
	seen := map[uint64]bool{}
	var node func(addr, n uint64, depth int) error
	node = func(addr, n uint64, depth int) error {
		if seen[addr] {
			return corrupt("v2 B-tree cycle at %d", addr)
		}
		seen[addr] = true
		b, err := f.readAt(addr, t.nodeSize)
		if err != nil {
			return err
		}
		d := &decoder{b: b, f: f, what: "v2 B-tree node"}
		sig := "BTLF"
		if depth > 0 {
			sig = "BTIN"
		}
		d.signature(sig)
		d.skip(1)
		if typ := d.u8(); d.err == nil && typ != t.typ {
			return corrupt("v2 B-tree node of type %d", typ)
		}
		if n > uint64(len(b))/uint64(t.recordSize) {
			return corrupt("v2 B-tree node with %d records", n)
		}
		recs := d.bytes(int(n) * t.recordSize)
		if depth == 0 {
			d.skip(4)
			if d.err != nil {
				return d.err
			}
			if err := checkSum(b[:d.pos], "v2 B-tree leaf"); err != nil {
				return err
			}
			for i := uint64(0); i < n; i++ {
				if err := visit(recs[int(i)*t.recordSize : int(i+1)*t.recordSize]); err != nil {
					return err
				}
			}
			return nil
		}
		type child struct{ addr, n uint64 }
		kids := make([]child, 0, n+1)
		for i := uint64(0); i <= n && d.err == nil; i++ {
			a := d.addr()
			c := d.uvar(t.maxNrecSize)
			if depth > 1 {
				d.uvar(t.cumNrecSize[depth-1])
			}
			kids = append(kids, child{a, c})
		}
		d.skip(4)
		if d.err != nil {
			return d.err
		}
		if err := checkSum(b[:d.pos], "v2 B-tree internal node"); err != nil {
			return err
		}
		for i, k := range kids {
			if err := node(k.addr, k.n, depth-1); err != nil {
				return err
			}
			if i < int(n) {
				if err := visit(recs[i*t.recordSize : (i+1)*t.recordSize]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := node(t.root, t.rootN, t.depth); err != nil {
		return fmt.Errorf("v2 B-tree: %w", err)
	}
	return nil
}
