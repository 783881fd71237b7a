package hdf5

import (
	"sort"
)

// fractalHeap is an open fractal heap (dense link and attribute storage):
// its managed direct blocks, located by heap offset.
type fractalHeap struct {
	f          *File
	addr       uint64
	idLen      int
	flags      uint8
	offSize    int // bytes of a heap offset in IDs and block headers
	lenSize    int // bytes of an object length in managed IDs
	width      uint64
	startSize  uint64
	maxDirect  uint64
	firstRow   int // log2(startSize·width)
	directRows int // rows of direct blocks in an indirect block
	rowSize    []uint64
	blocks     []heapBlock // sorted by offset
	cache      map[uint64][]byte
}

type heapBlock struct {
	off, size, addr uint64
}

func isPow2(x uint64) bool { return x != 0 && x&(x-1) == 0 }

func (f *File) openFractalHeap(addr uint64) (*fractalHeap, error) {
	size := uint64(4 + 1 + 2 + 2 + 1 + 4 + 12*f.lenSize + 3*f.offSize + 2 + 2 + 2 + 2 + 4)
	b, err := f.readAt(addr, size)
	if err != nil {
		return nil, err
	}
	d := &decoder{b: b, f: f, what: "fractal heap header"}
	d.signature("FRHP")
	if v := d.u8(); d.err == nil && v != 0 {
		return nil, unsupported("fractal heap version %d", v)
	}
	h := &fractalHeap{f: f, addr: addr, cache: map[uint64][]byte{}}
	h.idLen = int(d.u16())
	filterLen := d.u16()
	h.flags = d.u8()
	maxMan := uint64(d.u32())
	d.length() // next huge ID
	d.addr()   // huge object B-tree
	d.length() // free space
	d.addr()   // free space manager
	d.length() // managed space
	d.length() // allocated managed space
	d.length() // allocation iterator offset
	d.length() // managed objects
	d.length() // huge objects size
	d.length() // huge objects count
	d.length() // tiny objects size
	d.length() // tiny objects count
	h.width = uint64(d.u16())
	h.startSize = d.length()
	h.maxDirect = d.length()
	maxBits := int(d.u16())
	d.u16() // starting rows of the root indirect block
	root := d.addr()
	rootRows := int(d.u16())
	if d.err != nil {
		return nil, d.err
	}
	if filterLen != 0 {
		return nil, unsupported("filtered fractal heap")
	}
	if err := checkSum(b[:d.pos+4], "fractal heap header"); err != nil {
		return nil, err
	}
	if !isPow2(h.width) || !isPow2(h.startSize) || !isPow2(h.maxDirect) || h.maxDirect < h.startSize ||
		maxBits < 1 || maxBits > 63 || h.idLen < 1 || h.idLen > 1<<12 {
		return nil, corrupt("fractal heap: width %d, block sizes %d–%d, %d offset bits", h.width, h.startSize, h.maxDirect, maxBits)
	}
	startBits := log2floor(h.startSize)
	h.firstRow = startBits + log2floor(h.width)
	if h.firstRow > maxBits {
		return nil, corrupt("fractal heap: first row wider than the heap")
	}
	maxRootRows := maxBits - h.firstRow + 1
	h.directRows = log2floor(h.maxDirect) - startBits + 2
	h.offSize = (maxBits + 7) / 8
	h.lenSize = min((log2floor(h.maxDirect)+7)/8, (log2floor(maxMan)+7)/8)
	h.rowSize = make([]uint64, maxRootRows)
	for r := range h.rowSize {
		h.rowSize[r] = h.startSize
		if r > 1 {
			h.rowSize[r] = h.startSize << (r - 1)
		}
	}
	if rootRows > maxRootRows {
		return nil, corrupt("fractal heap: root has %d rows, at most %d", rootRows, maxRootRows)
	}
	if root != undefAddr {
		seen := map[uint64]bool{}
		if rootRows == 0 {
			h.blocks = append(h.blocks, heapBlock{0, h.startSize, root})
		} else if err := h.indirect(root, 0, rootRows, seen, 0); err != nil {
			return nil, err
		}
	}
	sort.Slice(h.blocks, func(i, j int) bool { return h.blocks[i].off < h.blocks[j].off })
	return h, nil
}

