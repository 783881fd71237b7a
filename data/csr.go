package data

import (
	"fmt"
	"math"
	"sort"
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
// an error describing the first violation.
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
		a, b := m.Indptr[i], m.Indptr[i+1]
		if b < a {
			return fmt.Errorf("indptr decreases at row %d (%d > %d)", i, a, b)
		}
		prev := int32(-1)
		for k := a; k < b; k++ {
			j := m.Indices[k]
			if j < 0 || int(j) >= m.Cols {
				return fmt.Errorf("row %d: column index %d out of range [0, %d)", i, j, m.Cols)
			}
			if j <= prev {
				return fmt.Errorf("row %d: column indices not strictly increasing (%d after %d)", i, j, prev)
			}
			prev = j
		}
	}
	return nil
}

// CheckFinite returns an error naming the first stored NaN or ±Inf value.
func (m *CSR) CheckFinite() error {
	for i := 0; i < m.Rows; i++ {
		idx, val := m.Row(i)
		for k, v := range val {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("non-finite value %v at cell %d, gene %d", v, i, idx[k])
			}
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
// with has_sorted_indices = False store rows unsorted. It assumes the other
// structural invariants hold (see Validate).
func (m *CSR) SortIndices() {
	for i := 0; i < m.Rows; i++ {
		a, b := m.Indptr[i], m.Indptr[i+1]
		idx, val := m.Indices[a:b], m.Data[a:b]
		sorted := true
		for k := 1; k < len(idx); k++ {
			if idx[k] < idx[k-1] {
				sorted = false
				break
			}
		}
		if !sorted {
			sort.Sort(rowSorter{idx, val})
		}
	}
}

type rowSorter struct {
	idx []int32
	val []float32
}

func (r rowSorter) Len() int           { return len(r.idx) }
func (r rowSorter) Less(a, b int) bool { return r.idx[a] < r.idx[b] }
func (r rowSorter) Swap(a, b int) {
	r.idx[a], r.idx[b] = r.idx[b], r.idx[a]
	r.val[a], r.val[b] = r.val[b], r.val[a]
}
