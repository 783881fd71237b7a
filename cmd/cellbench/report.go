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
	register(command{name: "report", summary: "write a run's leaderboard.md, index.html and figures from its result records", run: runReport})
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
	// index.html (self-contained) and every figure as PNG + SVG: reports/html.go.
	rep, err := reports.Build(recs, reports.Options{Run: pos[0]})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := rep.WriteFiles(od); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := od.Commit(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(stdout, "%s: leaderboard.md, index.html and %d figures (PNG + SVG) from %d records\n", *out, len(rep.Figures), len(recs))
	return nil
}
