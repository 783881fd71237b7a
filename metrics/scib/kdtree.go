package scib

import (
	"math"
	"sort"

	"github.com/cellbench/cellbench/data"
)

// kdLeaf is the largest number of points in a k-d tree leaf. Leaves are
// scanned with the vector distance kernel, so they are larger than a
// scalar k-d tree's (measured on the 10,000-cell retina embedding, k = 90).
const kdLeaf = 64

// kdMaxDims is the largest dimension for which ExactKNN uses the k-d tree;
// above it pruning rarely pays and the brute-force scan is used.
const kdMaxDims = 32

// kdTree is a k-d tree over the rows of a dense matrix, with a bounding box
// per node (exact search: a node is pruned only when its box is strictly
// farther than the current k-th candidate, so results, ties included, equal
// the brute-force scan's).
type kdTree struct {
	x     *data.Dense
	perm  []int32
	pts   dimsMajor // rows of x in perm order (leaf points contiguous)
	nodes []kdNode
	boxes []float64 // per node: D minima then D maxima
	// maxLeaf is the largest leaf (kdLeaf, or more when > kdLeaf points
	// are identical and cannot be split).
	maxLeaf int
}

type kdNode struct {
	lo, hi      int32 // range in perm
	left, right int32 // children (−1 for a leaf)
}

func buildKDTree(x *data.Dense) *kdTree {
	t := &kdTree{x: x, perm: make([]int32, x.Rows)}
	for i := range t.perm {
		t.perm[i] = int32(i)
	}
	t.build(0, int32(x.Rows))
	t.pts = newDimsMajor(x, t.perm)
	return t
}

func (t *kdTree) build(lo, hi int32) int32 {
	d := t.x.Cols
	id := int32(len(t.nodes))
	t.nodes = append(t.nodes, kdNode{lo: lo, hi: hi, left: -1, right: -1})
	box := make([]float64, 2*d)
	for c := 0; c < d; c++ {
		box[c], box[d+c] = math.Inf(1), math.Inf(-1)
	}
	for _, p := range t.perm[lo:hi] {
		for c, v := range t.x.Row(int(p)) {
			box[c] = math.Min(box[c], v)
			box[d+c] = math.Max(box[d+c], v)
		}
	}
	t.boxes = append(t.boxes, box...)
	if hi-lo <= kdLeaf {
		t.maxLeaf = max(t.maxLeaf, int(hi-lo))
		return id
	}
	dim, spread := 0, -1.0
	for c := 0; c < d; c++ {
		if s := box[d+c] - box[c]; s > spread {
			dim, spread = c, s
		}
	}
	if spread == 0 {
		t.maxLeaf = max(t.maxLeaf, int(hi-lo))
		return id // all points identical: keep as one leaf
	}
	seg := t.perm[lo:hi]
	sort.Slice(seg, func(a, b int) bool {
		va, vb := t.x.Data[int(seg[a])*d+dim], t.x.Data[int(seg[b])*d+dim]
		if va != vb {
			return va < vb
		}
		return seg[a] < seg[b]
	})
	mid := lo + (hi-lo)/2
	l := t.build(lo, mid)
	r := t.build(mid, hi)
	t.nodes[id].left, t.nodes[id].right = l, r
	return id
}

// boxDist2 is the squared distance from q to node n's bounding box.
func (t *kdTree) boxDist2(n int32, q []float64) float64 {
	d := len(q)
	box := t.boxes[int(n)*2*d : int(n)*2*d+2*d]
	var s float64
	for c, v := range q {
		if v < box[c] {
			u := box[c] - v
			s += u * u
		} else if v > box[d+c] {
			u := v - box[d+c]
			s += u * u
		}
	}
	return s
}

// kdItem is a pending node with the squared distance to its box.
type kdItem struct {
	n  int32
	d2 float64
}

// knn leaves in h the k−1 nearest rows to row self other than self, in
// increasing (squared distance, index) order, as the brute-force scan
// does. buf is scratch of at least t.maxLeaf values.
func (t *kdTree) knn(self, k int, h *nearest, stack *[]kdItem, buf []float64) {
	h.reset(k - 1)
	if k < 2 {
		return
	}
	q := t.x.Row(self)
	*stack = append((*stack)[:0], kdItem{0, 0})
	for len(*stack) > 0 {
		it := (*stack)[len(*stack)-1]
		*stack = (*stack)[:len(*stack)-1]
		bound := h.bound()
		if it.d2 > bound {
			continue
		}
		nd := t.nodes[it.n]
		if nd.left < 0 {
			lo, hi := int(nd.lo), int(nd.hi)
			d2 := buf[:hi-lo]
			sqDists(q, t.pts, lo, hi, d2)
			perm := t.perm[lo:hi]
			for p, s := range d2 {
				// Ties with the current last stay candidates: the list
				// orders them by index, as the brute-force scan does.
				if s > bound || int(perm[p]) == self {
					continue
				}
				h.offer(s, perm[p])
				bound = h.bound()
			}
			continue
		}
		// Visit the nearer child first (pushed last).
		dl, dr := t.boxDist2(nd.left, q), t.boxDist2(nd.right, q)
		if dl <= dr {
			*stack = append(*stack, kdItem{nd.right, dr}, kdItem{nd.left, dl})
		} else {
			*stack = append(*stack, kdItem{nd.left, dl}, kdItem{nd.right, dr})
		}
	}
}
