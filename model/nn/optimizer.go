package nn

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// GradNormVariable is the name (in the optimizer scope) of the non-trainable
// scalar variable holding the global gradient L2 norm of the last step,
// before clipping.
const GradNormVariable = "grad_norm_before_clip"

// gradientsUpdater is implemented by GoMLX's Adam (and SGD): apply given
// gradients instead of computing them.
type gradientsUpdater interface {
	UpdateGraphWithGradients(scope *gmodel.Scope, grads []*Node, lossDType dtypes.DType)
}

// ClippedAdamW is AdamW (GoMLX's Adam with decoupled weight decay) with the
// learning rate driven by a Schedule from the global step, and the
// gradients rescaled to global L2 norm at most ClipNorm (0 = no clipping):
//
//	g ← g · min(1, ClipNorm / ‖g‖₂),  ‖g‖₂ over all trainable variables.
//
// The norm before clipping is stored in the GradNormVariable for logging.
type ClippedAdamW struct {
	Schedule    Schedule
	ClipNorm    float64
	WeightDecay float64
	inner       optimizer.Interface
}

// NewClippedAdamW builds the optimizer; it panics on an invalid schedule.
func NewClippedAdamW(s Schedule, clipNorm, weightDecay float64) *ClippedAdamW {
	if err := s.Validate(); err != nil {
		panic("model: NewClippedAdamW: " + err.Error())
	}
	inner := optimizer.Adam().LearningRate(s.PeakLR).WeightDecay(weightDecay).Done()
	if _, ok := inner.(gradientsUpdater); !ok {
		panic(fmt.Sprintf("model: GoMLX Adam (%T) no longer accepts precomputed gradients", inner))
	}
	return &ClippedAdamW{Schedule: s, ClipNorm: clipNorm, WeightDecay: weightDecay, inner: inner}
}

// UpdateGraph implements optimizer.Interface.
func (o *ClippedAdamW) UpdateGraph(scope *gmodel.Scope, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic("model: ClippedAdamW: loss must be a scalar, got " + loss.Shape().String())
	}
	dtype := loss.DType()
	step := optimizer.GetGlobalStepVar(scope.Store()).NodeValue(g) // before Adam increments it
	optimizer.LearningRateVarWithValue(scope, dtype, o.Schedule.PeakLR).SetNodeValue(o.Schedule.Graph(step, dtype))

	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	if len(grads) == 0 {
		panic("model: ClippedAdamW: no trainable variables in the graph")
	}
	var sumSq *Node
	for _, gr := range grads {
		s := ReduceAllSum(Square(ConvertDType(gr, dtype)))
		if sumSq == nil {
			sumSq = s
		} else {
			sumSq = Add(sumSq, s)
		}
	}
	norm := Sqrt(sumSq)
	scope.At(optimizer.Scope).VariableWithValue(GradNormVariable, float32(0)).SetTrainable(false).
		SetNodeValue(ConvertDType(norm, dtypes.Float32))
	if o.ClipNorm > 0 {
		scale := Div(Scalar(g, dtype, o.ClipNorm), MaxScalar(norm, o.ClipNorm))
		for i, gr := range grads {
			grads[i] = Mul(gr, ConvertDType(scale, gr.DType()))
		}
	}
	o.inner.(gradientsUpdater).UpdateGraphWithGradients(scope, grads, dtype)
}

// Clear implements optimizer.Interface.
func (o *ClippedAdamW) Clear(scope *gmodel.Scope) error { return o.inner.Clear(scope) }
