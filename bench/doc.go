// Package bench runs benchmark suites and stores their results.
//
// A suite (YAML, see Suite and suites/quick.yaml) declares datasets, tasks
// (each naming the datasets it runs on), models and seeds; its grid is every
// task × its datasets × seeds × models, in that order. For each cell the
// runner builds the task's split (tasks.BuildSplit, deterministic in the
// seed; written to OUT/splits/), fits the model on the training cells only,
// asks it for predicted cells (tasks.RunPert), scores them with
// metrics/pert (EvaluatePert) and appends tidy Result records.
//
// The task embed-integration (tasks.EmbedIntegration) scores embeddings
// instead: a dataset with an embed block (EmbedSpec: a CSV's columns, an
// obsm entry, or the PCA of the log1p highly variable genes) is one cell
// per seed whose model is the embedding's name ("scVI", "PCA50"), scored
// with metrics/scib.Benchmark (seed = the cell's seed); its records have
// Context "", Perturbation "_agg", N = cells scored, Split
// "label=COL,batch=COL" and the metric's NaN reason in Warnings. Such a
// suite needs no models.
//
//	cellbench run SUITE.yaml --out runs/NAME [--resume] [--shard i/n]
//	cellbench merge --out runs/NAME DIR...
//	cellbench report runs/NAME --out report/NAME
//
// # Results store
//
// Records are appended to OUT/journal/shard-I-of-N.log: a cell's records in
// one write + fsync, then a done line + fsync (see store.go). A kill -9 loses
// no finished cell; --resume skips done cells and re-runs an unfinished one
// (its partial records, written under an older attempt id, are ignored), so
// nothing is duplicated (TestKillNineLosesNothing kills a child runner
// mid-cell and checks this). At the end of a run, and on merge,
// OUT/results.jsonl is rewritten atomically with the records of every done
// cell, one Result per line. JSON cannot encode NaN, so Result's float fields
// are written as numbers, or as the strings "NaN", "+Inf", "-Inf".
//
// A cell's key includes a fingerprint of its dataset, task, model and eval
// settings: editing the suite makes --resume re-run the affected cells
// instead of reusing stale results.
//
// # Artifacts
//
// Each finished cell also leaves figure inputs that records cannot carry,
// in OUT/artifacts/<task>/<dataset>/<model>/seed=<s>/ (artifacts.go):
// meta.json (the cell key, identity, gene list and per-group counts), and
// for a perturbation cell de.csv.gz (real and predicted log2 fold change
// and BH FDR of every stored test group × gene) and deltas.csv.gz (real
// and predicted pseudobulk deltas, the inputs of the discrimination
// metrics), for an embedding cell embedding2d.csv.gz (2-D PCA of the
// embedding, ≤ 3,000 cells, seeded subsample, with label and batch). Caps
// (results.MaxArtifactGenes, results.MaxArtifactGroups, results.MaxArtifactCells) keep them small:
// the quick suite's 72 cells take about 4 MB.
//
// A cell's directory is written into OUT/artifacts/.staging/<shard>/,
// fsync'd, then renamed into place before the cell's records and done line
// are journalled; the done line names it. So a kill leaves no partial
// directory under its final name, and a done cell's directory is complete;
// a directory whose cell is not done is ignored and replaced on resume
// (the kill -9 test checks both, and byte equality with an uninterrupted
// run). Merge copies the artifacts of the cells it keeps;
// OUT/artifacts/index.jsonl (end of a run, merge) lists them for runs read
// without journals. LoadArtifacts finds them; `cellbench report` draws the
// LFC scatters, discrimination heat maps and embedding scatters from them.
//
// # Records
//
// One record per (context, perturbation, metric), plus one per metric with
// Perturbation "_agg" (Context ""): the mean over the rows, or the
// aggregate-only metric (pdisc_norm, de_spearman_sig). Split names the
// split parameters without the seed ("holdout=k562,train=0.3"; "by-seed"
// when the seed picks the held-out context, which the records' Context then
// shows). WallS is the cell's wall time (split, fit, predict, evaluate),
// PeakMem the process's peak RSS so far, Backend "cpu" for the pure-Go
// baselines, GitSHA the repository's HEAD (+"-dirty"). Warnings carry the
// model's fallbacks (tasks.Noter) and the metric report's warnings.
//
// # Shards
//
// --shard i/n runs the cells whose grid index ≡ i (mod n). Shards may share
// one run directory (each has its own journal) or use separate ones;
// Merge combines them. docs/scaling.md has Slurm and Kubernetes examples.
package bench
