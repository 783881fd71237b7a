package h5ad

import (
	"strings"
	"testing"
)

// fakeNode is an in-memory node for tests of the AnnData layer alone.
type fakeNode struct {
	node     // unimplemented methods panic
	p        string
	group    bool
	strAttrs map[string][]string
	intAttrs map[string][]int64
	kids     map[string]*fakeNode
	ints     []int64
	floats   []float32
}

func (n *fakeNode) isGroup() bool { return n.group }
func (n *fakeNode) path() string  { return n.p }
func (n *fakeNode) close()        {}
func (n *fakeNode) has(name string) bool {
	_, ok := n.kids[name]
	return ok
}
func (n *fakeNode) child(name string) (node, error) { return n.kids[name], nil }
func (n *fakeNode) attrStrings(name string) ([]string, bool, error) {
	v, ok := n.strAttrs[name]
	return v, ok, nil
}
func (n *fakeNode) attrInts(name string) ([]int64, bool, error) {
	v, ok := n.intAttrs[name]
	return v, ok, nil
}
func (n *fakeNode) dims() ([]int, error) { return []int{max(len(n.ints), len(n.floats))}, nil }
func (n *fakeNode) dtype() (dtypeClass, int) {
	if n.floats != nil {
		return classFloat, 4
	}
	return classInt, 8
}
func (n *fakeNode) readFloat32(start, count int) ([]float32, error) { return n.floats, nil }
func (n *fakeNode) readInt64(start, count int) ([]int64, error)     { return n.ints, nil }
func (n *fakeNode) readInt32(start, count int) ([]int32, error) {
	out := make([]int32, len(n.ints))
	for i, v := range n.ints {
		out[i] = int32(v)
	}
	return out, nil
}

// TestShapeAttributeChecked: a sparse matrix's shape attribute is two
// numbers that size allocations (a CSC matrix is converted through arrays
// of rows+1 entries). A layer or raw/X whose shape disagrees with X is an
// error before anything is read, not a 2^40-entry allocation.
func TestShapeAttributeChecked(t *testing.T) {
	csc := func(rows int64) *fakeNode {
		return &fakeNode{p: "/layers/l", group: true,
			strAttrs: map[string][]string{"encoding-type": {"csc_matrix"}},
			intAttrs: map[string][]int64{"shape": {rows, 3}},
			kids: map[string]*fakeNode{
				"data":    {p: "/layers/l/data", floats: []float32{1, 2}},
				"indices": {p: "/layers/l/indices", ints: []int64{0, 1}},
				"indptr":  {p: "/layers/l/indptr", ints: []int64{0, 1, 2, 2}},
			}}
	}
	if m, err := readMatrix(csc(4), 0, -1, 4, 3); err != nil || m.Rows != 4 || m.NNZ() != 2 {
		t.Fatalf("well-formed CSC: %v %v", m, err)
	}
	for _, rows := range []int64{1 << 40, -1, 5} {
		_, err := readMatrix(csc(rows), 0, -1, 4, 3)
		if err == nil || !strings.Contains(err.Error(), "want 4×3") {
			t.Errorf("shape %d×3: err %v", rows, err)
		}
	}
}
