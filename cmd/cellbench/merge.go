package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/cellbench/cellbench/bench"
)

func init() {
	register(command{name: "merge", summary: "combine the finished cells of shard run directories into one results.jsonl", run: runMerge})
}

func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cellbench merge --out runs/NAME RUN_DIR...")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "merged run directory (required; may be one of the inputs)")
	dirs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("merge: --out is required")
	}
	st, status, err := bench.Merge(*out, dirs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: merged %d finished cells (%d records) from %d directories; %d duplicate and %d unfinished cells left out; %s\n",
		*out, len(st.Order), len(st.Records()), len(dirs), st.Duplicates, st.Unfinished, status.Summary())
	for _, f := range status.Failed {
		fmt.Fprintf(stdout, "  FAILED %s\n", f)
	}
	if !status.Complete() {
		fmt.Fprintf(stderr, "merge: warning: %s\n", status.Summary())
	}
	return nil
}
