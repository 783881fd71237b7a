package hdf5

// extensibleIndex is the extensible array chunk index (datasets with one
// unlimited dimension, latest file format). Element i lives in the index
// block (i < idxElems), or in a data block of super block s, reached from
// the index block directly (first super blocks) or through a super block.
// The geometry follows libhdf5's H5EA__hdr_init.
type extensibleIndex struct {
	el         *arrayElements
	maxc       []uint64
	unlim      int
	hdr        uint64
	idxElems   uint64
	minElems   uint64
	pageElems  uint64
	offSize    int // bytes of a block offset
	sblk       []eaSuper
	iblkSupers int // super blocks whose data blocks the index block lists
	iblkElems  []byte
	dblkAddrs  []uint64
	sblkAddrs  []uint64
	blocks     map[uint64][]byte // data block or page elements by address
	supers     map[uint64][]uint64
	superPages map[uint64][]byte // page-init bitmaps by super block address
}

type eaSuper struct {
	ndblks, dblkElems, start, startDblk uint64
}

func (f *File) extensibleIndex(addr uint64, g *chunkGeometry) (chunkIndex, error) {
	if addr == undefAddr {
		return singleIndex{chunkRec{addr: undefAddr}}, nil
	}
	unlim := -1
	for i, m := range g.maxdims {
		if m == unlimited {
			if unlim >= 0 {
				return nil, corrupt("extensible array index with two unlimited dimensions")
			}
			unlim = i
		}
	}
	if unlim < 0 {
		return nil, corrupt("extensible array index without an unlimited dimension")
	}
	b, err := f.readBlock(addr, uint64(4+1+1+6+6*f.lenSize+f.offSize+4), "extensible array header")
	if err != nil {
		return nil, err
	}
	d := &decoder{b: b, f: f, what: "extensible array header"}
	d.signature("EAHD")
	d.skip(1)
	client := d.u8()
	elemSize := int(d.u8())
	maxBits := int(d.u8())
	idxElems := uint64(d.u8())
	minElems := uint64(d.u8())
	minPtrs := uint64(d.u8())
	pageBits := int(d.u8())
	for i := 0; i < 6; i++ {
		d.length()
	}
	iblk := d.addr()
	if d.err != nil {
		return nil, d.err
	}
	if (client == 1) != g.filtered || maxBits == 0 || maxBits > 64 || !isPow2(minElems) || !isPow2(minPtrs) ||
		minPtrs < 2 || pageBits > 32 || log2floor(minElems) > maxBits {
		return nil, corrupt("extensible array parameters")
	}
	el, err := newArrayElements(f, g, elemSize)
	if err != nil {
		return nil, err
	}
	ix := &extensibleIndex{el: el, maxc: maxChunkCounts(g), unlim: unlim, hdr: addr, idxElems: idxElems,
		minElems: minElems, pageElems: uint64(1) << pageBits, offSize: (maxBits + 7) / 8,
		blocks: map[uint64][]byte{}, supers: map[uint64][]uint64{}, superPages: map[uint64][]byte{}}
	nsblks := 1 + maxBits - log2floor(minElems)
	var start, startDblk uint64
	for u := 0; u < nsblks; u++ {
		s := eaSuper{ndblks: 1 << (u / 2), dblkElems: (uint64(1) << ((u + 1) / 2)) * minElems, start: start, startDblk: startDblk}
		ix.sblk = append(ix.sblk, s)
		start += s.ndblks * s.dblkElems
		startDblk += s.ndblks
	}
	ix.iblkSupers = 2 * log2floor(minPtrs)
	ndblk := 2 * (minPtrs - 1)
	nsblk := max(nsblks-ix.iblkSupers, 0)
	if iblk == undefAddr {
		return ix, nil
	}
	size := uint64(4+1+1+f.offSize) + idxElems*uint64(elemSize) + (ndblk+uint64(nsblk))*uint64(f.offSize) + 4
	blk, err := f.readBlock(iblk, size, "extensible array index block")
	if err != nil {
		return nil, err
	}
	d = &decoder{b: blk, f: f, what: "extensible array index block"}
	d.signature("EAIB")
	d.skip(2)
	if h := d.addr(); d.err == nil && h != addr {
		return nil, corrupt("extensible array index block owned by another array")
	}
	ix.iblkElems = d.bytes(int(idxElems) * elemSize)
	for i := uint64(0); i < ndblk; i++ {
		ix.dblkAddrs = append(ix.dblkAddrs, d.addr())
	}
	for i := 0; i < nsblk; i++ {
		ix.sblkAddrs = append(ix.sblkAddrs, d.addr())
	}
	return ix, d.err
}

