// Package app is the browser page's work as plain Go: what web/wasm (the
// js/wasm main package behind web/index.html and web/score.mjs) calls, with
// files as bytes and answers as JSON-ready values, so that it is tested
// natively like any other package.
//
// # Operations
//
//	Inspect      an .h5ad's shape, scale and obs columns (to pick the
//	             perturbation column and the control label)
//	Examples     the data registry's perturbation datasets (the page fetches
//	             them from the server's data folder; Verify checks SHA-256)
//	Score        real vs predicted .h5ad → the VCC metric table, results.csv,
//	             agg_results.csv, warnings; keeps the evaluation for Figure
//	Figure       the discrimination heat map or an LFC scatter of the last
//	             evaluation (reports' figures, PNG and SVG)
//	Leaderboard  a run's results.jsonl → reports.Leaderboard's markdown
//	Predict      a trained checkpoint (model registry, loaded from an fs.FS:
//	             a zip or the files of its directory) predicts every
//	             (context, perturbation) group of a dataset, then Score
//	             compares the prediction with the dataset's real cells
//	InspectCheckpoint  which registry model a checkpoint's files are (its
//	             marker file), its STACK stage, and whether Predict or
//	             PredictInContext runs it
//	CountCells   cells per (context, perturbation) of an .h5ad, from obs
//	             only (the in-context choices that exist)
//	PredictInContext  an in-context STACK checkpoint generates context B's
//	             controls' response to perturbation p prompted by context
//	             A's cells of p, and again without a prompt; each is
//	             scored against B's real cells of p when the file has them
//	             (Figure: Of OfInContext / OfInContextNoPrompt, kind lfc);
//	             the generated cells come back as CSV (PredictedCellsCSV)
//
// # Same numbers as the command line
//
// Score reads files with data/h5ad.ReadBytes (the pure-Go reader) and turns
// them into evaluation inputs with pert.InputFromDataset, then runs
// pert.Evaluate with DefaultScoreOptions, which are cellbench score pert's
// flag defaults; results.csv is written by pert.Report.WriteResultsCSV. The
// command goes through the same three functions, so the browser's, Node's
// and the native results.csv are byte-equal on the same files (checked by
// web/test). Predict builds requests with tasks.PredictRequests and the
// prediction with tasks.PredictionDataset, as cellbench predict does.
//
// PredictInContext is cellbench predict --model stack --prompt P --query Q
// --pert p --seed S with P and Q cut from the dataset (A's cells of p, B's
// controls, after data.ToLog1p): it calls the command's own functions,
// stack.Model.Prompting (gene alignment: the counts the command prints)
// and stack.Model.PredictPrompted (generation from stack.PromptedRNG(S),
// the output the command writes). Natively the page's cells equal the
// command's byte for byte (TestPredictInContextEqualsCommandPath); in wasm,
// GoMLX's go backend sums float32 in another order, so the logits differ in
// their last bits and a negative-binomial draw could in principle move
// (web/test checks the browser against the native command to a relative
// 1e-5; bench/reports/web.md gives the measured difference). The fold
// changes of the scatters are pert.Evaluate's (metrics/de) with B's
// controls as the reference: the generated cells are scored as cellbench
// score pert --real (B's controls + B's cells of p) --pred (the command's
// output) --control-ref real would score them. The page cannot write .h5ad:
// the generated cells are offered as CSV.
//
// # Errors
//
// Every operation returns an error, never panics, for any input bytes: a
// file that is not an .h5ad, a missing column or label, mismatched genes,
// a damaged checkpoint. Errors are one line naming the file.
package app
