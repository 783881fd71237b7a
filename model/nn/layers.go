package nn

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/layers/attention"
	"github.com/gomlx/gomlx/ml/layers/norm"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Norm applies the normalisation named kind over the last axis:
// "layer" (LayerNorm with learned gain and offset, GPT-2 style), "rms"
// (RMSNorm with learned scale, LLaMA style) or "none". Unknown kinds panic.
func Norm(scope *gmodel.Scope, x *Node, kind string) *Node {
	switch kind {
	case "layer":
		return norm.LayerNorm(scope, x, -1).Done()
	case "rms":
		return norm.RMSNorm(scope, x).Done()
	case "none":
		return x
	}
	panic(fmt.Sprintf("model: unknown norm %q (want layer, rms or none)", kind))
}

// MLP applies depth Dense layers of width hidden, each followed by the
// norm and GELU, then (if out > 0) a final Dense to out without activation.
// This is STATE's encoder block (Linear → LayerNorm → GELU, repeated).
// Scopes: "layer_0".."layer_{depth-1}", "out".
func MLP(scope *gmodel.Scope, x *Node, hidden, depth, out int, normKind string) *Node {
	if depth < 0 || (depth > 0 && hidden <= 0) {
		panic(fmt.Sprintf("model: MLP: bad hidden=%d depth=%d", hidden, depth))
	}
	for l := range depth {
		s := scope.In("layer_%d", l)
		x = layers.Dense(s.In("dense"), x, true, hidden)
		x = Norm(s.In("norm"), x, normKind)
		x = activation.Gelu(x)
	}
	if out > 0 {
		x = layers.Dense(scope.In("out"), x, true, out)
	}
	return x
}

// SetAttentionBlock is one pre-norm transformer block over a set of cells,
// with no positional encoding (cells of a set are exchangeable, so the block
// is permutation-equivariant):
//
//	h ← h + MHA(norm(h))      keys restricted to real cells by mask
//	h ← h + MLP(norm(h))      D → mlpRatio·D → D, GELU
//
// x [B,S,D]; mask [B,S] bool (true = real cell) or nil. heads must divide D.
// Attention runs unfused (WithFusion(false)): the fused op was 4× slower on
// the go backend (TOOLCHAIN.md).
func SetAttentionBlock(scope *gmodel.Scope, x, mask *Node, heads, mlpRatio int, normKind string) *Node {
	D := x.Shape().Dim(-1)
	if x.Rank() != 3 || heads <= 0 || D%heads != 0 {
		panic(fmt.Sprintf("model: SetAttentionBlock: x %s, heads %d (must divide the last axis)", x.Shape(), heads))
	}
	y := Norm(scope.In("attn_norm"), x, normKind)
	mha := attention.SelfAttention(scope.In("attn"), y, heads, D/heads).WithFusion(false)
	if mask != nil {
		mha = mha.WithKeyMask(mask)
	}
	x = Add(x, mha.Done())
	y = Norm(scope.In("mlp_norm"), x, normKind)
	y = layers.Dense(scope.In("mlp_up"), y, true, mlpRatio*D)
	y = activation.Gelu(y)
	y = layers.Dense(scope.In("mlp_down"), y, true, D)
	return Add(x, y)
}
