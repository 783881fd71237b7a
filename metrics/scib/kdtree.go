package scib

import (
	"math"
	"math/bits"

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
	lo, hi      int32   // range in perm
	left, right int32   // children (−1 for a leaf)
	dim         int32   // split dimension
	split       float64 // largest coordinate dim of the left child
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
			box[c] = min(box[c], v)
			box[d+c] = max(box[d+c], v)
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
	// Median split: the lower half in (coordinate, index) order goes left
	// (a selection, not a sort: O(n) per level).
	seg := t.perm[lo:hi]
	mid := lo + (hi-lo)/2
	selectByCoord(seg, int(mid-lo), t.x.Data, d, dim)
	split := math.Inf(-1) // largest coordinate on the left
	for _, p := range seg[:mid-lo] {
		split = max(split, t.x.Data[int(p)*d+dim])
	}
	l := t.build(lo, mid)
	r := t.build(mid, hi)
	t.nodes[id].left, t.nodes[id].right = l, r
	t.nodes[id].dim, t.nodes[id].split = int32(dim), split
	return id
}

// selectByCoord reorders seg so that its first k entries are the k
// smallest rows in (coordinate dim of x, row index) order — a total order,
// so the split is deterministic — by quickselect with a median-of-three
// pivot.
func selectByCoord(seg []int32, k int, x []float64, d, dim int) {
	less := func(a, b int32) bool {
		va, vb := x[int(a)*d+dim], x[int(b)*d+dim]
		return va < vb || (va == vb && a < b)
	}
	lo, hi := 0, len(seg)-1
	for hi > lo {
		// Median of three to seg[lo].
		m := lo + (hi-lo)/2
		if less(seg[m], seg[lo]) {
			seg[m], seg[lo] = seg[lo], seg[m]
		}
		if less(seg[hi], seg[lo]) {
			seg[hi], seg[lo] = seg[lo], seg[hi]
		}
		if less(seg[hi], seg[m]) {
			seg[hi], seg[m] = seg[m], seg[hi]
		}
		seg[lo], seg[m] = seg[m], seg[lo]
		pivot := seg[lo]
		// Hoare partition of seg[lo+1 .. hi] around the pivot (no entry
		// equals it: the order is total).
		i, j := lo+1, hi
		for {
			for i <= j && less(seg[i], pivot) {
				i++
			}
			for i <= j && less(pivot, seg[j]) {
				j--
			}
			if i >= j {
				break
			}
			seg[i], seg[j] = seg[j], seg[i]
			i++
			j--
		}
		seg[lo], seg[j] = seg[j], seg[lo] // pivot to its final place j
		switch {
		case j == k:
			return
		case j < k:
			lo = j + 1
		default:
			hi = j - 1
		}
	}
}

// boxDist2 is the squared distance from q to node n's bounding box.
func (t *kdTree) boxDist2(n int32, q []float64) float64 {
	d := len(q)
	box := t.boxes[int(n)*2*d : int(n)*2*d+2*d]
	return boxSqDist(q, box[:d], box[d:])
}

// kdItem is a pending node with the squared distance to its box.
type kdItem struct {
	n  int32
	d2 float64
}

// knnScratch is one worker's scratch for kdTree.knn.
type knnScratch struct {
	list  nearest
	stack []kdItem
	buf   []float64 // squared distances of one leaf
}

func newKNNScratch(t *kdTree) *knnScratch {
	return &knnScratch{buf: make([]float64, t.maxLeaf)}
}

// knn leaves in sc.list the k−1 nearest rows to row self other than self,
// in increasing (squared distance, index) order, as the brute-force scan
// does. Nodes are visited depth first, nearer child first. (Seeding the
// list with the previous query's neighbours cut the offers from 240 to 114
// per query on the retina embedding but was 7% slower overall: not done.)
func (t *kdTree) knn(self, k int, sc *knnScratch) {
	h := &sc.list
	h.reset(k - 1)
	if k < 2 {
		return
	}
	q := t.x.Row(self)
	stack := &sc.stack
	buf := sc.buf
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
			// Candidates within the bound at the start of the leaf, 64 at a
			// time as a bit mask; each is checked again against the bound,
			// which tightens as candidates enter.
			for c0 := 0; c0 < len(d2); c0 += 64 {
				blk := d2[c0:min(len(d2), c0+64)]
				for m := maskLE(blk, bound); m != 0; m &= m - 1 {
					p := bits.TrailingZeros64(m)
					s, j := blk[p], perm[c0+p]
					// Ties with the current last stay candidates: the list
					// orders them by index, as the brute-force scan does.
					if s > bound || int(j) == self {
						continue
					}
					h.offer(s, j)
					bound = h.bound()
				}
			}
			continue
		}
		// Visit the nearer child (the side of the split q is on) first,
		// pushed last. Its box lies inside this node's, so this node's box
		// distance is a valid lower bound for it; only the farther child's
		// box distance is computed.
		near, far := nd.left, nd.right
		if q[nd.dim] > nd.split {
			near, far = far, near
		}
		*stack = append(*stack, kdItem{far, t.boxDist2(far, q)}, kdItem{near, it.d2})
	}
}
