package stack

import (
	"fmt"

	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
)

// Params is STACK's one hyperparameter table: architecture, pre-training,
// in-context post-training (ic_*) and generation (gen_*). Named configs:
//
//   - tiny: CI — pre-trains and embeds on a 300-cell fixture in seconds on
//     2 cores;
//   - default: pre-trains on the pool of real count datasets of
//     ../shared/data in minutes on 2 cores (see doc.go, "Sizes");
//   - paper: Stack-Large (ArcInstitute/stack configs/training/bc_large.yaml
//   - the stack-train CLI defaults it inherits; post-training from
//     configs/finetuning/ft_parsecg.yaml): 100 tokens × 16, 9 layers, 8
//     heads, sets of 256, 32 sets per step — for GPUs.
var Params = &hparams.Table{
	Model: "stack",
	Params: append([]hparams.Param{
		{Key: "n_tokens", Default: 16, Doc: "gene-module tokens per cell (the release's n_hidden)", Check: hparams.Positive},
		{Key: "token_dim", Default: 8, Doc: "width of each token; the cell embedding has n_tokens·token_dim dimensions", Check: hparams.Positive},
		{Key: "n_layers", Default: 2, Doc: "tabular-attention layers (intra-cell MHA, inter-cell MHA, token MLP)", Check: hparams.NonNegative},
		{Key: "heads", Default: 8, Doc: "inter-cellular attention heads (must divide n_tokens·token_dim)", Check: hparams.Positive},
		{Key: "intra_heads", Default: 0, Doc: "intra-cellular heads; 0 = the release's rule: 8 if token_dim is divisible by 8, else the largest divisor of token_dim ≤ min(heads, token_dim)", Check: hparams.NonNegative},
		{Key: "mlp_ratio", Default: 4, Doc: "token MLP width = mlp_ratio·token_dim", Check: hparams.Positive},
		{Key: "dropout", Default: 0.0, Doc: "dropout after the gene projection, on attention probabilities and in the MLP and decoder (release config: 0)", Check: hparams.NonNegative},
		{Key: "norm", Default: "post", Doc: "post (release: LayerNorm after each residual add) or pre (LayerNorm before each sub-block, as the issue text says)"},
		{Key: "set_size", Default: 32, Doc: "cells per set (the release's sample_size / n_cells)", Check: hparams.Positive},
		{Key: "batch_size", Default: 8, Doc: "sets per optimizer step", Check: hparams.Positive},
		{Key: "mask_rate_min", Default: 0.1, Doc: "pre-training: masked fraction of a set's genes ~ U(mask_rate_min, mask_rate_max)", Check: hparams.NonNegative},
		{Key: "mask_rate_max", Default: 0.8, Doc: "pre-training: upper end of the masking rate", Check: hparams.NonNegative},
		{Key: "sw_weight", Default: 0.01, Doc: "weight of the sliced-Wasserstein pull of set-centred embeddings toward N(0, I) (stack-train CLI: 0.01)", Check: hparams.NonNegative},
		{Key: "sw_proj", Default: 64, Doc: "random unit projections of the sliced-Wasserstein term", Check: hparams.Positive},
		{Key: "sw_cells", Default: 32, Doc: "cells per set entering the sliced-Wasserstein term (release: k ~ randint[32, min(128, set)]; fixed here, a new k would recompile the graph)", Check: hparams.Positive},
		{Key: "hvg_per_dataset", Default: 500, Doc: "gene universe: union over the pre-training datasets of each one's top genes by analytic Pearson-residual variance (θ = 100; release: 1000)", Check: hparams.Positive},
		{Key: "hvg_cells", Default: 10000, Doc: "cells per dataset (a seeded random subset) used to rank its genes (release: 10,000)", Check: hparams.Positive},
		{Key: "min_set_cells", Default: 0, Doc: "samples with fewer cells are left out of pre-training; 0 = set_size (release: files smaller than a set are excluded)", Check: hparams.NonNegative},

		{Key: "ic_steps", Default: 600, Doc: "in-context post-training: optimizer steps", Check: hparams.Positive},
		{Key: "ic_lr", Default: 2e-4, Doc: "in-context post-training: peak learning rate (ft_parsecg: 2e-5 with 4× accumulation)", Check: hparams.Positive},
		{Key: "ic_warmup_frac", Default: 0.05, Doc: "in-context post-training: warm-up fraction", Check: hparams.NonNegative},
		{Key: "ic_weight_decay", Default: 3e-3, Doc: "in-context post-training: AdamW weight decay (ft_parsecg: 3e-3)", Check: hparams.NonNegative},
		{Key: "ic_prompt_frac", Default: 0.25, Doc: "fraction of a post-training set holding prompt cells (1 − replacement_ratio; ft_parsecg: 128 of 512)", Check: hparams.Positive},
		{Key: "ic_t_max", Default: 0.9375, Doc: "revealed-target fraction t ~ U(0, ic_t_max) of the non-prompt positions (release: 0.9375)", Check: hparams.NonNegative},
		{Key: "ic_mask_rate_min", Default: 0.1, Doc: "post-training gene masking rate ~ U(min, max) on prompt and revealed positions (release: 0.1–0.3)", Check: hparams.NonNegative},
		{Key: "ic_mask_rate_max", Default: 0.3, Doc: "post-training gene masking rate, upper end", Check: hparams.NonNegative},
		{Key: "ic_ema_decay", Default: 0.95, Doc: "teacher ← decay·teacher + (1−decay)·student (release: 0.95)", Check: hparams.NonNegative},
		{Key: "ic_ema_every", Default: 50, Doc: "EMA teacher update period in steps; 0 = a frozen teacher (release: 500 on tens of millions of cells)", Check: hparams.NonNegative},
		{Key: "ic_cls_weight", Default: 1.0, Doc: "weight of the revealed-vs-query classifier loss (the logits that drive mdm generation)", Check: hparams.NonNegative},

		{Key: "gen_steps", Default: 5, Doc: "generation rounds (masked-diffusion-style unmasking of query cells; release: 5)", Check: hparams.Positive},
		{Key: "gen_mode", Default: "mdm", Doc: "mdm (the stack-generation CLI default: classifier-guided unmasking) or vanilla (re-translate the whole query set every round)"},
		{Key: "gen_prompt_frac", Default: 0.25, Doc: "generation: fraction of a window's positions whose prompt cells attend only to prompt cells (release: 0.25)", Check: hparams.Positive},
		{Key: "gen_context_frac", Default: 0.4, Doc: "generation: final extra prompt-cell ('context') fraction of a window (release: 0.4)", Check: hparams.NonNegative},
		{Key: "gen_context_frac_min", Default: 0.2, Doc: "generation: first-round context fraction, rising linearly to gen_context_frac in mdm mode (release: 0.2)", Check: hparams.NonNegative},
		{Key: "gen_output", Default: "sample", Doc: "what a query cell becomes when unmasked: sample (a negative-binomial draw, as the release) or mean (the NB mean)"},
	}, nn.TrainParams(nn.TrainDefaults{
		// Per-step linear warm-up then cosine to 1 % (release: per-epoch
		// LinearLR from 1e-6 then cosine to eta_min 1e-6 of 1e-4);
		// AdamW weight decay 3e-3 and clip 1.0 as the release.
		Steps: 600, LR: 1e-3, WarmupFrac: 0.05, FinalLRFrac: 0.01, WeightDecay: 3e-3, GradClip: 1.0, CheckpointEvery: 100,
	})...),
	Named: map[string]map[string]any{
		"tiny": {
			"n_tokens": 4, "token_dim": 8, "n_layers": 1, "heads": 2, "set_size": 16, "batch_size": 2,
			"sw_proj": 8, "sw_cells": 8, "hvg_per_dataset": 200, "hvg_cells": 300,
			"steps": 30, "lr": 3e-3, "checkpoint_every": 0,
			"ic_steps": 20, "ic_lr": 1e-3, "ic_ema_every": 5, "gen_steps": 2,
		},
		"paper": {
			"n_tokens": 100, "token_dim": 16, "n_layers": 9, "heads": 8, "set_size": 256, "batch_size": 32,
			"dropout": 0.0, "sw_cells": 128, "hvg_per_dataset": 1000, "hvg_cells": 10000,
			"steps": 40000, "lr": 1e-4, "warmup_frac": 0.1, "final_lr_frac": 0.01, "weight_decay": 3e-3, "grad_clip": 1.0,
			"checkpoint_every": 1000,
			"ic_steps":         20000, "ic_lr": 2e-5, "ic_ema_every": 500, "ic_weight_decay": 3e-3,
		},
	},
}

