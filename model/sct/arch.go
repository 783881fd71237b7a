package sct

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/layers/attention"
	"github.com/gomlx/gomlx/ml/layers/attention/pos"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// arch is the resolved architecture: hyperparameters plus the padded gene
// length, which fix every shape of the graph.
type arch struct {
	cells, genes, genesPad, bins   int
	ted, embed, ffn, layers, heads int
	down, stemK, convK             int
	filters                        []int
	norm                           string
	spatial                        bool
	scales                         int
	sigmaMin, sigmaMax             float64
}

// Token ids: bins 0…bins−1 are expression levels; padToken marks gene
// positions beyond the panel and empty cell slots; maskToken a masked
// position. The released checkpoint's ids for pad and mask are unknown
// (sct-reference.md §1.4): this order is ours.
func (a arch) padToken() int32  { return int32(a.bins) }
func (a arch) maskToken() int32 { return int32(a.bins + 1) }
func (a arch) vocab() int       { return a.bins + 2 }

// seqLen is the number of token positions of one sequence (K·G_pad).
func (a arch) seqLen() int { return a.cells * a.genesPad }

// archFrom resolves the architecture for a panel of genes genes.
func archFrom(c hparams.Config, genes, bins int, spatial bool) (arch, error) {
	a := arch{cells: c.Int("cells"), genes: genes, bins: bins, ted: c.Int("token_dim"), embed: c.Int("embed_dim"),
		ffn: c.Int("ffn_dim"), layers: c.Int("layers"), heads: c.Int("heads"), down: c.Int("downsamples"),
		stemK: c.Int("stem_kernel"), convK: c.Int("conv_kernel"), norm: c.Str("norm"), spatial: spatial,
		scales: c.Int("spatial_scales"), sigmaMin: c.Float("sigma_min"), sigmaMax: c.Float("sigma_max")}
	m := c.Int("filter_multiple")
	switch {
	case genes < 1:
		return a, fmt.Errorf("no genes")
	case a.embed%a.heads != 0 || (a.embed/a.heads)%2 != 0:
		return a, fmt.Errorf("embed_dim %d must be a multiple of heads %d with an even head width (rotary)", a.embed, a.heads)
	case a.ted%m != 0:
		return a, fmt.Errorf("token_dim %d must be a multiple of filter_multiple %d (the last skip adds the stem output to the last deconv block)", a.ted, m)
	case a.down > 12:
		return a, fmt.Errorf("downsamples %d > 12", a.down)
	case a.stemK%2 == 0 || a.convK%2 == 0:
		return a, fmt.Errorf("stem_kernel %d and conv_kernel %d must be odd", a.stemK, a.convK)
	case a.spatial && a.sigmaMax < a.sigmaMin:
		return a, fmt.Errorf("sigma_max %g < sigma_min %g", a.sigmaMax, a.sigmaMin)
	}
	unit := 1 << a.down
	a.genesPad = (genes + unit - 1) / unit * unit
	a.filters = make([]int, a.down+1)
	for i := range a.filters {
		v := float64(a.ted)
		if a.down > 0 {
			v += float64(a.embed-a.ted) * float64(i) / float64(a.down)
		}
		a.filters[i] = int(math.Ceil(v/float64(m))) * m
	}
	a.filters[0] = a.ted
	if a.down == 0 {
		a.filters[0] = a.embed
		if a.ted != a.embed {
			return a, fmt.Errorf("downsamples 0 needs token_dim = embed_dim")
		}
	}
	return a, nil
}

// forward returns the logits [B, K·G_pad, vocab] of tokens [B, K·G_pad]
// (int32) and, for spatial models, coords [B, K, 2] (float32, already
// normalised; nil otherwise). See doc.go for the layer-by-layer
// description.
func (a arch) forward(scope *gmodel.Scope, tokens, coords *Node) *Node {
	B, L := tokens.Shape().Dim(0), tokens.Shape().Dim(1)
	if L != a.seqLen() {
		panic(fmt.Sprintf("sct: tokens %s, want length %d", tokens.Shape(), a.seqLen()))
	}
	x := layers.Embedding(scope.In("token_embed"), tokens, dtypes.Float32, a.vocab(), a.ted) // [B,L,ted]
	if a.spatial {
		enc := a.spatialEncoding(coords)                             // [B,K,2S]
		enc = layers.Dense(scope.In("spatial_fc"), enc, true, a.ted) // [B,K,ted]
		x = Reshape(x, B, a.cells, a.genesPad, a.ted)
		x = Add(x, InsertAxes(enc, 2))
		x = Reshape(x, B, L, a.ted)
	}
	x = activation.GeluApproximate(conv1d(scope.In("stem"), x, a.ted, a.stemK))
	// conv tower
	residuals := make([]*Node, 0, a.down)
	g := a.genesPad
	for i := range a.down {
		s := scope.In("conv_%d", i)
		residuals = append(residuals, x)
		x = activation.GeluApproximate(conv1d(s.In("conv"), a.tokenNorm(s.In("norm"), x, g), a.filters[i+1], a.convK))
		y := activation.GeluApproximate(conv1d(s.In("res_conv"), a.tokenNorm(s.In("res_norm"), x, g), a.filters[i+1], 1))
		x = Add(x, y)
		x = avgPool2(x)
		g /= 2
	}
	// transformer over the compressed sequence
	for l := range a.layers {
		x = a.transformerBlock(scope.In("transformer_%d", l), x)
	}
	// deconv tower with skips
	for j := range a.down {
		s := scope.In("deconv_%d", j)
		cout := a.filters[a.down-1-j]
		x = activation.GeluApproximate(convTranspose1d(s.In("deconv"), a.tokenNorm(s.In("norm"), x, g), cout, a.convK))
		g *= 2
		y := activation.GeluApproximate(conv1d(s.In("res_conv"), a.tokenNorm(s.In("res_norm"), x, g), cout, 1))
		x = Add(x, y)
		x = Add(x, residuals[a.down-1-j])
	}
	// LM head at every position
	h := activation.GeluApproximate(x)
	h = activation.GeluApproximate(layers.Dense(scope.In("head_hidden"), h, true, a.embed))
	return layers.Dense(scope.In("head_out"), h, true, a.vocab())
}

