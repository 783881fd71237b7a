package stack

import (
	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/layers/norm"
	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// layerNormEps is PyTorch's LayerNorm default, as the release uses.
const layerNormEps = 1e-5

// modelScope returns the scope the model's variables live under, with the
// release's initialisation: xavier-uniform weights, zero biases
// (StateICLModelBase._init_weights).
func modelScope(scope *gmodel.Scope) *gmodel.Scope {
	return scope.WithInitializer(initializer.XavierUniformFn(scope))
}

func ln(scope *gmodel.Scope, x *Node) *Node {
	return norm.LayerNorm(scope, x, -1).Epsilon(layerNormEps).Done()
}

func (a arch) drop(scope *gmodel.Scope, x *Node, train bool) *Node {
	if !train || a.dropout <= 0 {
		return x
	}
	return layers.DropoutStatic(scope, x, a.dropout)
}

// tokens maps log1p input x [B,C,G] to the cells' gene-module tokens
// [B,C,T,d]: GELU(Linear(G → T·d)) + dropout, reshaped
// (StateICLModelBase.gene_reduction / _reduce_and_tokenize). qpos [B,C]
// (bool, true = query position; nil = none) adds the learned query
// embedding to the tokens of query cells (in-context post-training and
// generation, ICL_FinetunedModel.query_pos_embedding).
func (a arch) tokenize(scope *gmodel.Scope, x, qpos *Node, train bool) *Node {
	B, C := x.Shape().Dim(0), x.Shape().Dim(1)
	h := activation.Gelu(layers.Dense(scope.In("gene_reduction"), x, true, a.dim()))
	h = a.drop(scope.In("gene_reduction_dropout"), h, train)
	h = Reshape(h, B, C, a.tokens, a.tokenDim)
	if qpos != nil {
		qe := scope.WithInitializer(initializer.RandomNormalFn(scope, 0.02)).
			VariableWithShape("query_pos_embedding", shapes.Make(dtypes.Float32, a.tokens, a.tokenDim)).NodeValue(x.Graph())
		w := Reshape(ConvertDType(qpos, dtypes.Float32), B, C, 1, 1)
		h = Add(h, Mul(w, Reshape(qe, 1, 1, a.tokens, a.tokenDim)))
	}
	return h
}

// encode runs the tabular-attention stack on tokens h [B,C,T,d] and
// returns the cell embeddings [B,C,T·d] (final_cell_embeddings).
// cellMask [B,C] (true = real cell; nil = all) restricts the keys of the
// inter-cellular attention; attn [C,C] (true = may attend; nil = all)
// further restricts it (the prompt mask of in-context sets).
func (a arch) encode(scope *gmodel.Scope, h, cellMask, attn *Node, train bool) *Node {
	g := h.Graph()
	pos := scope.WithInitializer(initializer.RandomNormalFn(scope, 1.0)).
		VariableWithShape("gene_pos_embedding", shapes.Make(dtypes.Float32, a.tokens, a.tokenDim)).NodeValue(g)
	for l := range a.layers {
		h = a.layer(scope.In("layer_%d", l), h, pos, cellMask, attn, train)
	}
	B, C := h.Shape().Dim(0), h.Shape().Dim(1)
	return Reshape(h, B, C, a.dim())
}

// layer is one TabularAttentionLayer (src/stack/modules/attention.py),
// post-norm as the release (pre-norm with norm=pre):
//
//	xc = LN_d(xc + MHA_intra(xc + pos))       over each cell's T tokens
//	xg = LN_D(xg + MHA_inter(xg))             over the C cells, each flattened to D = T·d
//	x  = LN_d(x + MLP(x))                     per token, d → mlp_ratio·d → d
//
// The position embedding is re-added in every layer to the intra-cell
// attention's input only, not to its residual.
func (a arch) layer(scope *gmodel.Scope, h, pos, cellMask, attn *Node, train bool) *Node {
	B, C, T, d := h.Shape().Dim(0), h.Shape().Dim(1), a.tokens, a.tokenDim
	D := a.dim()
	xc := Reshape(h, B*C, T, d)
	posB := Reshape(pos, 1, T, d)
	if a.preNorm {
		y := ln(scope.In("cell_norm"), xc)
		xc = Add(xc, nn.SelfAttentionQKV(scope.In("cell_attn"), Add(y, posB), nil, nil, a.intraHeads))
	} else {
		att := nn.SelfAttentionQKV(scope.In("cell_attn"), Add(xc, posB), nil, nil, a.intraHeads)
		xc = ln(scope.In("cell_norm"), Add(xc, att))
	}
	xg := Reshape(xc, B, C, D)
	if a.preNorm {
		y := ln(scope.In("gene_norm"), xg)
		xg = Add(xg, nn.SelfAttentionQKV(scope.In("gene_attn"), y, cellMask, attn, a.heads))
	} else {
		xg = ln(scope.In("gene_norm"), Add(xg, nn.SelfAttentionQKV(scope.In("gene_attn"), xg, cellMask, attn, a.heads)))
	}
	m := Reshape(xg, B*C*T, d)
	mlp := func(y *Node) *Node {
		y = activation.Gelu(layers.Dense(scope.In("mlp_up"), y, true, a.mlpRatio*d))
		y = a.drop(scope.In("mlp_dropout_1"), y, train)
		y = layers.Dense(scope.In("mlp_down"), y, true, d)
		return a.drop(scope.In("mlp_dropout_2"), y, train)
	}
	if a.preNorm {
		m = Add(m, mlp(ln(scope.In("mlp_norm"), m)))
	} else {
		m = ln(scope.In("mlp_norm"), Add(m, mlp(m)))
	}
	return Reshape(m, B, C, T, d)
}

// decode is the negative-binomial decoder
// (StateICLModelBase._compute_nb_parameters): out = Linear(2D → 2G)(
// GELU(Linear(D → 2D)(emb))) read as [B,C,G,2];
//
//	μ = softmax over present genes(out[…,0]) · lib      θ = softplus(out[…,1])
//
// emb [B,C,D], lib [B,C] (library size), genes [B,G] (bool: genes present
// in the set's dataset; the softmax ignores the others, whose μ is 0).
func (a arch) decode(scope *gmodel.Scope, emb, lib, genes *Node, train bool) (mu, theta *Node) {
	B, C, G := emb.Shape().Dim(0), emb.Shape().Dim(1), a.genes
	h := activation.Gelu(layers.Dense(scope.In("output_mlp_1"), emb, true, 2*a.dim()))
	h = a.drop(scope.In("output_dropout"), h, train)
	out := Reshape(layers.Dense(scope.In("output_mlp_2"), h, true, 2*G), B, C, G, 2)
	logits := Squeeze(Slice(out, AxisRange(), AxisRange(), AxisRange(), AxisElem(0)), 3)
	disp := Squeeze(Slice(out, AxisRange(), AxisRange(), AxisRange(), AxisElem(1)), 3)
	gm := BroadcastToDims(Reshape(genes, B, 1, G), B, C, G)
	mu = Mul(MaskedSoftmax(logits, gm, -1), Reshape(lib, B, C, 1))
	return mu, Softplus(disp)
}

// maskedLog1p is the model input: log1p(counts) with the masked genes
// (bool [B,G], nil = none) set to 0, as STACK masks (apply_mask: 0 in log
// space, no indicator).
func maskedLog1p(counts, masked *Node) *Node {
	x := Log1p(counts)
	if masked == nil {
		return x
	}
	B, C, G := counts.Shape().Dim(0), counts.Shape().Dim(1), counts.Shape().Dim(2)
	return Where(BroadcastToDims(Reshape(masked, B, 1, G), B, C, G), ZerosLike(x), x)
}

// swTerm is the sliced-Wasserstein regulariser: the embeddings of the K
// positions idx [K] (int32) of every set, centred over those K cells,
// against prior samples [B,K,D] of N(0, I) along the unit directions proj
// [D,P]; mean over sets (LossComputationMixin._compute_sw_loss).
func swTerm(emb, idx, proj, prior *Node) *Node {
	C := emb.Shape().Dim(1)
	sel := OneHot(idx, C, emb.DType())     // [K,C]
	sub := Einsum("kc,bcd->bkd", sel, emb) // [B,K,D]
	sub = Sub(sub, ReduceAndKeep(sub, ReduceMean, 1))
	return ReduceAllMean(nn.SlicedWasserstein2(sub, prior, proj))
}

// pretrainLoss builds the pre-training objective. Inputs:
//
//	counts [B,C,G] f32   raw counts over the gene universe (absent genes 0)
//	lnfact [B,C,G] f32   ln(counts!) (computed outside the graph)
//	cells  [B,C]   bool  real cells
//	genes  [B,G]   bool  genes present in the set's dataset
//	masked [B,G]   bool  the set's masked genes (a subset of genes)
//	swIdx  [K]     i32   positions entering the SW term
//	swProj [D,P]   f32   unit directions
//	prior  [B,K,D] f32   N(0, I) samples
//
// loss = mean NB NLL over masked entries of real cells + sw_weight · SW;
// the two terms are logged as "nb_nll" and "sw". The library size is the
// unmasked sum over present genes (StateICLModelBase.forward).
func (a arch) pretrainLoss(scope *gmodel.Scope, in []*Node, swWeight float64) *Node {
	_, _, _, recon, sw := a.pretrainParts(scope, in)
	nn.LogTerm(scope, "nb_nll", recon)
	nn.LogTerm(scope, "sw", sw)
	return Add(recon, MulScalar(sw, swWeight))
}

// pretrainParts builds the pre-training graph and returns the embeddings
// [B,C,D], μ and θ [B,C,G] and the two loss terms (scalars).
func (a arch) pretrainParts(scope *gmodel.Scope, in []*Node) (emb, mu, theta, recon, sw *Node) {
	counts, lnfact, cells, genes, masked := in[0], in[1], in[2], in[3], in[4]
	swIdx, swProj, prior := in[5], in[6], in[7]
	B, C, G := counts.Shape().Dim(0), counts.Shape().Dim(1), counts.Shape().Dim(2)
	ms := modelScope(scope)
	lib := ReduceSum(counts, -1)
	emb, mu, theta = a.forward(ms, maskedLog1p(counts, masked), cells, lib, genes, true)
	nll := nn.NegativeBinomialNLLWithLogFactorial(counts, lnfact, mu, theta)
	entry := LogicalAnd(BroadcastToDims(Reshape(masked, B, 1, G), B, C, G), BroadcastToDims(Reshape(cells, B, C, 1), B, C, G))
	recon = MaskedReduceAllMean(nll, entry)
	sw = swTerm(emb, swIdx, swProj, prior)
	return emb, mu, theta, recon, sw
}

// forward is the masked-reconstruction model shared by pre-training and
// imputation: the masked log1p input x [B,C,G] (maskedLog1p) → cell
// embeddings [B,C,D] → NB μ and θ [B,C,G], with cells [B,C] the real-cell
// mask, lib [B,C] the library sizes μ is scaled to and genes [B,G] the
// genes of μ's softmax (StateICLModelBase.forward).
func (a arch) forward(ms *gmodel.Scope, x, cells, lib, genes *Node, train bool) (emb, mu, theta *Node) {
	emb = a.encode(ms, a.tokenize(ms, x, nil, train), cells, nil, train)
	mu, theta = a.decode(ms, emb, lib, genes, train)
	return emb, mu, theta
}

// reconGraph is imputation's inference graph: the pre-training forward
// pass (no dropout) on counts [B,C,G] whose masked entries are already 0
// — which is exactly what maskedLog1p makes of a masked entry, 0 in log1p
// space — returning the NB mean fractions μ/lib [B,C,G] (softmax over
// genes [B,G]; the caller scales them by its library estimate).
func (a arch) reconGraph(scope *gmodel.Scope, counts, cells, genes *Node) *Node {
	_, frac, _ := a.forward(modelScope(scope), maskedLog1p(counts, nil), cells, OnesLike(ReduceSum(counts, -1)), genes, false)
	return frac
}

// embedGraph returns the embeddings [B,C,D] of sets of raw counts
// [B,C,G] (no masking, no query embedding, no attention mask: the
// release's get_latent_representation) with cells [B,C] real-cell mask.
func (a arch) embedGraph(scope *gmodel.Scope, counts, cells *Node) *Node {
	ms := modelScope(scope)
	return a.encode(ms, a.tokenize(ms, Log1p(counts), nil, false), cells, nil, false)
}
