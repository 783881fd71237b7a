package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/model/stack"
	"github.com/cellbench/cellbench/tasks"
)

// CheckpointInfo is what a checkpoint folder holds, found from its marker
// file (model.Entry.MetaFile) before the user chooses what to run.
type CheckpointInfo struct {
	Model      string `json:"model"`      // registry name
	Checkpoint string `json:"checkpoint"` // its name (folder or zip:folder)
	Config     string `json:"config"`
	// Stage is a STACK checkpoint's training stage (pretrain or
	// incontext); "" for other models.
	Stage string `json:"stage"`
	// Perturbation: Predict runs it; InContext: PredictInContext runs it
	// (a model of the incontext kind whose checkpoint is post-trained
	// for it).
	Perturbation bool `json:"perturbation"`
	InContext    bool `json:"in_context"`
	Genes        int  `json:"genes"`
}

// InspectCheckpoint finds which registry model a checkpoint's files belong
// to (the first model.All entry, with checkpoints loadable from files,
// whose marker file the files hold), loads it and says what the page can
// run with it. It errors when no model's marker file is there or the
// checkpoint does not load.
func InspectCheckpoint(files []File) (*CheckpointInfo, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("checkpoint: no file given")
	}
	var markers []string
	for _, e := range model.All {
		if e.LoadFS == nil || e.MetaFile == "" || slices.Contains(markers, e.MetaFile) {
			continue
		}
		markers = append(markers, e.MetaFile)
		fsys, name, err := CheckpointFS(files, e.MetaFile)
		if err != nil {
			continue
		}
		loaded, err := loadCheckpoint(e, fsys, name)
		if err != nil {
			return nil, err
		}
		info := &CheckpointInfo{Model: e.Name, Checkpoint: name, Genes: len(loaded.Genes())}
		if c, ok := loaded.(interface{ Config() hparams.Config }); ok {
			info.Config = c.Config().String()
		}
		_, info.Perturbation = loaded.(checkpointedPerturbation)
		info.Perturbation = info.Perturbation && e.Has(tasks.KindPerturbation)
		if m, ok := loaded.(*stack.Model); ok {
			info.Stage = m.Stage()
			info.InContext = e.Has(tasks.KindInContext) && m.Stage() == stack.StageInContext
		}
		return info, nil
	}
	return nil, fmt.Errorf("checkpoint %s: no marker file of a trained checkpoint (%v) among its files", files[0].Name, markers)
}

// loadCheckpoint loads a registry model's checkpoint from fsys on the
// backend nn.NewBackend chooses (the go backend in wasm).
func loadCheckpoint(e model.Entry, fsys fs.FS, name string) (model.Checkpointed, error) {
	backend, err := nn.NewBackend()
	if err != nil {
		return nil, err
	}
	return e.LoadCheckpointFS(fsys, name, nn.Runtime{Backend: backend})
}

// Crosstab counts a dataset's cells per (context, perturbation): what the
// page offers as a prompt (context A with cells of p), a query (context B
// with control cells) and a real answer (B's cells of p). Only obs is read.
type Crosstab struct {
	Contexts      []string `json:"contexts"`      // sorted
	Perturbations []string `json:"perturbations"` // sorted
	// Counts[i][j] is the number of cells of Contexts[i] and
	// Perturbations[j].
	Counts [][]int `json:"counts"`
}

// CountCells reads the obs of an .h5ad and counts its cells per (context,
// perturbation); contextCol "" is one context named "". It errors on a
// missing column.
func CountCells(f File, pertCol, contextCol string) (*Crosstab, error) {
	rd, err := h5ad.OpenFrom(bytes.NewReader(f.Bytes), int64(len(f.Bytes)), f.Name)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	d := &data.Dataset{Path: f.Name, Obs: rd.Meta.Obs}
	perts, ctxs, err := tasks.PertSpec{PertCol: pertCol, ContextCol: contextCol}.Labels(d)
	if err != nil {
		return nil, err
	}
	out := &Crosstab{Contexts: sortedUnique(ctxs), Perturbations: sortedUnique(perts)}
	out.Counts = make([][]int, len(out.Contexts))
	for i := range out.Counts {
		out.Counts[i] = make([]int, len(out.Perturbations))
	}
	for k := range perts {
		i, _ := slices.BinarySearch(out.Contexts, ctxs[k])
		j, _ := slices.BinarySearch(out.Perturbations, perts[k])
		out.Counts[i][j]++
	}
	return out, nil
}

