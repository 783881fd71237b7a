package state

import (
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
)

// Params is the ST model's one hyperparameter table. Every key can be
// overridden with -set "key=value;..." (cellbench train) or a suite's model
// params. Named configs: "tiny" (CI: trains on the 300-cell fixture in a
// few seconds on 2 cores) and "paper" (ArcInstitute/state
// configs/model/state.yaml + configs/training/default.yaml — the released
// ST defaults; documented, for GPUs, not run here).
var Params = &hparams.Table{
	Model: "state",
	Params: append([]hparams.Param{
		{Key: "cell_set_len", Default: 32, Doc: "cells per set S; 0 = the whole (context, perturbation, batch) group, padded to a bucket"},
		{Key: "hidden_dim", Default: 128, Doc: "width h of encoders and transformer"},
		{Key: "n_encoder_layers", Default: 2, Doc: "hidden layers (Linear→norm→GELU) of the basal and perturbation MLP encoders"},
		{Key: "n_layers", Default: 2, Doc: "transformer blocks over the set (bidirectional, no positional encoding)"},
		{Key: "heads", Default: 4, Doc: "attention heads (must divide hidden_dim)"},
		{Key: "mlp_ratio", Default: 4, Doc: "transformer MLP width = mlp_ratio·hidden_dim"},
		{Key: "norm", Default: "layer", Doc: "layer (GPT-2 style) or rms (LLaMA style)"},
		{Key: "predict_residual", Default: true, Doc: "prediction = ReLU(control + Linear(h→G)); false: ReLU(Linear(h→G))"},
		{Key: "loss", Default: "energy", Doc: "energy (geomloss energy kernel, as STATE) or mmd (Gaussian kernel, width mmd_sigma)"},
		{Key: "mmd_sigma", Default: 1.0, Doc: "Gaussian kernel width for loss=mmd"},
		{Key: "batch_size", Default: 8, Doc: "sets per optimizer step"},
		{Key: "batch_col", Default: "", Doc: "obs column of the technical batch used to match controls; empty = match within context only"},
		{Key: "control_sets", Default: true, Doc: "also train on control→control sets (the model learns the identity for the control label)"},
		{Key: "embed_dim", Default: 0, Doc: "0 = train in gene (HVG) space; k > 0 = train in the top-k PCA space of the training cells, decoded linearly to genes"},
		{Key: "gene_loss_weight", Default: 0.1, Doc: "with embed_dim > 0: weight of the gene-space energy loss added to the embedding-space one (STATE: 0.1)"},
	}, nn.TrainParams(nn.TrainDefaults{
		// STATE: 3 % warm-up, cosine to 30 % of the peak, weight decay
		// 5e-4, gradient_clip_val 10 (configs/training/default.yaml).
		Steps: 1500, LR: 3e-4, WarmupFrac: 0.03, FinalLRFrac: 0.3, WeightDecay: 5e-4, GradClip: 10.0,
	})...),
	Named: map[string]map[string]any{
		"tiny": {
			"cell_set_len": 16, "hidden_dim": 32, "n_encoder_layers": 1, "n_layers": 1, "heads": 2,
			"mlp_ratio": 2, "batch_size": 4, "steps": 40, "lr": 1e-3,
		},
		"paper": {
			"cell_set_len": 512, "hidden_dim": 696, "n_encoder_layers": 4, "n_layers": 8, "heads": 12,
			"mlp_ratio": 4, "norm": "rms", "batch_size": 16, "steps": 40000, "lr": 1e-4,
			"weight_decay": 5e-4, "grad_clip": 10.0,
		},
	},
}
