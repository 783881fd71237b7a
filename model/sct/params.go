package sct

import (
	"fmt"

	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
)

// Params is the sCT model's one hyperparameter table; every key can be
// overridden with -set "key=value;..." or a suite's model params. Named
// configs (the three columns of doc.go's table):
//
//   - "tiny": CI — 8 cells per sequence, 16-channel tower, 1 transformer
//     layer; trains in seconds on 2 cores;
//   - default: the small-scale model of cellbench's imputation tables —
//     50 cells per sequence as the paper, a 32→128-channel tower with 4
//     down-samplings, 2 transformer layers;
//   - "paper": the released sCellTransformer (sct-reference.md §2.1,
//     inferred from the notebook's shapes: 79.2 M parameters at 19,968
//     genes): token dim 64, embed 1024, FFN 2048, 4 layers, 16 heads, 8
//     down-samplings, filters rounded to multiples of 32; Adam peaking at
//     1e-4 (paper App. B). For GPUs.
var Params = &hparams.Table{
	Model: "sct",
	Params: append([]hparams.Param{
		{Key: "cells", Default: 50, Doc: "cells (spots) per sequence K; a bag of the task larger than K is cut into chunks of K", Check: hparams.Positive},
		{Key: "token_dim", Default: 32, Doc: "token embedding width = first conv filter width (must be a multiple of filter_multiple)", Check: hparams.Positive},
		{Key: "embed_dim", Default: 128, Doc: "transformer width E = last conv filter width; also the LM head's hidden width", Check: hparams.Positive},
		{Key: "ffn_dim", Default: 256, Doc: "GLU feed-forward width (fc1: E → 2·ffn_dim, no bias; SiLU gate)", Check: hparams.Positive},
		{Key: "layers", Default: 2, Doc: "transformer blocks (pre-LN, rotary positions over the flattened cell-major tokens)", Check: hparams.NonNegative},
		{Key: "heads", Default: 4, Doc: "attention heads (must divide embed_dim)", Check: hparams.Positive},
		{Key: "downsamples", Default: 4, Doc: "conv tower levels d (conv k5 + residual k1 + average pool 2 each); genes are padded to a multiple of 2^d", Check: hparams.NonNegative},
		{Key: "filter_multiple", Default: 16, Doc: "conv filter widths are ceil(linspace(token_dim, embed_dim, d+1)/m)·m (the paper: 32)", Check: hparams.Positive},
		{Key: "stem_kernel", Default: 15, Doc: "stem convolution width", Check: hparams.Positive},
		{Key: "conv_kernel", Default: 5, Doc: "conv and transposed-conv width of the towers", Check: hparams.Positive},
		{Key: "norm", Default: "shared", Doc: "tower normalisation: shared (statistics over the genes of each cell and channel; learned scale and bias per gene position, shared across cells and channels — sCT), layer (per-position LayerNorm over channels), none", Check: oneOf("shared", "layer", "none")},
		{Key: "masking", Default: "stratified", Doc: "training mask: stratified (zeros w.p. mask_zero, non-zeros w.p. mask_nonzero — sCT) or uniform (every position w.p. mask_uniform — BERT)", Check: oneOf("stratified", "uniform")},
		{Key: "mask_zero", Default: 0.01, Doc: "stratified: probability of masking a position whose true bin is 0", Check: unitInterval},
		{Key: "mask_nonzero", Default: 0.15, Doc: "stratified: probability of masking an expressed position", Check: unitInterval},
		{Key: "mask_uniform", Default: 0.15, Doc: "uniform: probability of masking any position", Check: unitInterval},
		{Key: "cell_mask_frac", Default: 0.25, Doc: "fraction of training sequences in which a random 1…K−1 of the cells is masked whole (ours: teaches whole-cell imputation; the paper trains gene masking only); 0 = never", Check: unitInterval},
		{Key: "spatial", Default: "auto", Doc: "2-D sinusoidal encoding of spot coordinates added to every token of the spot: auto (when the task gives coordinates), on, off", Check: oneOf("auto", "on", "off")},
		{Key: "spatial_scales", Default: 10, Doc: "spatial encoding: scales S (features cos(x/c_s), sin(y/c_s), c_s = σmin·(σmax/σmin)^(s/(S−1)), s = 1…S)", Check: hparams.Positive},
		{Key: "sigma_min", Default: 1.0, Doc: "spatial encoding σmin (coordinates in units of the median spot spacing)", Check: hparams.Positive},
		{Key: "sigma_max", Default: 10.0, Doc: "spatial encoding σmax", Check: hparams.Positive},
		{Key: "batch_size", Default: 2, Doc: "sequences per optimizer step", Check: hparams.Positive},
	}, nn.TrainParams(nn.TrainDefaults{
		Steps: 1000, LR: 1e-3, WarmupFrac: 0.05, FinalLRFrac: 0.1, WeightDecay: 0, GradClip: 1.0,
	})...),
	Named: map[string]map[string]any{
		"tiny": {
			"cells": 8, "token_dim": 16, "embed_dim": 32, "ffn_dim": 64, "layers": 1, "heads": 2,
			"downsamples": 3, "filter_multiple": 8, "stem_kernel": 7, "batch_size": 2, "steps": 30, "lr": 3e-3,
		},
		"paper": {
			"cells": 50, "token_dim": 64, "embed_dim": 1024, "ffn_dim": 2048, "layers": 4, "heads": 16,
			"downsamples": 8, "filter_multiple": 32, "batch_size": 1, "steps": 100000, "lr": 1e-4,
			"warmup_frac": 0.1, "final_lr_frac": 0.0, "cell_mask_frac": 0.0,
		},
	},
}

func oneOf(vals ...string) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		for _, w := range vals {
			if s == w {
				return nil
			}
		}
		return fmt.Errorf("want one of %q", vals)
	}
}

func unitInterval(v any) error {
	f, _ := v.(float64)
	if !(f >= 0 && f <= 1) {
		return fmt.Errorf("%v not in [0, 1]", v)
	}
	return nil
}
