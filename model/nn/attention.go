package nn

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// SelfAttentionQKV is multi-head self-attention with one fused, bias-free
// query/key/value projection and a biased output projection — the layout
// of STACK's MultiHeadAttention (ArcInstitute/stack
// src/stack/modules/attention.py) and of a PyTorch Linear(D, 3D,
// bias=False) + Linear(D, D) twin:
//
//	[Q K V] = x·W_qkv                        W_qkv [D, 3D], no bias
//	A_h     = softmax(Q_h K_hᵀ / √(D/h))     over allowed keys
//	out     = concat_h(A_h V_h)·W_o + b_o    W_o [D, D]
//
// x is [N, S, D] (N independent sequences of S items); heads must divide D.
// keyMask [N, S] (true = a real item that may be attended to) and attnMask
// [S, S] or [N, S, S] (true = query i may attend to key j) restrict the
// keys; either may be nil. A query whose keys are all blocked gets a zero
// attention output (MaskedSoftmax). Scopes: "qkv", "out".
func SelfAttentionQKV(scope *gmodel.Scope, x, keyMask, attnMask *Node, heads int) *Node {
	if x.Rank() != 3 {
		panic(fmt.Sprintf("model: SelfAttentionQKV: x must be [N,S,D], got %s", x.Shape()))
	}
	N, S, D := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	if heads <= 0 || D%heads != 0 {
		panic(fmt.Sprintf("model: SelfAttentionQKV: %d heads do not divide width %d", heads, D))
	}
	dh := D / heads
	qkv := layers.Dense(scope.In("qkv"), x, false, 3*D) // [N,S,3D]
	qkv = Reshape(qkv, N, S, 3, heads, dh)
	q := Squeeze(Slice(qkv, AxisRange(), AxisRange(), AxisElem(0)), 2) // [N,S,H,dh]
	k := Squeeze(Slice(qkv, AxisRange(), AxisRange(), AxisElem(1)), 2)
	v := Squeeze(Slice(qkv, AxisRange(), AxisRange(), AxisElem(2)), 2)
	scores := MulScalar(Einsum("nshd,nthd->nhst", q, k), 1/math.Sqrt(float64(dh))) // [N,H,S,S]
	var mask *Node
	if keyMask != nil {
		mask = BroadcastToDims(Reshape(keyMask, N, 1, 1, S), N, heads, S, S)
	}
	if attnMask != nil {
		var am *Node
		switch attnMask.Rank() {
		case 2:
			am = BroadcastToDims(Reshape(attnMask, 1, 1, S, S), N, heads, S, S)
		case 3:
			am = BroadcastToDims(Reshape(attnMask, N, 1, S, S), N, heads, S, S)
		default:
			panic(fmt.Sprintf("model: SelfAttentionQKV: attnMask must be [S,S] or [N,S,S], got %s", attnMask.Shape()))
		}
		if mask == nil {
			mask = am
		} else {
			mask = LogicalAnd(mask, am)
		}
	}
	var probs *Node
	if mask == nil {
		probs = Softmax(scores, -1)
	} else {
		probs = MaskedSoftmax(scores, mask, -1)
	}
	ctx := Einsum("nhst,nthd->nshd", probs, v) // [N,S,H,dh]
	return layers.Dense(scope.In("out"), Reshape(ctx, N, S, D), true, D)
}
