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
