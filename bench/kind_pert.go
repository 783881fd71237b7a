package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// pertRunner runs the cells of perturbation tasks (tasks.KindPerturbation):
// one cell per (task, dataset, seed, model) of the suite's models, each a
// split (tasks.BuildSplit), a fit on its training cells, a prediction of
// its test groups (tasks.RunPert) and metrics/pert.
type pertRunner struct{}

func (pertRunner) needsModels() bool { return true }

// validate checks that a perturbation task sets no in-context parameter
// and that every dataset of it has a perturbation column and control and
// is an expression matrix.
func (pertRunner) validate(s *Suite, t TaskSpec) error {
	if t.PromptContext != "" || t.PromptCells != 0 {
		return fmt.Errorf("task %s: prompt_context and prompt_cells apply to the %s task only", t.Name, tasks.InContext)
	}
	for _, dn := range t.Datasets {
		d := s.dataset(dn)
		switch {
		case d.PertCol == "" || d.Control == "":
			return fmt.Errorf("dataset %s: pert_col and control are required by its perturbation tasks", d.Name)
		case isCSV(d.File):
			return fmt.Errorf("dataset %s: a CSV embedding cannot be used by a perturbation task", d.Name)
		}
	}
	return nil
}

// cells lists seeds × models: the suite's models that run perturbation
// tasks, registry and external ones (Validate has checked every name).
func (pertRunner) cells(s *Suite, t TaskSpec, d DatasetSpec, add func(m ModelSpec, seed uint64, fp string)) {
	for _, seed := range s.Seeds {
		for _, m := range s.Models {
			if runsKind(m, tasks.KindPerturbation) {
				add(m, seed, fingerprint(d, t.TaskConfig.WithDefaults(), m, s.Eval, seed))
			}
		}
	}
}

// split is the task's split parameters without the seed.
func (pertRunner) split(c Cell) string { return SplitName(c.Task.TaskConfig) }

// run builds the split, fits the model on the training cells, asks it for
// the test groups and evaluates the prediction; the artifact holds the DE
// tables and pseudobulk deltas of the test groups. An external model
// (external_pert.go) runs through files; its records' Backend is
// "external".
func (pertRunner) run(ctx context.Context, r *Runner, c Cell, p *Prepared) ([]results.Record, string, *artifact, error) {
	t0 := time.Now()
	if p.Data == nil {
		return nil, "", nil, fmt.Errorf("dataset %s has no expression matrix (pert_col not set or an embedding CSV)", c.Dataset.Name)
	}
	spec := p.Pert
	spec.Seed = c.Seed
	perts, err := p.Data.ObsLabels(spec.PertCol)
	if err != nil {
		return nil, "", nil, err
	}
	var ctxs []string
	if spec.ContextCol != "" {
		if ctxs, err = p.Data.ObsLabels(spec.ContextCol); err != nil {
			return nil, "", nil, err
		}
	}
	split, err := tasks.BuildSplit(perts, ctxs, spec.Control, c.Task.TaskConfig, c.Seed)
	if err != nil {
		return nil, "", nil, err
	}
	if err := r.writeSplit(c, split, p); err != nil {
		return nil, "", nil, err
	}
	var m tasks.PerturbationModel
	var ext *externalPert
	backend := ExternalBackend
	if c.Model.External() {
		if ext, err = r.newExternalPert(c, spec); err != nil {
			return nil, "", nil, err
		}
		m = ext
	} else {
		entry, cfg, err := cellModel(c)
		if err != nil {
			return nil, "", nil, err
		}
		if m, err = entry.NewPerturbation(cfg, nn.Runtime{}); err != nil {
			return nil, "", nil, err
		}
		backend = entry.Backend()
	}
	out, err := tasks.RunPert(ctx, m, p.Data, spec, split, tasks.EvalOptions{MaxCells: r.Suite.Eval.MaxCells, MaxControls: r.Suite.Eval.MaxControls})
	if err != nil {
		return nil, "", nil, err
	}
	t1 := time.Now()
	vals, rep, err := r.evaluatePert(ctx, out, spec)
	if err != nil {
		return nil, "", nil, err
	}
	evalS := time.Since(t1).Seconds()
	recs := r.pertRecords(c, vals, out.Notes, "", time.Since(t0).Seconds(), backend)
	art, err := newPertArtifact(r.artifactMeta(c), out, spec, r.Suite.Eval, rep)
	if err != nil {
		return nil, "", nil, err
	}
	info := fmt.Sprintf("fit %.2fs, predict %.2fs, eval %.2fs; holdout %q, %d test groups", out.FitSeconds, out.PredictSeconds, evalS, split.Holdout, len(split.TestGroups))
	if ext != nil {
		ext.done()
	}
	return recs, info, art, nil
}

// pertRecords turns a perturbation-style evaluation of cell c into records:
// one per metric value, with the model's notes prepended to each value's
// warning, the prompt variant (in-context cells; "" otherwise), the cell's
// wall seconds and the process's peak memory.
func (r *Runner) pertRecords(c Cell, vals []MetricValue, notes []string, prompt string, wall float64, backend string) []results.Record {
	note := strings.Join(notes, "; ")
	peak := peakRSS()
	recs := make([]results.Record, 0, len(vals))
	for _, v := range vals {
		w := v.Warning
		if note != "" {
			if w != "" {
				w = note + "; " + w
			} else {
				w = note
			}
		}
		recs = append(recs, results.Record{
			Suite: r.Suite.Name, Dataset: c.Dataset.Name, Split: c.SplitName(), Task: c.Task.Name,
			Model: c.Model.ID(), Seed: c.Seed, Context: v.Context, Perturbation: v.Perturbation,
			Metric: v.Metric, Value: v.Value, N: v.N, CILow: nan, CIHigh: nan, WallS: wall,
			PeakMem: peak, GitSHA: r.GitSHA, Backend: backend, Warnings: w, Prompt: prompt,
		})
	}
	return recs
}

// evaluatePert scores a perturbation-style output with the runner's
// Evaluate, or EvaluatePertReport (whose report then feeds the artifact).
func (r *Runner) evaluatePert(ctx context.Context, out *tasks.PertOutput, spec tasks.PertSpec) ([]MetricValue, *pert.Report, error) {
	if r.Evaluate == nil {
		return EvaluatePertReport(ctx, out, spec, r.Suite.Eval)
	}
	vals, err := r.Evaluate(ctx, out, spec, r.Suite.Eval)
	return vals, nil, err
}

// cellModel is the registry entry of a cell's model and its configuration
// resolved from the suite's params.
func cellModel(c Cell) (model.Entry, hparams.Config, error) {
	entry, err := model.Lookup(c.Model.Name)
	if err != nil {
		return model.Entry{}, hparams.Config{}, err
	}
	cfg, err := entry.Resolve(c.Model.Params)
	if err != nil {
		return model.Entry{}, hparams.Config{}, err
	}
	return entry, cfg, nil
}
