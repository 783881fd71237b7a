package stack

import (
	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// teacherPrefix is the scope of the EMA teacher's variables.
const teacherPrefix = "/teacher/"

// promptAttention is the in-context attention mask [S,S] (true = may
// attend): the nPrompt prompt positions attend only to prompt positions;
// the others attend to every position (ICL_FinetunedModel:
// attn_mask[:n_kept, n_kept:] = True means blocked).
func promptAttention(g *Graph, S, nPrompt int) *Node {
	i := Iota(g, shapes.Make(dtypes.Int32, S, S), 0)
	j := Iota(g, shapes.Make(dtypes.Int32, S, S), 1)
	n := Scalar(g, dtypes.Int32, nPrompt)
	blocked := LogicalAnd(LessThan(i, n), GreaterOrEqual(j, n))
	return LogicalNot(blocked)
}

// clsLogits is the revealed-vs-query classifier
// (FinetuneInitializationMixin.cls): Linear(2D → n_tokens) → GELU →
// Linear(→ 1) on concat(mean embedding of the context positions, the
// cell's embedding), both detached (the loss trains the head only).
// emb [B,S,D], ctx [B,S] bool (positions averaged) → logits [B,S].
func (a arch) clsLogits(scope *gmodel.Scope, emb, ctx *Node) *Node {
	B, S, D := emb.Shape().Dim(0), emb.Shape().Dim(1), emb.Shape().Dim(2)
	e := StopGradient(emb)
	w := ConvertDType(ctx, e.DType())
	mean := Div(Einsum("bs,bsd->bd", w, e), MaxScalar(InsertAxes(ReduceSum(w, 1), -1), 1)) // [B,D]
	in := Concatenate([]*Node{BroadcastToDims(InsertAxes(mean, 1), B, S, D), e}, -1)
	h := activation.Gelu(layers.Dense(scope.In("cls_1"), in, true, a.tokens))
	return Squeeze(layers.Dense(scope.In("cls_2"), h, true, 1), -1)
}

// reparamNBLog is the release's ReparamNBLogSampler (src/stack/models/
// utils.py): a differentiable sample of log1p(X/N), X ~ NB(μ, θ): a
// log-normal moment match of U = X + N given X > 0, gated by a Concrete
// (τ = 0.7) relaxation of the event X > 0. eps ~ N(0,1) and logistic
// noise come from outside the graph (deterministic batches). N broadcasts
// against μ.
func reparamNBLog(mu, theta, N, eps, logistic *Node) *Node {
	const e = 1e-6
	th := MaxScalar(theta, e)
	v := Add(mu, Div(Square(mu), th))
	logP0 := Sub(Log(th), Log(Add(theta, MaxScalar(mu, e))))
	p0 := Exp(Mul(th, logP0))
	q := MinScalar(MaxScalar(OneMinus(p0), e), 1-e)
	euPos := Add(N, Div(mu, q))
	eu2Pos := Add(Square(N), Div(Add(Add(MulScalar(Mul(N, mu), 2), Square(mu)), v), q))
	ratio := MaxScalar(Div(eu2Pos, Square(MaxScalar(euPos, e))), 1+e)
	s2 := Log(ratio)
	m := Sub(Log(MaxScalar(euPos, e)), MulScalar(s2, 0.5))
	zPos := Add(Sub(m, Log(MaxScalar(N, e))), Mul(Sqrt(s2), eps))
	logitQ := Sub(Log(q), Log1p(Neg(q)))
	gate := Sigmoid(DivScalar(Add(logitQ, logistic), 0.7))
	return Mul(gate, zPos)
}

// icInputs are the inputs of one in-context post-training step (see
// icBatcher), in order.
const (
	icObs      = iota // [B,S,G] f32 model input (CP10k scale): prompt cells, revealed targets, query controls
	icGT              // [B,S,G] f32 ground truth: prompt cells, then target cells
	icLnFact          // [B,S,G] f32 ln Γ(gt+1)
	icGenes           // [B,G] bool present genes
	icMasked          // [B,G] bool masked genes
	icQuery           // [B,S] bool query positions (≥ n_context)
	icContext         // [B,S] bool revealed-target positions [n_prompt, n_context)
	icWeight          // [B] f32 1/(1 − t)
	icEps             // [B,S,G] f32 N(0,1) noise of the NB sampler
	icLogistic        // [B,S,G] f32 logistic noise of its gate
	icSWIdx           // [K] i32
	icSWProj          // [D,P] f32
	icPrior           // [B,K,D] f32
	icNumInputs
)

// icLoss is the in-context post-training objective
// (ICL_FinetunedModel.forward + FinetuneLossMixin), per set:
//
//	recon = NB NLL over masked genes of prompt and revealed positions, vs the ground truth
//	mmd   = (½·E(pred, true) + ½·E(student emb, teacher emb)) / (1 − t)   over query positions
//	sw    = sliced-Wasserstein pull of the student embeddings toward N(0, I)
//	cls   = BCE(revealed = 0 vs query = 1, pos_weight = n_revealed/n_query) of the classifier head
//	loss  = recon + mmd + sw_weight·sw + cls_weight·cls
//
// E is the geomloss energy distance (nn.EnergyDistance) between clouds:
// "pred" = reparamNBLog samples of log1p(1e4·X/lib) with the set's
// geometric-mean dispersion over prompt and revealed positions (the
// release takes the median), "true" = log1p(1e4·gt/lib); genes absent
// from the dataset are zeroed in both. The teacher (scope /teacher/, EMA
// of the student, frozen) sees the ground truth at every position, no
// masking, no query embedding and no attention mask.
func (a arch) icLoss(scope *gmodel.Scope, in []*Node, nPrompt int, swWeight, clsWeight, emaDecay float64, emaEvery int) *Node {
	obs, gt, lnfact, genes, masked := in[icObs], in[icGT], in[icLnFact], in[icGenes], in[icMasked]
	qpos, ctxpos, weight := in[icQuery], in[icContext], in[icWeight]
	B, S, G := obs.Shape().Dim(0), obs.Shape().Dim(1), obs.Shape().Dim(2)
	g := obs.Graph()
	ms := modelScope(scope)
	attn := promptAttention(g, S, nPrompt)
	emb := a.encode(ms, a.tokenize(ms, maskedLog1p(obs, masked), qpos, true), nil, attn, true)
	lib := MaxScalar(ReduceSum(gt, -1), 1) // the target's library size (release: ground_truth.sum, clamp 1)
	mu, theta := a.decode(ms, emb, lib, genes, true)

	// Teacher: the true sets, unmasked, no query embedding, no prompt mask.
	ts := modelScope(scope.In("teacher"))
	temb := StopGradient(a.encode(ts, a.tokenize(ts, Log1p(gt), nil, false), nil, nil, false))
	nn.FreezeVariables(scope.Store(), teacherPrefix)
	nn.UpdateEMA(scope.Store(), g, teacherPrefix, "/", emaDecay, emaEvery)

	notQuery := LogicalNot(qpos)
	geneB := BroadcastToDims(Reshape(genes, B, 1, G), B, S, G)
	entry := LogicalAnd(BroadcastToDims(Reshape(masked, B, 1, G), B, S, G), BroadcastToDims(Reshape(notQuery, B, S, 1), B, S, G))
	recon := MaskedReduceAllMean(nn.NegativeBinomialNLLWithLogFactorial(gt, lnfact, mu, theta), entry)

	// Dispersion for the sampler: geometric mean over prompt and revealed positions, detached.
	w := ConvertDType(Reshape(notQuery, B, S, 1), theta.DType())
	logTheta := StopGradient(Log(MaxScalar(theta, 1e-6)))
	thetaSet := Exp(Div(ReduceSum(Mul(logTheta, w), 1), MaxScalar(ReduceSum(w, 1), 1))) // [B,G]
	N := DivScalar(InsertAxes(lib, -1), 1e4)
	geneF := ConvertDType(geneB, mu.DType())
	pred := Mul(reparamNBLog(mu, BroadcastToDims(InsertAxes(thetaSet, 1), B, S, G), N, in[icEps], in[icLogistic]), geneF)
	truth := Mul(Log1p(Div(MulScalar(gt, 1e4), InsertAxes(lib, -1))), geneF)
	eExpr := nn.EnergyDistance(pred, truth, qpos, qpos)
	eEmb := nn.EnergyDistance(emb, temb, qpos, qpos)
	mmd := ReduceAllMean(Mul(Add(MulScalar(eExpr, 0.5), MulScalar(eEmb, 0.5)), weight))

	sw := swTerm(emb, in[icSWIdx], in[icSWProj], in[icPrior])

	notPrompt := LogicalOr(qpos, ctxpos)
	promptPos := LogicalNot(notPrompt)
	logits := a.clsLogits(ms, emb, promptPos)
	labels := ConvertDType(qpos, logits.DType())
	nPos := MaxScalar(ReduceAllSum(labels), 1)
	nNeg := MaxScalar(ReduceAllSum(ConvertDType(ctxpos, logits.DType())), 1)
	posWeight := StopGradient(Div(nNeg, nPos))
	// BCEWithLogits(pos_weight): −[pw·y·log σ(x) + (1−y)·log(1−σ(x))]
	logSig := Neg(Softplus(Neg(logits)))
	log1mSig := Neg(Softplus(logits))
	bce := Neg(Add(Mul(Mul(labels, logSig), posWeight), Mul(OneMinus(labels), log1mSig)))
	cls := MaskedReduceAllMean(bce, notPrompt)

	nn.LogTerm(scope, "recon", recon)
	nn.LogTerm(scope, "mmd_expr", ReduceAllMean(eExpr))
	nn.LogTerm(scope, "mmd_emb", ReduceAllMean(eEmb))
	nn.LogTerm(scope, "sw", sw)
	nn.LogTerm(scope, "cls", cls)
	return Add(Add(Add(recon, mmd), MulScalar(sw, swWeight)), MulScalar(cls, clsWeight))
}

// genGraph is one generation call: the NB parameters and classifier
// logits of windows obs [B,S,G] (CP10k scale) with cells [B,S] (real),
// qpos [B,S] (query positions, which get the query embedding), base
// [B,S] (prompt/context positions: the classifier's context mean) and
// the attention mask attn [S,S]. The library size is each cell's own
// (release get_prediction). Returns μ, θ [B,S,G] and logits [B,S].
func (a arch) genGraph(scope *gmodel.Scope, obs, genes, cells, qpos, base, attn *Node) (mu, theta, logits *Node) {
	ms := modelScope(scope)
	emb := a.encode(ms, a.tokenize(ms, Log1p(obs), qpos, false), cells, attn, false)
	lib := MaxScalar(ReduceSum(obs, -1), 1)
	mu, theta = a.decode(ms, emb, lib, genes, false)
	return mu, theta, a.clsLogits(ms, emb, base)
}
