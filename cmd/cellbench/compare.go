package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/reports"
	"github.com/cellbench/cellbench/results"
)

// compare: cellbench compare runs/NAME --baseline bench/baseline/quick.json
//
// Prints a markdown summary (improved / same / regressed, with numbers) to
// stdout, optionally also to --summary FILE (for a pull-request comment),
// and fails (exit 1) when a metric regressed beyond its tolerance, went
// missing, or a timing exceeded its budget. --write-baseline instead writes
// the run's values as the baseline file; over an existing baseline it
// keeps that file's defaults (unless a tolerance flag is given) and every
// per-entry direction, abs_tol, rel_tol and budget_ratio set by hand
// (reports.Baseline.KeepOverrides).
func init() {
	register(command{name: "compare", summary: "check a run against a committed baseline (exit 1 on regression)", run: runCompare})
}

func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cellbench compare runs/NAME --baseline bench/baseline/NAME.json [--summary FILE.md]\n"+
			"       cellbench compare runs/NAME --baseline FILE.json --write-baseline [--abs-tol 0.02 --rel-tol 0.05 --budget-ratio 3 --floor-s 5]")
		fs.PrintDefaults()
	}
	baseline := fs.String("baseline", "", "baseline JSON (required)")
	summary := fs.String("summary", "", "also write the markdown summary to this file")
	write := fs.Bool("write-baseline", false, "write the run's values as the baseline instead of comparing")
	def := reports.DefaultBaselineDefaults
	absTol := fs.Float64("abs-tol", def.AbsTol, "with --write-baseline: absolute metric tolerance")
	relTol := fs.Float64("rel-tol", def.RelTol, "with --write-baseline: tolerance relative to |baseline value|")
	budget := fs.Float64("budget-ratio", def.BudgetRatio, "with --write-baseline: allowed run/baseline wall-time ratio")
	floor := fs.Float64("floor-s", def.FloorS, "with --write-baseline: slowdowns smaller than this many seconds never fail")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("compare: want exactly one run directory, got %d arguments", len(pos))
	}
	if *baseline == "" {
		return fmt.Errorf("compare: --baseline is required")
	}
	if *absTol < 0 || *relTol < 0 || *budget < 1 || *floor < 0 {
		return fmt.Errorf("compare: tolerances must be ≥ 0 and --budget-ratio ≥ 1")
	}
	recs, err := reports.ReadRecords(pos[0])
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if *write {
		defaults := reports.BaselineDefaults{AbsTol: *absTol, RelTol: *relTol, BudgetRatio: *budget, FloorS: *floor}
		var old *reports.Baseline
		if _, err := os.Stat(*baseline); err == nil {
			// Refreshing an existing baseline: a file we cannot read is
			// an error, not a reason to drop its tolerances silently.
			if old, err = reports.ReadBaseline(*baseline); err != nil {
				return fmt.Errorf("compare: --write-baseline over an existing file: %w", err)
			}
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			if !set["abs-tol"] {
				defaults.AbsTol = old.Defaults.AbsTol
			}
			if !set["rel-tol"] {
				defaults.RelTol = old.Defaults.RelTol
			}
			if !set["budget-ratio"] {
				defaults.BudgetRatio = old.Defaults.BudgetRatio
			}
			if !set["floor-s"] {
				defaults.FloorS = old.Defaults.FloorS
			}
		}
		bl := reports.NewBaseline(recs, suiteOf(recs), "cellbench compare --write-baseline "+pos[0]+" (git "+gitOf(recs)+")", defaults)
		kept := ""
		if old != nil {
			km, kt := bl.KeepOverrides(old)
			kept = fmt.Sprintf("; kept %d per-entry metric tolerances and %d timing budgets of the previous file", km, kt)
		}
		if err := fsutil.WriteFileAtomic(*baseline, func(w io.Writer) error { return reports.WriteBaseline(w, bl) }); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		fmt.Fprintf(stdout, "%s: baseline with %d metrics and %d timings from %s%s\n", *baseline, len(bl.Metrics), len(bl.Timings), pos[0], kept)
		return nil
	}
	bl, err := reports.ReadBaseline(*baseline)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	cmp := reports.Compare(recs, bl)
	cmp.Run, cmp.BaselinePath = pos[0], *baseline
	if st, err := os.Stat(pos[0]); err == nil && st.IsDir() {
		status, err := results.LoadRunStatus(pos[0])
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		cmp.AddStatus(status)
	}
	if err := cmp.WriteMarkdown(stdout); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if *summary != "" {
		if err := os.MkdirAll(filepath.Dir(*summary), 0o755); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		if err := fsutil.WriteFileAtomic(*summary, cmp.WriteMarkdown); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
	}
	if cmp.Failed() {
		return fmt.Errorf("compare: %s vs %s: %s", pos[0], *baseline, cmp.FailureSummary())
	}
	return nil
}

func suiteOf(recs []reports.Record) string {
	if len(recs) == 0 {
		return ""
	}
	return recs[0].Suite
}

func gitOf(recs []reports.Record) string {
	if len(recs) == 0 {
		return "unknown"
	}
	return recs[0].GitSHA
}