// tokenNorm normalises x [B, K·g, C] as the norm hyperparameter says:
//
//   - shared: the sCT "shared layer norm" (haiku LayerNorm(axis=-1,
//     param_axis=-1) on (B, C, K, g), sct-reference.md §2.4): mean and
//     biased variance over the g genes of each (sequence, cell, channel),
//     eps 1e-5, then a learned scale and offset of shape [g] — one per gene
//     position, shared across cells and channels;
//   - layer: per-position LayerNorm over the channels (affine [C]) — the
//     paper's "standard layer norm" ablation;
//   - none: identity.
func (a arch) tokenNorm(scope *gmodel.Scope, x *Node, g int) *Node {
	switch a.norm {
	case "none":
		return x
	case "layer":
		return nn.Norm(scope, x, "layer")
	}
	B, L, C := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	k := L / g
	xr := Reshape(x, B, k, g, C)
	mean := ReduceAndKeep(xr, ReduceMean, 2)
	xc := Sub(xr, mean)
	v := ReduceAndKeep(Square(xc), ReduceMean, 2)
	y := Div(xc, Sqrt(AddScalar(v, 1e-5)))
	scale := scope.VariableWithValue("scale", tensors.FromValue(ones(g))).NodeValue(x.Graph())
	offset := scope.VariableWithValue("offset", tensors.FromValue(make([]float32, g))).NodeValue(x.Graph())
	y = Add(Mul(y, Reshape(scale, 1, 1, g, 1)), Reshape(offset, 1, 1, g, 1))
	return Reshape(y, B, L, C)
}

