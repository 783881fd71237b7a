package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// inContextRunner runs the cells of in-context tasks (tasks.KindInContext):
// one cell per (task, dataset, seed, model) of the suite's models that run
// them (InContextModels, every PerturbationModel, which ignores the
// prompt, and external models of kind incontext), each a split (tasks.BuildInContextSplit), a fit on its training
// cells, the predictions of each prompt variant (tasks.RunInContext) and
// metrics/pert per variant.
type inContextRunner struct{}

func (inContextRunner) needsModels() bool { return true }

// validate checks the task's parameters, that every dataset has
// perturbation, control and context columns and is an expression matrix,
// and the suite models' checkpoint and train_on: they seed the
// post-training of in-context models that have checkpoints (stack); a
// plain perturbation model given one is an error, not silently ignored.
func (inContextRunner) validate(s *Suite, t TaskSpec) error {
	if t.TrainFraction != 0 || t.TestFraction != 0 {
		return fmt.Errorf("task %s: train_fraction and test_fraction do not apply (every perturbed cell of the query context is held out)", t.Name)
	}
	if t.PromptCells < 0 {
		return fmt.Errorf("task %s: prompt_cells %d must be ≥ 0 (0 = %d)", t.Name, t.PromptCells, tasks.DefaultPromptCells)
	}
	for _, dn := range t.Datasets {
		d := s.dataset(dn)
		switch {
		case d.PertCol == "" || d.Control == "":
			return fmt.Errorf("dataset %s: pert_col and control are required by task %s", d.Name, t.Name)
		case d.ContextCol == "":
			return fmt.Errorf("dataset %s: context_col is required by task %s (prompt and query come from two contexts)", d.Name, t.Name)
		case isCSV(d.File):
			return fmt.Errorf("dataset %s: a CSV embedding cannot be used by task %s", d.Name, t.Name)
		}
	}
	for _, m := range s.Models {
		if m.External() && (m.Checkpoint != "" || len(m.TrainOn) > 0) {
			return fmt.Errorf("model %s: checkpoint and train_on apply to registry in-context models, not external ones", m.ID())
		}
		if m.External() || (m.Checkpoint == "" && len(m.TrainOn) == 0) {
			continue
		}
		e, err := model.Lookup(m.Name)
		if err != nil || !e.Runs(tasks.KindInContext) {
			continue // Validate reports unknown models; other kinds check their own
		}
		switch {
		case !e.Has(tasks.KindInContext) || e.Load == nil:
			return fmt.Errorf("model %s: checkpoint and train_on seed the post-training of in-context models with checkpoints (%v) in task %s; %s has none", m.ID(), inContextCheckpointModels(), t.Name, e.Name)
		case len(m.TrainOn) > 0 && m.Checkpoint == "" && !e.Has(tasks.KindEmbedding):
			return fmt.Errorf("model %s: train_on pre-trains an embedding model; %s is not one", m.ID(), e.Name)
		}
	}
	return nil
}

// inContextCheckpointModels lists the registry's in-context models that
// load checkpoints.
func inContextCheckpointModels() []string {
	var out []string
	for _, e := range model.All {
		if e.Has(tasks.KindInContext) && e.Load != nil {
			out = append(out, e.Name)
		}
	}
	return out
}

// runsInContext reports whether suite model m has in-context cells: an
// external model of kind incontext, a registry model that runs the kind
// (InContextModels and every PerturbationModel). An external perturbation
// model does not: it runs perturbation tasks only.
func runsInContext(m ModelSpec) bool {
	if m.External() {
		return m.externalKind() == tasks.KindInContext
	}
	e, err := model.Lookup(m.Name)
	return err == nil && e.Runs(tasks.KindInContext)
}

// inContextConfig is the task configuration with the prompt size resolved
// (part of the cell's fingerprint, so a changed default is a new cell).
func inContextConfig(t tasks.TaskConfig) tasks.TaskConfig {
	t.PromptCells = t.PromptCellsOrDefault()
	return t
}

