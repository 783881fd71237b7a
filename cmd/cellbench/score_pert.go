package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/metrics/pert"
)

func init() {
	register(command{name: "score pert", summary: "score predicted perturbation responses against real cells (cell-eval metrics, DE, VCC score)", run: runScorePert})
}

const scorePertUsage = `usage: cellbench score pert --real R.h5ad --pred P.h5ad --out DIR [flags]

Scores predicted cells against real cells, per perturbation (and per context
with --context-col), with the metrics of SPEC-metrics.md (cell-eval's names).
Writes into DIR: results.csv, agg_results.csv, results.json, real_de.csv,
pred_de.csv (unless the profile has no DE metric), agg_results_by_context.csv
with --context-col, score.csv with --baseline, ceiling_results.csv and
agg_ceiling_results.csv with --ceiling. DIR is replaced as a whole, so no
file of an earlier run stays beside the new ones; a non-empty DIR that holds
no earlier score pert output is refused unless --force.

Flags and obs columns are checked before X is read: every cell needs a
perturbation label (and a context with --context-col); labels that differ
from --control only by case, surrounding spaces or Unicode normalisation
are reported as warnings.

Example:
  cellbench score pert --real real.h5ad --pred pred.h5ad --pert-col perturbation \
      --control control --context-col cell_type --profile vcc --out scores/

Flags:
`

