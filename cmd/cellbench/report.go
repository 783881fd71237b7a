package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/cellbench/cellbench/bench"
	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/reports"
)

func init() {
	register(command{name: "report", summary: "write a run's leaderboard (leaderboard.md) from its result records", run: runReport})
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cellbench report runs/NAME --out DIR [--title T]")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output directory (required): leaderboard.md")
	title := fs.String("title", "", "leaderboard title (default: Leaderboard — RUN)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("report: want exactly one run directory, got %d arguments", len(pos))
	}
	if *out == "" {
		return fmt.Errorf("report: --out is required")
	}
	recs, err := bench.LoadRun(pos[0])
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if *title == "" {
		*title = "Leaderboard — " + pos[0]
	}
	od, err := fsutil.NewOutDir(*out)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer od.Abort()
	if err := od.Write("leaderboard.md", func(w io.Writer) error {
		return reports.Leaderboard(recs, w, reports.LeaderboardOptions{Title: *title})
	}); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := od.Commit(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(stdout, "%s: leaderboard.md from %d records\n", *out, len(recs))
	return nil
}
