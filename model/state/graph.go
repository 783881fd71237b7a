package state

import (
	"fmt"

	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// arch holds the hyperparameters the graph needs.
type arch struct {
	genes, perts              int
	hidden, encLayers, layers int
	heads, mlpRatio           int
	norm, loss                string
	residual                  bool
	mmdSigma                  float64
	embedDim                  int
	geneLossWeight            float64
}

func archFrom(c hparams.Config, genes, perts int) arch {
	a := arch{genes: genes, perts: perts, hidden: c.Int("hidden_dim"), encLayers: c.Int("n_encoder_layers"),
		layers: c.Int("n_layers"), heads: c.Int("heads"), mlpRatio: c.Int("mlp_ratio"), norm: c.Str("norm"),
		loss: c.Str("loss"), residual: c.Bool("predict_residual"), mmdSigma: c.Float("mmd_sigma"),
		embedDim: c.Int("embed_dim"), geneLossWeight: c.Float("gene_loss_weight")}
	return a
}

func (a arch) validate() error {
	switch {
	case a.hidden <= 0 || a.heads <= 0 || a.hidden%a.heads != 0:
		return fmt.Errorf("hidden_dim %d must be > 0 and divisible by heads %d", a.hidden, a.heads)
	case a.encLayers < 0 || a.layers < 0 || a.mlpRatio <= 0:
		return fmt.Errorf("n_encoder_layers %d, n_layers %d must be ≥ 0 and mlp_ratio %d > 0", a.encLayers, a.layers, a.mlpRatio)
	case a.norm != "layer" && a.norm != "rms":
		return fmt.Errorf("norm %q: want layer or rms", a.norm)
	case a.loss != "energy" && a.loss != "mmd":
		return fmt.Errorf("loss %q: want energy or mmd", a.loss)
	case a.embedDim < 0 || a.embedDim > a.genes:
		return fmt.Errorf("embed_dim %d must be in [0, %d genes]", a.embedDim, a.genes)
	case a.embedDim > 0 && !(a.geneLossWeight >= 0):
		return fmt.Errorf("gene_loss_weight %g must be ≥ 0", a.geneLossWeight)
	case a.loss == "mmd" && !(a.mmdSigma > 0):
		return fmt.Errorf("mmd_sigma %g must be > 0", a.mmdSigma)
	}
	return nil
}

// embedding returns the PCA mean μ [G] and loadings V [G,k] (non-trainable
// variables written by Fit, saved in checkpoints).
func (a arch) embedding(scope *gmodel.Scope, g *Graph) (mean, loadings *Node) {
	es := scope.At("embedding")
	mv := es.VariableWithShape("mean", shapes.Make(dtypes.Float32, a.genes)).SetTrainable(false)
	lv := es.VariableWithShape("loadings", shapes.Make(dtypes.Float32, a.genes, a.embedDim)).SetTrainable(false)
	return mv.NodeValue(g), lv.NodeValue(g)
}

// forward predicts perturbed cells from control sets:
//
//	ctrl [B,S,G] log1p controls, pert [B,P] one-hot (all-zero = unknown),
//	mask [B,S] bool (true = real cell)
//	h = f_cell(ctrl) + f_pert(pert)            (broadcast over the set)
//	h = L × SetAttentionBlock(h, mask)         (no positional encoding)
//	ŷ = ReLU(ctrl + W·norm(h) + b)             (predict_residual)
//
// With embed_dim = k > 0 the same runs on e = (ctrl − μ)·V (PCA scores) and
// the prediction is ê = e + W·norm(h) + b, decoded ŷ = ReLU(μ + ê·Vᵀ).
// Returns ŷ [B,S,G] and ê [B,S,k] (nil in gene space).
func (a arch) forward(scope *gmodel.Scope, ctrl, pert, mask *Node) (pred, predEmb *Node) {
	x := ctrl
	var mean, loadings *Node
	if a.embedDim > 0 {
		mean, loadings = a.embedding(scope, ctrl.Graph())
		x = Einsum("bsg,gk->bsk", Sub(ctrl, InsertAxes(mean, 0, 0)), loadings)
	}
	basal := nn.MLP(scope.In("basal_encoder"), x, a.hidden, a.encLayers, a.hidden, a.norm)
	pemb := nn.MLP(scope.In("pert_encoder"), pert, a.hidden, a.encLayers, a.hidden, a.norm) // [B,h]
	h := Add(basal, InsertAxes(pemb, 1))
	for l := range a.layers {
		h = nn.SetAttentionBlock(scope.In("block_%d", l), h, mask, a.heads, a.mlpRatio, a.norm)
	}
	h = nn.Norm(scope.In("final_norm"), h, a.norm)
	if a.embedDim > 0 {
		out := layers.Dense(scope.In("project_out"), h, true, a.embedDim)
		if a.residual {
			out = Add(out, x)
		}
		return activation.Relu(Add(Einsum("bsk,gk->bsg", out, loadings), InsertAxes(mean, 0, 0))), out
	}
	out := layers.Dense(scope.In("project_out"), h, true, a.genes)
	if a.residual {
		out = Add(out, ctrl)
	}
	return activation.Relu(out), nil
}

// setLoss is the batch mean of the distributional loss between predicted
// and observed sets; in embedding mode the embedding-space loss plus
// gene_loss_weight × the gene-space loss (STATE §4.2.2.5).
// mean and loadings are the embedding nodes (nil in gene space).
func (a arch) setLoss(pred, predEmb, mean, loadings, target, predMask, targetMask *Node) *Node {
	d := func(x, y *Node) *Node {
		if a.loss == "mmd" {
			return ReduceAllMean(nn.MMDRBF(x, y, predMask, targetMask, a.mmdSigma))
		}
		return ReduceAllMean(nn.EnergyDistance(x, y, predMask, targetMask))
	}
	if a.embedDim == 0 {
		return d(pred, target)
	}
	targetEmb := Einsum("bsg,gk->bsk", Sub(target, InsertAxes(mean, 0, 0)), loadings)
	return Add(d(predEmb, targetEmb), MulScalar(d(pred, target), a.geneLossWeight))
}

// trainFns returns the model and loss functions for nn.Train: inputs
// (ctrl, pert, mask), labels (target, target mask).
func (a arch) trainFns() (nn.ModelFn, nn.LossFn) {
	modelFn := func(scope *gmodel.Scope, in []*Node) []*Node {
		pred, predEmb := a.forward(scope, in[0], in[1], in[2])
		if a.embedDim == 0 {
			return []*Node{pred, in[2]}
		}
		mean, loadings := a.embedding(scope, pred.Graph())
		return []*Node{pred, in[2], predEmb, mean, loadings}
	}
	lossFn := func(labels, preds []*Node) *Node {
		if a.embedDim == 0 {
			return a.setLoss(preds[0], nil, nil, nil, labels[0], preds[1], labels[1])
		}
		return a.setLoss(preds[0], preds[2], preds[3], preds[4], labels[0], preds[1], labels[1])
	}
	return modelFn, lossFn
}
