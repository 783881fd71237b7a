package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

type dataset struct {
	space   *dataspace
	dtype   *Datatype
	layout  *layout
	filters []filter
	fill    []byte // nil: all zero bytes
}

func parseDataset(f *File, msgs []message) (*dataset, error) {
	ds := &dataset{}
	var err error
	if ds.space, err = parseDataspace(f, findMessage(msgs, msgDataspace).data); err != nil {
		return nil, err
	}
	m := findMessage(msgs, msgDatatype)
	if m.flags&msgFlagShared != 0 {
		return nil, unsupported("shared (committed) datatype")
	}
	if ds.dtype, _, err = parseDatatype(f, m.data, 0); err != nil {
		return nil, err
	}
	lm := findMessage(msgs, msgLayout)
	if lm == nil {
		return nil, corrupt("dataset without a data layout message")
	}
	if ds.layout, err = parseLayout(f, lm.data); err != nil {
		return nil, err
	}
	if findMessage(msgs, msgExternal) != nil {
		return nil, unsupported("external data files")
	}
	if fm := findMessage(msgs, msgFilters); fm != nil {
		if ds.filters, err = parseFilters(f, fm.data); err != nil {
			return nil, err
		}
	}
	fm := findMessage(msgs, msgFill)
	if fm == nil {
		fm = findMessage(msgs, msgFillOld)
	}
	if fm != nil {
		fill, err := parseFill(f, fm)
		if err != nil {
			return nil, err
		}
		if len(fill) == ds.dtype.Size && ds.dtype.Class != ClassVlen && !allZero(fill) {
			ds.fill = fill
		}
	}
	if l := ds.layout; l.class == layoutChunked {
		if len(l.chunk) != len(ds.space.dims) {
			return nil, corrupt("chunks of rank %d for a dataset of rank %d", len(l.chunk), len(ds.space.dims))
		}
		if l.chunkElem != uint64(ds.dtype.Size) {
			return nil, corrupt("chunk element size %d for a %d-byte type", l.chunkElem, ds.dtype.Size)
		}
	}
	if _, err := ds.space.count(); err != nil {
		return nil, err
	}
	return ds, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// Dims returns a dataset's dimensions (empty for a scalar).
func (o *Object) Dims() []uint64 {
	if o.ds == nil {
		return nil
	}
	return o.ds.space.dims
}

// Type returns a dataset's datatype (nil for a group).
func (o *Object) Type() *Datatype {
	if o.ds == nil {
		return nil
	}
	return o.ds.dtype
}

// Number is the set of Go types numeric data can be read into.
type Number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// ReadRows reads rows [start, start+count) along a dataset's first
// dimension (count < 0: the whole dataset, which is how a scalar is read),
// converted to T. Integer, enum and IEEE float data convert to a float T
// (rounded to nearest); integer and enum data convert to an integer T when
// every value fits (otherwise an error); float data never converts to an
// integer T. Chunks never written read as the fill value.
func ReadRows[T Number](o *Object, start, count int) ([]T, error) {
	ds := o.ds
	if ds == nil {
		return nil, fmt.Errorf("%s: not a dataset", o.path)
	}
	if err := numericCheck[T](ds.dtype); err != nil {
		return nil, fmt.Errorf("%s: %w", o.path, err)
	}
	r0, r1, n, err := ds.selection(start, count)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.path, err)
	}
	p, err := ds.plan(o.f, r0, r1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.path, err)
	}
	var zero T
	size := uint64(unsafe.Sizeof(zero))
	if err := o.f.spend(n*size, o.path); err != nil {
		return nil, err
	}
	out := make([]T, n)
	if n == 0 {
		return out, nil
	}
	direct := sameLayout[T](ds.dtype)
	outBytes := unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), n*size)
	var put sink
	if direct {
		put.raw = func(dst, cnt uint64) []byte { return outBytes[dst*size : (dst+cnt)*size] }
		put.put = func(dst, cnt uint64, src []byte) error {
			copy(outBytes[dst*size:(dst+cnt)*size], src)
			return nil
		}
	} else {
		put.put = func(dst, cnt uint64, src []byte) error { return convert(out[dst:dst+cnt], src, ds.dtype) }
	}
	err = ds.read(o.f, r0, r1, p, put)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.path, err)
	}
	return out, nil
}

