package baselines

import "github.com/cellbench/cellbench/model/hparams"

// Hyperparameter tables of the baselines (the model registry, package
// model, lists them with their constructors). Baselines without
// parameters have an empty table, so a parameter given to them is an
// error naming the model.
var (
	ControlParams          = &hparams.Table{Model: "control"}
	PerturbationMeanParams = &hparams.Table{Model: "perturbation-mean"}
	ContextMeanParams      = &hparams.Table{Model: "context-mean"}
	PromptShiftParams      = &hparams.Table{Model: "prompt-shift"}
	LinearParams           = &hparams.Table{
		Model: "linear",
		Params: []hparams.Param{
			{Key: "pca_dim", Default: DefaultLinearPCADim, Doc: "K, principal components of the gene and perturbation embeddings (scPerturBench pca_dim)", Check: hparams.Positive},
			{Key: "ridge", Default: DefaultLinearRidge, Doc: "ridge penalty λ (scPerturBench ridge_penalty)", Check: hparams.NonNegative},
		},
	}
)

// NewLinearFromConfig returns an unfitted Linear with the pca_dim and
// ridge of a resolved LinearParams configuration.
func NewLinearFromConfig(c hparams.Config) *Linear {
	return NewLinear(c.Int("pca_dim"), c.Float("ridge"))
}