func sortedUnique(x []string) []string {
	s := slices.Clone(x)
	slices.Sort(s)
	return slices.Compact(s)
}

// InContextOptions choose one prompting problem on a dataset.
type InContextOptions struct {
	PertCol       string `json:"pert_col"`
	ContextCol    string `json:"context_col"`
	Control       string `json:"control"`
	Perturbation  string `json:"perturbation"`   // p
	PromptContext string `json:"prompt_context"` // A: the prompt is A's cells of p
	QueryContext  string `json:"query_context"`  // B: the query is B's controls
	Seed          uint64 `json:"seed"`           // cellbench predict --seed
	Steps         int    `json:"steps"`          // generation rounds (0 = the checkpoint's gen_steps), --steps
	Scale         string `json:"scale"`          // of the dataset's X: auto (default), counts, log1p
	Profile       string `json:"profile"`        // metric profile of the score (default vcc)
}

// InContextVariant is one generation: with the prompt, or without it.
type InContextVariant struct {
	Name        string `json:"name"` // "prompt" or "no prompt"
	PromptCells int    `json:"prompt_cells"`
	// Of is the Session evaluation of its score (FigureRequest.Of); ""
	// when the dataset has no real cells of p in B.
	Of        string       `json:"of"`
	Score     *ScoreResult `json:"score"`
	CSV       string       `json:"csv"` // the generated cells (PredictedCellsCSV)
	GenerateS float64      `json:"generate_s"`
}

// InContextResult is PredictInContext's answer.
type InContextResult struct {
	Checkpoint string           `json:"checkpoint"`
	Config     string           `json:"config"`
	Dataset    string           `json:"dataset"`
	Options    InContextOptions `json:"options"`
	Backend    string           `json:"backend"`
	Rounds     int              `json:"rounds"`
	// Cell counts: prompt (A's cells of p), query (B's controls) and real
	// (B's cells of p; 0 = none in the dataset, nothing to score).
	PromptCells int `json:"prompt_cells"`
	QueryCells  int `json:"query_cells"`
	RealCells   int `json:"real_cells"`
	// The gene alignment cellbench predict prints: genes of the prompt and
	// query unknown to the checkpoint, and checkpoint genes the query has.
	DatasetGenes    int                `json:"dataset_genes"`
	PromptUnknown   int                `json:"prompt_unknown"`
	QueryUnknown    int                `json:"query_unknown"`
	Shared          int                `json:"shared"`
	CheckpointGenes int                `json:"checkpoint_genes"`
	Variants        []InContextVariant `json:"variants"`
	Timings         struct {
		LoadS  float64 `json:"load_s"`
		ReadS  float64 `json:"read_s"`
		ScoreS float64 `json:"score_s"`
		TotalS float64 `json:"total_s"`
	} `json:"timings"`
}

// Evaluations of PredictInContext (FigureRequest.Of).
const (
	OfInContext         = "incontext"
	OfInContextNoPrompt = "incontext-noprompt"
)

