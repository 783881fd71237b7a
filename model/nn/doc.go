// Package nn holds the GoMLX building blocks shared by cellbench's neural
// models (model/state, model/stack, model/sct): backend selection,
// the training loop, learning-rate schedule, gradient clipping,
// checkpoints, seeded determinism, layers, losses, cell-set batching and
// the hyperparameter tables behind every model's -set flag.
//
// # Backend
//
// NewBackend returns the pure-Go backend ("go") unless $GOMLX_BACKEND asks
// for another one, e.g. "xla:cpu" or "xla:cuda". XLA needs cgo at build time
// and a PJRT plugin at run time, found through PJRT_PLUGIN_LIBRARY_PATH.
// There is no silent fallback: asking for XLA in a binary built with
// -tags noxla (or CGO_ENABLED=0), or without a loadable plugin, is an error
// naming PJRT_PLUGIN_LIBRARY_PATH. Nothing is ever downloaded (go-xla's
// auto-installer is not linked in). A -tags noxla build links only
// github.com/gomlx/compute/gobackend and needs no cgo.
//
// # Training
//
// Train runs AdamW (GoMLX Adam with decoupled weight decay) with a linear
// warm-up + cosine schedule (Schedule; STATE: 3 % warm-up, anneal to 30 %
// of the peak) computed in the graph from the global step, and global L2
// gradient-norm clipping (ClippedAdamW). Batches come from a Batcher, a
// pure function of the step, so that:
//
//   - same seed, same backend → bit-identical loss curve and predictions
//     (NewStore(seed) seeds the initialisers; tested on the go backend);
//   - a run interrupted (context cancelled, or killed after a checkpoint)
//     resumes from the latest checkpoint in TrainOptions.CheckpointDir and
//     reproduces the uninterrupted loss curve exactly (tested).
//
// The loss curve (step, loss, lr, gradient norm) is returned as a History
// and kept in CheckpointDir/history.json. A progress bar goes to
// TrainOptions.Progress.
//
//	store := nn.NewStore(seed)
//	hist, err := nn.Train(ctx, backend, store, modelFn, lossFn, batcher, nn.TrainOptions{
//		Steps: 1500, PeakLR: 3e-4, WarmupFrac: 0.03, FinalLRFrac: 0.3, ClipNorm: 10, WeightDecay: 5e-4,
//		Seed: seed, CheckpointDir: dir, Progress: os.Stderr})
//
// # Layers and losses
//
// SetAttentionBlock is a pre-norm transformer block over a set of cells
// with no positional encoding and a key mask for padding (attention is
// unfused: 4× faster on the go backend). MLP and Norm ("layer", "rms")
// complete the encoders. Losses between cell sets: EnergyDistance (the
// energy-kernel MMD STATE trains with, = geomloss "energy") and MMDRBF;
// per element: NegativeBinomialNLL (STACK's decoder, with a Lanczos
// LogGamma — GoMLX has no lgamma) and CrossEntropyLogits (sCT bins).
//
// Tabular attention (STACK) adds SelfAttentionQKV: multi-head self-attention
// with one fused bias-free QKV projection, a key mask and an arbitrary
// [S,S] attention mask (PyTorch Linear(D,3D,bias=False)+Linear(D,D)
// layout, so a twin can share weights). SlicedWasserstein2 is the
// squared sliced W₂ between two clouds over given unit directions; its
// sort is differentiable (SortWithGradient: GoMLX's Sort has no gradient).
//
// # Loss terms and teachers
//
// LogTerm records a scalar of the training graph (a loss component) in
// every StepRecord.Terms. A teacher copy of a model is the same builder
// under another scope ("/teacher/…"): FreezeVariables makes it
// non-trainable, TrainOptions.InitAliases starts it from the student's
// checkpoint variables, and UpdateEMA moves it toward the student every N
// steps inside the training graph (self-distillation).
//
// # Checkpoint directories
//
// WriteMeta / ReadMeta write and read a model's meta file (written last:
// a directory without it is unfinished) and GuardResume refuses to resume
// a directory with settings other than those it was started with.
//
// # Cell sets of different sizes
//
// Graphs are compiled per input shape, so sets are padded to a few bucket
// sizes (DefaultSetBuckets: 1, 8, 16, 32, …, 512) with a boolean mask:
// BucketSize, PadSet, ChunkSets, GroupBySize.
//
// # Hyperparameters
//
// Each model declares one Table (key, typed default, doc) with named
// configs — "tiny" for CI, "paper" for the published sizes. Resolve applies
// a named config and then the -set string "key=value;key=value"; unknown
// keys and values of the wrong type are errors. Table.Markdown renders the
// table for docs; Config round-trips through JSON in checkpoints.
package nn
