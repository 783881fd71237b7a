package state

import (
	"fmt"

	"github.com/cellbench/cellbench/model"
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
}

func archFrom(c model.Config, genes, perts int) arch {
	a := arch{genes: genes, perts: perts, hidden: c.Int("hidden_dim"), encLayers: c.Int("n_encoder_layers"),
		layers: c.Int("n_layers"), heads: c.Int("heads"), mlpRatio: c.Int("mlp_ratio"), norm: c.Str("norm"),
		loss: c.Str("loss"), residual: c.Bool("predict_residual"), mmdSigma: c.Float("mmd_sigma")}
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
	case a.loss == "mmd" && !(a.mmdSigma > 0):
		return fmt.Errorf("mmd_sigma %g must be > 0", a.mmdSigma)
	}
	return nil
}

// forward predicts perturbed cells from control sets:
//
//	ctrl [B,S,G] log1p controls, pert [B,P] one-hot (all-zero = unknown),
//	mask [B,S] bool (true = real cell)
//	h = f_cell(ctrl) + f_pert(pert)            (broadcast over the set)
//	h = L × SetAttentionBlock(h, mask)         (no positional encoding)
//	ŷ = ReLU(ctrl + W·norm(h) + b)             (predict_residual)
//
// Returns ŷ [B,S,G].
func (a arch) forward(scope *gmodel.Scope, ctrl, pert, mask *Node) *Node {
	basal := model.MLP(scope.In("basal_encoder"), ctrl, a.hidden, a.encLayers, a.hidden, a.norm)
	pemb := model.MLP(scope.In("pert_encoder"), pert, a.hidden, a.encLayers, a.hidden, a.norm) // [B,h]
	h := Add(basal, InsertAxes(pemb, 1))
	for l := range a.layers {
		h = model.SetAttentionBlock(scope.In("block_%d", l), h, mask, a.heads, a.mlpRatio, a.norm)
	}
	h = model.Norm(scope.In("final_norm"), h, a.norm)
	out := layers.Dense(scope.In("project_out"), h, true, a.genes)
	if a.residual {
		out = Add(out, ctrl)
	}
	return activation.Relu(out)
}

// setLoss is the batch mean of the distributional loss between predicted
// and observed sets.
func (a arch) setLoss(pred, target, predMask, targetMask *Node) *Node {
	var per *Node
	if a.loss == "mmd" {
		per = model.MMDRBF(pred, target, predMask, targetMask, a.mmdSigma)
	} else {
		per = model.EnergyDistance(pred, target, predMask, targetMask)
	}
	return ReduceAllMean(per)
}
