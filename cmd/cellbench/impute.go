package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/metrics/recon"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

func init() {
	register(command{name: "impute", summary: "mask expression values of held-out cells, impute them with a model (sct, stack, knn, mode) and score MCC / MAE", run: runImpute})
}

const imputeUsage = `usage: cellbench impute --model sct|stack|knn|mode --data D [--ckpt CKPT] --task impute-genes|impute-cells
                        --mask-ratio 0.15 --seed S --out DIR [flags]

Prepares the task exactly as the suite runner does (tasks.NewImputeSetup: a
test_fraction of the cells — or, with --coords, a spatial region — is held
out, --max-genes highly variable genes form the panel, the held-out cells
are grouped into bags of --bag-size), fits the model on the other cells,
masks the held-out cells at --mask-ratio (impute-genes: that fraction of the
genes of every held-out cell; impute-cells: that fraction of the cells of
every bag, every gene) and scores the imputed bins. Writes into DIR:
  positions.csv  one row per masked position: cell, gene, true_count,
                 true_bin, pred_bin, pred_count (see cellbench score impute)
  results.csv    mcc, mcc_expressed, mae_counts, n_positions, n_expressed,
                 notes (why a value is NaN or sklearn's 0)
DIR is replaced as a whole (no file of an earlier run stays); a non-empty
DIR that holds no earlier impute output is refused unless --force.

--ckpt is a checkpoint directory of a neural model: a finished model there
is loaded; otherwise the model is trained into it (resumable) on the
training cells and then used. Without --ckpt a neural model is trained in
memory. A STACK checkpoint pre-trained on a pool of datasets (cellbench
train --model stack, scripts/stack-pools.sh) imputes zero-shot: nothing is
trained, only its fallback for genes outside its gene universe is fitted.

Examples:
  cellbench impute --model knn --data pbmc3k-sct --task impute-genes --mask-ratio 0.15 --seed 0 --out out/knn
  cellbench impute --model sct --config tiny --data spatial-mob --coords x,y --max-genes 512 \
      --task impute-cells --mask-ratio 0.2 --seed 0 --ckpt ckpt/mob --out out/sct-mob

Flags:
`

