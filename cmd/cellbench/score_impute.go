package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/metrics/recon"
)

func init() {
	register(command{name: "score impute", summary: "score a positions file of imputed expression bins (MCC, MCC on expressed positions, MAE on counts)", run: runScoreImpute})
}

const scoreImputeUsage = `usage: cellbench score impute --positions P.csv [--bins 5] --out DIR

Scores imputed masked positions made by any tool (SPEC-metrics.md
"Reconstruction metrics", metrics/recon). P.csv has a header with at least
the columns cell, gene, true_count, true_bin, pred_bin, pred_count (other
columns are ignored), one row per masked position — what cellbench impute
writes. Bins are integers in [0, --bins); counts finite and ≥ 0. Writes
DIR/results.csv: mcc (multi-class Matthews correlation over all positions
pooled, = sklearn.metrics.matthews_corrcoef), mcc_expressed (positions with
true_bin ≥ 1), mae_counts (mean |pred_count − true_count|), n_positions,
n_expressed, notes (why a value is NaN, or sklearn's 0 for an undefined MCC).

Example:
  cellbench score impute --positions out/knn/positions.csv --out out/knn-rescored

Flags:
`

func runScoreImpute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("score impute", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scoreImputeUsage); fs.PrintDefaults() }
	posPath := fs.String("positions", "", "positions CSV (required)")
	bins := fs.Int("bins", recon.DefaultBins, "number of expression bins (labels 0 … bins−1)")
	out := fs.String("out", "", "output directory (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("score impute: unexpected argument %q", fs.Arg(0))
	case *posPath == "":
		return fmt.Errorf("score impute: --positions is required")
	case *out == "":
		return fmt.Errorf("score impute: --out is required")
	case *bins < 2 || *bins > 1000:
		return fmt.Errorf("score impute: --bins %d: want 2 … 1000", *bins)
	}
	f, err := os.Open(*posPath)
	if err != nil {
		return fmt.Errorf("score impute: %w", err)
	}
	defer f.Close()
	ps, err := recon.ReadPositions(f)
	if err != nil {
		return fmt.Errorf("score impute: %s: %w", *posPath, err)
	}
	s, err := recon.Score(ps, *bins)
	if err != nil {
		return fmt.Errorf("score impute: %s: %w", *posPath, err)
	}
	od, err := fsutil.NewOutDir(*out)
	if err != nil {
		return fmt.Errorf("score impute: %w", err)
	}
	defer od.Abort()
	if err := od.Write("results.csv", func(w io.Writer) error { return recon.WriteResults(w, s) }); err != nil {
		return fmt.Errorf("score impute: %w", err)
	}
	if err := od.Commit(); err != nil {
		return fmt.Errorf("score impute: %w", err)
	}
	printImputeScores(stdout, s)
	return nil
}
