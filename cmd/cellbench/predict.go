package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

func init() {
	register(command{name: "predict", summary: "predict perturbed cells with a trained model checkpoint (cellbench train) into an .h5ad", run: runPredict})
}

func runPredict(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dataFlags
	df.register(fs)
	modelName := fs.String("model", "state", "model of the checkpoint (a neural model of the registry: "+strings.Join(trainableModels(), ", ")+")")
	ckpt := fs.String("ckpt", "", "checkpoint directory written by cellbench train (required)")
	out := fs.String("out", "", "output .h5ad of predicted cells (required); written atomically")
	ncells := fs.Int("ncells", 0, "cells per predicted group; 0 = as many as the real test cells of the group (--split), or 100 (--split none)")
	var pf promptFlags
	pf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	entry, err := model.Lookup(*modelName)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	if *ckpt == "" || *out == "" {
		return fmt.Errorf("predict: --ckpt and --out are required")
	}
	inputs := []string{*ckpt, df.data, pf.prompt, pf.query}
	if p, err := data.NewRegistry(df.dataDir).Resolve(df.data); err == nil {
		inputs = append(inputs, p)
	}
	if err := fsutil.CheckOutFile(*out, inputs...); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	if pf.given() {
		return runPredictInContext(ctx, entry, &pf, &df, *ckpt, *out, stdout, stderr)
	}
	if err := df.check(); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	backend, err := nn.NewBackend()
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	loaded, err := entry.LoadCheckpoint(*ckpt, nn.Runtime{Backend: backend})
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	m, ok := loaded.(checkpointedPerturbation)
	if !ok {
		return fmt.Errorf("predict: model %s is not a perturbation model (it runs %v tasks)", entry.Name, entry.Kinds)
	}
	// The control is what the model learned to start from: a --control
	// other than the checkpoint's would feed it the wrong cells.
	if want := m.Spec().Control; df.control != want {
		if flagSet(fs, "control") {
			return fmt.Errorf("predict: --control %s differs from the control %s that checkpoint %s was trained with: predict with the checkpoint's control, or train another model", data.Quote(df.control), data.Quote(want), *ckpt)
		}
		df.control = want
	}
	p, err := df.load()
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	d := p.Data
	if perm, err := data.AlignGenes(m.Genes(), d.Genes()); err != nil {
		return fmt.Errorf("predict: %s vs checkpoint %s: %w", df.data, *ckpt, err)
	} else {
		for i, j := range perm {
			if i != j {
				return fmt.Errorf("predict: %s: gene order differs from the checkpoint at index %d (%q vs %q)", df.data, i, d.Genes()[i], m.Genes()[i])
			}
		}
	}
	split, err := df.buildSplit(p)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	reqs, err := tasks.PredictRequests(d, p.Pert, split, *ncells)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	preds, err := m.Predict(ctx, reqs)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	if n, ok := m.(tasks.Noter); ok {
		for _, note := range n.Notes() {
			fmt.Fprintln(stderr, "note:", note)
		}
	}
	pred, err := tasks.PredictionDataset(d, p.Pert, reqs, preds)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	if err := writeH5adAtomic(*out, pred); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	fmt.Fprintf(stdout, "predicted %d cells in %d groups → %s\n", pred.NCells(), len(reqs), *out)
	return nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// checkpointedPerturbation is a perturbation model read from a checkpoint:
// its genes and the data spec it was trained with.
type checkpointedPerturbation interface {
	tasks.PerturbationModel
	Genes() []string
	Spec() tasks.PertSpec
}

// writeH5adAtomic writes d to a temporary file beside path and renames it
// into place, so a failure leaves no file that looks valid.
func writeH5adAtomic(path string, d *data.Dataset) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".predict-*.h5ad")
	if err != nil {
		return err
	}
	name := tmp.Name()
	tmp.Close()
	if err := h5ad.Write(name, d); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