// PredictInContext runs a STACK checkpoint post-trained for in-context
// prediction on one prompting problem of a dataset, as
//
//	cellbench predict --model stack --ckpt C --prompt P.h5ad --query Q.h5ad --pert p --seed S [--steps N]
//
// does with P = the dataset's cells of p in context A and Q = its control
// cells of context B (both brought to log1p CP10k by data.ToLog1p, then
// stack's Prompting and PredictPrompted, the command's code), and again
// with no prompt cells (the prompt-removed variant, same seed). When the
// dataset has cells of p in B, each prediction is scored as cellbench
// score pert --real R --pred OUT --control-ref real does, with R = B's
// controls and cells of p: its LFC scatter (Figure with Of
// OfInContext or OfInContextNoPrompt, kind lfc) compares predicted and
// real log2 fold changes against B's controls (metrics/de through
// pert.Evaluate). It errors on a checkpoint that is not an in-context
// STACK, a missing column or label, and a prompt or query with no cells.
func (s *Session) PredictInContext(ctx context.Context, ckpt fs.FS, ckptName string, ds File, o InContextOptions, progress Progress) (*InContextResult, error) {
	t0 := time.Now()
	switch {
	case o.PertCol == "":
		return nil, fmt.Errorf("in-context: no perturbation column chosen")
	case o.Perturbation == "" || o.PromptContext == "" && o.ContextCol != "" || o.QueryContext == "" && o.ContextCol != "":
		return nil, fmt.Errorf("in-context: choose a perturbation, a prompt context and a query context")
	case o.Perturbation == o.Control:
		return nil, fmt.Errorf("in-context: the perturbation %q is the control label", o.Perturbation)
	case o.Steps < 0:
		return nil, fmt.Errorf("in-context: generation rounds %d must be ≥ 0", o.Steps)
	}
	entry, err := model.Lookup("stack")
	if err != nil {
		return nil, err
	}
	progress.report("loading checkpoint "+ckptName, 0, 0)
	loaded, err := loadCheckpoint(entry, ckpt, ckptName)
	if err != nil {
		return nil, err
	}
	m, ok := loaded.(*stack.Model)
	if !ok {
		return nil, fmt.Errorf("checkpoint %s: not a STACK checkpoint", ckptName)
	}
	if m.Stage() != stack.StageInContext {
		return nil, fmt.Errorf("checkpoint %s is a %s STACK checkpoint; in-context prediction needs one post-trained with cellbench train --model stack --stage incontext", ckptName, m.Stage())
	}
	if o.Steps > 0 {
		m.SetGenerationSteps(o.Steps)
	}
	res := &InContextResult{Checkpoint: ckptName, Config: m.Config().String(), Dataset: ds.Name, Options: o,
		Backend: nn.BackendConfig(), Rounds: m.Config().Int("gen_steps"), CheckpointGenes: len(m.Genes())}
	res.Timings.LoadS = time.Since(t0).Seconds()

	t1 := time.Now()
	progress.report("reading "+ds.Name, 0, 0)
	d, err := h5ad.ReadBytes(ds.Bytes, ds.Name)
	if err != nil {
		return nil, err
	}
	spec := tasks.PertSpec{PertCol: o.PertCol, ContextCol: o.ContextCol, Control: o.Control}
	prepared, err := prepareDataset(d, ds.Name, spec, firstNonEmpty(o.Scale, "auto"))
	if err != nil {
		return nil, err
	}
	perts, ctxs, err := spec.Labels(prepared)
	if err != nil {
		return nil, err
	}
	var promptRows, queryRows, realRows []int
	// Prompt: A's cells of p; query: B's controls; real: B's controls and
	// B's cells of p (the reference the fold changes are taken against).
	for i := range perts {
		if ctxs[i] == o.PromptContext && perts[i] == o.Perturbation {
			promptRows = append(promptRows, i)
		}
		if ctxs[i] == o.QueryContext && perts[i] == o.Control {
			queryRows = append(queryRows, i)
			realRows = append(realRows, i)
		} else if ctxs[i] == o.QueryContext && perts[i] == o.Perturbation {
			realRows = append(realRows, i)
		}
	}
	where := func(c string) string {
		if o.ContextCol == "" {
			return ""
		}
		return fmt.Sprintf(" in %s %q", o.ContextCol, c)
	}
	if len(promptRows) == 0 {
		return nil, fmt.Errorf("%s: no cells of %q%s for the prompt", ds.Name, o.Perturbation, where(o.PromptContext))
	}
	if len(queryRows) == 0 {
		return nil, fmt.Errorf("%s: no control cells (%q)%s for the query", ds.Name, o.Control, where(o.QueryContext))
	}
	prompt, query := prepared.SubsetCells(promptRows), prepared.SubsetCells(queryRows)
	res.PromptCells, res.QueryCells, res.RealCells = len(promptRows), len(queryRows), len(realRows)-len(queryRows)
	res.DatasetGenes = prepared.NGenes()
	res.Timings.ReadS = time.Since(t1).Seconds()

	var real *data.Dataset
	if res.RealCells > 0 {
		real = prepared.SubsetCells(realRows)
	}
	for v, variant := range []struct {
		name, of string
		prompt   *data.Dataset
	}{{"prompt", OfInContext, prompt}, {"no prompt", OfInContextNoPrompt, prompt.SubsetCells(nil)}} {
		pg, err := m.Prompting(variant.prompt, query)
		if err != nil {
			return nil, err
		}
		if v == 0 {
			res.PromptUnknown, res.QueryUnknown, res.Shared = pg.PromptUnknown, pg.QueryUnknown, pg.Shared
		}
		stage := fmt.Sprintf("generating %d cells of %s (%s)", query.NCells(), o.Perturbation, variant.name)
		m.OnRound = func(round, rounds int) { progress.report(stage, v*rounds+round, 2*rounds) }
		t := time.Now()
		pred, err := m.PredictPrompted(ctx, pg, query, o.PertCol, o.Perturbation, o.Control, o.Seed)
		if err != nil {
			return nil, err
		}
		out := InContextVariant{Name: variant.name, PromptCells: variant.prompt.NCells(), GenerateS: time.Since(t).Seconds()}
		if out.CSV, err = PredictedCellsCSV(pred, query.NCells()); err != nil {
			return nil, err
		}
		if real != nil {
			t := time.Now()
			so := ScoreOptions{PertCol: o.PertCol, Control: o.Control, Scale: "log1p", TargetSum: data.DefaultTargetSum,
				ControlRef: "real", Profile: firstNonEmpty(o.Profile, "vcc")}
			name := fmt.Sprintf("STACK %s, %s", ckptName, variant.name)
			if v == 0 {
				name += fmt.Sprintf(": %s", o.Perturbation)
				if o.ContextCol != "" {
					name += " in " + o.PromptContext
				}
				name += fmt.Sprintf(" (%d cells)", len(promptRows))
			}
			if out.Score, err = s.scoreDatasets(variant.of, real, pred, ds.Name+" "+queryName(o), name, so, progress); err != nil {
				return nil, err
			}
			out.Of = variant.of
			res.Timings.ScoreS += time.Since(t).Seconds()
		}
		res.Variants = append(res.Variants, out)
	}
	progress.report("predicted", 1, 1)
	res.Timings.TotalS = time.Since(t0).Seconds()
	return res, nil
}

