package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cellbench/cellbench/bench"
)

func init() {
	register(command{name: "run", summary: "run a benchmark suite (datasets × tasks × models × seeds) with resume and shards", run: runRun})
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("run SUITE.yaml --out DIR") and returns the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// readSuite reads and parses a suite file for command cmd.
func readSuite(cmd, path string) ([]byte, *bench.Suite, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	suite, err := bench.ParseSuite(text)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %w", cmd, path, err)
	}
	return text, suite, nil
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cellbench run SUITE.yaml --out runs/NAME [--resume] [--shard i/n] [--data-dir DIR] [--predictions DIR]")
		fmt.Fprintln(stderr, "\nA cell that fails (model error, an external command's exit status, timeout or invalid output)")
		fmt.Fprintln(stderr, "is recorded with its reason and the run goes on; the exit status is then 1 and --resume retries it.")
		fmt.Fprintln(stderr, "External models: docs/external-models.md.")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "run directory (required): journal/, results.jsonl, splits/, suite.yaml")
	resume := fs.Bool("resume", false, "continue a run: skip cells already finished in --out")
	shard := fs.String("shard", "0/1", "run only shard i of n of the grid (cells with index ≡ i mod n)")
	dataDir := fs.String("data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
	predictions := fs.String("predictions", "", "directory written by `cellbench export` holding the external models' outputs: score them instead of running the models' commands")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("run: want exactly one suite file, got %d arguments", len(pos))
	}
	if *out == "" {
		return fmt.Errorf("run: --out is required")
	}
	sh, err := bench.ParseShard(*shard)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	text, suite, err := readSuite("run", pos[0])
	if err != nil {
		return err
	}
	if *predictions != "" {
		if st, err := os.Stat(*predictions); err != nil || !st.IsDir() {
			return fmt.Errorf("run: --predictions %s is not a directory", *predictions)
		}
	}
	r := &bench.Runner{Suite: suite, SuiteYAML: text, Out: *out, Shard: sh, Resume: *resume, Progress: stderr, DataDir: *dataDir, Predictions: *predictions}
	sum, err := r.Run(ctx)
	var failed *bench.CellsFailedError
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("run: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %d cells in shard %s, ran %d, failed %d, skipped %d (already done), %d records, %.1fs; %s\n",
		*out, sum.Cells, sh, sum.Ran, sum.Failed, sum.Skipped, sum.Records, sum.Seconds, sum.Status.Summary())
	if failed != nil {
		for _, f := range failed.Failed {
			fmt.Fprintf(stdout, "  FAILED %s\n", f)
		}
		return fmt.Errorf("run: %w", err)
	}
	return nil
}