// indirect records the direct blocks below the indirect block at addr,
// which starts at heap offset off and has nrows rows.
func (h *fractalHeap) indirect(addr, off uint64, nrows int, seen map[uint64]bool, depth int) error {
	f := h.f
	if seen[addr] || depth > maxTreeDepth {
		return corrupt("fractal heap: indirect block cycle at %d", addr)
	}
	seen[addr] = true
	if uint64(nrows)*h.width > f.size/uint64(f.offSize) {
		return corrupt("fractal heap: indirect block of %d rows", nrows)
	}
	n := uint64(nrows) * h.width
	size := uint64(5+f.offSize+h.offSize) + n*uint64(f.offSize) + 4
	b, err := f.readBlock(addr, size, "fractal heap indirect block")
	if err != nil {
		return err
	}
	d := &decoder{b: b, f: f, what: "fractal heap indirect block"}
	d.signature("FHIB")
	d.skip(1)
	if hdr := d.addr(); d.err == nil && hdr != h.addr {
		return corrupt("fractal heap indirect block owned by another heap")
	}
	if blockOff := d.uvar(h.offSize); d.err == nil && blockOff != off {
		return corrupt("fractal heap indirect block at offset %d, want %d", blockOff, off)
	}
	rowOff := off
	for r := 0; r < nrows; r++ {
		if r >= len(h.rowSize) {
			return corrupt("fractal heap: indirect block rows beyond the heap")
		}
		rs := h.rowSize[r]
		for c := uint64(0); c < h.width; c++ {
			child := d.addr()
			if d.err != nil {
				return d.err
			}
			childOff := rowOff + c*rs
			if child == undefAddr {
				continue
			}
			if r < h.directRows {
				h.blocks = append(h.blocks, heapBlock{childOff, rs, child})
				continue
			}
			childRows := log2floor(rs) - h.firstRow + 1
			if childRows < 1 || childRows > len(h.rowSize) {
				return corrupt("fractal heap: child indirect block of %d rows", childRows)
			}
			if err := h.indirect(child, childOff, childRows, seen, depth+1); err != nil {
				return err
			}
		}
		rowOff += rs * h.width
	}
	return nil
}

// object returns the bytes of the heap object with the given heap ID.
func (h *fractalHeap) object(id []byte) ([]byte, error) {
	if len(id) == 0 {
		return nil, corrupt("empty fractal heap ID")
	}
	switch (id[0] >> 4) & 3 {
	case 0: // managed
		d := &decoder{b: id[1:], f: h.f, what: "fractal heap ID"}
		off := d.uvar(h.offSize)
		n := d.uvar(h.lenSize)
		if d.err != nil {
			return nil, d.err
		}
		i := sort.Search(len(h.blocks), func(i int) bool { return h.blocks[i].off+h.blocks[i].size > off })
		if i == len(h.blocks) || h.blocks[i].off > off {
			return nil, corrupt("fractal heap object at offset %d is in no block", off)
		}
		blk := h.blocks[i]
		data, err := h.block(blk)
		if err != nil {
			return nil, err
		}
		rel := off - blk.off
		overhead := uint64(5 + h.f.offSize + h.offSize)
		if h.flags&2 != 0 {
			overhead += 4
		}
		if rel < overhead || rel > uint64(len(data)) || n > uint64(len(data))-rel {
			return nil, corrupt("fractal heap object [%d, +%d) outside its block", off, n)
		}
		return data[rel : rel+n], nil
	case 2: // tiny: stored in the ID itself
		n := int(id[0]&0x0f) + 1
		start := 1
		if len(id) > 18 {
			if len(id) < 2 {
				return nil, corrupt("fractal heap ID")
			}
			n = (int(id[0]&0x0f)<<8 | int(id[1])) + 1
			start = 2
		}
		if start+n > len(id) {
			return nil, corrupt("tiny fractal heap object longer than its ID")
		}
		return id[start : start+n], nil
	case 1:
		return nil, unsupported("huge fractal heap objects")
	}
	return nil, corrupt("fractal heap ID type")
}

