package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/cellbench/cellbench/bench"
	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/model/stack"
	"github.com/cellbench/cellbench/tasks"
)

// stageFlags are the train flags of models trained in stages (STACK):
// pre-training of an embedding model on a pool of count datasets, then
// in-context post-training from the pre-trained checkpoint.
type stageFlags struct {
	stage, init, sampleCols string
}

func (f *stageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.stage, "stage", "", "training stage of an embedding model (stack): pretrain (default; masked pre-training on --data NAME[,NAME…], raw counts) or incontext (post-training from --init on --data with --split)")
	fs.StringVar(&f.init, "init", "", "--stage incontext: the pre-trained checkpoint to start from (its architecture and genes are kept)")
	fs.StringVar(&f.sampleCols, "sample-col", "", "--stage pretrain: obs column(s) whose values are samples (sets are drawn within one): one for every dataset or one per dataset, comma-separated; default each dataset's registry batch role, else its context role, else the whole dataset")
}

// stageModel reports whether a model trains through trainStage: an
// embedding model (pre-training) or any --stage/--init given.
func (f *stageFlags) applies(e model.Entry) bool {
	return e.Has(tasks.KindEmbedding) || f.stage != "" || f.init != ""
}

// trainStage trains an embedding model's stage into out. cfg is the
// resolved --config/--set configuration of fs.
func trainStage(ctx context.Context, e model.Entry, f *stageFlags, df *dataFlags, fs *flag.FlagSet, cfg hparams.Config, rt nn.Runtime, out string, stdout, stderr io.Writer) error {
	stage := f.stage
	if stage == "" {
		stage = "pretrain"
	}
	switch {
	case !e.Has(tasks.KindEmbedding):
		return fmt.Errorf("train: model %s has no training stages (--stage/--init apply to: %s)", e.Name, strings.Join(model.Names(tasks.KindEmbedding), ", "))
	case stage == "incontext":
		return trainInContext(ctx, e, f, df, fs, rt, out, stdout, stderr)
	case stage != "pretrain":
		return fmt.Errorf("train: --stage %q: want pretrain or incontext", stage)
	case f.init != "":
		return fmt.Errorf("train: --init applies to --stage incontext")
	case df.data == "":
		return fmt.Errorf("train: --data is required (dataset names or .h5ad paths, comma-separated)")
	}
	names := strings.Split(df.data, ",")
	cols, err := sampleColumns(names, f.sampleCols, df.dataDir)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	// Read every dataset before creating --out.
	pool := make([]*data.Dataset, len(names))
	reg := data.NewRegistry(df.dataDir)
	for i, n := range names {
		path, err := reg.Resolve(n)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		d, err := h5ad.Read(path)
		if err != nil {
			return fmt.Errorf("train: %s: %w", n, err)
		}
		if cols[i] != "" {
			if _, err := d.ObsLabels(cols[i]); err != nil {
				return fmt.Errorf("train: %s: --sample-col: %w", n, err)
			}
		}
		pool[i] = d
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	m, err := e.NewEmbedder(cfg, rt)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var desc []string
	for i, n := range names {
		desc = append(desc, fmt.Sprintf("%s (%d cells × %d genes, samples: %s)", n, pool[i].NCells(), pool[i].NGenes(), orWhole(cols[i])))
	}
	fmt.Fprintf(stderr, "train: %s pre-training on %s; seed %d, backend %s, config %s: %s\n",
		e.Name, strings.Join(desc, ", "), df.seed, nn.BackendConfig(), cfg.Name(), cfg)
	if err := m.FitEmbed(ctx, pool, tasks.EmbedSpec{SampleCols: cols, Seed: df.seed}); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if g, ok := m.(interface{ Genes() []string }); ok {
		fmt.Fprintf(stderr, "train: gene universe of %d genes\n", len(g.Genes()))
	}
	reportTraining(m, e.Name, out, stdout, stderr)
	return nil
}

func orWhole(col string) string {
	if col == "" {
		return "whole dataset"
	}
	return col
}

// sampleColumns returns one sample column per dataset: the --sample-col
// list (one value for all or one per dataset) or each dataset's registry
// role "batch", else "context", else "" (the whole dataset).
func sampleColumns(names []string, flagValue, dataDir string) ([]string, error) {
	out := make([]string, len(names))
	if flagValue != "" {
		vals := strings.Split(flagValue, ",")
		switch len(vals) {
		case 1:
			for i := range out {
				out[i] = vals[0]
			}
		case len(names):
			copy(out, vals)
		default:
			return nil, fmt.Errorf("--sample-col has %d columns for %d datasets (give one, or one per dataset)", len(vals), len(names))
		}
		return out, nil
	}
	for i, n := range names {
		out[i] = bench.SampleColumn(n, dataDir)
	}
	return out, nil
}

// trainInContext is --stage incontext: post-training of the --init
// checkpoint on --data's training cells (--split), into out. The
// architecture and genes come from --init; -set may change only the other
// keys (stage, generation and training settings), --config is refused.
func trainInContext(ctx context.Context, e model.Entry, f *stageFlags, df *dataFlags, fs *flag.FlagSet, rt nn.Runtime, out string, stdout, stderr io.Writer) error {
	if f.init == "" {
		return fmt.Errorf("train: --stage incontext needs --init (a pre-trained checkpoint)")
	}
	if f.sampleCols != "" {
		return fmt.Errorf("train: --sample-col applies to --stage pretrain")
	}
	configGiven := false
	fs.Visit(func(fl *flag.Flag) { configGiven = configGiven || fl.Name == "config" })
	if configGiven {
		return fmt.Errorf("train: --config does not apply to --stage incontext: the architecture comes from --init; change stage settings with -set")
	}
	base, err := e.LoadCheckpoint(f.init, rt)
	if err != nil {
		return fmt.Errorf("train: --init: %w", err)
	}
	bc, ok := base.(interface{ Config() hparams.Config })
	if !ok {
		return fmt.Errorf("train: --init: %s checkpoints carry no configuration", e.Name)
	}
	set := fs.Lookup("set").Value.String()
	pairs, err := hparams.ParseSet(set)
	if err != nil {
		return fmt.Errorf("train: -set: %w", err)
	}
	for _, kv := range pairs {
		if slices.Contains(stack.ArchKeys, kv[0]) {
			return fmt.Errorf("train: -set %s: the architecture of a post-training stage comes from --init (%s)", kv[0], f.init)
		}
	}
	cfg, err := e.Params.Resolve("", bc.Config().String()+";"+set)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	p, err := df.load()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	split, err := df.buildSplit(p)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	rt.InitFrom = f.init
	m, err := e.NewInContext(cfg, rt)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(stderr, "train: %s in-context post-training from %s on %s (%d training cells of %d, split %s, seed %d), backend %s: %s\n",
		e.Name, f.init, df.data, len(split.Train), p.Data.NCells(), split.Task, df.seed, nn.BackendConfig(), cfg)
	if err := m.Fit(ctx, p.Data.SubsetCells(split.Train), p.Pert); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	reportTraining(m, e.Name, out, stdout, stderr)
	return nil
}