// arch is the architecture part of a configuration, with the number of
// genes of the gene universe.
type arch struct {
	genes, tokens, tokenDim, layers int
	heads, intraHeads, mlpRatio     int
	dropout                         float64
	preNorm                         bool
	setSize, batch                  int
	swProj, swCells                 int
}

func archFrom(c hparams.Config, genes int) arch {
	a := arch{genes: genes, tokens: c.Int("n_tokens"), tokenDim: c.Int("token_dim"), layers: c.Int("n_layers"),
		heads: c.Int("heads"), intraHeads: c.Int("intra_heads"), mlpRatio: c.Int("mlp_ratio"),
		dropout: c.Float("dropout"), preNorm: c.Str("norm") == "pre", setSize: c.Int("set_size"),
		batch: c.Int("batch_size"), swProj: c.Int("sw_proj"), swCells: c.Int("sw_cells")}
	if a.intraHeads == 0 {
		a.intraHeads = releaseIntraHeads(a.tokenDim, a.heads)
	}
	return a
}

// releaseIntraHeads is TabularAttentionLayer's rule for the intra-cell
// heads (src/stack/modules/attention.py): 8 when token_dim is divisible by
// 8, else the largest h ≤ min(heads, token_dim) dividing token_dim.
func releaseIntraHeads(tokenDim, heads int) int {
	if tokenDim%8 == 0 {
		return 8
	}
	for h := min(heads, tokenDim); h > 1; h-- {
		if tokenDim%h == 0 {
			return h
		}
	}
	return 1
}

