// Package results is the tidy result record of cellbench, its encoding,
// and the readers of a run directory: the layer every consumer of results
// reads (reports, the browser page, notebooks) and the runner writes
// (bench). It imports nothing above data and metrics, needs no cgo and
// builds for js/wasm.
//
// # Records
//
// A Record is one metric value of one model on one (dataset, split, task,
// seed), for one (context, perturbation), or the aggregate over them when
// Perturbation is AggregatePerturbation ("_agg", Context ""): the mean over
// the rows, or an aggregate-only metric (pdisc_norm, de_spearman_sig).
// Split names the split parameters without the seed
// ("holdout=k562,train=0.3"; "by-seed" when the seed picks the held-out
// context). WallS is the cell's wall time, PeakMem the process's peak RSS,
// Backend "cpu" for pure-Go models and the GoMLX backend ("go",
// "xla:cuda", …) for neural ones, GitSHA the repository's HEAD
// (+"-dirty"). Warnings carry every NaN's reason and the model's
// fallbacks. Fields of one task kind only (MaskRatio for imputation,
// Prompt for in-context prediction) are omitted when empty, so records of
// other kinds keep their exact bytes.
//
// # Encoding
//
// JSON Lines, one Record per line (WriteJSONL, ReadJSONL). Float fields
// use the one spelling of non-finite values of cellbench
// (metrics.Value): a number when finite, else the string "NaN", "+Inf" or
// "-Inf"; null is read as NaN (older files).
//
// # Run directories
//
//	OUT/journal/shard-I-of-N.log   append-only journals, one per shard process
//	OUT/journal/shard-I-of-N.lock  the lock its writer holds (pid, host, start)
//	OUT/grid.json                  the suite's digest and every cell of its grid (Grid)
//	OUT/results.jsonl              done records of the grid's cells (end of a run, merge)
//	OUT/status.json                how much of the grid they are (RunStatus)
//	OUT/splits/…                   the splits, one JSON file per (dataset, task, seed)
//	OUT/artifacts/…                per-cell figure inputs (below)
//	OUT/cells/…                    external models' files and logs, one directory per cell
//
// A journal line is a JournalLine: {"k":"r","cell":KEY,"att":A,"r":RECORD}
// for a record, {"k":"done","cell":KEY,"att":A,"n":COUNT,"art":DIR} for
// the end of a cell (DIR, relative to OUT, is the cell's artifact
// directory, complete before the line is written),
// {"k":"fail","cell":KEY,"att":A,"fail":FAILEDCELL} for a failed attempt
// (FailedCell: identity, one-line reason, logs, seconds). Records count
// only when a done line of the same cell and attempt follows them; a torn
// last line is ignored, and so is (listed in Store.Damaged) a line in the
// middle that does not parse. LoadStore reads journals (first done attempt
// of a cell wins; a cell not done is failed when it has fail lines),
// LoadRun returns a run's records (journals, else results.jsonl),
// LoadRunStatus how complete the run is (journals and grid.json, else
// status.json).
//
// # Artifacts
//
// Each finished cell may leave figure inputs that records cannot carry,
// in OUT/artifacts/<task>/<dataset>/<model>/seed=<s>/: meta.json
// (ArtifactMeta: the cell key, identity, gene list, per-group counts), and
// for a perturbation cell de.csv.gz (real and predicted log2 fold change
// and BH FDR of every stored test group × gene) and deltas.csv.gz (real
// and predicted pseudobulk deltas, the inputs of the discrimination
// metrics), for an embedding cell embedding2d.csv.gz (2-D PCA of the
// embedding, ≤ MaxArtifactCells cells, seeded subsample, with label and
// batch). Values are written with 7 significant digits, non-finite ones
// as metrics.FormatValue spells them. MaxArtifactGenes and
// MaxArtifactGroups cap their size. LoadArtifacts finds the directories of
// a run's done cells; ReadPertArtifact and ReadEmbedArtifact read them and
// reject a directory whose meta.json belongs to another cell (stale).
package results