func runImpute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("impute", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, imputeUsage); fs.PrintDefaults() }
	modelName := fs.String("model", "", "imputation model: "+strings.Join(model.Names(tasks.KindImputation), ", ")+" (required)")
	dataPath := fs.String("data", "", "dataset: registry name or .h5ad path of raw counts (required)")
	dataDir := fs.String("data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
	task := fs.String("task", tasks.ImputeGenes, "impute-genes or impute-cells")
	ratio := fs.Float64("mask-ratio", 0.15, "fraction of genes (impute-genes) or of each bag's cells (impute-cells) to mask, in (0, 1]")
	seed := fs.Uint64("seed", 0, "seed (split, panel, bags, mask, model)")
	ckpt := fs.String("ckpt", "", "checkpoint directory of a neural model: loaded when finished, else trained into")
	named := fs.String("config", "default", "named config of the model (tiny, default, paper)")
	set := fs.String("set", "", `hyperparameter overrides "key=value;key=value"`)
	coords := fs.String("coords", "", "two obs columns with spot coordinates, x,y (spatial data: region hold-out, neighbourhood bags)")
	maxGenes := fs.Int("max-genes", 0, "gene panel: the N most variable genes of the training cells (0 = all)")
	testFrac := fs.Float64("test-fraction", tasks.DefaultImputeTestFraction, "fraction of cells held out and masked")
	bagSize := fs.Int("bag-size", tasks.DefaultBagSize, "cells per bag")
	holdout := fs.String("holdout", "", "cells (random cells) or region (a spatial block; default with --coords)")
	out := fs.String("out", "", "output directory (required)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	force := fs.Bool("force", false, "replace --out even when it is a non-empty directory that holds no earlier impute output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("impute: unexpected argument %q", fs.Arg(0))
	}
	switch {
	case *modelName == "":
		return fmt.Errorf("impute: --model is required (one of %s)", strings.Join(model.Names(tasks.KindImputation), ", "))
	case *dataPath == "":
		return fmt.Errorf("impute: --data is required")
	case *out == "":
		return fmt.Errorf("impute: --out is required")
	}
	entry, err := model.Lookup(*modelName)
	if err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	if !entry.Has(tasks.KindImputation) {
		return fmt.Errorf("impute: model %s does not impute (imputation models: %s)", entry.Name, strings.Join(model.Names(tasks.KindImputation), ", "))
	}
	if *ckpt != "" && !entry.Neural {
		return fmt.Errorf("impute: --ckpt applies to neural models; %s is fitted in each run", entry.Name)
	}
	cfg, err := entry.Params.Resolve(*named, *set)
	if err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	tc := tasks.TaskConfig{Name: *task, MaskRatios: []float64{*ratio}, BagSize: *bagSize, MaxGenes: *maxGenes,
		TestFraction: *testFrac, Holdout: *holdout}
	if _, err := tasks.ImputeConfig(tc); err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	var coordCols []string
	if *coords != "" {
		coordCols = strings.Split(*coords, ",")
		if len(coordCols) != 2 || coordCols[0] == "" || coordCols[1] == "" {
			return fmt.Errorf("impute: --coords %q: want two obs columns, x,y", *coords)
		}
	} else if *holdout == "region" {
		return fmt.Errorf("impute: --holdout region needs --coords")
	}
	var rt nn.Runtime
	if entry.Neural {
		backend, err := nn.NewBackend() // fail before any work when XLA was asked for but is unusable
		if err != nil {
			return fmt.Errorf("impute: %w", err)
		}
		rt = nn.Runtime{Backend: backend, CheckpointDir: *ckpt}
		if !*quiet {
			rt.Progress = stderr
		}
	}
	path, err := data.NewRegistry(*dataDir).Resolve(*dataPath)
	if err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	rule := fsutil.OutDirRule{What: "impute output", Markers: []string{"positions.csv", "results.csv"}, Inputs: []string{path, *ckpt}}
	if err := rule.Check(*out, *force); err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	meta, err := h5ad.ReadMeta(path)
	if err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	for _, c := range coordCols {
		if _, err := meta.Obs.Column(c); err != nil {
			return fmt.Errorf("impute: --coords: %w", err)
		}
	}
	d, err := h5ad.Read(path)
	if err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	setup, err := tasks.NewImputeSetup(d, coordCols, tc, recon.DefaultBins, *seed)
	if err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	var m tasks.Imputer
	if *ckpt != "" {
		if _, err := os.Stat(filepath.Join(*ckpt, entry.MetaFile)); err == nil {
			loaded, err := entry.Load(*ckpt, rt)
			if err != nil {
				return fmt.Errorf("impute: %w", err)
			}
			if _, pooled := loaded.(interface{ TrainedOn() []string }); pooled {
				// pre-trained on a pool of datasets (stack): zero-shot, its
				// Fit fits only what it needs from the training cells
				if m, err = entry.ImputerOf(loaded); err != nil {
					return fmt.Errorf("impute: %w", err)
				}
			} else {
				ck := loaded.(model.Checkpointed)
				if !slices.Equal(ck.Genes(), setup.Data.Var.Index) {
					return fmt.Errorf("impute: %s was trained on another gene panel (%d genes) than this task's (%d genes): same --data, --max-genes and --seed, or a new --ckpt", *ckpt, len(ck.Genes()), setup.Data.NGenes())
				}
				m = fittedImputer{loaded.(tasks.Imputer)}
			}
		}
	}
	if m == nil {
		if m, err = entry.NewImputer(cfg, rt); err != nil {
			return fmt.Errorf("impute: %w", err)
		}
	}
	fmt.Fprintf(stderr, "impute: %s on %s (%s): %d training / %d held-out cells (%s), %d genes, %d bags, mask ratio %g, seed %d\n",
		entry.Name, *dataPath, *task, len(setup.Train), len(setup.Test), setup.Holdout, setup.Data.NGenes(), len(setup.Bags), *ratio, *seed)
	res, err := tasks.RunImpute(ctx, m, setup)
	if err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	lv := res.Levels[0]
	od, err := fsutil.NewOutDir(*out)
	if err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	defer od.Abort()
	if err := od.Write("positions.csv", func(w io.Writer) error { return recon.WritePositions(w, lv.Positions) }); err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	if err := od.Write("results.csv", func(w io.Writer) error { return recon.WriteResults(w, lv.Scores) }); err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	if err := od.CommitReplace(); err != nil {
		return fmt.Errorf("impute: %w", err)
	}
	printImputeScores(stdout, lv.Scores)
	fmt.Fprintf(stderr, "impute: fit %.1fs, impute %.1fs; wrote %s\n", res.FitSeconds, lv.Seconds, *out)
	return nil
}

// fittedImputer is a model loaded from a checkpoint: Fit does nothing.
type fittedImputer struct{ tasks.Imputer }

func (fittedImputer) Fit(context.Context, *data.Dataset, tasks.ImputeSpec) error { return nil }

func printImputeScores(w io.Writer, s recon.Scores) {
	fmt.Fprintf(w, "mcc %.4f  mcc_expressed %.4f  mae_counts %.4f  (%d positions, %d expressed)\n", s.MCC, s.MCCExpressed, s.MAECounts, s.N, s.NExpressed)
	if n := s.Notes(); n != "" {
		fmt.Fprintln(w, "notes:", n)
	}
}
