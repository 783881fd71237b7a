// Package stack is cellbench's STACK (Arc Institute, "Stack": in-context
// learning of single-cell biology; ArcInstitute/stack): a GoMLX
// reimplementation of its tabular-attention model, masked pre-training,
// cell embeddings, in-context post-training and iterative generation. The
// notes that cite the release's source line by line are
// docs/references/stack-reference.md (§ numbers below refer to them).
//
// # Model (§1)
//
// A set of C cells (raw counts over the model's gene universe of G genes)
// becomes C cell embeddings of D = n_tokens·token_dim numbers:
//
//	x      = log1p(counts)                        masked genes set to 0 (no indicator)
//	tokens = GELU(Linear(G → D)(x)) → [C, T, d]   "gene-module" tokens (+ query embedding at query positions)
//	L ×    xc = LN_d(xc + MHA_intra(xc + pos))    over each cell's T tokens; pos re-added every layer
//	       xg = LN_D(xg + MHA_inter(xg))          over the C cells, each flattened to D (key mask for padding)
//	       x  = LN_d(x + MLP(x))                  per token, d → 4d → d
//	emb    = the last layer's output, flattened [C, D]
//
// post-norm as the release (norm=pre is offered), multi-head attention with
// one fused bias-free QKV projection and a biased output projection
// (nn.SelfAttentionQKV), intra-cell heads by the release's rule (8 when
// token_dim is divisible by 8). The negative-binomial decoder maps each
// embedding through Linear(D → 2D) → GELU → Linear(2D → 2G):
// μ = softmax over the dataset's genes × the cell's library size, θ =
// softplus. Initialisation: xavier-uniform weights, zero biases, position
// embedding N(0, 1), query embedding N(0, 0.02). The PyTorch twin
// bench/peers/stack_torch.py computes the same numbers from the same
// weights (TestTorchTwinParity) and the same parameter count (ParamCount:
// 217,484,712 at the paper config over 15,012 genes, as counted from the
// release in §1.7).
//
// # Pre-training (§2) — FitEmbed, cellbench train --model stack
//
// Loss = mean NB negative log-likelihood over the masked genes of each set
// + sw_weight (0.01) × a sliced-Wasserstein term pulling the set-centred
// embeddings of sw_cells cells toward N(0, I) (sw_proj random unit
// directions, sorted projections against sorted prior projections,
// nn.SlicedWasserstein2). Masking rate ~ U(0.1, 0.8), one gene subset per
// set. Sets: set_size cells drawn without replacement from one sample
// (dataset × donor/batch: spec.SampleCols, by default each dataset's
// registry batch role, else its context role); each set picks a dataset
// uniformly and one of its samples with probability ∝ its cells; samples
// smaller than a set are left out. The gene universe is the sorted union
// of each dataset's hvg_per_dataset genes of highest analytic
// Pearson-residual variance (θ = 100; GeneUniverse), names upper-cased.
// Genes a dataset does not measure are 0 in the input (the masked value)
// and excluded from the loss and from the softmax of μ — never scored as
// zeros. AdamW (every parameter decays, as the release), global-norm clip
// 1.0, per-step linear warm-up then cosine, all through nn.Train: same
// seed → bit-identical loss curve, resume = uninterrupted (tested); the
// masked NB NLL and the SW term are logged per step ("nb_nll", "sw" in
// history.json).
//
// # Embeddings — Embed, cellbench embed
//
// Cells are embedded in sets of set_size formed within one value of
// spec.SampleCol, cut from a seeded hash order of the cell names: a cell's
// embedding depends on its set mates but not on their order nor on the
// file's row order (TestEmbedOrderInvariance). The last set of a sample is
// padded with a key mask. The embedding is the last layer's output (the
// release's get_latent_representation).
//
// # In-context post-training (§3) — Fit, cellbench train --stage incontext
//
// A set holds ⌊ic_prompt_frac·S⌋ prompt cells (perturbation p in context
// A), then for t ~ U(0, ic_t_max) the next ⌊(S−n_prompt)·t⌋ positions hold
// revealed target cells (p in context B; input = target), and the rest
// hold query cells: controls of B as input, target cells of (B, p) as
// distributional ground truth. Prompt cells attend only to prompt cells;
// query positions get the learned query embedding. Loss = masked NB NLL on
// prompt and revealed positions + (½·energy distance between
// reparameterised NB samples of log1p(1e4·X/lib) and the true query
// targets + ½·energy distance between the student's query embeddings and
// an EMA teacher's) / (1 − t) + sw_weight·SW + a revealed-vs-query
// classifier (BCE with pos_weight) on detached embeddings. The teacher
// (scope /teacher/, nn.UpdateEMA: decay ic_ema_decay every ic_ema_every
// steps; 0 = frozen) starts as the pre-trained weights and sees the true
// sets unmasked. Nothing is frozen in the student. The stage starts from
// the checkpoint the model was loaded from, Runtime.InitFrom, or — when
// neither exists — a pre-training on the training cells themselves (a
// weak fallback, reported by Notes).
//
// # Generation (§4) — PredictInContext, Generate, cellbench predict --prompt/--query
//
// gen_steps rounds (default 5, mdm mode): each round packs the query cells
// into windows of set_size with prompt cells (a seeded permutation, cycled)
// in the first positions — the "context" fraction of prompt cells rises
// linearly from gen_context_frac_min to gen_context_frac — runs the model,
// draws each query's new state from NB(μ, per-gene median θ of the
// window's prompt positions) (or takes μ: gen_output=mean), and unmasks
// the still-masked queries whose classifier logit is lowest, so that the
// masked fraction follows 0.8, 0.6, 0.4, 0.2, 0; any query whose logit is
// positive is masked again. Predict (tasks.PerturbationModel) is the same
// with the prompt removed. Output: log1p CP10k.
//
// # Imputation — Imputer (Model.ForKind), cellbench impute, impute-genes / impute-cells
//
// Pre-training's objective at inference, zero-shot: a checkpoint's NB
// decoder reconstructs the masked positions of the task's held-out cells
// from the rest of each bag (one bag = one set). The library size μ is
// scaled to is estimated from the observed counts rescaled by the model's
// predicted unmasked mass (the release scales by the library before
// masking, which imputation does not know); genes outside the gene
// universe get the most-frequent-bin baseline, reported by Notes.
// Details: impute.go. The release has no imputation entry point; this is
// cellbench's use of its pre-training forward pass.
//
// # Deviations from the release (each is a [doc] item of §6 or new)
//
//   - Masking: one gene subset and rate per set, not per batch (§6.4);
//     post-training draws t per set, not per batch.
//   - Missing genes: out of the loss and of μ's softmax, input 0 (§6.7).
//   - Padding at inference: key mask, no resampling (§6.8); post-training
//     sets are refilled by duplication like the release.
//   - Sets: random cells of one sample per step, not consecutive file rows
//     (§6.9).
//   - Gene universe: no name filter (its `.*P[0-9]*$` drops CASP3, MMP9, APP;
//     §6.10); 500 genes per dataset in the default config, 1,000 in paper.
//   - Schedule: per-step warm-up and cosine to final_lr_frac (§6.12); one
//     device, float32 (§6.13).
//   - SW: a fixed number of cells (sw_cells) instead of k ~ randint[32,
//     min(128, C)] per step (a new k would recompile the graph); the sort
//     is by pairwise ranks (same values and gradient).
//   - Post-training layout: [prompt; revealed; query] contiguous — the
//     evident intent of the release's "v8" reordering, which can put query
//     cells in prompt slots (§6.14). Examples pair a perturbation's cells in
//     two contexts of the training data (the release's "drug" type).
//   - Post-training and generation work on counts normalised to 1e4 per
//     cell (CP10k; expm1 of the log1p the perturbation tasks hand models,
//     or counts/lib·1e4 for raw counts), so the library size is the same
//     at training and inference (the release uses the target's library in
//     training and the query's at inference, §6.19a); pre-training reads
//     raw counts.
//   - The NB sampler's dispersion in post-training is the geometric mean
//     of θ over prompt and revealed positions (the release takes the
//     median, §3.3b); generation uses the median as the release. The
//     energy distance uses all of a dataset's genes, not the top 1,000 by
//     residual variance (§6.18; differs only for datasets with > 1,000
//     genes).
//   - The ×10 gradient hooks on the query embedding and the classifier
//     (§6.23) are not reproduced: under Adam a constant gradient factor
//     cancels in m/√v; it would only change the global-norm clip.
//   - Generation puts the query embedding exactly on query positions (the
//     release's int rounding can give it to one base cell, §6.19d).
//   - Dropout: after the gene projection, in the MLP and the decoder, not
//     on attention probabilities (the release config uses 0 anyway).
//   - A post-training stage takes the architecture from its checkpoint;
//     the CLI refuses conflicting -set keys instead of ignoring them
//     (§6.22).
//
// # Sizes (Params)
//
//   - tiny (CI): 4 tokens × 8, 1 layer, sets of 16, 2 sets per step, 30
//     steps; pre-trains and embeds the 300-cell fixtures in ~2 s.
//   - default: 16 tokens × 8 (D = 128), 2 layers, 8 heads, sets of 32, 8
//     sets (256 cells) per step, 500 HVGs per dataset (≈ 1,700 genes over
//     the shared count pool), 600 steps at lr 1e-3. Chosen so that a
//     pre-training run takes minutes on 2 cores (0.30 s CPU per step,
//     bench/reports/stack-speed.md): the cost is dominated by the decoder's
//     2·G outputs per cell and the logarithms of the NB likelihood, both
//     linear in G, so the gene count is the main knob; the attention is a
//     small share at these sizes.
//   - paper: Stack-Large — 100 tokens × 16, 9 layers, 8 heads, sets of
//     256, 32 sets per step, lr 1e-4, 1,000 HVGs per dataset; ≈ 70 GiB of
//     float32 state per step (EstimateStepMemory) — for GPUs (docs/gpu.md).
package stack
