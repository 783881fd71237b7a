package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cellbench/cellbench/bench"
	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

func init() {
	register(command{name: "train", summary: "train a neural model (see model.All) on a dataset split into a resumable checkpoint directory", run: runTrain})
}

// dataFlags are the dataset and split flags shared by train and predict.
type dataFlags struct {
	data, pertCol, contextCol, control, scale, contexts, split, dataDir string
	sharedOnly                                                          bool
	seed                                                                uint64
}

func (f *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "", "dataset: registry name (cellbench data list) or .h5ad path (required)")
	fs.StringVar(&f.pertCol, "pert-col", "perturbation", "obs column with the perturbation label")
	fs.StringVar(&f.contextCol, "context-col", "cell_type", "obs column with the context (\"\" = one context)")
	fs.StringVar(&f.control, "control", "control", "control label in --pert-col")
	fs.StringVar(&f.scale, "scale", "auto", "scale of X: auto, counts or log1p (counts are normalised to 1e4 and log1p'd)")
	fs.StringVar(&f.contexts, "contexts", "", "comma-separated contexts to keep (default all)")
	fs.BoolVar(&f.sharedOnly, "shared-only", false, "keep only perturbations measured in every kept context")
	fs.StringVar(&f.split, "split", "none", "none (all cells), TASK[:HOLDOUT] (e.g. pert-fewshot:k562, built with --seed), or a split .json written by cellbench run")
	fs.Uint64Var(&f.seed, "seed", 0, "seed (split, initialisation, batches)")
	fs.StringVar(&f.dataDir, "data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
}

// check validates the flags that need no data (before any file is read
// or any directory created): --data given, --scale known, --split a
// perturbation task or a readable split file.
func (f *dataFlags) check() error {
	if f.data == "" {
		return fmt.Errorf("--data is required")
	}
	if _, err := data.ParseScale(f.scale); err != nil {
		return fmt.Errorf("--scale: %w", err)
	}
	switch {
	case f.split == "none":
	case strings.HasSuffix(f.split, ".json"):
		if _, err := os.Stat(f.split); err != nil {
			return fmt.Errorf("--split: %w", err)
		}
	default:
		task, _, _ := strings.Cut(f.split, ":")
		kind, err := tasks.KindOf(task)
		if err != nil {
			return fmt.Errorf("--split: %w", err)
		}
		if kind != tasks.KindPerturbation {
			return fmt.Errorf("--split: %s is a %s task, not a perturbation split", task, kind)
		}
	}
	return nil
}

// load reads and prepares the dataset exactly as a suite would
// (bench.LoadDataset: obs columns are checked before X is read).
func (f *dataFlags) load() (*bench.Prepared, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	spec := bench.DatasetSpec{Name: f.data, File: f.data, PertCol: f.pertCol, ContextCol: f.contextCol,
		Control: f.control, Scale: f.scale, SharedOnly: f.sharedOnly}
	if f.contexts != "" {
		spec.Contexts = strings.Split(f.contexts, ",")
	}
	p, err := bench.LoadDataset(spec, f.dataDir)
	if err != nil {
		return nil, err
	}
	p.Pert.Seed = f.seed
	return p, nil
}

// splitFileJSON is the part of a cellbench run split file we need.
type splitFileJSON struct {
	Task       string        `json:"task"`
	Seed       uint64        `json:"seed"`
	Holdout    string        `json:"holdout"`
	TestGroups []tasks.Group `json:"test_groups"`
	TrainCells []string      `json:"train_cells"`
	TestCells  []string      `json:"test_cells"`
}

