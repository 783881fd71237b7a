package nn

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// SortWithGradient sorts x ascending along its last axis, like Sort, but
// the result is differentiable: GoMLX's Sort has no gradient, so the sort
// permutation is found by a (stable) SortFunc over (x, iota), held constant
// (StopGradient), and applied by Gather, whose gradient scatters back to
// the elements' original positions — the gradient of a sort.
func SortWithGradient(x *Node) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	r := x.Rank()
	idx := Iota(g, shapes.Make(dtypes.Int32, dims...), r-1)
	cmp := NewClosure(g, func(g *Graph) []*Node {
		a := Parameter(g, "a", shapes.Make(x.DType()))
		b := Parameter(g, "b", shapes.Make(x.DType()))
		_ = Parameter(g, "ia", shapes.Make(dtypes.Int32))
		_ = Parameter(g, "ib", shapes.Make(dtypes.Int32))
		return []*Node{LessThan(a, b)}
	})
	perm := StopGradient(SortFunc(cmp, r-1, true, StopGradient(x), idx)[1])
	// Full gather indices: (i_0, …, i_{r−2}, perm).
	coords := make([]*Node, 0, r)
	for a := 0; a < r-1; a++ {
		coords = append(coords, InsertAxes(Iota(g, shapes.Make(dtypes.Int32, dims...), a), -1))
	}
	coords = append(coords, InsertAxes(perm, -1))
	return Gather(x, Concatenate(coords, -1))
}

// SlicedWasserstein2 returns, per set b, the squared sliced 2-Wasserstein
// distance between two equal-size point clouds x [B,K,D] and y [B,K,D]
// along the P unit directions θ_p given as the columns of proj [D,P]:
//
//	SW(b) = 1/(K·P) Σ_p Σ_i ( sort(x_b·θ_p)_i − sort(y_b·θ_p)_i )²
//
// i.e. the mean over directions of the squared W₂ between the projected
// empirical distributions (Bonneel et al. 2015). This is STACK's
// regulariser (ArcInstitute/stack src/stack/modules/regularizers.py
// SlicedWassersteinDistance, mean over (B, K, P)) when y holds samples of
// the target N(0, I) and proj fresh random unit directions. Gradients flow
// into both x and y (SortWithGradient). Output [B], dtype of x. It panics
// on mismatched shapes (a programmer error).
func SlicedWasserstein2(x, y, proj *Node) *Node {
	if x.Rank() != 3 || !x.Shape().Equal(y.Shape()) || proj.Rank() != 2 || proj.Shape().Dim(0) != x.Shape().Dim(2) {
		panic(fmt.Sprintf("model: SlicedWasserstein2: want x, y [B,K,D] and proj [D,P], got %s, %s, %s", x.Shape(), y.Shape(), proj.Shape()))
	}
	px := SortWithGradient(Einsum("bkd,dp->bpk", x, proj)) // [B,P,K]
	py := SortWithGradient(Einsum("bkd,dp->bpk", y, proj))
	return ReduceMean(Square(Sub(px, py)), 1, 2)
}