func runScorePert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("score pert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scorePertUsage); fs.PrintDefaults() }
	realPath := fs.String("real", "", "real cells (.h5ad, required)")
	predPath := fs.String("pred", "", "predicted cells (.h5ad, required)")
	out := fs.String("out", "", "output directory (required)")
	pertCol := fs.String("pert-col", "target_gene", "obs column with the perturbation label")
	control := fs.String("control", "non-targeting", "control label in --pert-col")
	contextCol := fs.String("context-col", "", "obs column with the context (cell type); metrics are computed per context")
	scale := fs.String("scale", "auto", "scale of X in both files: auto|counts|log1p (SPEC-metrics.md scale rule)")
	targetSum := fs.Float64("target-sum", data.DefaultTargetSum, "library size for --scale counts (0 = median)")
	controlRef := fs.String("control-ref", "pred", "control mean and DE reference of the prediction: pred (cell-eval) or real")
	profile := fs.String("profile", "full", "metric profile: full|vcc|minimal|pds")
	metricList := fs.String("metrics", "", "comma-separated metric names (overrides --profile)")
	deFDR := fs.Float64("de-fdr", 0.05, "DE significance: fdr < this")
	deMinLFC := fs.Float64("de-min-lfc", 0, "DE significance: |log2 fold change| ≥ this")
	lfcEps := fs.Float64("lfc-epsilon", 1e-9, "pseudocount of the log2 fold change")
	ceiling := fs.Bool("ceiling", false, "also score two bootstrap halves of the real cells against each other")
	ceilingSeed := fs.Uint64("ceiling-seed", 0, "seed of the --ceiling bootstrap")
	baseline := fs.String("baseline", "", "agg_results.csv of a baseline run: write score.csv (VCC normalisation)")
	threads := fs.Int("threads", 0, "goroutines (0 = all cores)")
	force := fs.Bool("force", false, "replace --out even when it is a non-empty directory that holds no earlier score pert output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("score pert: unexpected argument %q", fs.Arg(0))
	}
	for _, req := range []struct{ name, v string }{{"--real", *realPath}, {"--pred", *predPath}, {"--out", *out}} {
		if req.v == "" {
			return fmt.Errorf("score pert: %s is required", req.name)
		}
	}
	// Flags first, then the obs columns of both files (metadata only),
	// then --out: a wrong flag or column costs no reading of X and leaves
	// nothing behind.
	if err := checkScaleFlags(*scale, *targetSum); err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	opts := pert.DefaultOptions()
	opts.Control = *control
	opts.Profile = *profile
	opts.DEFDR, opts.DEMinLFC, opts.LFCEpsilon, opts.Threads = *deFDR, *deMinLFC, *lfcEps, *threads
	var err error
	if opts.ControlRef, err = pert.ParseControlRef(*controlRef); err != nil {
		return fmt.Errorf("score pert: --control-ref: %w", err)
	}
	if *metricList != "" {
		for _, m := range strings.Split(*metricList, ",") {
			opts.Metrics = append(opts.Metrics, strings.TrimSpace(m))
		}
	} else if _, err := pert.ProfileMetrics(*profile); err != nil {
		return fmt.Errorf("score pert: --profile: %w", err)
	}
	if err := opts.Check(); err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	var baseMeans map[string]float64
	if *baseline != "" {
		f, err := os.Open(*baseline)
		if err != nil {
			return fmt.Errorf("score pert: --baseline: %w", err)
		}
		baseMeans, _, err = pert.ReadAggMeans(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("score pert: --baseline %s: %w", *baseline, err)
		}
	}
	rule := fsutil.OutDirRule{What: "score pert output", Markers: []string{"results.json", "agg_results.csv"},
		Inputs: []string{*realPath, *predPath, *baseline}}
	if err := rule.Check(*out, *force); err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	realMeta, warnings, err := checkPertSide(*realPath, "real", *pertCol, *contextCol, *control, nil)
	if err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	_, predWarnings, err := checkPertSide(*predPath, "pred", *pertCol, *contextCol, *control, realMeta.Var.Index)
	if err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	warnings = append(warnings, predWarnings...)

	t0 := time.Now()
	realIn, genes, err := loadPertSide(*realPath, "real", *pertCol, *contextCol, *scale, *targetSum, nil)
	if err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	predIn, _, err := loadPertSide(*predPath, "pred", *pertCol, *contextCol, *scale, *targetSum, genes)
	if err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tLoad := time.Since(t0)
	opts.Genes = genes
	t1 := time.Now()
	rep, err := pert.Evaluate(realIn, predIn, opts)
	if err != nil {
		return fmt.Errorf("score pert: %s vs %s: %w", h5ad.Base(*realPath), h5ad.Base(*predPath), err)
	}
	rep.Warnings = append(warnings, rep.Warnings...)
	tEval := time.Since(t1)
	var ceil *pert.Report
	if *ceiling {
		if ceil, err = pert.Ceiling(realIn, opts, *ceilingSeed); err != nil {
			return fmt.Errorf("score pert: %s: %w", h5ad.Base(*realPath), err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	od, err := fsutil.NewOutDir(*out)
	if err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	defer od.Abort()
	extra := map[string]any{"real": *realPath, "pred": *predPath, "pert_col": *pertCol, "context_col": *contextCol,
		"scale": *scale, "target_sum": *targetSum, "load_s": tLoad.Seconds(), "evaluate_s": tEval.Seconds()}
	if err := od.Write("results.csv", rep.WriteResultsCSV); err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	if err := od.Write("agg_results.csv", rep.WriteAggCSV); err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	if rep.WithContexts {
		if err := od.Write("agg_results_by_context.csv", rep.WriteContextAggCSV); err != nil {
			return fmt.Errorf("score pert: %w", err)
		}
	}
	if rep.RealDE != nil {
		if err := od.Write("real_de.csv", func(w io.Writer) error { return rep.WriteDECSV(w, rep.RealDE, genes) }); err != nil {
			return fmt.Errorf("score pert: %w", err)
		}
		if err := od.Write("pred_de.csv", func(w io.Writer) error { return rep.WriteDECSV(w, rep.PredDE, genes) }); err != nil {
			return fmt.Errorf("score pert: %w", err)
		}
	}
	var scoreRows []pert.ScoreRow
	avg := 0.0
	if baseMeans != nil {
		var skipped []string
		scoreRows, avg, skipped = pert.BaselineScore(rep.AggOrder(), rep.AggMeans(), baseMeans)
		if len(scoreRows) == 0 {
			return fmt.Errorf("score pert: --baseline %s shares no scored metric with this run", *baseline)
		}
		if len(skipped) > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("baseline has no value for %s: left out of score.csv", strings.Join(skipped, ", ")))
		}
		for _, s := range scoreRows {
			if u, b := s.User, s.Baseline; u != u || b != b {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("score.csv: %s is NaN (user %v, baseline %v) and scored 0 (VCC rule)", s.Metric, u, b))
			}
		}
		if err := od.Write("score.csv", func(w io.Writer) error { return pert.WriteScoreCSV(w, scoreRows, avg) }); err != nil {
			return fmt.Errorf("score pert: %w", err)
		}
		extra["baseline"] = *baseline
		extra["avg_score"] = avg
	}
	if ceil != nil {
		if err := od.Write("ceiling_results.csv", ceil.WriteResultsCSV); err != nil {
			return fmt.Errorf("score pert: %w", err)
		}
		if err := od.Write("agg_ceiling_results.csv", ceil.WriteAggCSV); err != nil {
			return fmt.Errorf("score pert: %w", err)
		}
		extra["ceiling_seed"] = *ceilingSeed
	}
	if err := od.Write("results.json", func(w io.Writer) error { return rep.WriteJSON(w, extra) }); err != nil {
		return fmt.Errorf("score pert: %w", err)
	}
	if err := od.CommitReplace(); err != nil {
		return fmt.Errorf("score pert: %w", err)
	}

	for _, w := range rep.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	fmt.Fprintf(stdout, "%d perturbation rows, %d genes, %d contexts; evaluated in %.2fs (load %.2fs)\n",
		len(rep.Rows), len(genes), len(rep.Contexts), tEval.Seconds(), tLoad.Seconds())
	fmt.Fprintf(stdout, "%-28s %12s %12s %6s\n", "metric", "mean", "median", "n")
	for _, s := range rep.Aggregates {
		fmt.Fprintf(stdout, "%-28s %12.6g %12.6g %6d\n", s.Metric, s.Mean, s.Median, s.Count)
	}
	if ceil != nil {
		fmt.Fprintln(stdout, "ceiling (bootstrap halves of real):")
		for _, s := range ceil.Aggregates {
			fmt.Fprintf(stdout, "  %-26s %12.6g\n", s.Metric, s.Mean)
		}
	}
	if scoreRows != nil {
		fmt.Fprintf(stdout, "avg_score vs baseline: %.6g\n", avg)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// checkPertSide reads the metadata of one .h5ad (no X) and checks what
// the flags name: the perturbation and context columns exist, every cell
// has a label in them, the real file has the control (near-misses of the
// control are warnings, for both files), and with refGenes the gene set
// equals the real file's.
func checkPertSide(path, side, pertCol, contextCol, control string, refGenes []string) (*h5ad.Meta, []string, error) {
	m, err := h5ad.ReadMeta(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", side, err)
	}
	name := fmt.Sprintf("%s %s", side, h5ad.Base(path))
	perts, err := obsLabels(m, "--pert-col", pertCol)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if contextCol != "" {
		if _, err := obsLabels(m, "--context-col", contextCol); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if side == "real" {
		if err := perts.Require("control label", control); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	var warnings []string
	for _, w := range perts.Warnings("control", control) {
		warnings = append(warnings, name+": "+w)
	}
	if refGenes != nil && data.FirstOrderDifference(refGenes, m.Var.Index) >= 0 {
		if _, err := data.AlignGenes(refGenes, m.Var.Index); err != nil {
			return nil, nil, fmt.Errorf("%s: genes do not match the real file: %w", name, err)
		}
	}
	return m, warnings, nil
}

// obsLabels returns the labels of the obs column named by a flag, checked
// to be present for every cell (data.Labels.CheckPresent).
func obsLabels(m *h5ad.Meta, flagName, col string) (*data.Labels, error) {
	c, err := m.Obs.Column(col)
	if err != nil {
		return nil, fmt.Errorf("%s: obs: %w", flagName, err)
	}
	l := data.NewLabels(col, c.Labels())
	if err := l.CheckPresent(m.Obs.Index); err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	return l, nil
}

// loadPertSide reads one .h5ad and makes it one side of the evaluation
// (pert.InputFromDataset: labels, gene order of refGenes, log1p scale).
func loadPertSide(path, side, pertCol, contextCol, scale string, targetSum float64, refGenes []string) (pert.Input, []string, error) {
	d, err := h5ad.Read(path)
	if err != nil {
		return pert.Input{}, nil, fmt.Errorf("%s: %w", side, err)
	}
	cols := pert.Columns{PertCol: pertCol, ContextCol: contextCol, Scale: scale, TargetSum: targetSum}
	return pert.InputFromDataset(d, fmt.Sprintf("%s %s", side, h5ad.Base(path)), cols, refGenes)
}
