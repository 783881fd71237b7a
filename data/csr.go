package data

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// CSR is a compressed-sparse-row matrix of float32 values, cells × genes.
//
// Row i holds the entries Indices[Indptr[i]:Indptr[i+1]] (column indices,
// strictly increasing within a row) with values Data[Indptr[i]:Indptr[i+1]].
// Explicit zeros are allowed but never required. The zero value is an empty
// 0 × 0 matrix. A CSR is never modified in place by this package once built;
// functions that derive a new matrix (SubsetRows, Transform) allocate.
type CSR struct {
	Rows, Cols int
	Indptr     []int64
	Indices    []int32
	Data       []float32
}

// NewCSRFromDense builds a CSR from a row-major dense slice of length rows·cols,
// dropping zeros. It panics if len(dense) != rows·cols.
func NewCSRFromDense(rows, cols int, dense []float32) *CSR {
	if len(dense) != rows*cols {
		panic(fmt.Sprintf("data: NewCSRFromDense: len %d != %d×%d", len(dense), rows, cols))
	}
	m := &CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	for i := 0; i < rows; i++ {
		for j, v := range dense[i*cols : (i+1)*cols] {
			if v != 0 {
				m.Indices = append(m.Indices, int32(j))
				m.Data = append(m.Data, v)
			}
		}
		m.Indptr[i+1] = int64(len(m.Data))
	}
	return m
}

// NNZ returns the number of stored entries.
func (m *CSR) NNZ() int { return len(m.Data) }

// Row returns the column indices and values of row i, sharing storage with m.
func (m *CSR) Row(i int) ([]int32, []float32) {
	a, b := m.Indptr[i], m.Indptr[i+1]
	return m.Indices[a:b], m.Data[a:b]
}

// At returns the value at (i, j), zero where nothing is stored. It uses a
// binary search within the row.
func (m *CSR) At(i, j int) float32 {
	idx, val := m.Row(i)
	k := sort.Search(len(idx), func(k int) bool { return int(idx[k]) >= j })
	if k < len(idx) && int(idx[k]) == j {
		return val[k]
	}
	return 0
}

// DenseRow writes row i into dst (length Cols), zero-filling first, and returns dst.
// A nil dst allocates.
func (m *CSR) DenseRow(dst []float32, i int) []float32 {
	if dst == nil {
		dst = make([]float32, m.Cols)
	}
	clear(dst)
	idx, val := m.Row(i)
	for k, j := range idx {
		dst[j] = val[k]
	}
	return dst
}

// SubsetRows returns a new CSR with the given rows of m, in the given order
// (rows may repeat, which resamples cells).
func (m *CSR) SubsetRows(rows []int) *CSR {
	n := 0
	for _, r := range rows {
		n += int(m.Indptr[r+1] - m.Indptr[r])
	}
	out := &CSR{Rows: len(rows), Cols: m.Cols, Indptr: make([]int64, len(rows)+1),
		Indices: make([]int32, 0, n), Data: make([]float32, 0, n)}
	for i, r := range rows {
		idx, val := m.Row(r)
		out.Indices = append(out.Indices, idx...)
		out.Data = append(out.Data, val...)
		out.Indptr[i+1] = int64(len(out.Data))
	}
	return out
}

// VStack stacks CSR matrices with cols columns each vertically (the rows
// of parts[0], then of parts[1], …); an empty list gives a 0×cols matrix.
// It panics when a part has another number of columns.
func VStack(parts []*CSR, cols int) *CSR {
	nnz := 0
	for _, p := range parts {
		if p.Cols != cols {
			panic(fmt.Sprintf("data: VStack of a %d-column part into %d columns", p.Cols, cols))
		}
		nnz += len(p.Data)
	}
	out := &CSR{Cols: cols, Indptr: []int64{0}, Indices: make([]int32, 0, nnz), Data: make([]float32, 0, nnz)}
	for _, p := range parts {
		base := int64(len(out.Data))
		out.Indices = append(out.Indices, p.Indices...)
		out.Data = append(out.Data, p.Data...)
		for i := 1; i <= p.Rows; i++ {
			out.Indptr = append(out.Indptr, base+p.Indptr[i])
		}
		out.Rows += p.Rows
	}
	return out
}

