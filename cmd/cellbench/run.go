package main

import (
	"context"
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

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cellbench run SUITE.yaml --out runs/NAME [--resume] [--shard i/n] [--data-dir DIR]")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "run directory (required): journal/, results.jsonl, splits/, suite.yaml")
	resume := fs.Bool("resume", false, "continue a run: skip cells already finished in --out")
	shard := fs.String("shard", "0/1", "run only shard i of n of the grid (cells with index ≡ i mod n)")
	dataDir := fs.String("data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
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
	text, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	suite, err := bench.ParseSuite(text)
	if err != nil {
		return fmt.Errorf("run: %s: %w", pos[0], err)
	}
	r := &bench.Runner{Suite: suite, SuiteYAML: text, Out: *out, Shard: sh, Resume: *resume, Progress: stderr, DataDir: *dataDir}
	sum, err := r.Run(ctx)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %d cells in shard %s, ran %d, skipped %d (already done), %d records, %.1fs\n", *out, sum.Cells, sh, sum.Ran, sum.Skipped, sum.Records, sum.Seconds)
	return nil
}
