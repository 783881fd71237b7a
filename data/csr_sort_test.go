package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// unsortedCSR builds a rows × cols matrix with perRow(r) distinct random
// columns per row in random order (as anndata stores a matrix whose
// has_sorted_indices is False); value = column + row/1000 so a misplaced
// value is detectable.
func unsortedCSR(rng *rand.Rand, rows, cols int, perRow func(r int) int) *CSR {
	m := &CSR{Rows: rows, Cols: cols, Indptr: make([]int64, rows+1)}
	for r := 0; r < rows; r++ {
		n := min(perRow(r), cols)
		var row []int
		if 4*n < cols { // sparse row: rejection sampling beats a full permutation
			seen := make(map[int]bool, n)
			for len(row) < n {
				if j := rng.IntN(cols); !seen[j] {
					seen[j] = true
					row = append(row, j)
				}
			}
		} else {
			row = rng.Perm(cols)[:n]
		}
		for _, j := range row {
			m.Indices = append(m.Indices, int32(j))
			m.Data = append(m.Data, float32(j)+float32(r)/1000)
		}
		m.Indptr[r+1] = int64(len(m.Data))
	}
	return m
}

// naiveSort is the plain twin of SortIndices: a stable interface sort per row.
func naiveSort(m *CSR) {
	for i := 0; i < m.Rows; i++ {
		a, b := m.Indptr[i], m.Indptr[i+1]
		idx, val := m.Indices[a:b], m.Data[a:b]
		type pair struct {
			j int32
			v float32
		}
		p := make([]pair, len(idx))
		for k := range idx {
			p[k] = pair{idx[k], val[k]}
		}
		sort.SliceStable(p, func(x, y int) bool { return p[x].j < p[y].j })
		for k := range p {
			idx[k], val[k] = p[k].j, p[k].v
		}
	}
}

func TestSortIndicesMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		rows, cols int
		perRow     func(int) int
	}{
		{0, 5, func(int) int { return 0 }},
		{1, 1, func(int) int { return 1 }},
		{50, 10, func(r int) int { return r % 11 }},                   // short rows: insertion sort
		{40, 300, func(r int) int { return 40 + r }},                  // around the insertion/radix cut
		{30, 70000, func(r int) int { return 1000 + 37*r }},           // 17-bit indices: three radix passes
		{3000, 2000, func(r int) int { return rng.IntN(120) }},        // many blocks, several goroutines
		{200, 1 << 20, func(r int) int { return 1 + rng.IntN(3000) }}, // 20-bit indices
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("rows=%d,cols=%d", c.rows, c.cols), func(t *testing.T) {
			m := unsortedCSR(rng, c.rows, c.cols, c.perRow)
			want := m.Clone()
			naiveSort(want)
			checked := m.Clone()
			m.SortIndices()
			if err := checked.SortAndCheck(); err != nil {
				t.Fatal(err)
			}
			for k := range m.Indices {
				if m.Indices[k] != want.Indices[k] || m.Data[k] != want.Data[k] ||
					checked.Indices[k] != want.Indices[k] || checked.Data[k] != want.Data[k] {
					t.Fatalf("entry %d: (%d, %v) and (%d, %v), want (%d, %v)", k, m.Indices[k], m.Data[k],
						checked.Indices[k], checked.Data[k], want.Indices[k], want.Data[k])
				}
			}
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSortIndicesStableOnDuplicates keeps equal indices in input order, so
// Validate reports the duplicate rather than the sort hiding which came first.
func TestSortIndicesStableOnDuplicates(t *testing.T) {
	for _, n := range []int{5, 200} { // insertion sort and radix sort
		m := &CSR{Rows: 1, Cols: 10, Indptr: []int64{0, int64(n)}}
		for k := 0; k < n; k++ {
			m.Indices = append(m.Indices, int32(9-k%3))
			m.Data = append(m.Data, float32(k))
		}
		m.SortIndices()
		for k := 1; k < n; k++ {
			if m.Indices[k] < m.Indices[k-1] || m.Indices[k] == m.Indices[k-1] && m.Data[k] < m.Data[k-1] {
				t.Fatalf("n=%d: entry %d (%d, %v) after (%d, %v)", n, k, m.Indices[k], m.Data[k], m.Indices[k-1], m.Data[k-1])
			}
		}
		if err := m.Validate(); err == nil {
			t.Fatalf("n=%d: duplicates validated", n)
		}
	}
}

func TestSortIndicesLeavesSortedRows(t *testing.T) {
	m := NewCSRFromDense(3, 4, []float32{1, 0, 2, 0, 0, 0, 0, 3, 4, 5, 0, 0})
	want := m.Clone()
	m.SortIndices()
	for k := range m.Indices {
		if m.Indices[k] != want.Indices[k] || m.Data[k] != want.Data[k] {
			t.Fatal("a sorted matrix changed")
		}
	}
}

// BenchmarkSortIndices times sorting a matrix whose every row is unsorted
// (the hardening issue's 85,000 × 18,000 file has ~1,000 entries per row),
// against the plain stable sort it replaced.
func BenchmarkSortIndices(b *testing.B) {
	for _, c := range []struct{ rows, cols, perRow int }{{10000, 18000, 1000}, {50000, 2000, 30}} {
		m0 := unsortedCSR(rand.New(rand.NewPCG(3, 4)), c.rows, c.cols, func(int) int { return c.perRow })
		for _, impl := range []struct {
			name string
			sort func(*CSR)
		}{{"typed-parallel", (*CSR).SortIndices}, {"naive", naiveSort}} {
			b.Run(fmt.Sprintf("rows=%d,cols=%d,perRow=%d,impl=%s", c.rows, c.cols, c.perRow, impl.name), func(b *testing.B) {
				b.SetBytes(int64(m0.NNZ()) * 8)
				m := m0.Clone()
				for b.Loop() {
					b.StopTimer()
					copy(m.Indices, m0.Indices)
					copy(m.Data, m0.Data)
					b.StartTimer()
					impl.sort(m)
				}
			})
		}
	}
}

// TestValidateReportsFirstBadRow: the parallel checks name the first bad
// row, as a serial scan would, whichever block finishes first.
func TestValidateReportsFirstBadRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := unsortedCSR(rng, 4000, 500, func(int) int { return 40 })
	m.SortIndices()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckFinite(); err != nil {
		t.Fatal(err)
	}
	bad := m.Clone()
	bad.Indices[bad.Indptr[3900]] = 600  // late row: out of range
	bad.Indices[bad.Indptr[1234]+1] = -1 // earlier row: out of range
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "row 1234:") {
		t.Fatalf("Validate: %v, want row 1234", err)
	}
	if err := bad.Clone().SortAndCheck(); err == nil || err.Error() != bad.Validate().Error() {
		t.Fatalf("SortAndCheck: %v, want Validate's %v", err, bad.Validate())
	}
	dup := m.Clone()
	dup.Indices[dup.Indptr[77]+2] = dup.Indices[dup.Indptr[77]+5] // unsorted now, and a duplicate once sorted
	if err := dup.SortAndCheck(); err == nil || !strings.Contains(err.Error(), "row 77: column indices not strictly increasing") {
		t.Fatalf("SortAndCheck on a duplicate: %v", err)
	}
	nan := m.Clone()
	nan.Data[nan.Indptr[3999]] = float32(math.Inf(-1))
	nan.Data[nan.Indptr[2001]] = float32(math.NaN())
	if err := nan.CheckFinite(); err == nil || !strings.Contains(err.Error(), "non-finite value NaN at cell 2001") {
		t.Fatalf("CheckFinite: %v, want cell 2001", err)
	}
	inf := m.Clone()
	inf.Data[5] = float32(math.Inf(1))
	if err := inf.CheckFinite(); err == nil || !strings.Contains(err.Error(), "+Inf at cell 0") {
		t.Fatalf("CheckFinite: %v", err)
	}
}