func (h *fractalHeap) block(blk heapBlock) ([]byte, error) {
	if b, ok := h.cache[blk.addr]; ok {
		return b, nil
	}
	b, err := h.f.readAt(blk.addr, blk.size)
	if err != nil {
		return nil, err
	}
	d := &decoder{b: b, f: h.f, what: "fractal heap direct block"}
	d.signature("FHDB")
	d.skip(1)
	if hdr := d.addr(); d.err == nil && hdr != h.addr {
		return nil, corrupt("fractal heap direct block owned by another heap")
	}
	if off := d.uvar(h.offSize); d.err == nil && off != blk.off {
		return nil, corrupt("fractal heap direct block at offset %d, want %d", off, blk.off)
	}
	if h.flags&2 != 0 {
		p := d.pos
		stored := d.u32()
		if d.err != nil {
			return nil, d.err
		}
		tmp := append([]byte(nil), b...)
		tmp[p], tmp[p+1], tmp[p+2], tmp[p+3] = 0, 0, 0, 0
		if lookup3(tmp) != stored {
			return nil, corrupt("fractal heap direct block: checksum mismatch")
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	h.cache[blk.addr] = b
	return b, nil
}

// globalHeapObject returns object index of the global heap collection at
// addr (the storage of variable-length strings). Collections are parsed
// once per file.
func (f *File) globalHeapObject(addr uint64, index uint32) ([]byte, error) {
	f.mu.Lock()
	objs, ok := f.gheaps[addr]
	f.mu.Unlock()
	if !ok {
		var err error
		if objs, err = f.parseGlobalHeap(addr); err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.gheaps[addr] = objs
		f.mu.Unlock()
	}
	if index > 0xffff {
		return nil, corrupt("global heap object index %d", index)
	}
	b, ok := objs[uint16(index)]
	if !ok {
		return nil, corrupt("global heap collection at %d has no object %d", addr, index)
	}
	return b, nil
}

func (f *File) parseGlobalHeap(addr uint64) (map[uint16][]byte, error) {
	head, err := f.readAt(addr, uint64(8+f.lenSize))
	if err != nil {
		return nil, err
	}
	d := &decoder{b: head, f: f, what: "global heap collection"}
	d.signature("GCOL")
	d.skip(4)
	size := d.length()
	if d.err != nil {
		return nil, d.err
	}
	// Every distinct collection is parsed once; charging its size to the
	// budget bounds the work of strings that each point elsewhere.
	if err := f.spend(size, "global heap collections"); err != nil {
		return nil, err
	}
	b, err := f.readAt(addr, size)
	if err != nil {
		return nil, err
	}
	objs := map[uint16][]byte{}
	d = &decoder{b: b, f: f, what: "global heap collection"}
	d.skip(8 + f.lenSize)
	hdr := 8 + f.lenSize
	for d.err == nil && d.remaining() >= hdr {
		idx := d.u16()
		d.skip(6) // reference count, reserved
		n := d.length()
		if idx == 0 {
			break // free space: the rest of the collection
		}
		if n > uint64(d.remaining()) {
			return nil, corrupt("global heap object %d of %d bytes in a %d-byte collection", idx, n, size)
		}
		objs[idx] = d.bytes(int(n))
		d.skip(min(int((n+7)&^7-n), d.remaining()))
	}
	return objs, d.err
}
