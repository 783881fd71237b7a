package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/metrics/recon"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// imputeRunner runs the cells of imputation tasks (tasks.KindImputation):
// one cell per (task, dataset, seed, model) of the suite's imputation
// models. A cell prepares the dataset's raw counts for the task
// (tasks.NewImputeSetup: held-out cells, gene panel, bags), fits the
// model on the training cells once and scores every masking level
// (tasks.RunImpute): three records (mcc, mcc_expressed, mae_counts) per
// level, with the level in MaskRatio and appended to the split
// (",mask=0.15": reports summarise per split). Neural models train into
// OUT/models/shard-I-of-N/<dataset>/<model>/<split>/seed-<s>, shared by the
// imputation tasks of that seed (the same split and panel: one training,
// not two) and resumed after a kill. A model with a checkpoint or train_on
// datasets (stack) starts from modelCheckpoint's checkpoint instead — the
// one the embedding and in-context runners use, refused when it was
// trained on the evaluated dataset — and is evaluated zero-shot; it has
// no cell on its train_on datasets.
type imputeRunner struct{}

func (imputeRunner) needsModels() bool { return true }

// validate checks the task's imputation parameters, that its datasets
// are expression matrices, and that checkpoint and train_on name only
// imputation models pre-trained on pools (embedding models with
// checkpoints: stack).
func (imputeRunner) validate(s *Suite, t TaskSpec) error {
	if _, err := tasks.ImputeConfig(t.TaskConfig); err != nil {
		return fmt.Errorf("task %s: %w", t.Name, err)
	}
	for _, m := range s.Models {
		if m.External() && (m.Checkpoint != "" || len(m.TrainOn) > 0) {
			return fmt.Errorf("model %s: checkpoint and train_on apply to registry imputation models, not external ones", m.ID())
		}
		if m.External() || (m.Checkpoint == "" && len(m.TrainOn) == 0) {
			continue
		}
		e, err := model.Lookup(m.Name)
		if err != nil || !e.Has(tasks.KindImputation) {
			continue // Validate reports unknown models; other kinds check their own
		}
		if !e.Has(tasks.KindEmbedding) || e.Load == nil {
			return fmt.Errorf("model %s: checkpoint and train_on give imputation models pre-trained on a pool of datasets (%v) their checkpoint in task %s; %s is trained on each task's training cells", m.ID(), pretrainedImputers(), t.Name, e.Name)
		}
	}
	for _, dn := range t.Datasets {
		d := s.dataset(dn)
		if isCSV(d.File) {
			return fmt.Errorf("dataset %s: a CSV embedding cannot be used by imputation task %s", d.Name, t.Name)
		}
		if t.Holdout == "region" && len(d.Coords) == 0 {
			return fmt.Errorf("dataset %s: task %s holds out a region, which needs coords", d.Name, t.Name)
		}
	}
	return nil
}

// pretrainedImputers lists the registry's imputation models that load
// pool-pre-trained checkpoints.
func pretrainedImputers() []string {
	var out []string
	for _, e := range model.All {
		if e.Has(tasks.KindImputation) && e.Has(tasks.KindEmbedding) && e.Load != nil {
			out = append(out, e.Name)
		}
	}
	return out
}

// cells lists seeds × the suite's imputation models (registry and
// external), except a model on a dataset of its train_on list
// (zero-shot).
func (imputeRunner) cells(s *Suite, t TaskSpec, d DatasetSpec, add func(m ModelSpec, seed uint64, fp string)) {
	cfg, err := tasks.ImputeConfig(t.TaskConfig)
	if err != nil {
		panic("bench: " + err.Error()) // Validate checked it
	}
	for _, seed := range s.Seeds {
		for _, m := range s.Models {
			if slices.Contains(m.TrainOn, d.File) {
				continue
			}
			if runsKind(m, tasks.KindImputation) {
				add(m, seed, fingerprint(d, cfg, m, seed))
			}
		}
	}
}

// split names the holdout, test fraction, bag size and gene panel:
// "holdout=cells,test=0.25,bag=50,genes=all".
func (imputeRunner) split(c Cell) string {
	cfg, err := tasks.ImputeConfig(c.Task.TaskConfig)
	if err != nil {
		panic("bench: " + err.Error())
	}
	holdout := cfg.Holdout
	if holdout == "" {
		holdout = "cells"
		if len(c.Dataset.Coords) > 0 {
			holdout = "region"
		}
	}
	genes := "all"
	if cfg.MaxGenes > 0 {
		genes = "hvg" + strconv.Itoa(cfg.MaxGenes)
	}
	return fmt.Sprintf("holdout=%s,test=%s,bag=%d,genes=%s", holdout, strconv.FormatFloat(cfg.TestFraction, 'g', -1, 64), cfg.BagSize, genes)
}

// loadCounts reads the dataset's file as stored into p.Counts (once per
// run: the runner keeps p across cells).
func loadCounts(r *Runner, p *Prepared) (*data.Dataset, error) {
	if p.Counts != nil {
		return p.Counts, nil
	}
	path, err := data.NewRegistry(r.DataDir).Resolve(p.Spec.File)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", p.Spec.Name, err)
	}
	d, err := h5ad.Read(path)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", p.Spec.Name, err)
	}
	p.Counts = d
	return d, nil
}

