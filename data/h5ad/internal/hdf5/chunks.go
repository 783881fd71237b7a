package hdf5

import (
	"encoding/binary"
)

// chunkRec locates one stored chunk.
type chunkRec struct {
	addr uint64
	size uint64 // stored (filtered) size in bytes
	mask uint32 // bit i set: filter i was not applied
}

// chunkIndex resolves a chunk's scaled coordinates (chunk numbers along
// each dimension) to its record; ok is false for a chunk never written.
type chunkIndex interface {
	lookup(scaled []uint64) (rec chunkRec, ok bool, err error)
}

// chunkGeometry is what every index needs to know about the dataset.
type chunkGeometry struct {
	dims, maxdims []uint64
	chunk         []uint64
	chunkBytes    uint64 // unfiltered size of a full chunk
	filtered      bool
}

// nchunks returns ceil(n / c).
func nchunks(n, c uint64) uint64 { return n/c + min(n%c, 1) }

// mapIndex holds every record of a B-tree-indexed dataset by linear chunk number.
type mapIndex struct {
	g   *chunkGeometry
	m   map[uint64]chunkRec
	cnt []uint64 // chunks per dimension (current extent)
}

func newMapIndex(g *chunkGeometry) *mapIndex {
	mi := &mapIndex{g: g, m: map[uint64]chunkRec{}}
	for i, d := range g.dims {
		mi.cnt = append(mi.cnt, nchunks(d, g.chunk[i]))
	}
	return mi
}

// add records a chunk; chunks outside the current extent are ignored
// (a dataset shrunk after writing keeps them in its index).
func (mi *mapIndex) add(scaled []uint64, rec chunkRec) {
	k := uint64(0)
	for i, s := range scaled {
		if s >= mi.cnt[i] {
			return
		}
		k = k*mi.cnt[i] + s
	}
	mi.m[k] = rec
}

func (mi *mapIndex) lookup(scaled []uint64) (chunkRec, bool, error) {
	k := uint64(0)
	for i, s := range scaled {
		k = k*mi.cnt[i] + s
	}
	r, ok := mi.m[k]
	return r, ok, nil
}

// btree1Index reads every chunk record of a version-1 B-tree (layout
// versions 1–3). Keys hold element offsets, one per dimension plus a
// trailing 0 for the element-size dimension.
func (f *File) btree1Index(addr uint64, g *chunkGeometry) (chunkIndex, error) {
	mi := newMapIndex(g)
	if addr == undefAddr {
		return mi, nil
	}
	rank := len(g.dims)
	keySize := 8 + 8*(rank+1)
	scaled := make([]uint64, rank)
	err := f.walkBTree1(addr, 1, keySize, func(key []byte, child uint64) error {
		size := uint64(binary.LittleEndian.Uint32(key))
		mask := binary.LittleEndian.Uint32(key[4:])
		for i := range scaled {
			off := binary.LittleEndian.Uint64(key[8+8*i:])
			if off%g.chunk[i] != 0 {
				return corrupt("chunk offset %d not a multiple of the chunk size %d", off, g.chunk[i])
			}
			scaled[i] = off / g.chunk[i]
		}
		mi.add(scaled, chunkRec{child, size, mask})
		return nil
	})
	return mi, err
}

// btree2Index reads every record of a version-2 B-tree chunk index
// (record type 10 unfiltered, 11 filtered).
func (f *File) btree2Index(addr uint64, g *chunkGeometry) (chunkIndex, error) {
	mi := newMapIndex(g)
	if addr == undefAddr {
		return mi, nil
	}
	typ := uint8(10)
	if g.filtered {
		typ = 11
	}
	t, err := f.openBTree2(addr, typ)
	if err != nil {
		return nil, err
	}
	rank := len(g.dims)
	sizeLen := t.recordSize - f.offSize - 8*rank
	if g.filtered {
		sizeLen -= 4
	}
	if sizeLen < 0 || g.filtered && (sizeLen < 1 || sizeLen > 8) || !g.filtered && sizeLen != 0 {
		return nil, corrupt("chunk B-tree record of %d bytes for rank %d", t.recordSize, rank)
	}
	scaled := make([]uint64, rank)
	err = t.walk(func(rec []byte) error {
		d := &decoder{b: rec, f: f, what: "chunk B-tree record"}
		r := chunkRec{addr: d.addr(), size: g.chunkBytes}
		if g.filtered {
			r.size = d.uvar(sizeLen)
			r.mask = d.u32()
		}
		for i := range scaled {
			scaled[i] = d.u64()
		}
		if d.err != nil {
			return d.err
		}
		mi.add(scaled, r)
		return nil
	})
	return mi, err
}