func ones(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// conv1d is a SAME-padded 1-D convolution over the position axis of x
// [B, L, Cin] with a [k, Cin, Cout] kernel and a bias (He initialisation),
// y[l] = Σ_t x[l + t − k/2]·W[t] + b. Kernels cross cell boundaries, as in
// the released model (zero padding only at the ends of the whole
// sequence). Computed as one matrix product over the k shifted copies of
// x (im2col): the go backend's generic convolution was ~100× slower.
func conv1d(scope *gmodel.Scope, x *Node, cout, k int) *Node {
	cin := x.Shape().Dim(-1)
	w := scope.VariableWithShape("weights", shapes.Make(x.DType(), k, cin, cout)).NodeValue(x.Graph())
	b := scope.VariableWithValue("bias", tensors.FromValue(make([]float32, cout))).NodeValue(x.Graph())
	offsets := make([]int, k)
	for t := range offsets {
		offsets[t] = t - k/2
	}
	y := Einsum("blc,co->blo", shifted(x, offsets), Reshape(w, k*cin, cout))
	return Add(y, Reshape(b, 1, 1, cout))
}

// shifted returns [B, L, len(offsets)·C]: for each offset δ the copy of x
// [B, L, C] with x[l+δ] at position l (zero outside [0, L)), concatenated
// along the channels in offset order.
func shifted(x *Node, offsets []int) *Node {
	if len(offsets) == 1 && offsets[0] == 0 {
		return x
	}
	L := x.Shape().Dim(1)
	lo, hi := 0, 0
	for _, d := range offsets {
		lo, hi = min(lo, d), max(hi, d)
	}
	xp := Pad(x, ScalarZero(x.Graph(), x.DType()), PadAxis{}, PadAxis{Start: -lo, End: hi}, PadAxis{})
	parts := make([]*Node, len(offsets))
	for t, d := range offsets {
		parts[t] = Slice(xp, AxisRange(), AxisRange(d-lo, d-lo+L), AxisRange())
	}
	return Concatenate(parts, -1)
}

// convTranspose1d doubles the length of x [B, L, Cin]: a stride-2
// transposed convolution with kernel k and SAME padding, exactly as haiku's
// ConvNDTranspose → lax.conv_transpose computes it (sct-reference.md §2.7):
// the input dilated by 2 (zeros between samples), padded pad_a before and
// k+s−2−pad_a after (JAX _conv_transpose_padding: pad_a = k−1 when s >
// k−1, else ceil((k+s−2)/2); 3 and 2 for k = 5), then a stride-1 valid
// convolution. Output [B, 2L, Cout] plus a bias. Computed without the
// zeros: output position 2q+r (r = 0, 1) sums the taps t with r+t−pad_a
// even, reading x[q + (r+t−pad_a)/2], as one matrix product per parity.
func convTranspose1d(scope *gmodel.Scope, x *Node, cout, k int) *Node {
	const s = 2
	B, L, cin := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	w := scope.VariableWithShape("weights", shapes.Make(x.DType(), k, cin, cout)).NodeValue(x.Graph())
	b := scope.VariableWithValue("bias", tensors.FromValue(make([]float32, cout))).NodeValue(x.Graph())
	padA := int(math.Ceil(float64(k+s-2) / 2))
	if s > k-1 {
		padA = k - 1
	}
	var outs []*Node
	for r := range s {
		var offsets []int
		var taps []*Node
		for t := range k {
			if m := r + t - padA; m%2 == 0 {
				offsets = append(offsets, m/2)
				taps = append(taps, Slice(w, AxisRange(t, t+1), AxisRange(), AxisRange()))
			}
		}
		if len(taps) == 0 { // no tap reaches this parity (k = 1): zeros
			outs = append(outs, Zeros(x.Graph(), shapes.Make(x.DType(), B, L, 1, cout)))
			continue
		}
		wr := Reshape(Concatenate(taps, 0), len(taps)*cin, cout)
		outs = append(outs, InsertAxes(Einsum("blc,co->blo", shifted(x, offsets), wr), 2)) // [B,L,1,Cout]
	}
	y := Reshape(Concatenate(outs, 2), B, 2*L, cout)
	return Add(y, Reshape(b, 1, 1, cout))
}

// avgPool2 averages pairs of neighbouring positions of x [B, L, C] (L
// even) → [B, L/2, C]. With an even gene length per cell at every level
// (genes are padded to a multiple of 2^d) no window straddles two cells.
func avgPool2(x *Node) *Node {
	B, L, C := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	return ReduceMean(Reshape(x, B, L/2, 2, C), 2)
}

// transformerBlock is one pre-LN block of the released model (LAYERS
// SelfAttentionBlock, sct-reference.md §2.6): x + MHA(LN(x)) with rotary
// positions (GPT-NeoX half split, base 10000) over the flattened tokens
// and biased projections; then x + W2(SiLU(x1)·x2), [x1, x2] = W1·LN(x),
// no FFN biases.
func (a arch) transformerBlock(scope *gmodel.Scope, x *Node) *Node {
	E := a.embed
	y := nn.Norm(scope.In("attn_norm"), x, "layer")
	mha := attention.SelfAttention(scope.In("attn"), y, a.heads, E/a.heads).
		WithPositionalEncoder(pos.NewRoPE(10000)).WithFusion(false)
	x = Add(x, mha.Done())
	y = nn.Norm(scope.In("ffn_norm"), x, "layer")
	h := layers.Dense(scope.In("fc1"), y, false, 2*a.ffn)
	h1 := Slice(h, AxisRange(), AxisRange(), AxisRange(0, a.ffn))
	h2 := Slice(h, AxisRange(), AxisRange(), AxisRange(a.ffn, 2*a.ffn))
	h = Mul(activation.Swish(h1), h2)
	return Add(x, layers.Dense(scope.In("fc2"), h, false, E))
}

// spatialEncoding maps coords [B, K, 2] to [B, K, 2S] with the released
// code's features (sct-reference.md §2.2): for s = 1…S, c_s = σmin ·
// (σmax/σmin)^(s/(S−1)), features cos(x/c_s) and sin(y/c_s), concatenated
// scale by scale.
func (a arch) spatialEncoding(coords *Node) *Node {
	xs := Slice(coords, AxisRange(), AxisRange(), AxisRange(0, 1))
	ys := Slice(coords, AxisRange(), AxisRange(), AxisRange(1, 2))
	S := a.scales
	var feats []*Node
	for s := 1; s <= S; s++ {
		den := 1.0
		if S > 1 {
			den = float64(S - 1)
		}
		c := a.sigmaMin * math.Pow(a.sigmaMax/a.sigmaMin, float64(s)/den)
		feats = append(feats, Cos(DivScalar(xs, c)), Sin(DivScalar(ys, c)))
	}
	return Concatenate(feats, -1)
}

// lossFn is the cross-entropy over the masked positions: labels are the
// true bins [B, L] (int32) and the loss mask [B, L] (bool).
func lossFn(labels, preds []*Node) *Node {
	return nn.CrossEntropyLogits(preds[0], labels[0], labels[1])
}

// binProbs returns softmax over the first bins logits (expression levels
// only; pad and mask logits are ignored, as the notebooks' argmax over
// logits[..., :5]).
func (a arch) binProbs(logits *Node) *Node {
	return Softmax(Slice(logits, AxisRange(), AxisRange(), AxisRange(0, a.bins)), -1)
}
