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
// The task incontext (tasks.InContext, kind_incontext.go) holds out every
// perturbed cell of a query context and prompts its controls with a
// perturbation's cells from another context (tasks.BuildInContextSplit,
// written to OUT/splits/ with the cells of every role; tasks.RunInContext).
// Every suite model that runs perturbation tasks runs it too, ignoring the
// prompt; an InContextModel runs it with the prompt, without one and with
// a wrong one, and its records name the variant in Prompt
// ("matched", "none", "wrong"). Split is "holdout=B,prompt=A,prompt_cells=N"
// ("by-seed" for a context the seed draws).
//
//	cellbench run SUITE.yaml --out runs/NAME [--resume] [--shard i/n] [--predictions DIR]
//	cellbench merge --out runs/NAME DIR...
//	cellbench report runs/NAME --out report/NAME
//	cellbench export SUITE.yaml --out DIR
//
// # Task kinds
//
// Each task's kind (tasks.Kind) selects the runner of its cells
// (kindRunner in kinds.go): how the task is validated, which cells the
// grid holds (the suite's models that run that kind, or a dataset's own
// embedding) and how a cell runs and is scored. Grid, Validate and Run
// dispatch through that table and nowhere else. Models come from the one
// registry, model.All, by name (a suite model that runs none of the
// suite's task kinds is an error). Imputation cells (kind_impute.go) read
// the dataset's raw counts (Prepared.Counts, once per run), take spatial
// coordinates from DatasetSpec.Coords, write one record per (metric,
// masking level) with MaskRatio set and ",mask=R" appended to the split,
// and train neural models into OUT/models/…: one fit per (dataset, model,
// split, seed, shard), reloaded by the seed's other imputation task and
// resumed after a kill.
//
// # External models
//
// A suite model with a command (ModelSpec.Command) is an external
// program, run once per cell of its kind (perturbation, incontext,
// embedding or imputation) on files (command.go, external_pert.go,
// external_incontext.go, external_embed.go, external_impute.go; the
// user's manual is
// docs/external-models.md). For a perturbation cell the runner
// builds the split as for any model and hands the program {train} (the
// training cells) and {requests} (each requested group's training
// controls), runs it in OUT/cells/<task>/<dataset>/<model>/seed=<s>/ with
// its logs and command.json, and validates {out} as strictly as `score
// pert` validates files before scoring it. An in-context cell hands it
// {train} and one {requests} holding the prompt and query cells of every
// (prompt variant, tested perturbation): one run answers the three
// variants (tasks.InContextBatchModel), validated by the same code. An
// imputation cell hands it {train} (the training cells' raw counts on the
// task's gene panel), {requests} (the test cells with each masking
// level's masked entries removed) and {masked} (the positions to
// predict): one run answers every level (tasks.ImputeBatchModel), and
// its {out} CSV (a log1p value, a count or bin probabilities per
// position) is scored as a registry imputer's answer.
// Export writes the inputs of
// every external-model cell instead (one unit per task, dataset and seed,
// with a manifest and commands.sh), and Runner.Predictions reads outputs
// made elsewhere from such a directory: same validation, same records.
//
// # Failed cells
//
// A cell whose model errs or panics, whose command exits non-zero, times
// out or writes an invalid output, or whose dataset does not load, fails
// alone: the runner journals a "fail" line (task, dataset, model, seed,
// one-line reason, logs, seconds), goes on with the other cells, writes
// their results and returns *CellsFailedError. --resume retries failed
// cells (their attempts are counted); reports list them and are marked
// incomplete; merge keeps done cells and lists the failed ones.
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
// settings. OUT/grid.json records the suite's canonical digest
// (SuiteDigest: comments, layout and timeouts aside) and every cell of its
// grid; --resume into a directory of another digest is refused with what
// changed (SuiteDiff), so one results file never mixes two
// configurations, and results.jsonl keeps the grid's cells only.
// OUT/status.json (results.RunStatus) says how many grid cells are done,
// failed or not run.
//
// Each shard process holds an flock(2) on OUT/journal/<shard>.lock while it
// runs (lock.go): a second writer of the same shard is refused with the
// holder's pid, and the journal, opened O_APPEND, only ever receives whole
// lines from one process. The kernel drops the lock of a killed process.
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
// suite's 123 cells take about 8 MB.
//
// # Shards
//
// --shard i/n runs the cells whose grid index ≡ i (mod n). Shards may share
// one run directory (each has its own journal) or use separate ones;
// Merge combines them. docs/scaling.md has Slurm and Kubernetes examples.
package bench