func (ix *extensibleIndex) lookup(scaled []uint64) (chunkRec, bool, error) {
	i := linearIndex(scaled, ix.maxc, ix.unlim)
	es := uint64(ix.el.elemSize)
	if ix.iblkElems == nil {
		return chunkRec{}, false, nil
	}
	if i < ix.idxElems {
		r, ok := ix.el.decode(ix.iblkElems[i*es : (i+1)*es])
		return r, ok, nil
	}
	i -= ix.idxElems
	s := log2floor(i/ix.minElems + 1)
	if s >= len(ix.sblk) {
		return chunkRec{}, false, nil
	}
	sb := ix.sblk[s]
	if sb.dblkElems == 0 || sb.dblkElems > ix.el.f.size/es {
		return chunkRec{}, false, corrupt("extensible array data block of %d elements", sb.dblkElems)
	}
	rel := i - sb.start
	dblk := rel / sb.dblkElems
	elem := rel % sb.dblkElems
	if i < sb.start || dblk >= sb.ndblks {
		return chunkRec{}, false, corrupt("extensible array element %d outside its super block", i)
	}
	var dblkAddr uint64
	var pageInit []byte
	if s < ix.iblkSupers {
		k := sb.startDblk + dblk
		if k >= uint64(len(ix.dblkAddrs)) {
			return chunkRec{}, false, nil
		}
		dblkAddr = ix.dblkAddrs[k]
	} else {
		k := s - ix.iblkSupers
		if k >= len(ix.sblkAddrs) || ix.sblkAddrs[k] == undefAddr {
			return chunkRec{}, false, nil
		}
		addrs, pages, err := ix.superBlock(ix.sblkAddrs[k], sb)
		if err != nil {
			return chunkRec{}, false, err
		}
		dblkAddr = addrs[dblk]
		pageInit = pages
	}
	if dblkAddr == undefAddr {
		return chunkRec{}, false, nil
	}
	f := ix.el.f
	prefix := uint64(4+1+1+f.offSize+ix.offSize) + 4
	var elems []byte
	if sb.dblkElems > ix.pageElems {
		p := elem / ix.pageElems
		// The super block's page-init bits run on across its data blocks.
		if pageInit != nil && !bitSet(pageInit, dblk*(sb.dblkElems/ix.pageElems)+p) {
			return chunkRec{}, false, nil
		}
		pageAddr := dblkAddr + prefix + p*(ix.pageElems*es+4)
		b, ok := ix.blocks[pageAddr]
		if !ok {
			raw, err := f.readBlock(pageAddr, ix.pageElems*es+4, "extensible array page")
			if err != nil {
				return chunkRec{}, false, err
			}
			b = raw[:ix.pageElems*es]
			ix.blocks[pageAddr] = b
		}
		elems, elem = b, elem%ix.pageElems
	} else {
		b, ok := ix.blocks[dblkAddr]
		if !ok {
			raw, err := f.readBlock(dblkAddr, prefix+sb.dblkElems*es, "extensible array data block")
			if err != nil {
				return chunkRec{}, false, err
			}
			if string(raw[:4]) != "EADB" {
				return chunkRec{}, false, corrupt("extensible array data block signature")
			}
			b = raw[prefix-4 : prefix-4+sb.dblkElems*es]
			ix.blocks[dblkAddr] = b
		}
		elems = b
	}
	r, ok := ix.el.decode(elems[elem*es : (elem+1)*es])
	return r, ok, nil
}

// superBlock returns the data block addresses of a super block and its
// page-init bitmaps (nil when its data blocks are not paged).
func (ix *extensibleIndex) superBlock(addr uint64, sb eaSuper) ([]uint64, []byte, error) {
	if a, ok := ix.supers[addr]; ok {
		return a, ix.superPages[addr], nil
	}
	f := ix.el.f
	var bm uint64
	if sb.dblkElems > ix.pageElems {
		bm = (sb.dblkElems/ix.pageElems + 7) / 8 * sb.ndblks
	}
	if sb.ndblks > f.size {
		return nil, nil, corrupt("extensible array super block of %d data blocks", sb.ndblks)
	}
	size := uint64(4+1+1+f.offSize+ix.offSize) + bm + sb.ndblks*uint64(f.offSize) + 4
	b, err := f.readBlock(addr, size, "extensible array super block")
	if err != nil {
		return nil, nil, err
	}
	d := &decoder{b: b, f: f, what: "extensible array super block"}
	d.signature("EASB")
	d.skip(2)
	if h := d.addr(); d.err == nil && h != ix.hdr {
		return nil, nil, corrupt("extensible array super block owned by another array")
	}
	d.skip(ix.offSize)
	var pages []byte
	if bm > 0 {
		pages = d.bytes(int(bm))
	}
	addrs := make([]uint64, sb.ndblks)
	for i := range addrs {
		addrs[i] = d.addr()
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	ix.supers[addr] = addrs
	ix.superPages[addr] = pages
	return addrs, pages, nil
}
