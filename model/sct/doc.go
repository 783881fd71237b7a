// Package sct is cellbench's sCT-style model (sCellTransformer; Joshi et
// al., "A long range foundation model for zero-shot predictions in
// single-cell and spatial transcriptomics data"): a convolution–transformer
// over K binned cells that imputes masked expression bins. It implements
// tasks.Imputer (tasks impute-genes, impute-cells). Every architectural
// fact below is taken from InstaDeep's released code as studied in
// docs/references/sct-reference.md (cited as §n); where the code and the paper
// disagree the code wins, where both are silent the choice is ours and
// said so.
//
// # Input
//
// Each cell is binned on its own (metrics/recon.CellBins): zeros → bin 0,
// non-zero log1p counts → 4 uniform bins between the cell's smallest and
// largest non-zero value (§1.2). Genes keep the task's panel order (the
// dataset's var order; the released model uses its own protein-coding
// order, §6.7) and are padded with the pad token to G_pad, a multiple of
// 2^downsamples, so that pooling never straddles two cells. K cells are
// concatenated cell-major into one sequence of K·G_pad tokens; vocabulary
// = the 5 bins + pad (5) + mask (6) — the released ids of pad and mask are
// unknown (§1.4).
//
// Masked entries are absent from the model's input; the visible values of
// a cell are binned with the visible values' own range (our choice: at
// evaluation nothing else is available without reading the masked values;
// the paper bins before masking). Training does the same, so the model
// learns to predict the full cell's bins from visibly binned inputs.
//
// # Architecture (forward, channels last [B, L, C])
//
//	x = Embed(tokens) (+ Linear(spatial features) per spot)      [B, K·G_pad, ted]
//	x = GELU(Conv1d_k15(x))                                        stem (§2.3)
//	d × { skip ← x; x = GELU(Conv_k5(Norm_g(x)));                  conv tower (§2.5)
//	      x = x + GELU(Conv_k1(Norm_g(x))); x = AvgPool_2(x) }
//	L × pre-LN transformer block on [B, K·G_pad/2^d, E]            (§2.6)
//	    (biased q/k/v/o, rotary over the flattened tokens, GLU-SiLU FFN without biases)
//	d × { x = GELU(ConvT_k5,s2(Norm_g(x)));                        deconv tower (§2.7)
//	      x = x + GELU(Conv_k1(Norm_2g(x))); x = x + skip }
//	logits = Linear_E→7(GELU(Linear_ted→E(GELU(x))))               head (§2.8)
//
// GELU is the tanh approximation (jax.nn.gelu's default). Filter widths are
// ceil(linspace(ted, E, d+1)/m)·m (§2.5; m = 32 in the paper). Kernels run
// over the flattened sequence and so cross cell boundaries, as released.
// The transposed convolution reproduces JAX's SAME alignment (3 zeros
// before, 2 after for k = 5). Both convolutions are computed as matrix
// products over shifted copies (the go backend's generic convolution was
// ~50× slower); TestConvMatchesConvolve checks them against GoMLX's
// Convolve. At the paper configuration and 19,965 genes the model has
// exactly the 79,204,163 parameters of the released checkpoint (§2.9;
// TestPaperParameterCount), and bench/peers/sct_torch.py builds the same
// count in PyTorch.
//
// Norm_g is the hyperparameter "norm": "shared" — sCT's shared layer norm:
// mean and variance over the g genes of each (sequence, cell, channel), a
// learned scale and offset of shape [g], one per gene position, shared
// across cells and channels (§2.4); "layer" — per-token LayerNorm over the
// channels (the paper's "standard layer norm", §4.5); "none".
//
// Spatial data: for each spot, features cos(x/c_s), sin(y/c_s) for s =
// 1…10, c_s = σmin·(σmax/σmin)^(s/9) (the released code, not the paper's
// Eq. 1, §2.2), through Linear(20 → ted), added to every token of the spot.
// Coordinates are divided by the training spots' median nearest-neighbour
// distance and centred on the sequence's centroid (ours: the released code
// does not say; centring makes a held-out tissue region look like the
// training regions). No encoding is added for single cells (§2.2: "hard-
// coded to zero"); the rotary index is the only cell-slot signal.
//
// # Training
//
// Each step draws batch_size sequences of K training cells (random cells;
// for spatial data a random spot and its K−1 nearest training spots),
// masks them and minimises the cross-entropy of the true bins at masked
// positions (§3). Masking: "stratified" (sCT: bin-0 positions w.p. 1 %,
// expressed ones w.p. 15 %) or "uniform" (15 % of all positions, BERT);
// pads are never masked nor scored. cell_mask_frac (default 0.25, ours)
// of the sequences also have 1…K−1 random cells masked whole, so that the
// model learns whole-cell imputation (the paper trains gene masking only
// and reports whole-cell imputation zero-shot). Optimiser: nn.Train —
// AdamW, linear warm-up and cosine decay, gradient clipping; batches are a
// pure function of (seed, step), so a run is deterministic on one backend
// and resumes bit-identically from its checkpoint.
//
// # Imputation
//
// Impute cuts every bag of the task (tasks.ImputeSpec.Bags: random held-out
// cells, or spatial neighbourhoods) into sequences of at most K cells,
// pads empty cell slots with pad tokens, and returns the softmax over the
// five bin logits at every masked position (argmax = the notebooks'
// argmax(logits[..., :5])). The task turns probabilities into a predicted
// bin (argmax) and count (bin medians, metrics/recon).
//
// # Configurations (Params; override any key with -set)
//
//	key              tiny   default  paper
//	cells (K)        8      50       50
//	token_dim        16     32       64
//	embed_dim        32     128      1024
//	ffn_dim          64     256      2048
//	layers           1      2        4
//	heads            2      4        16
//	downsamples      3      4        8
//	filter_multiple  8      16       32
//	stem_kernel      7      15       15
//	batch_size       2      2        1
//	steps            30     1000     100000
//	lr               3e-3   1e-3     1e-4
//
// tiny runs in CI in seconds; default is the small-scale model of
// cellbench's imputation tables (trained from scratch per dataset, not
// pre-trained on 42 M cells as the paper's); paper is the released size,
// for GPUs (memory at 19,968 genes × 50 cells: bench/reports/sct-speed.md).
package sct