func queryName(o InContextOptions) string {
	if o.ContextCol == "" {
		return "(" + o.Perturbation + " vs " + o.Control + ")"
	}
	return fmt.Sprintf("(%s %s: %s vs %s)", o.ContextCol, o.QueryContext, o.Perturbation, o.Control)
}

// PredictedCellsCSV writes the generated cells of a PredictPrompted
// dataset (its rows after the nQuery query cells) as CSV: cell_id,
// query_cell (the query cell it was generated from), gen_logit, then one
// column per gene (log1p CP10k); numbers in metrics.FormatValue's
// spelling. The page offers it for download because it cannot write
// .h5ad.
func PredictedCellsCSV(pred *data.Dataset, nQuery int) (string, error) {
	logit, err := pred.Obs.Column("gen_logit")
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := append([]string{"cell_id", "query_cell", "gen_logit"}, pred.Var.Index...)
	if err := w.Write(head); err != nil {
		return "", err
	}
	G := pred.NGenes()
	row := make([]float32, G)
	rec := make([]string, 3+G)
	for i := nQuery; i < pred.NCells(); i++ {
		pred.X.DenseRow(row, i)
		rec[0], rec[1], rec[2] = pred.Obs.Index[i], pred.Obs.Index[i-nQuery], metrics.FormatValue(logit.Floats[i])
		for j, v := range row {
			rec[3+j] = strconv.FormatFloat(float64(v), 'g', -1, 32)
		}
		if err := w.Write(rec); err != nil {
			return "", err
		}
	}
	w.Flush()
	return b.String(), w.Error()
}