// ReadStrings reads a 1-D (or scalar) dataset of fixed- or variable-length
// strings. Each string ends at its first NUL byte, as C strings do.
func ReadStrings(o *Object) ([]string, error) {
	ds := o.ds
	if ds == nil {
		return nil, fmt.Errorf("%s: not a dataset", o.path)
	}
	t := ds.dtype
	if t.Class != ClassString && !(t.Class == ClassVlen && t.VarString) {
		return nil, fmt.Errorf("%s: %s is not a string type", o.path, t)
	}
	r0, r1, n, err := ds.selection(0, -1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.path, err)
	}
	p, err := ds.plan(o.f, r0, r1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.path, err)
	}
	es := uint64(t.Size)
	if err := o.f.spend(n*(es+16), o.path); err != nil {
		return nil, err
	}
	raw := make([]byte, n*es)
	err = ds.read(o.f, r0, r1, p, sink{
		put: func(dst, cnt uint64, src []byte) error {
			copy(raw[dst*es:(dst+cnt)*es], src)
			return nil
		},
		raw: func(dst, cnt uint64) []byte { return raw[dst*es : (dst+cnt)*es] },
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.path, err)
	}
	s, err := decodeStrings(o.f, t, raw, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.path, err)
	}
	return s, nil
}

// Strings returns a string attribute's values (fixed or variable length).
func (a *Attribute) Strings() ([]string, error) {
	t := a.Type
	if t.Class != ClassString && !(t.Class == ClassVlen && t.VarString) {
		return nil, fmt.Errorf("attribute %q: %s is not a string type", a.Name, t)
	}
	n, _ := a.space.count()
	return decodeStrings(a.f, t, a.data, n)
}

// Int64s returns a numeric attribute's values as int64: integers and enums
// as they are, floats truncated toward zero (as a C cast does).
func (a *Attribute) Int64s() ([]int64, error) {
	n, _ := a.space.count()
	if a.Type.Class == ClassFloat {
		if err := numericCheck[float64](a.Type); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
		}
		v := make([]float64, n)
		if err := convert(v, a.data, a.Type); err != nil {
			return nil, err
		}
		out := make([]int64, n)
		for i, x := range v {
			if !(x > -9.3e18 && x < 9.3e18) {
				return nil, fmt.Errorf("attribute %q: value %v is not an integer", a.Name, x)
			}
			out[i] = int64(x)
		}
		return out, nil
	}
	if err := numericCheck[int64](a.Type); err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	out := make([]int64, n)
	return out, convert(out, a.data, a.Type)
}

// selection checks a row range and returns it with its element count.
func (ds *dataset) selection(start, count int) (r0, r1, n uint64, err error) {
	dims := ds.space.dims
	total, _ := ds.space.count()
	if len(dims) == 0 {
		if start != 0 || count >= 0 && uint64(count) != total {
			return 0, 0, 0, fmt.Errorf("rows [%d,%d) of a scalar", start, start+count)
		}
		return 0, total, total, nil
	}
	if count < 0 {
		start, count = 0, int(min(dims[0], math.MaxInt))
	}
	if start < 0 || uint64(start) > dims[0] || uint64(count) > dims[0]-uint64(start) {
		return 0, 0, 0, fmt.Errorf("rows [%d,%d) out of range for %d rows", start, start+count, dims[0])
	}
	r0, r1 = uint64(start), uint64(start+count)
	if dims[0] == 0 {
		return r0, r1, 0, nil
	}
	return r0, r1, (r1 - r0) * (total / dims[0]), nil
}

// first returns the linear index of the first element of row r.
func (ds *dataset) first(r uint64) uint64 {
	if len(ds.space.dims) == 0 || ds.space.dims[0] == 0 {
		return 0
	}
	total, _ := ds.space.count()
	return r * (total / ds.space.dims[0])
}

func (ds *dataset) checkContiguous() error {
	total, _ := ds.space.count()
	need := total * uint64(ds.dtype.Size)
	if ds.layout.size != 0 && ds.layout.size < need {
		return corrupt("contiguous storage of %d bytes for %d bytes of data", ds.layout.size, need)
	}
	return nil
}

// sink receives the selection: put gets raw file bytes for cnt elements
// starting at element dst of the selection; raw, when the output holds
// file bytes as they are, returns the output bytes for such a range so
// unfiltered data can be read straight into it. Chunked reads use a sink
// from several goroutines, for disjoint ranges.
type sink struct {
	put func(dst, cnt uint64, src []byte) error
	raw func(dst, cnt uint64) []byte
}

