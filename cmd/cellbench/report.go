package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/reports"
	"github.com/cellbench/cellbench/results"
)

func init() {
	register(command{name: "report", summary: "write a run's leaderboard.md, index.html and figures from its result records", run: runReport})
}

// checkReportOut refuses an --out that is a file, or a non-empty directory
// that holds no earlier report (leaderboard.md or index.html) unless
// force: the report replaces --out as a whole.
func checkReportOut(out string, force bool) error {
	st, err := os.Stat(out)
	if err != nil {
		return nil // created by the commit
	}
	if !st.IsDir() {
		return fmt.Errorf("--out %s is a file, not a directory", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	if len(ents) == 0 || force {
		return nil
	}
	for _, e := range ents {
		if e.Name() == "leaderboard.md" || e.Name() == "index.html" {
			return nil
		}
	}
	return fmt.Errorf("--out %s is not empty and holds no earlier report (%d entries, e.g. %q); the report replaces the whole directory: choose another --out, or pass --force", out, len(ents), ents[0].Name())
}

// inside reports whether path is dir or below it.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cellbench report runs/NAME --out DIR [--title T] [--perturbation NAME] [--model NAME] [--seed N]")
		fmt.Fprintln(stderr, "\nWrites leaderboard.md, index.html (self-contained) and every figure as PNG + SVG: metric bars per task,")
		fmt.Fprintln(stderr, "scIB tables, MCC curves, and from the run's artifacts the LFC scatter and discrimination heat map of each")
		fmt.Fprintln(stderr, "perturbation task (one model and seed) and the 2-D PCA of each scored embedding.")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output directory (required): leaderboard.md, index.html, figures")
	title := fs.String("title", "", "leaderboard title (default: Leaderboard — RUN)")
	perturbation := fs.String("perturbation", "", "perturbation of the LFC scatters (default: per task, the test perturbation with the most real significant DE genes)")
	model := fs.String("model", "", "perturbation model of the LFC scatters and heat maps (default: per task, the leaderboard's rank-1 model)")
	seedFlag := fs.String("seed", "", "seed of the artifact figures (default: the first seed)")
	force := fs.Bool("force", false, "replace --out even when it is a non-empty directory that holds no earlier report")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	aopts := reports.ArtifactOptions{Perturbation: *perturbation, Model: *model}
	if *seedFlag != "" {
		v, err := strconv.ParseUint(*seedFlag, 10, 64)
		if err != nil {
			return fmt.Errorf("report: --seed %q is not a non-negative integer", *seedFlag)
		}
		aopts.Seed, aopts.HasSeed = v, true
	}
	if len(pos) != 1 {
		return fmt.Errorf("report: want exactly one run directory, got %d arguments", len(pos))
	}
	if *out == "" {
		return fmt.Errorf("report: --out is required")
	}
	if inside(pos[0], *out) {
		return fmt.Errorf("report: --out %s would replace the run directory %s: choose another --out", *out, pos[0])
	}
	if err := checkReportOut(*out, *force); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	recs, err := results.LoadRun(pos[0])
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	status, err := results.LoadRunStatus(pos[0])
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("report: %s has no finished cells (%s)", pos[0], status.Summary())
	}
	if *title == "" {
		*title = "Leaderboard — " + pos[0]
	}
	refs, err := results.LoadArtifacts(pos[0])
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	extras, notes, err := reports.ExtrasFromArtifacts(recs, refs, aopts)
	if err != nil {
		return err
	}
	if status.DamagedLines > 0 {
		notes = append(notes, fmt.Sprintf("%d unreadable journal lines were skipped (e.g. lines torn or interleaved by an older cellbench); their cells count as not done", status.DamagedLines))
	}
	if len(refs) == 0 {
		notes = append(notes, "the run has no artifacts (written by cellbench run since the artifact format): no LFC scatters, heat maps or embedding scatters")
	}
	od, err := fsutil.NewOutDir(*out)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer od.Abort()
	if err := od.Write("leaderboard.md", func(w io.Writer) error {
		return reports.Leaderboard(recs, w, reports.LeaderboardOptions{Title: *title, Status: status})
	}); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	// index.html (self-contained) and every figure as PNG + SVG: reports/html.go.
	rep, err := reports.Build(recs, reports.Options{Run: pos[0], Extras: extras, Notes: notes, Status: status})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := rep.WriteFiles(od); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := od.CommitReplace(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(stdout, "%s: leaderboard.md, index.html and %d figures (PNG + SVG) from %d records and %d artifacts; %s\n", *out, len(rep.Figures), len(recs), len(refs), status.Summary())
	if !status.Complete() {
		fmt.Fprintf(stderr, "report: warning: the report is marked incomplete: %s\n", strings.TrimPrefix(status.Summary(), "incomplete: "))
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "report: note: %s\n", n)
	}
	return nil
}
