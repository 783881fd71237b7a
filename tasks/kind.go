package tasks

import (
	"context"
	"fmt"
	"strings"

	"github.com/cellbench/cellbench/data"
)

// Kind is what a task asks of a model, and so which model interface it
// runs and which runner (bench) runs it.
type Kind string

const (
	// KindPerturbation: predict the cells of held-out (context,
	// perturbation) groups from control cells (PerturbationModel).
	KindPerturbation Kind = "perturbation"
	// KindEmbedding: embed cells; scored with the scIB metrics (Embedder,
	// or an embedding the dataset already holds).
	KindEmbedding Kind = "embedding"
	// KindInContext: predict how a new context's controls respond to a
	// perturbation from a few prompt cells of it in another context
	// (InContextModel; any PerturbationModel runs it ignoring the prompt).
	KindInContext Kind = "incontext"
	// KindImputation: predict masked expression values (Imputer).
	KindImputation Kind = "imputation"
)

// Def describes one task: its name (as in suites and records), kind and a
// one-line definition (doc.go has the full ones).
type Def struct {
	Name string
	Kind Kind
	Doc  string
}

// All is the one table of every task cellbench runs. A task's name is
// unique; its kind selects the runner. Tasks of other issues join here.
var All = []Def{
	{PertFewShot, KindPerturbation, "hold out most perturbations of one context; train on the rest (+ its support fraction)"},
	{PertZeroShot, KindPerturbation, "hold out every perturbed cell of one context (its controls stay)"},
	{PertCombo, KindPerturbation, "train on singles (+ some doubles), predict unseen double perturbations"},
	{StimCellType, KindPerturbation, "predict the stimulated cells of a held-out cell type (scGen-style)"},
	{EmbedIntegration, KindEmbedding, "score a cell embedding with the scIB metrics (bio, batch, total, kNN typing)"},
	{CelltypeZeroshot, KindEmbedding, "kNN cell typing of each batch from the other batches in a cell embedding (accuracy, balanced accuracy)"},
	{InContext, KindInContext, "prompt a held-out context's controls with a perturbation's cells from another context; predict its perturbed cells"},
	{ImputeGenes, KindImputation, "mask 15/30/80 % of the genes of held-out cells; MCC / MAE of the imputed expression bins (sCT Table 1)"},
	{ImputeCells, KindImputation, "mask whole cells (spots) of bags of 50 and impute them from their neighbours; MCC / MAE (sCT Table 2)"},
}

// RunBy reports whether a model implementing the interfaces of kinds runs
// tasks of kind k: the tasks of its own kinds, and — every
// PerturbationModel can, ignoring the prompt — in-context tasks when it is
// a perturbation model.
func (k Kind) RunBy(kinds []Kind) bool {
	for _, m := range kinds {
		if m == k || (k == KindInContext && m == KindPerturbation) {
			return true
		}
	}
	return false
}

// Lookup returns the definition of a task name.
func Lookup(name string) (Def, bool) {
	for _, d := range All {
		if d.Name == name {
			return d, true
		}
	}
	return Def{}, false
}

// Names lists every task name, in table order.
func Names() []string {
	out := make([]string, len(All))
	for i, d := range All {
		out[i] = d.Name
	}
	return out
}

// KindOf returns the kind of a task name, or an error listing the known
// tasks.
func KindOf(name string) (Kind, error) {
	if d, ok := Lookup(name); ok {
		return d.Kind, nil
	}
	return "", fmt.Errorf("unknown task %q (known: %s)", name, strings.Join(Names(), ", "))
}

// EmbedSpec says how an Embedder is trained on its datasets and how it
// groups the cells it embeds.
type EmbedSpec struct {
	// SampleCol is the obs column whose values are samples (donor, batch):
	// models that learn from sets of cells draw each set within one
	// sample, and models that embed cells in sets form each set within one
	// sample. "" = each dataset is one sample.
	SampleCol string
	// SampleCols, when non-nil, gives FitEmbed one sample column per
	// training dataset (parallel to its train slice; "" = the dataset is
	// one sample), overriding SampleCol for training.
	SampleCols []string
	// Seed drives every random choice of FitEmbed and Embed.
	Seed uint64
}

// SampleColOf returns the sample column of training dataset i.
func (s EmbedSpec) SampleColOf(i int) string {
	if s.SampleCols != nil {
		return s.SampleCols[i]
	}
	return s.SampleCol
}

// Embedder is a model of KindEmbedding: it maps cells to vectors.
//
// FitEmbed learns from training datasets (each on the scale it declares;
// an embedder that needs no training, or computes its embedding from the
// data being embedded, may do nothing). Embed returns one row per cell of
// d, in d's cell order; it must not depend on the order of d's cells
// beyond permuting the rows accordingly. (FitEmbed is not called Fit so
// that one model can be both an Embedder and a PerturbationModel.)
type Embedder interface {
	Name() string
	FitEmbed(ctx context.Context, train []*data.Dataset, spec EmbedSpec) error
	Embed(ctx context.Context, d *data.Dataset, spec EmbedSpec) (*data.Dense, error)
}

