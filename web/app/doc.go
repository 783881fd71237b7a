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
// # Errors
//
// Every operation returns an error, never panics, for any input bytes: a
// file that is not an .h5ad, a missing column or label, mismatched genes,
// a damaged checkpoint. Errors are one line naming the file.
package app
