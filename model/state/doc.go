// Package state is cellbench's STATE-style State Transition model (ST;
// Adduri et al. 2025, "Predicting cellular responses to perturbation across
// diverse contexts with State"; ArcInstitute/state
// src/state/tx/models/state_transition.py), a GoMLX graph implementing
// tasks.PerturbationModel.
//
// # Model
//
// A set of S control cells x ∈ ℝ^{S×G} (log1p HVG expression) of one
// context and a perturbation one-hot p ∈ {0,1}^P are mapped to S predicted
// perturbed cells:
//
//	h   = f_cell(x) + f_pert(p)           MLPs (Linear→norm→GELU)×n_encoder_layers → Linear to hidden_dim
//	h   = Block_L(…Block_1(h))            pre-norm transformer over the set, no positional encoding
//	ŷ   = ReLU(x + W·norm(h) + b)         residual prediction in gene space (predict_residual)
//
// trained with the energy distance between the predicted set and a set of
// observed perturbed cells of the same (context, perturbation[, batch]):
// E‖Ŷ−Y‖ − ½E‖Ŷ−Ŷ'‖ − ½E‖Y−Y'‖ (nn.EnergyDistance = geomloss "energy").
// Control cells are matched at random (with replacement) within the same
// context and, when batch_col is set, the same batch (cell-load
// RandomMappingStrategy); sets are chunks of cell_set_len cells of a group,
// up-sampled with replacement when the group is smaller (cell-load
// PerturbationBatchSampler), or the whole group padded to a bucket when
// cell_set_len = 0.
//
// Differences from the release: the transformer is a GPT-2-style block
// (LayerNorm or RMSNorm, GELU MLP) rather than HF LLaMA/GPT2 (no SwiGLU,
// no confidence token, no batch embedding); training happens in HVG space
// only (no State Embedding input, no gene decoder); the perturbation
// vocabulary is the training data's labels. An unseen combination "A+B" of
// seen singles is encoded as the sum of their one-hots, any other unseen
// label as the zero vector — both reported through Notes (tasks.Noter).
//
// # Hyperparameters
//
// Params is the one table (see `cellbench train --model state --params`);
// named configs "tiny" (CI, seconds) and "paper" (configs/model/state.yaml +
// configs/training/default.yaml of the release: set 512, hidden 696, 8
// layers, 12 heads, batch 16, 40 000 steps, lr 1e-4 — documented, for GPUs,
// not run here). Override with -set "key=value;…" or suite params.
//
// # Use
//
//	cfg, _ := state.Params.Resolve("tiny", "steps=200")
//	m := state.New(cfg)
//	err := m.Fit(ctx, train, tasks.PertSpec{PertCol: "perturbation", ContextCol: "cell_type", Control: "control", Seed: 0})
//	preds, err := m.Predict(ctx, reqs) // one log1p CSR per request
//
// In a suite the model is "state" (registered by cmd/cellbench); on the
// command line `cellbench train --model state … --out CKPT` and
// `cellbench predict --ckpt CKPT …`.
//
// # Determinism
//
// Initialisation is seeded from PertSpec.Seed, training batches from
// PCG(seed, step) and prediction draws from PCG(seed, fnv(context,
// perturbation)), so the same seed on the same backend gives the same loss
// curve and the same predicted cells (tested).
package state