// buildSplit returns the split named by --split over p's cells.
func (f *dataFlags) buildSplit(p *bench.Prepared) (*tasks.Split, error) {
	d := p.Data
	perts, err := d.ObsLabels(p.Pert.PertCol)
	if err != nil {
		return nil, err
	}
	var ctxs []string
	if p.Pert.ContextCol != "" {
		if ctxs, err = d.ObsLabels(p.Pert.ContextCol); err != nil {
			return nil, err
		}
	}
	switch {
	case f.split == "none":
		s := &tasks.Split{Task: "none"}
		for i := range perts {
			s.Train = append(s.Train, i)
		}
		return s, nil
	case strings.HasSuffix(f.split, ".json"):
		b, err := os.ReadFile(f.split)
		if err != nil {
			return nil, fmt.Errorf("--split: %w", err)
		}
		var sf splitFileJSON
		if err := json.Unmarshal(b, &sf); err != nil {
			return nil, fmt.Errorf("--split %s: %w", f.split, err)
		}
		row := make(map[string]int, len(d.Obs.Index))
		for i, name := range d.Obs.Index {
			row[name] = i
		}
		s := &tasks.Split{Task: sf.Task, Seed: sf.Seed, Holdout: sf.Holdout, TestGroups: sf.TestGroups}
		for _, part := range []struct {
			names []string
			dst   *[]int
		}{{sf.TrainCells, &s.Train}, {sf.TestCells, &s.Test}} {
			for _, name := range part.names {
				i, ok := row[name]
				if !ok {
					return nil, fmt.Errorf("--split %s: cell %q is not in %s (was the split made with other dataset filters?)", f.split, name, f.data)
				}
				*part.dst = append(*part.dst, i)
			}
		}
		return s, nil
	default:
		task, holdout, _ := strings.Cut(f.split, ":")
		return tasks.BuildSplit(perts, ctxs, p.Pert.Control, tasks.TaskConfig{Name: task, Holdout: holdout}, f.seed)
	}
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dataFlags
	df.register(fs)
	var sf stageFlags
	sf.register(fs)
	modelName := fs.String("model", "state", "model to train (a neural model of the registry: "+strings.Join(trainableModels(), ", ")+")")
	named := fs.String("config", "default", "named config: default, tiny (CI) or paper (published sizes)")
	set := fs.String("set", "", `hyperparameter overrides "key=value;key=value" (see --model's table: cellbench train --model state --params)`)
	out := fs.String("out", "", "checkpoint directory (required); an unfinished one is resumed from its latest checkpoint")
	params := fs.Bool("params", false, "print the model's hyperparameter table (markdown) and exit")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	entry, err := model.Lookup(*modelName)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if !entry.Neural {
		return fmt.Errorf("train: model %s is fitted inside each run and has no checkpoints (trainable: %s; use cellbench run)", entry.Name, strings.Join(trainableModels(), ", "))
	}
	if *params {
		fmt.Fprint(stdout, entry.Params.Markdown())
		return nil
	}
	if *out == "" {
		return fmt.Errorf("train: --out is required")
	}
	cfg, err := entry.Params.Resolve(*named, *set)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := df.check(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := os.Stat(filepath.Join(*out, entry.MetaFile)); err == nil {
		return fmt.Errorf("train: %s already holds a finished model; choose another --out", *out)
	}
	backend, err := nn.NewBackend() // fail before any work when XLA was asked for but is unusable
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	rt := nn.Runtime{Backend: backend, CheckpointDir: *out}
	if !*quiet {
		rt.Progress = stderr
	}
	if sf.applies(entry) {
		return trainStage(ctx, entry, &sf, &df, fs, cfg, rt, *out, stdout, stderr)
	}
	if !entry.Has(tasks.KindPerturbation) {
		return fmt.Errorf("train: model %s runs %v tasks; this command trains perturbation models", entry.Name, entry.Kinds)
	}
	p, err := df.load()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	split, err := df.buildSplit(p)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	m, err := entry.NewPerturbation(cfg, rt)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(stderr, "train: %s on %s (%d training cells of %d, split %s, seed %d), backend %s, config %s: %s\n",
		*modelName, df.data, len(split.Train), p.Data.NCells(), split.Task, df.seed, nn.BackendConfig(), cfg.Name(), cfg)
	if err := m.Fit(ctx, p.Data.SubsetCells(split.Train), p.Pert); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	reportTraining(m, *modelName, *out, stdout, stderr)
	return nil
}

// trainableModels lists the models of the registry that train into
// checkpoints.
func trainableModels() []string {
	var out []string
	for _, e := range model.All {
		if e.Neural {
			out = append(out, e.Name)
		}
	}
	return out
}

// reportTraining prints a trained model's notes and the end of its loss
// curve (when it keeps one).
func reportTraining(m any, name, out string, stdout, stderr io.Writer) {
	if n, ok := m.(tasks.Noter); ok {
		for _, note := range n.Notes() {
			fmt.Fprintln(stderr, "note:", note)
		}
	}
	if hm, ok := m.(interface{ History() nn.History }); ok {
		h := hm.History()
		if n := len(h.Records); n > 0 {
			fmt.Fprintf(stdout, "trained %s: %d steps, final loss %.5g, %.1fs; checkpoint %s\n", name, h.Records[n-1].Step, h.Records[n-1].Loss, h.TrainSeconds, out)
		}
	}
}