// SubsetCols returns a new CSR keeping columns cols (in that order; each
// column at most once). It panics on an out-of-range or repeated column.
func (m *CSR) SubsetCols(cols []int) *CSR {
	newIdx := make([]int32, m.Cols)
	for j := range newIdx {
		newIdx[j] = -1
	}
	for k, j := range cols {
		if j < 0 || j >= m.Cols || newIdx[j] >= 0 {
			panic(fmt.Sprintf("data: SubsetCols: bad or repeated column %d", j))
		}
		newIdx[j] = int32(k)
	}
	out := &CSR{Rows: m.Rows, Cols: len(cols), Indptr: make([]int64, m.Rows+1)}
	type entry struct {
		j int32
		v float32
	}
	var row []entry
	for i := 0; i < m.Rows; i++ {
		row = row[:0]
		idx, val := m.Row(i)
		for k, j := range idx {
			if nj := newIdx[j]; nj >= 0 {
				row = append(row, entry{nj, val[k]})
			}
		}
		sort.Slice(row, func(a, b int) bool { return row[a].j < row[b].j })
		for _, e := range row {
			out.Indices = append(out.Indices, e.j)
			out.Data = append(out.Data, e.v)
		}
		out.Indptr[i+1] = int64(len(out.Data))
	}
	return out
}

// Clone returns a deep copy of m.
func (m *CSR) Clone() *CSR {
	return &CSR{Rows: m.Rows, Cols: m.Cols,
		Indptr: append([]int64(nil), m.Indptr...), Indices: append([]int32(nil), m.Indices...),
		Data: append([]float32(nil), m.Data...)}
}