// cells lists seeds × the suite's models that run in-context tasks,
// except a model on a dataset of its train_on list (zero-shot: its
// pre-training pool must exclude the evaluated dataset).
func (inContextRunner) cells(s *Suite, t TaskSpec, d DatasetSpec, add func(m ModelSpec, seed uint64, fp string)) {
	for _, seed := range s.Seeds {
		for _, m := range s.Models {
			if slices.Contains(m.TrainOn, d.File) {
				continue
			}
			if runsInContext(m) {
				add(m, seed, fingerprint(d, inContextConfig(t.TaskConfig), m, s.Eval, seed))
			}
		}
	}
}

// split names the query and prompt contexts ("by-seed" when the seed draws
// them) and the prompt size: "holdout=k562,prompt=by-seed,prompt_cells=128".
func (inContextRunner) split(c Cell) string {
	t := c.Task.TaskConfig
	or := func(s string) string {
		if s == "" {
			return "by-seed"
		}
		return s
	}
	return "holdout=" + or(t.Holdout) + ",prompt=" + or(t.PromptContext) + ",prompt_cells=" + strconv.Itoa(t.PromptCellsOrDefault())
}

// inContextSplitFile is what OUT/splits/<dataset>/<task>/seed-<s>.json
// holds for an in-context cell: the contexts, the tested perturbations and
// the cells of every role by name.
type inContextSplitFile struct {
	Dataset       string             `json:"dataset"`
	Split         string             `json:"split"`
	Task          string             `json:"task"`
	Seed          uint64             `json:"seed"`
	QueryContext  string             `json:"query_context"`
	PromptContext string             `json:"prompt_context"`
	Perturbations []string           `json:"perturbations"`
	Unprompted    []string           `json:"unprompted"`
	Prompts       []inContextPrompts `json:"prompts"`
	TrainCells    []string           `json:"train_cells"`
	TestCells     []string           `json:"test_cells"`
	QueryCells    []string           `json:"query_cells"`
}

type inContextPrompts struct {
	Perturbation string   `json:"perturbation"`
	Cells        []string `json:"cells"`
	Wrong        string   `json:"wrong"`
	WrongCells   []string `json:"wrong_cells"`
}