// run prepares the task on the dataset's counts, fits the model and scores
// every masking level.
func (imputeRunner) run(ctx context.Context, r *Runner, c Cell, p *Prepared) ([]results.Record, string, *artifact, error) {
	t0 := time.Now()
	d, err := loadCounts(r, p)
	if err != nil {
		return nil, "", nil, err
	}
	setup, err := tasks.NewImputeSetup(d, c.Dataset.Coords, c.Task.TaskConfig, recon.DefaultBins, c.Seed)
	if err != nil {
		return nil, "", nil, fmt.Errorf("dataset %s: %w", c.Dataset.Name, err)
	}
	m, fitInfo, backend, ext, err := imputeModel(ctx, r, c)
	if err != nil {
		return nil, "", nil, err
	}
	out, err := tasks.RunImpute(ctx, m, setup)
	if err != nil {
		return nil, "", nil, err
	}
	if ext != nil {
		ext.done()
	}
	wall := time.Since(t0).Seconds()
	peak := peakRSS()
	notes := strings.Join(out.Notes, "; ")
	var recs []results.Record
	var info []string
	for _, lv := range out.Levels {
		split := c.SplitName() + ",mask=" + strconv.FormatFloat(lv.Ratio, 'g', -1, 64)
		for _, mv := range []struct {
			name string
			v    float64
			n    int
		}{{recon.NameMCC, lv.Scores.MCC, lv.Scores.N}, {recon.NameMCCExpressed, lv.Scores.MCCExpressed, lv.Scores.NExpressed},
			{recon.NameMAECounts, lv.Scores.MAECounts, lv.Scores.N}} {
			w := lv.Scores.Reasons[mv.name]
			if notes != "" {
				if w != "" {
					w = notes + "; " + w
				} else {
					w = notes
				}
			}
			recs = append(recs, results.Record{
				Suite: r.Suite.Name, Dataset: c.Dataset.Name, Split: split, Task: c.Task.Name,
				Model: c.Model.ID(), Seed: c.Seed, Context: "", Perturbation: results.AggregatePerturbation,
				Metric: mv.name, Value: mv.v, N: mv.n, CILow: nan, CIHigh: nan, WallS: wall,
				PeakMem: peak, GitSHA: r.GitSHA, Backend: backend, Warnings: w, MaskRatio: lv.Ratio,
			})
		}
		info = append(info, fmt.Sprintf("%g: mcc %.3f", lv.Ratio, lv.Scores.MCC))
	}
	summary := fitInfo + fmt.Sprintf("fit %.2fs; %d train / %d test cells, %d genes, %d bags; %s", out.FitSeconds,
		len(setup.Train), len(setup.Test), setup.Data.NGenes(), len(setup.Bags), strings.Join(info, ", "))
	return recs, summary, nil, nil
}

// imputeModel is the imputer of cell c, the progress note on its
// checkpoint ("" for none; ends in "; "), its records' Backend and, for
// an external model, its file model (done() once the cell succeeded).
func imputeModel(ctx context.Context, r *Runner, c Cell) (tasks.Imputer, string, string, *externalPert, error) {
	if c.Model.External() {
		ext, err := r.newExternalPert(c, tasks.PertSpec{})
		if err != nil {
			return nil, "", "", nil, err
		}
		return &externalImpute{ext}, "", ExternalBackend, ext, nil
	}
	entry, err := model.Lookup(c.Model.Name)
	if err != nil {
		return nil, "", "", nil, err
	}
	fitInfo := ""
	cfg, err := entry.Resolve(c.Model.Params)
	if err != nil {
		return nil, "", "", nil, err
	}
	rt := nn.Runtime{}
	var m tasks.Imputer
	if c.Model.Checkpoint != "" || len(c.Model.TrainOn) > 0 {
		// A pool-pre-trained model (validate): its checkpoint, or one
		// pre-trained on its train_on datasets, shared with the embedding
		// and in-context runners (zero-shot check included).
		rt.Progress = r.Progress
		dir, preInfo, err := modelCheckpoint(ctx, r, c, entry, cfg, rt)
		if err != nil {
			return nil, "", "", nil, err
		}
		loaded, err := entry.LoadCheckpoint(dir, rt)
		if err != nil {
			return nil, "", "", nil, err
		}
		if m, err = entry.ImputerOf(loaded); err != nil {
			return nil, "", "", nil, err
		}
		fitInfo = preInfo + "; "
	} else if entry.Neural {
		// One fit per (dataset, model, split, seed) and shard: the
		// imputation tasks of a seed share the split and gene panel, so the
		// second task reloads the first one's finished checkpoint (Fit
		// resumes a finished run without training); a killed run resumes.
		rt.CheckpointDir = filepath.Join(r.Out, "models", fmt.Sprintf("shard-%d-of-%d", r.Shard.I, r.Shard.N),
			fileSafe(c.Dataset.Name), fileSafe(c.Model.ID()), fileSafe(c.SplitName()), fmt.Sprintf("seed-%d", c.Seed))
		rt.Progress = r.Progress
	}
	if m == nil {
		if m, err = entry.NewImputer(cfg, rt); err != nil {
			return nil, "", "", nil, err
		}
	}
	return m, fitInfo, entry.Backend(), nil, nil
}