// InContextRequest asks for the perturbed state of Query's cells, given
// Prompt: cells of the same perturbation in another context.
type InContextRequest struct {
	Perturbation string
	// PromptContext and QueryContext name the contexts (cell line, cell
	// type) of the prompt and query cells.
	PromptContext, QueryContext string
	// Prompt holds perturbed cells of Perturbation in PromptContext; Query
	// control cells of QueryContext (log1p, the model's genes). A nil or
	// empty Prompt asks for a prediction without a prompt.
	Prompt, Query *data.CSR
}

// InContextModel is a model of KindInContext: a PerturbationModel (Fit on
// the training cells of a split; Predict without a prompt) that can also
// condition on prompt cells with no gradient update. PredictInContext
// returns, per request, one predicted cell per query cell (log1p, same
// genes). Plain PerturbationModels run in-context tasks through Predict
// with the query cells as controls, ignoring the prompt.
type InContextModel interface {
	PerturbationModel
	PredictInContext(ctx context.Context, reqs []InContextRequest) ([]*data.CSR, error)
}

// InContextBatchModel is an InContextModel that answers every prompt
// variant of a run in one call (an external program: one run of the
// command for all of them). RunInContext calls PredictInContextVariants
// once instead of PredictInContext per variant: reqs[v] are the requests
// of variants[v] (PromptMatched, PromptNone, PromptWrong, in that order),
// built exactly as for PredictInContext; the result has the same shape,
// one matrix per request. The variant names are bookkeeping: a model must
// predict from the request's cells and labels as PredictInContext does.
type InContextBatchModel interface {
	InContextModel
	PredictInContextVariants(ctx context.Context, variants []string, reqs [][]InContextRequest) ([][]*data.CSR, error)
}

// Position is one masked entry of an expression matrix.
type Position struct {
	Cell, Gene int
}

// ImputeSpec says how imputation is scored and what a model may use.
type ImputeSpec struct {
	// Bins is the number of expression bins (5: bin 0 = not expressed,
	// bins 1…Bins−1 uniform over the cell's non-zero log1p range;
	// SPEC-metrics.md "Reconstruction metrics", metrics/recon).
	Bins int
	// CoordCols name two numeric obs columns with spatial coordinates
	// (x, y) for spatial models; empty for single-cell data (Coords reads
	// them).
	CoordCols []string
	// Seed drives every random choice.
	Seed uint64
	// Bags (Impute only; Fit ignores it) groups the rows of the dataset
	// being imputed into the sets the task evaluates together: random
	// cells (single-cell data) or spatial neighbourhoods (spatial data), at
	// most the task's bag size each, every row in exactly one bag. Set
	// models (sCT) process one bag as one input; others may ignore it.
	Bags [][]int
}

// Imputation is an Imputer's answer for a list of masked positions.
type Imputation struct {
	// Probs[k] is the probability of each bin at position k (Bins values,
	// ≥ 0, summing to 1 within 1e-3); nil when the model predicts values
	// only.
	Probs [][]float32
	// Log1p[k] is the predicted log1p expression (log1p of a count) at
	// position k; nil when the model predicts bins only. When both are
	// set (same length), position k is scored from Probs[k] when it is
	// non-nil and from Log1p[k] otherwise (a model that predicts values
	// and falls back to bin probabilities at some positions: stack).
	Log1p []float64
}

// Imputer is a model of KindImputation. Fit learns from training cells
// (raw counts, the task's gene panel; may do nothing). Impute receives d —
// the test cells, raw counts on the same genes, with the masked entries
// removed from X (a masked entry is indistinguishable from a zero except
// through masked) — the masked positions (rows and columns of d, sorted
// by cell then gene) and spec with the task's Bags, and returns its
// predictions for exactly those positions, in order. A model must not read
// anything else about the test cells.
type Imputer interface {
	Name() string
	Fit(ctx context.Context, train *data.Dataset, spec ImputeSpec) error
	Impute(ctx context.Context, d *data.Dataset, masked []Position, spec ImputeSpec) (Imputation, error)
}

// ImputeRequest is one masking level of an imputation task as Impute
// receives it: the test cells with the level's masked entries removed and
// the masked positions (rows and columns of Data, sorted by cell then
// gene).
type ImputeRequest struct {
	Ratio  float64
	Data   *data.Dataset
	Masked []Position
}

// ImputeBatchModel is an Imputer that answers every masking level of a
// task in one call (an external program run once per cell: bench's
// command models). RunImpute calls ImputeLevels instead of Impute, with
// the levels in the task's order and the same data, positions and spec
// as the Impute calls would get; the result has one Imputation per
// level. The levels are bookkeeping: a model must answer each level from
// its own masked data as Impute does.
type ImputeBatchModel interface {
	Imputer
	ImputeLevels(ctx context.Context, levels []ImputeRequest, spec ImputeSpec) ([]Imputation, error)
}
