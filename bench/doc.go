// Package bench runs benchmark suites and stores their results.
//
// A suite (YAML, see Suite and suites/quick.yaml) declares datasets, tasks
// (each naming the datasets it runs on), models and seeds; its grid is every
// task × its datasets × seeds × models, in that order. For each cell the
// runner builds the task's split (tasks.BuildSplit, deterministic in the
// seed; written to OUT/splits/), fits the model on the training cells only,
// asks it for predicted cells (tasks.RunPert), scores them with
// metrics/pert (EvaluatePert) and appends tidy results.Record records.
//
// The task embed-integration (tasks.EmbedIntegration) scores embeddings
// instead: a dataset with an embed block (EmbedSpec: a CSV's columns, an
// obsm entry, or the PCA of the log1p highly variable genes) is one cell
// per seed whose model is the embedding's name ("scVI", "PCA50"), scored
// with metrics/scib.Benchmark (seed = the cell's seed); its records have
// Context "", Perturbation "_agg", N = cells scored, Split
// "label=COL,batch=COL" and the metric's NaN reason in Warnings. Such a
// suite needs no models. The suite's embedding models (pca, stack) add
// one cell each per (dataset, seed): the model embeds the dataset's
// expression, from a `checkpoint:` or after pre-training on its
// `train_on:` datasets (once per seed, into OUT/models/, resumable; a
// model never embeds a dataset it trained on). The task celltype-zeroshot
// (tasks.CelltypeZeroshot) types each batch's cells by kNN among the other
// batches' cells (metrics/scib.KNNTransfer): records per held-out batch
// (Context = batch) and their mean (Context "").
//
//	cellbench run SUITE.yaml --out runs/NAME [--resume] [--shard i/n]
//	cellbench merge --out runs/NAME DIR...
//	cellbench report runs/NAME --out report/NAME
//
// # Task kinds
//
// Each task's kind (tasks.Kind) selects the runner of its cells
// (kindRunner in kinds.go): how the task is validated, which cells the
// grid holds (the suite's models that run that kind, or a dataset's own
// embedding) and how a cell runs and is scored. Grid, Validate and Run
// dispatch through that table and nowhere else. Models come from the one
// registry, model.All, by name (a suite model that runs none of the
// suite's task kinds is an error).
//
// # Results store
//
// Records (results.Record) are appended to OUT/journal/shard-I-of-N.log: a
// cell's records in one write + fsync, then a done line + fsync (store.go;
// the line format and the readers are in package results). A kill -9 loses
// no finished cell; --resume skips done cells and re-runs an unfinished one
// (its partial records, written under an older attempt id, are ignored), so
// nothing is duplicated (TestKillNineLosesNothing kills a child runner
// mid-cell and checks this). At the end of a run, and on merge,
// OUT/results.jsonl is rewritten atomically with the records of every done
// cell (results.WriteJSONL).
//
// A cell's key includes a fingerprint of its dataset, task, model and eval
// settings: editing the suite makes --resume re-run the affected cells
// instead of reusing stale results.
//
// # Artifacts
//
// Each finished cell also leaves figure inputs that records cannot carry
// (the schema is results.ArtifactMeta and the package documentation of
// results): artifact_compute.go builds them from the evaluation (the DE
// tables and pseudobulk deltas of metrics/pert's report, the 2-D PCA of an
// embedding), artifact_store.go writes them. A cell's directory is written
// into OUT/artifacts/.staging/<shard>/, fsync'd, then renamed into place
// before the cell's records and done line are journalled; the done line
// names it. So a kill leaves no partial directory under its final name,
// and a done cell's directory is complete; a directory whose cell is not
// done is ignored and replaced on resume (the kill -9 test checks both,
// and byte equality with an uninterrupted run). Merge copies the artifacts
// of the cells it keeps and writes OUT/artifacts/index.jsonl. The quick
// suite's 72 cells take about 4 MB.
//
// # Shards
//
// --shard i/n runs the cells whose grid index ≡ i (mod n). Shards may share
// one run directory (each has its own journal) or use separate ones;
// Merge combines them. docs/scaling.md has Slurm and Kubernetes examples.
package bench