// linearIndex numbers chunks in row-major order over the maximum extent
// (libhdf5's max_down_chunks), with dimension first moved to the front
// (the extensible array's unlimited dimension; -1 for none).
func linearIndex(scaled, maxChunks []uint64, first int) uint64 {
	order := make([]int, 0, len(scaled))
	if first >= 0 {
		order = append(order, first)
	}
	for i := range scaled {
		if i != first {
			order = append(order, i)
		}
	}
	idx, down := uint64(0), uint64(1)
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		idx += scaled[i] * down
		down *= maxChunks[i]
	}
	return idx
}

// maxChunkCounts returns ceil(maxdim / chunk) per dimension (unlimited
// dimensions count 1: they only ever come first in the numbering).
func maxChunkCounts(g *chunkGeometry) []uint64 {
	out := make([]uint64, len(g.dims))
	for i := range out {
		m := g.dims[i]
		if g.maxdims != nil {
			m = g.maxdims[i]
		}
		if m == unlimited {
			out[i] = 1
			continue
		}
		out[i] = max(nchunks(m, g.chunk[i]), 1)
	}
	return out
}

type singleIndex struct{ rec chunkRec }

func (s singleIndex) lookup(scaled []uint64) (chunkRec, bool, error) {
	for _, x := range scaled {
		if x != 0 {
			return chunkRec{}, false, nil
		}
	}
	return s.rec, s.rec.addr != undefAddr, nil
}

type implicitIndex struct {
	base uint64
	g    *chunkGeometry
	maxc []uint64
}

func (ix implicitIndex) lookup(scaled []uint64) (chunkRec, bool, error) {
	if ix.base == undefAddr {
		return chunkRec{}, false, nil
	}
	i := linearIndex(scaled, ix.maxc, -1)
	return chunkRec{addr: ix.base + i*ix.g.chunkBytes, size: ix.g.chunkBytes}, true, nil
}

// arrayElements decodes fixed- and extensible-array chunk elements.
type arrayElements struct {
	f        *File
	elemSize int
	filtered bool
	sizeLen  int
	g        *chunkGeometry
}

func (a *arrayElements) decode(b []byte) (chunkRec, bool) {
	d := &decoder{b: b, f: a.f, what: "chunk index element"}
	r := chunkRec{addr: d.addr(), size: a.g.chunkBytes}
	if a.filtered {
		r.size = d.uvar(a.sizeLen)
		r.mask = d.u32()
	}
	return r, d.err == nil && r.addr != undefAddr
}

func newArrayElements(f *File, g *chunkGeometry, elemSize int) (*arrayElements, error) {
	a := &arrayElements{f: f, elemSize: elemSize, filtered: g.filtered, g: g}
	if g.filtered {
		a.sizeLen = elemSize - f.offSize - 4
		if a.sizeLen < 1 || a.sizeLen > 8 {
			return nil, corrupt("filtered chunk index element of %d bytes", elemSize)
		}
	} else if elemSize != f.offSize {
		return nil, corrupt("chunk index element of %d bytes", elemSize)
	}
	return a, nil
}

// bitSet reads bit i of a page-init bitmap (libhdf5's H5VM_bit_get: bit 0
// is the high bit of byte 0).
func bitSet(bitmap []byte, i uint64) bool {
	return i/8 < uint64(len(bitmap)) && bitmap[i/8]&(0x80>>(i%8)) != 0
}