// dim is the cell-embedding width n_tokens·token_dim.
func (a arch) dim() int { return a.tokens * a.tokenDim }

// validate checks a resolved configuration beyond the per-key checks.
func validateConfig(c hparams.Config) error {
	a := archFrom(c, 1)
	switch {
	case c.Str("norm") != "post" && c.Str("norm") != "pre":
		return fmt.Errorf("norm %q: want post or pre", c.Str("norm"))
	case a.dim()%a.heads != 0:
		return fmt.Errorf("heads %d must divide n_tokens·token_dim = %d", a.heads, a.dim())
	case a.tokenDim%a.intraHeads != 0:
		return fmt.Errorf("intra_heads %d must divide token_dim %d", a.intraHeads, a.tokenDim)
	case a.dropout >= 1:
		return fmt.Errorf("dropout %g must be < 1", a.dropout)
	case c.Float("mask_rate_min") > c.Float("mask_rate_max") || c.Float("mask_rate_max") > 1:
		return fmt.Errorf("mask rates [%g, %g] must satisfy 0 ≤ min ≤ max ≤ 1", c.Float("mask_rate_min"), c.Float("mask_rate_max"))
	case c.Float("ic_mask_rate_min") > c.Float("ic_mask_rate_max") || c.Float("ic_mask_rate_max") > 1:
		return fmt.Errorf("ic mask rates [%g, %g] must satisfy 0 ≤ min ≤ max ≤ 1", c.Float("ic_mask_rate_min"), c.Float("ic_mask_rate_max"))
	case a.swCells > a.setSize:
		return fmt.Errorf("sw_cells %d must be ≤ set_size %d", a.swCells, a.setSize)
	case c.Float("ic_prompt_frac") >= 1 || int(c.Float("ic_prompt_frac")*float64(a.setSize)) < 1:
		return fmt.Errorf("ic_prompt_frac %g must leave ≥ 1 prompt and ≥ 1 query position in a set of %d", c.Float("ic_prompt_frac"), a.setSize)
	case c.Float("ic_t_max") >= 1:
		return fmt.Errorf("ic_t_max %g must be < 1 (some positions must stay queries)", c.Float("ic_t_max"))
	case c.Float("ic_ema_decay") > 1:
		return fmt.Errorf("ic_ema_decay %g must be in [0, 1]", c.Float("ic_ema_decay"))
	case c.Str("gen_mode") != "mdm" && c.Str("gen_mode") != "vanilla":
		return fmt.Errorf("gen_mode %q: want mdm or vanilla", c.Str("gen_mode"))
	case c.Str("gen_output") != "sample" && c.Str("gen_output") != "mean":
		return fmt.Errorf("gen_output %q: want sample or mean", c.Str("gen_output"))
	case c.Float("gen_prompt_frac")+c.Float("gen_context_frac") >= 1 || c.Float("gen_context_frac_min") > c.Float("gen_context_frac"):
		return fmt.Errorf("generation fractions: prompt %g + context %g must be < 1 and context_min %g ≤ context", c.Float("gen_prompt_frac"), c.Float("gen_context_frac"), c.Float("gen_context_frac_min"))
	}
	return nil
}

// ParamCount returns the number of trainable parameters of a
// configuration over genes genes (the pre-trained model; incontext adds
// the query embedding and the classifier head), by the layer shapes of
// graph.go. At the paper config over Stack-Large's 15,012 genes it is
// 217,484,712 (docs/references/stack-reference.md §1.7; tested).
func ParamCount(c hparams.Config, genes int, incontext bool) int {
	a := archFrom(c, genes)
	d, T, D, G := a.tokenDim, a.tokens, a.dim(), genes
	mha := func(w int) int { return w*3*w + w*w + w }
	layer := mha(d) + 2*d + mha(D) + 2*D + (d*a.mlpRatio*d + a.mlpRatio*d) + (a.mlpRatio*d*d + d) + 2*d
	n := G*D + D + D + a.layers*layer + (D*2*D + 2*D) + (2*D*2*G + 2*G)
	if incontext {
		n += D + (2*D*T + T) + (T + 1)
	}
	return n
}
