// Package reports turns a run's tidy result records (results.Record) into
// tables, figures, a self-contained HTML page and regression checks. Figures
// that need more than records (DE tables, deltas, embeddings) take Extras:
// ExtrasFromArtifacts builds them from a run's artifacts (results.LoadArtifacts:
// per cell DE LFC tables, pseudobulk deltas, 2-D PCA of embeddings), or the
// caller computes them in-process (LFCScatterFromReport,
// DiscriminationFromInputs, EmbeddingFromCSV).
//
// # Figures from run artifacts
//
// For each (task, dataset, split) of perturbation cells, ExtrasFromArtifacts
// picks one model (ArtifactOptions.Model, default the leaderboard's rank-1
// model) and one seed (default the first) and returns the LFC scatter of one
// perturbation (default: the stored test group with the most real
// significant DE genes, ties to the largest Σ|real delta|) and the
// discrimination heat map of each context with ≥ 2 test perturbations; for
// each embedding cell of the chosen seed, its 2-D PCA. Each input carries
// its Task, so Build draws it inside that task's section (embeddings in the
// scIB section), and a Note saying what was chosen and why. Groups that
// cannot be drawn (one perturbation, no artifacts) become report Notes.
//
// # Summaries
//
// Summarize reduces records to one Cell per (task, dataset, split, model,
// metric): the mean over seeds of the aggregate ("_agg") value, with a 95 %
// interval taken from the record (single seed, runner-provided CI), else a
// percentile bootstrap over the per-perturbation rows (all seeds pooled),
// else over the seed values (2000 resamples, PCG(BootstrapSeed, hash of the
// key), so a report is reproducible).
//
// # Figures
//
// Every figure is a *Figure drawn with gonum/plot and written as PNG
// (WritePNG, 144 dpi) and SVG (WriteSVG) with its caption drawn under it:
// dataset, split, seeds, what bars/whiskers/colours mean, units on the axes,
// and raw values wherever a score is rescaled or colour-coded.
//
//   - NewMetricBarsFigures: per (task, dataset, split), one panel per metric,
//     bars per model with intervals and the raw value printed.
//   - NewLFCScatterFigure: predicted vs real log2 fold change of one
//     perturbation (input from LFCScatterFromReport / metrics/pert).
//   - NewDiscriminationFigure: predicted × real perturbations, coloured by the
//     distance rank within each row (input from DiscriminationFromInputs);
//     its per-row scores equal metrics/pert's discrimination_score_l1.
//   - NewScibTables / NewScibTableFigure: scib-metrics' results table (bio,
//     batch, total = 0.6·bio + 0.4·batch, then kNN cell typing), raw values,
//     colour by column; Leaderboard adds them to leaderboard.md, one table
//     per task with a row per (dataset, embedding).
//   - NewEmbeddingFigure: 2-D PCA (PCA2 = scib.PCA2) of an embedding by
//     label and batch, or of precomputed scores (Embedding.Scores).
//   - NewMCCCurveFigures: MCC vs masking ratio (ratio parsed from the split
//     label, MaskRatio) when imputation results are present.
//
// # HTML report
//
// Build collects the figures and tables of a run; (*Report).WriteHTML writes
// index.html with inline CSS and figures as PNG data: URIs (no script, no
// network reference: it opens from disk); WriteFiles stages it with every
// figure's PNG and SVG in an fsutil.OutDir. `cellbench report runs/NAME --out
// DIR [--perturbation P] [--model M] [--seed S]` writes these plus
// leaderboard.md (Leaderboard), drawing the artifact figures of the run.
//
// # Regression checks
//
// A Baseline (bench/baseline/NAME.json) holds expected values with
// tolerances and wall-time budgets; NewBaseline makes one from a trusted run
// and Compare checks a run against it. (*Comparison).WriteMarkdown prints the
// summary for a CI log or pull-request comment; Failed decides the exit
// status of `cellbench compare`. See docs/ci.md.
//
//	recs, _ := reports.ReadRecords("runs/quick")
//	rep, _ := reports.Build(recs, reports.Options{Run: "runs/quick"})
//	_ = rep.WriteHTML(os.Stdout)
//	bl, _ := reports.ReadBaseline("bench/baseline/quick.json")
//	cmp := reports.Compare(recs, bl)
//	_ = cmp.WriteMarkdown(os.Stdout)
package reports