// fixedArrayIndex is the fixed array chunk index (datasets whose maximum
// extent is fixed, latest file format).
type fixedArrayIndex struct {
	el        *arrayElements
	maxc      []uint64
	n         uint64 // elements
	dblock    uint64
	pageElems uint64 // 0: not paged
	prefix    uint64
	bitmap    []byte
	pages     map[uint64][]byte
	data      []byte // unpaged elements
}

func (f *File) fixedArrayIndex(addr uint64, g *chunkGeometry) (chunkIndex, error) {
	if addr == undefAddr {
		return singleIndex{chunkRec{addr: undefAddr}}, nil
	}
	b, err := f.readBlock(addr, uint64(4+1+1+1+1+f.lenSize+f.offSize+4), "fixed array header")
	if err != nil {
		return nil, err
	}
	d := &decoder{b: b, f: f, what: "fixed array header"}
	d.signature("FAHD")
	d.skip(1)
	client := d.u8()
	elemSize := int(d.u8())
	pageBits := int(d.u8())
	n := d.length()
	dblk := d.addr()
	if d.err != nil {
		return nil, d.err
	}
	if (client == 1) != g.filtered || pageBits > 32 {
		return nil, corrupt("fixed array client %d, page bits %d", client, pageBits)
	}
	el, err := newArrayElements(f, g, elemSize)
	if err != nil {
		return nil, err
	}
	if n > f.size {
		return nil, corrupt("fixed array of %d elements", n)
	}
	ix := &fixedArrayIndex{el: el, maxc: maxChunkCounts(g), n: n, dblock: dblk, pages: map[uint64][]byte{}}
	if dblk == undefAddr {
		return ix, nil
	}
	prefix := uint64(4 + 1 + 1 + f.offSize)
	if n > uint64(1)<<pageBits {
		ix.pageElems = uint64(1) << pageBits
		npages := nchunks(n, ix.pageElems)
		bm := (npages + 7) / 8
		blk, err := f.readBlock(dblk, prefix+bm+4, "fixed array data block")
		if err != nil {
			return nil, err
		}
		if string(blk[:4]) != "FADB" {
			return nil, corrupt("fixed array data block signature")
		}
		ix.bitmap = blk[prefix : prefix+bm]
		ix.prefix = prefix + bm + 4
		return ix, nil
	}
	blk, err := f.readBlock(dblk, prefix+n*uint64(elemSize)+4, "fixed array data block")
	if err != nil {
		return nil, err
	}
	if string(blk[:4]) != "FADB" {
		return nil, corrupt("fixed array data block signature")
	}
	ix.data = blk[prefix : prefix+n*uint64(elemSize)]
	return ix, nil
}

func (ix *fixedArrayIndex) lookup(scaled []uint64) (chunkRec, bool, error) {
	i := linearIndex(scaled, ix.maxc, -1)
	if i >= ix.n || ix.dblock == undefAddr {
		return chunkRec{}, false, nil
	}
	es := uint64(ix.el.elemSize)
	if ix.pageElems == 0 {
		r, ok := ix.el.decode(ix.data[i*es : (i+1)*es])
		return r, ok, nil
	}
	p := i / ix.pageElems
	if !bitSet(ix.bitmap, p) { // page never written: all its chunks are missing
		return chunkRec{}, false, nil
	}
	page, ok := ix.pages[p]
	if !ok {
		npages := nchunks(ix.n, ix.pageElems)
		elems := ix.pageElems
		if p == npages-1 {
			elems = ix.n - p*ix.pageElems
		}
		pageSize := ix.pageElems*es + 4
		b, err := ix.el.f.readBlock(ix.dblock+ix.prefix+p*pageSize, elems*es+4, "fixed array page")
		if err != nil {
			return chunkRec{}, false, err
		}
		page = b[:elems*es]
		ix.pages[p] = page
	}
	j := i - p*ix.pageElems
	r, ok := ix.el.decode(page[j*es : (j+1)*es])
	return r, ok, nil
}