// Validate checks the structural invariants: len(Indptr) = Rows+1, Indptr
// starts at 0, is non-decreasing and ends at len(Data) = len(Indices); column
// indices are in [0, Cols) and strictly increasing within each row. It returns
// an error describing the first violation (rows are checked in parallel;
// the error is the one of the lowest row).
func (m *CSR) Validate() error {
	if m.Rows < 0 || m.Cols < 0 {
		return fmt.Errorf("negative shape %d×%d", m.Rows, m.Cols)
	}
	if len(m.Indptr) != m.Rows+1 {
		return fmt.Errorf("indptr has %d entries, want rows+1 = %d", len(m.Indptr), m.Rows+1)
	}
	if len(m.Indices) != len(m.Data) {
		return fmt.Errorf("indices has %d entries but data has %d", len(m.Indices), len(m.Data))
	}
	if m.Indptr[0] != 0 {
		return fmt.Errorf("indptr[0] = %d, want 0", m.Indptr[0])
	}
	if m.Indptr[m.Rows] != int64(len(m.Data)) {
		return fmt.Errorf("indptr[last] = %d but data has %d entries", m.Indptr[m.Rows], len(m.Data))
	}
	for i := 0; i < m.Rows; i++ {
		if a, b := m.Indptr[i], m.Indptr[i+1]; b < a {
			return fmt.Errorf("indptr decreases at row %d (%d > %d)", i, a, b)
		}
	}
	return m.forRowBlocks(func(lo, hi int, _ *rowSorter) error {
		for i := lo; i < hi; i++ {
			if err := m.checkRow(i); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkRow checks row i's column indices: in [0, Cols) and strictly
// increasing.
func (m *CSR) checkRow(i int) error {
	cols := int32(min(m.Cols, math.MaxInt32))
	prev := int32(-1)
	for _, j := range m.Indices[m.Indptr[i]:m.Indptr[i+1]] {
		if j < 0 || j >= cols {
			return fmt.Errorf("row %d: column index %d out of range [0, %d)", i, j, m.Cols)
		}
		if j <= prev {
			return fmt.Errorf("row %d: column indices not strictly increasing (%d after %d)", i, j, prev)
		}
		prev = j
	}
	return nil
}

// CheckFinite returns an error naming the first stored NaN or ±Inf value
// (rows are checked in parallel; the error is the one of the lowest row).
// It assumes the structural invariants hold (see Validate).
func (m *CSR) CheckFinite() error {
	return m.forRowBlocks(func(lo, hi int, _ *rowSorter) error {
		for i := lo; i < hi; i++ {
			idx, val := m.Row(i)
			for k, v := range val {
				if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // exponent all ones: NaN or ±Inf
					return fmt.Errorf("non-finite value %v at cell %d, gene %d", v, i, idx[k])
				}
			}
		}
		return nil
	})
}

// forRowBlocks calls fn on contiguous blocks of rows with similar numbers of
// stored entries, on up to GOMAXPROCS goroutines (one block when the
// matrix is small), each with its own rowSorter scratch space. It returns
// the error of the lowest failing block, so errors name the first bad row
// as a serial scan would. Indptr must be valid (monotone within [0, nnz]).
func (m *CSR) forRowBlocks(fn func(lo, hi int, s *rowSorter) error) error {
	if m.Rows == 0 {
		return nil
	}
	workers := runtime.GOMAXPROCS(0)
	nnz := m.Indptr[m.Rows]
	blocks := min(m.Rows, 8*workers)
	if nnz+int64(m.Rows) < 1<<16 || workers == 1 {
		return fn(0, m.Rows, &rowSorter{})
	}
	bounds := make([]int, 1, blocks+1)
	for b := 1; b < blocks; b++ {
		target := nnz * int64(b) / int64(blocks)
		r := sort.Search(m.Rows, func(i int) bool { return m.Indptr[i] >= target })
		if r > bounds[len(bounds)-1] {
			bounds = append(bounds, r)
		}
	}
	bounds = append(bounds, m.Rows)
	errs := make([]error, len(bounds)-1)
	var next atomic.Int64
	var failedAt atomic.Int64
	failedAt.Store(math.MaxInt64)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(errs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s rowSorter
			for {
				b := next.Add(1) - 1
				if b >= int64(len(errs)) || b > failedAt.Load() {
					return
				}
				if err := fn(bounds[b], bounds[b+1], &s); err != nil {
					errs[b] = err
					for {
						cur := failedAt.Load()
						if b >= cur || failedAt.CompareAndSwap(cur, b) {
							break
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// CSC is the column-major counterpart of CSR: column j holds row indices
// Indices[Indptr[j]:Indptr[j+1]] (strictly increasing) and their values.
type CSC struct {
	Rows, Cols int
	Indptr     []int64
	Indices    []int32
	Data       []float32
}

// Col returns the row indices and values of column j, sharing storage.
func (c *CSC) Col(j int) ([]int32, []float32) {
	a, b := c.Indptr[j], c.Indptr[j+1]
	return c.Indices[a:b], c.Data[a:b]
}

// ToCSC converts m to column-major storage in O(nnz + Cols) time.
func (m *CSR) ToCSC() *CSC {
	c := &CSC{Rows: m.Rows, Cols: m.Cols, Indptr: make([]int64, m.Cols+1),
		Indices: make([]int32, len(m.Indices)), Data: make([]float32, len(m.Data))}
	for _, j := range m.Indices {
		c.Indptr[j+1]++
	}
	for j := 0; j < m.Cols; j++ {
		c.Indptr[j+1] += c.Indptr[j]
	}
	next := append([]int64(nil), c.Indptr[:m.Cols]...)
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for k, j := range idx {
			p := next[j]
			c.Indices[p] = int32(i)
			c.Data[p] = val[k]
			next[j]++
		}
	}
	return c
}

// ToCSR converts column-major storage back to CSR.
func (c *CSC) ToCSR() *CSR {
	t := &CSR{Rows: c.Cols, Cols: c.Rows, Indptr: c.Indptr, Indices: c.Indices, Data: c.Data}
	tc := t.ToCSC() // transpose of the transpose
	return &CSR{Rows: c.Rows, Cols: c.Cols, Indptr: tc.Indptr, Indices: tc.Indices, Data: tc.Data}
}

// Dense is a row-major dense float64 matrix (e.g. an obsm embedding).
type Dense struct {
	Rows, Cols int
	Data       []float64 // len Rows·Cols
}

// Row returns row i, sharing storage.
func (d *Dense) Row(i int) []float64 { return d.Data[i*d.Cols : (i+1)*d.Cols] }

// SortIndices sorts each row's column indices (with their values) in
// place, as scipy's sort_indices does: AnnData files written from a matrix
// with has_sorted_indices = False store rows unsorted. Sorted rows are
// detected and left alone; unsorted rows are sorted by index with a typed
// stable sort (insertion sort for short rows, an LSD radix sort on the
// index bits for long ones), on up to GOMAXPROCS goroutines. Equal indices
// keep their order (Validate then reports them). Indptr must be valid
// (monotone within [0, nnz]); indices outside [0, Cols) are tolerated
// (such rows end up in some order, and Validate reports the index).
func (m *CSR) SortIndices() {
	keyBits := bits.Len32(uint32(max(m.Cols-1, 0)))
	m.forRowBlocks(func(lo, hi int, s *rowSorter) error {
		for i := lo; i < hi; i++ {
			a, e := m.Indptr[i], m.Indptr[i+1]
			idx := m.Indices[a:e]
			for k := 1; k < len(idx); k++ {
				if idx[k] < idx[k-1] {
					s.sort(idx, m.Data[a:e], keyBits)
					break
				}
			}
		}
		return nil
	})
}

// sort2 is sort's radix sort for indices below 65,536 (two 8-bit
// digits, the common case: genes number in the tens of thousands),
// written out with counters on the stack; about a third faster than the
// general loop over digits.
func (s *rowSorter) sort2(idx []int32, val []float32, keys, tmp []uint64) {
	var c0, c1 [256]uint32
	val = val[:len(idx)]
	for k, j := range idx {
		u := uint32(j)
		keys[k] = uint64(u)<<32 | uint64(math.Float32bits(val[k]))
		c0[u&0xff]++
		c1[(u>>8)&0xff]++
	}
	var s0, s1 uint32
	for d := range 256 {
		a, b := c0[d], c1[d]
		c0[d], c1[d] = s0, s1
		s0 += a
		s1 += b
	}
	for _, x := range keys {
		d := (x >> 32) & 0xff
		tmp[c0[d]] = x
		c0[d]++
	}
	for _, x := range tmp {
		d := (x >> 40) & 0xff
		p := c1[d]
		c1[d]++
		idx[p] = int32(x >> 32)
		val[p] = math.Float32frombits(uint32(x))
	}
}

// SortAndCheck is SortIndices followed by Validate's per-entry checks
// (indices in [0, Cols), strictly increasing within each row), done in the
// same parallel pass over the rows: readers that sort what they read use
// it instead of SortIndices then Validate, which would read every entry
// twice. The error is Validate's, for the first bad row. Indptr must be
// valid (monotone within [0, nnz], ending at len(Data)).
func (m *CSR) SortAndCheck() error {
	keyBits := bits.Len32(uint32(max(m.Cols-1, 0)))
	return m.forRowBlocks(func(lo, hi int, s *rowSorter) error {
		for i := lo; i < hi; i++ {
			a, e := m.Indptr[i], m.Indptr[i+1]
			idx := m.Indices[a:e]
			for k := 1; k < len(idx); k++ {
				if idx[k] <= idx[k-1] {
					if idx[k] < idx[k-1] {
						s.sort(idx, m.Data[a:e], keyBits)
					}
					break
				}
			}
			if err := m.checkRow(i); err != nil {
				return err
			}
		}
		return nil
	})
}

// rowSorter holds one goroutine's scratch space for sorting rows.
type rowSorter struct {
	keys, tmp []uint64
	count     [4][256]int
}

// insertionMax is the row length up to which insertion sort beats the
// radix sort's fixed cost.
const insertionMax = 48

// sort orders idx (and val alongside) by idx, stably; keyBits is the bit
// length of the largest possible index. Long rows are sorted by an LSD
// radix sort on 8-bit digits of the index: one pass packs (index, value
// bits) into words and counts every digit, one pass per digit scatters,
// the last one straight back into idx and val.
func (s *rowSorter) sort(idx []int32, val []float32, keyBits int) {
	n := len(idx)
	if n <= insertionMax {
		for k := 1; k < n; k++ {
			j, v := idx[k], val[k]
			p := k
			for ; p > 0 && idx[p-1] > j; p-- {
				idx[p], val[p] = idx[p-1], val[p-1]
			}
			idx[p], val[p] = j, v
		}
		return
	}
	passes := (keyBits + 7) / 8
	if passes == 0 {
		return // every index is 0
	}
	if cap(s.keys) < n {
		s.keys = make([]uint64, n)
		s.tmp = make([]uint64, n)
	}
	keys, tmp := s.keys[:n], s.tmp[:n]
	if passes == 2 {
		s.sort2(idx, val, keys, tmp)
		return
	}
	count := s.count[:passes]
	clear(count)
	val = val[:n]
	for k, j := range idx {
		u := uint32(j)
		keys[k] = uint64(u)<<32 | uint64(math.Float32bits(val[k]))
		for p := range count {
			count[p][(u>>(8*p))&0xff]++
		}
	}
	for p := range count {
		sum := 0
		for d, c := range count[p] {
			count[p][d] = sum
			sum += c
		}
	}
	for p := range count {
		c := &count[p]
		shift := 32 + 8*uint(p)
		if p == passes-1 {
			for _, x := range keys {
				d := (x >> shift) & 0xff
				pos := c[d]
				c[d]++
				idx[pos] = int32(x >> 32)
				val[pos] = math.Float32frombits(uint32(x))
			}
			return
		}
		for _, x := range keys {
			d := (x >> shift) & 0xff
			tmp[c[d]] = x
			c[d]++
		}
		keys, tmp = tmp, keys
	}
}