// readPlan is what plan learned: the elements to read and, for chunked
// data, the chunks involved.
type readPlan struct {
	first, n uint64
	g        *chunkGeometry
	jobs     []chunkJob
}

// plan checks, before anything is allocated, that rows [r0, r1) can come
// from the file: compact and contiguous data must lie within the message
// or the file, and a chunked dataset's index is resolved.
func (ds *dataset) plan(f *File, r0, r1 uint64) (*readPlan, error) {
	es := uint64(ds.dtype.Size)
	p := &readPlan{first: ds.first(r0)}
	p.n = ds.first(r1) - p.first
	if len(ds.space.dims) == 0 {
		p.n, _ = ds.space.count()
	}
	if p.n == 0 {
		return p, nil
	}
	if p.n > uint64(max(f.budget.Load(), 0))/es {
		return nil, corrupt("%d elements of %d bytes, more than a %d-byte HDF5 file can hold", p.n, es, f.size)
	}
	l := ds.layout
	switch l.class {
	case layoutCompact:
		if uint64(len(l.compact))/es < p.first+p.n {
			return nil, corrupt("compact data of %d bytes for %d elements", len(l.compact), p.first+p.n)
		}
	case layoutContiguous:
		if l.addr == undefAddr {
			break
		}
		if err := ds.checkContiguous(); err != nil {
			return nil, err
		}
		if room := f.size - min(f.size, f.base+l.addr); p.first+p.n > room/es {
			return nil, corrupt("contiguous data of %d elements at %d beyond the end of the %d-byte file", p.first+p.n, l.addr, f.size)
		}
	case layoutChunked:
		var err error
		if p.g, p.jobs, err = ds.chunkJobs(f, r0, r1); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// read delivers rows [r0, r1) of the dataset, as planned, to put.
func (ds *dataset) read(f *File, r0, r1 uint64, p *readPlan, put sink) error {
	es := uint64(ds.dtype.Size)
	first, n := p.first, p.n
	if n == 0 {
		return nil
	}
	l := ds.layout
	switch l.class {
	case layoutCompact:
		return put.put(0, n, l.compact[first*es:(first+n)*es])
	case layoutContiguous:
		if l.addr == undefAddr {
			return ds.putFill(0, n, put)
		}
		if put.raw != nil {
			return f.readInto(put.raw(0, n), l.addr+first*es)
		}
		block := max(1, (4<<20)/es)
		buf := make([]byte, min(n, block)*es)
		for done := uint64(0); done < n; {
			k := min(n-done, block)
			if err := f.readInto(buf[:k*es], l.addr+(first+done)*es); err != nil {
				return err
			}
			if err := put.put(done, k, buf[:k*es]); err != nil {
				return err
			}
			done += k
		}
		return nil
	case layoutChunked:
		return ds.readChunks(f, r0, r1, p, put)
	}
	return corrupt("data layout class %d", l.class)
}

// putFill delivers the fill value for cnt elements (nothing to do when it
// is all zero: outputs start zeroed).
func (ds *dataset) putFill(dst, cnt uint64, put sink) error {
	if ds.fill == nil {
		return nil
	}
	es := uint64(len(ds.fill))
	block := max(1, min(cnt, (1<<20)/es))
	buf := bytes.Repeat(ds.fill, int(block))
	for done := uint64(0); done < cnt; {
		k := min(cnt-done, block)
		if err := put.put(dst+done, k, buf[:k*es]); err != nil {
			return err
		}
		done += k
	}
	return nil
}

func (ds *dataset) chunkIndex(f *File, g *chunkGeometry) (chunkIndex, error) {
	l := ds.layout
	switch l.index {
	case indexBTree1:
		return f.btree1Index(l.addr, g)
	case indexSingle:
		size, mask := g.chunkBytes, uint32(0)
		if l.flags&layoutFlagSingle != 0 {
			size, mask = l.single.size, l.single.mask
		}
		return singleIndex{chunkRec{addr: l.addr, size: size, mask: mask}}, nil
	case indexImplicit:
		return implicitIndex{base: l.addr, g: g, maxc: maxChunkCounts(g)}, nil
	case indexFixedArray:
		return f.fixedArrayIndex(l.addr, g)
	case indexExtensible:
		return f.extensibleIndex(l.addr, g)
	case indexBTree2:
		return f.btree2Index(l.addr, g)
	}
	return nil, unsupported("chunk index type %d", l.index)
}

type chunkJob struct {
	scaled []uint64
	rec    chunkRec
	stored bool
}

// chunkJobs resolves the chunks that rows [r0, r1) touch: stored ones,
// and missing ones when the fill value is not zero.
func (ds *dataset) chunkJobs(f *File, r0, r1 uint64) (*chunkGeometry, []chunkJob, error) {
	l := ds.layout
	dims := ds.space.dims
	rank := len(dims)
	es := uint64(ds.dtype.Size)
	chunkElems := uint64(1)
	for _, c := range l.chunk {
		if chunkElems > (1<<40)/c {
			return nil, nil, corrupt("chunk of more than 2^40 elements")
		}
		chunkElems *= c
	}
	g := &chunkGeometry{dims: dims, maxdims: ds.space.maxdims, chunk: l.chunk, chunkBytes: chunkElems * es, filtered: len(ds.filters) > 0}
	idx, err := ds.chunkIndex(f, g)
	if err != nil {
		return nil, nil, err
	}
	// Chunk coordinates intersecting the rows, in row-major order.
	lo := make([]uint64, rank)
	hi := make([]uint64, rank)
	for i := range dims {
		hi[i] = nchunks(dims[i], l.chunk[i])
	}
	lo[0], hi[0] = r0/l.chunk[0], nchunks(r1, l.chunk[0])
	// Enumerating chunk coordinates costs time even where none is stored:
	// charge it to the file's budget so a few bytes cannot ask for 10^12
	// lookups.
	coords := uint64(1)
	for i := range lo {
		span := hi[i] - lo[i]
		if span != 0 && coords > (1<<40)/span {
			return nil, nil, corrupt("dataset of more than 2^40 chunks")
		}
		coords *= span
	}
	if err := f.spend(coords*64, "chunk index"); err != nil {
		return nil, nil, err
	}
	var jobs []chunkJob
	cur := append([]uint64(nil), lo...)
	for {
		rec, ok, err := idx.lookup(cur)
		if err != nil {
			return nil, nil, err
		}
		if ok && rec.addr != undefAddr && (rec.addr > f.size-f.base || rec.size > f.size-f.base-rec.addr) {
			return nil, nil, corrupt("chunk %v of %d bytes at %d beyond the end of the %d-byte file", cur, rec.size, rec.addr, f.size)
		}
		if ok || ds.fill != nil {
			jobs = append(jobs, chunkJob{append([]uint64(nil), cur...), rec, ok})
		}
		k := rank - 1
		for ; k >= 0; k-- {
			cur[k]++
			if cur[k] < hi[k] {
				break
			}
			cur[k] = lo[k]
		}
		if k < 0 {
			break
		}
	}
	return g, jobs, nil
}

// readChunks decodes the planned chunks on up to GOMAXPROCS goroutines.
func (ds *dataset) readChunks(f *File, r0, r1 uint64, p *readPlan, put sink) error {
	l := ds.layout
	dims := ds.space.dims
	rank := len(dims)
	g, jobs := p.g, p.jobs
	// Output geometry: rows [r0, r1) × dims[1:].
	outStride := make([]uint64, rank)
	cStride := make([]uint64, rank)
	outStride[rank-1], cStride[rank-1] = 1, 1
	for i := rank - 2; i >= 0; i-- {
		outStride[i] = outStride[i+1] * dims[i+1]
		cStride[i] = cStride[i+1] * l.chunk[i+1]
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	var next atomic.Int64
	var failed atomic.Bool
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &chunkWorker{box: make([]uint64, 2*rank), x: make([]uint64, rank)}
			for !failed.Load() {
				j := next.Add(1) - 1
				if j >= int64(len(jobs)) {
					return
				}
				if err := ds.copyChunk(f, &jobs[j], g, r0, r1, outStride, cStride, w, put); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// chunkWorker is one goroutine's scratch space for decoding chunks.
type chunkWorker struct {
	box, x  []uint64
	raw     []byte
	scratch bytes.Buffer
}

// stored returns the stored bytes of a chunk, read into w.raw unless the
// file is in memory.
func (w *chunkWorker) stored(f *File, rec chunkRec) ([]byte, error) {
	if f.mem != nil {
		return f.readAt(rec.addr, rec.size)
	}
	if rec.size > f.size {
		return nil, corrupt("chunk of %d bytes in a %d-byte file", rec.size, f.size)
	}
	if uint64(cap(w.raw)) < rec.size {
		w.raw = make([]byte, rec.size)
	}
	b := w.raw[:rec.size]
	return b, f.readInto(b, rec.addr)
}

// copyChunk decodes one chunk and delivers its part of the selection.
func (ds *dataset) copyChunk(f *File, j *chunkJob, g *chunkGeometry, r0, r1 uint64, outStride, cStride []uint64, w *chunkWorker, put sink) error {
	box, x := w.box, w.x
	l := ds.layout
	dims := ds.space.dims
	rank := len(dims)
	es := uint64(ds.dtype.Size)
	edge := false
	for i := 0; i < rank; i++ {
		o := j.scaled[i] * l.chunk[i]
		a, b := o, min(o+l.chunk[i], dims[i])
		if o+l.chunk[i] > dims[i] {
			edge = true
		}
		if i == 0 {
			a, b = max(a, r0), min(b, r1)
		}
		box[2*i], box[2*i+1] = a, b
	}
	last := rank - 1
	filtered := g.filtered && !(edge && l.flags&layoutFlagNoEdge != 0)
	var data []byte
	if j.stored {
		if !filtered && j.rec.size != g.chunkBytes {
			return corrupt("chunk %v of %d bytes, want %d", j.scaled, j.rec.size, g.chunkBytes)
		}
		// An unfiltered chunk whose part of the selection is one run
		// (always so for 1-D data) is read straight into the output.
		oneRun := true
		for i := 0; i < last; i++ {
			oneRun = oneRun && box[2*i+1]-box[2*i] <= 1
		}
		if !filtered && put.raw != nil && oneRun && f.mem == nil {
			var outOff, cOff uint64
			for i := 0; i <= last; i++ {
				base := uint64(0)
				if i == 0 {
					base = r0
				}
				outOff += (box[2*i] - base) * outStride[i]
				cOff += (box[2*i] - j.scaled[i]*l.chunk[i]) * cStride[i]
			}
			if run := box[2*last+1] - box[2*last]; run > 0 {
				return f.readInto(put.raw(outOff, run), j.rec.addr+cOff*es)
			}
			return nil
		}
		raw, err := w.stored(f, j.rec)
		if err != nil {
			return err
		}
		data = raw
		if filtered {
			if data, err = unfilter(ds.filters, j.rec.mask, raw, g.chunkBytes, &w.scratch); err != nil {
				return fmt.Errorf("chunk %v: %w", j.scaled, err)
			}
		}
	}
	for i := 0; i < last; i++ {
		x[i] = box[2*i]
	}
	runLo, runHi := box[2*last], box[2*last+1]
	if runHi <= runLo {
		return nil
	}
	run := runHi - runLo
	for {
		outOff, cOff := uint64(0), uint64(0)
		for i := 0; i < last; i++ {
			base := uint64(0)
			if i == 0 {
				base = r0
			}
			outOff += (x[i] - base) * outStride[i]
			cOff += (x[i] - j.scaled[i]*l.chunk[i]) * cStride[i]
		}
		lastBase := uint64(0)
		if last == 0 {
			lastBase = r0
		}
		outOff += runLo - lastBase
		cOff += runLo - j.scaled[last]*l.chunk[last]
		var err error
		if data != nil {
			err = put.put(outOff, run, data[cOff*es:(cOff+run)*es])
		} else {
			err = ds.putFill(outOff, run, put)
		}
		if err != nil {
			return err
		}
		k := last - 1
		for ; k >= 0; k-- {
			x[k]++
			if x[k] < box[2*k+1] {
				break
			}
			x[k] = box[2*k]
		}
		if k < 0 {
			return nil
		}
	}
}

// numericCheck says whether data of type t can be read as T.
func numericCheck[T Number](t *Datatype) error {
	base := t
	if t.Class == ClassEnum {
		base = t.Base
	}
	switch base.Class {
	case ClassInt:
		if !base.plainInt || base.Size > 8 || !isPow2(uint64(base.Size)) {
			return unsupported("%d-byte integers with padding bits", base.Size)
		}
		return nil
	case ClassFloat:
		if !base.ieee {
			return unsupported("non-IEEE %d-byte floats", base.Size)
		}
		if isInt[T]() {
			return fmt.Errorf("holds floating-point values where integers are required")
		}
		return nil
	}
	return fmt.Errorf("holds %s values, not numbers", t)
}

func isInt[T Number]() bool {
	var one T = 1
	return one/2 == 0
}

func isUnsigned[T Number]() bool {
	var zero T
	return zero-1 > 0
}

var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// sameLayout reports whether file values of type t are bit-identical to T
// in memory, so bytes can be copied without conversion.
func sameLayout[T Number](t *Datatype) bool {
	if t.Class == ClassEnum {
		t = t.Base
	}
	if !nativeLittleEndian || t.BigEndian {
		return false
	}
	var zero T
	if uint64(t.Size) != uint64(unsafe.Sizeof(zero)) {
		return false
	}
	switch t.Class {
	case ClassFloat:
		return t.ieee && !isInt[T]() && t.Size >= 4
	case ClassInt:
		return t.plainInt && isInt[T]() && t.Signed != isUnsigned[T]()
	}
	return false
}

func get16(b []byte, be bool) uint16 {
	if be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func get32(b []byte, be bool) uint32 {
	if be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func get64(b []byte, be bool) uint64 {
	if be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// convert decodes len(dst) values of type t from src (numericCheck must
// have accepted the pair).
func convert[T Number](dst []T, src []byte, t *Datatype) error {
	if t.Class == ClassEnum {
		t = t.Base
	}
	es := t.Size
	if len(src) < len(dst)*es {
		return corrupt("%d bytes for %d values", len(src), len(dst))
	}
	be := t.BigEndian
	if t.Class == ClassFloat {
		switch es {
		case 2:
			for i := range dst {
				dst[i] = T(halfToFloat32(get16(src[2*i:], be)))
			}
		case 4:
			for i := range dst {
				dst[i] = T(math.Float32frombits(get32(src[4*i:], be)))
			}
		case 8:
			for i := range dst {
				dst[i] = T(math.Float64frombits(get64(src[8*i:], be)))
			}
		}
		return nil
	}
	check := isInt[T]()
	unsignedT := isUnsigned[T]()
	var zero T
	if check && !unsignedT && unsafe.Sizeof(zero) == 8 && (t.Signed || es < 8) {
		check = false // every value fits in int64
	}
	var bad int64
	badAt := -1
	for i := range dst {
		var v int64
		switch es {
		case 1:
			if t.Signed {
				v = int64(int8(src[i]))
			} else {
				v = int64(src[i])
			}
		case 2:
			u := get16(src[2*i:], be)
			if t.Signed {
				v = int64(int16(u))
			} else {
				v = int64(u)
			}
		case 4:
			u := get32(src[4*i:], be)
			if t.Signed {
				v = int64(int32(u))
			} else {
				v = int64(u)
			}
		case 8:
			u := get64(src[8*i:], be)
			if !t.Signed && u > math.MaxInt64 {
				if isInt[T]() {
					return fmt.Errorf("value %d does not fit in a signed 64-bit integer", u)
				}
				dst[i] = T(u)
				continue
			}
			v = int64(u)
		}
		x := T(v)
		dst[i] = x
		if check && (int64(x) != v || unsignedT && v < 0) && badAt < 0 {
			bad, badAt = v, i
		}
	}
	if badAt >= 0 {
		return fmt.Errorf("value %d at %d does not fit in %d-byte integers", bad, badAt, unsafe.Sizeof(zero))
	}
	return nil
}

// halfToFloat32 widens an IEEE 754 binary16 value.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// decodeStrings decodes n fixed- or variable-length strings from raw.
func decodeStrings(f *File, t *Datatype, raw []byte, n uint64) ([]string, error) {
	es := uint64(t.Size)
	if uint64(len(raw))/es < n {
		return nil, corrupt("%d bytes for %d strings", len(raw), n)
	}
	out := make([]string, n)
	for i := range out {
		b := raw[uint64(i)*es : uint64(i+1)*es]
		if t.Class == ClassString {
			if k := indexByte(b, 0); k >= 0 {
				b = b[:k]
			}
			if t.StrPad == 2 {
				b = bytes.TrimRight(b, " ")
			}
			out[i] = string(b)
			continue
		}
		d := &decoder{b: b, f: f, what: "variable-length string"}
		length := uint64(d.u32())
		addr := d.addr()
		index := d.u32()
		if d.err != nil {
			return nil, d.err
		}
		if length == 0 {
			continue
		}
		obj, err := f.globalHeapObject(addr, index)
		if err != nil {
			return nil, err
		}
		if length > uint64(len(obj)) {
			return nil, corrupt("string of %d bytes in a %d-byte heap object", length, len(obj))
		}
		s := obj[:length]
		if k := indexByte(s, 0); k >= 0 {
			s = s[:k]
		}
		out[i] = string(s)
	}
	return out, nil
}