// run builds the split, fits the model on its training cells (an
// in-context model with a checkpoint or train_on post-trains from the
// checkpoint modelCheckpoint gives: Runtime.InitFrom), predicts the
// query under each tested perturbation per prompt variant and evaluates
// each variant like a perturbation task (EvaluatePertReport: the suite's
// metrics or profile; the control reference is the query, see
// tasks.RunInContext). Records carry the variant in Prompt; the artifact
// holds the first variant (matched, or the plain prediction) under the
// model name results.ModelVariant gives it. An external model
// (external_incontext.go) runs through files, one command run for every
// variant; its records' Backend is "external".
func (inContextRunner) run(ctx context.Context, r *Runner, c Cell, p *Prepared) ([]results.Record, string, *artifact, error) {
	t0 := time.Now()
	if p.Data == nil {
		return nil, "", nil, fmt.Errorf("dataset %s has no expression matrix (pert_col not set or an embedding CSV)", c.Dataset.Name)
	}
	spec := p.Pert
	spec.Seed = c.Seed
	perts, ctxs, err := spec.Labels(p.Data)
	if err != nil {
		return nil, "", nil, err
	}
	sp, err := tasks.BuildInContextSplit(perts, ctxs, spec.Control, c.Task.TaskConfig, c.Seed)
	if err != nil {
		return nil, "", nil, err
	}
	if err := r.writeSplitFile(c, newInContextSplitFile(c, sp, p.Data.Obs.Index)); err != nil {
		return nil, "", nil, err
	}
	var m tasks.PerturbationModel
	var ext *externalPert
	preInfo, backend := "", ExternalBackend
	if c.Model.External() {
		if ext, err = r.newExternalPert(c, spec); err != nil {
			return nil, "", nil, err
		}
		m = externalInContext{ext}
	} else if m, preInfo, backend, err = inContextModel(ctx, r, c); err != nil {
		return nil, "", nil, err
	}
	outs, err := tasks.RunInContext(ctx, m, p.Data, spec, sp, tasks.EvalOptions{MaxCells: r.Suite.Eval.MaxCells, MaxControls: r.Suite.Eval.MaxControls})
	if err != nil {
		return nil, "", nil, err
	}
	t1 := time.Now()
	var recs []results.Record
	var art *artifact
	var predict []string
	for k, o := range outs {
		vals, rep, err := r.evaluatePert(ctx, o.Out, spec)
		if err != nil {
			return nil, "", nil, fmt.Errorf("prompt %q: %w", o.Prompt, err)
		}
		recs = append(recs, r.pertRecords(c, vals, o.Out.Notes, o.Prompt, 0, backend)...)
		if k == 0 {
			meta := r.artifactMeta(c)
			meta.Model = results.ModelVariant(meta.Model, o.Prompt)
			if art, err = newPertArtifact(meta, o.Out, spec, r.Suite.Eval, rep); err != nil {
				return nil, "", nil, err
			}
		}
		name := o.Prompt
		if name == "" {
			name = "plain"
		}
		predict = append(predict, fmt.Sprintf("%s %.2fs", name, o.Out.PredictSeconds))
	}
	wall := time.Since(t0).Seconds()
	for i := range recs {
		recs[i].WallS = wall
	}
	info := preInfo + fmt.Sprintf("fit %.2fs, predict %s, eval %.2fs; query %q, prompt %q, %d test perturbations",
		outs[0].Out.FitSeconds, strings.Join(predict, ", "), time.Since(t1).Seconds(), sp.QueryContext, sp.PromptContext, len(sp.Perturbations))
	if ext != nil {
		ext.done()
	}
	return recs, info, art, nil
}

// inContextModel is the registry model of an in-context cell, the
// progress note on its checkpoint ("" for none) and its records' Backend.
func inContextModel(ctx context.Context, r *Runner, c Cell) (tasks.PerturbationModel, string, string, error) {
	entry, cfg, err := cellModel(c)
	if err != nil {
		return nil, "", "", err
	}
	var m tasks.PerturbationModel
	preInfo := ""
	if entry.Has(tasks.KindInContext) {
		// The model's checkpoint (or one pre-trained on its train_on
		// datasets) seeds the post-training on the split's training cells.
		rt := nn.Runtime{}
		if rt.InitFrom, preInfo, err = modelCheckpoint(ctx, r, c, entry, cfg, rt); err != nil {
			return nil, "", "", err
		}
		if preInfo != "" {
			preInfo += "; "
		}
		m, err = entry.NewInContext(cfg, rt)
	} else {
		m, err = entry.NewPerturbation(cfg, nn.Runtime{})
	}
	if err != nil {
		return nil, "", "", err
	}
	return m, preInfo, entry.Backend(), nil
}

// newInContextSplitFile names the cells of each role of sp.
func newInContextSplitFile(c Cell, sp *tasks.InContextSplit, names []string) inContextSplitFile {
	byName := func(rows []int) []string {
		out := make([]string, len(rows))
		for k, i := range rows {
			out[k] = names[i]
		}
		return out
	}
	f := inContextSplitFile{Dataset: c.Dataset.Name, Split: c.SplitName(), Task: c.Task.Name, Seed: c.Seed,
		QueryContext: sp.QueryContext, PromptContext: sp.PromptContext, Perturbations: sp.Perturbations, Unprompted: sp.Unprompted,
		TrainCells: byName(sp.Train), TestCells: byName(sp.Test), QueryCells: byName(sp.Query)}
	for _, pr := range sp.Prompts {
		f.Prompts = append(f.Prompts, inContextPrompts{Perturbation: pr.Perturbation, Cells: byName(pr.Cells), Wrong: pr.Wrong, WrongCells: byName(pr.WrongCells)})
	}
	return f
}
