package model

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/cellbench/cellbench/baselines"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/model/sct"
	"github.com/cellbench/cellbench/model/stack"
	"github.com/cellbench/cellbench/model/state"
	"github.com/cellbench/cellbench/tasks"
)

// Entry is one model of the registry.
type Entry struct {
	// Name is the model's name in suites, commands and records.
	Name string
	// Kinds are the task kinds the model can run (it implements the
	// matching tasks interface: PerturbationModel, Embedder,
	// InContextModel, Imputer).
	Kinds []tasks.Kind
	// Neural models are GoMLX graphs: they run on the backend of
	// $GOMLX_BACKEND (nn.NewBackend) and can be trained into checkpoints;
	// the others are pure Go ("cpu").
	Neural bool
	// Params is the model's one hyperparameter table (named configs, -set
	// and suite params resolve through it).
	Params *hparams.Table
	// Doc is a one-line description.
	Doc string
	// New builds an unfitted model from a configuration resolved from
	// Params, with its runtime (backend, checkpoint directory, progress,
	// initial checkpoint; non-neural models ignore it).
	New func(cfg hparams.Config, rt nn.Runtime) (any, error)
	// Load reads a trained checkpoint directory (written by Fit with
	// rt.CheckpointDir, i.e. cellbench train); nil for models without
	// checkpoints.
	Load func(dir string, rt nn.Runtime) (any, error)
	// LoadFS reads the same checkpoint from the root of a file system (a
	// zip archive, or files held in memory by the browser build); name
	// labels errors. nil when the model cannot be loaded that way.
	LoadFS func(fsys fs.FS, name string, rt nn.Runtime) (any, error)
	// MetaFile is the file that marks a checkpoint directory as finished
	// ("" for models without checkpoints).
	MetaFile string
}

// All is the one table of every model cellbench runs: the suite runner,
// cellbench train/predict/embed/impute and the notebooks read it. Names
// are unique (checked by the tests).
var All = []Entry{
	{Name: "control", Kinds: []tasks.Kind{tasks.KindPerturbation}, Params: baselines.ControlParams,
		Doc: "the context's control cells (lower bound)",
		New: func(hparams.Config, nn.Runtime) (any, error) { return baselines.NewControl(), nil }},
	{Name: "perturbation-mean", Kinds: []tasks.Kind{tasks.KindPerturbation}, Params: baselines.PerturbationMeanParams,
		Doc: "context controls + the perturbation's mean offset over training contexts (STATE §5.3)",
		New: func(hparams.Config, nn.Runtime) (any, error) { return baselines.NewPerturbationMean(), nil }},
	{Name: "context-mean", Kinds: []tasks.Kind{tasks.KindPerturbation}, Params: baselines.ContextMeanParams,
		Doc: "the context's pooled perturbed training cells (STATE §5.3)",
		New: func(hparams.Config, nn.Runtime) (any, error) { return baselines.NewContextMean(), nil }},
	{Name: "linear", Kinds: []tasks.Kind{tasks.KindPerturbation}, Params: baselines.LinearParams,
		Doc: "ridge regression on PCA gene/perturbation embeddings (Ahlmann-Eltze et al. 2025)",
		New: func(c hparams.Config, _ nn.Runtime) (any, error) { return baselines.NewLinearFromConfig(c), nil }},
	{Name: "prompt-shift", Kinds: []tasks.Kind{tasks.KindInContext}, Params: baselines.PromptShiftParams,
		Doc: "in-context baseline: the query controls + the prompt's mean change from its context's controls",
		New: func(hparams.Config, nn.Runtime) (any, error) { return baselines.NewPromptShift(), nil }},
	{Name: "state", Kinds: []tasks.Kind{tasks.KindPerturbation}, Neural: true, Params: state.Params,
		Doc: "STATE-style State Transition set transformer with energy-distance loss",
		New: func(c hparams.Config, rt nn.Runtime) (any, error) {
			m := state.New(c)
			m.Runtime = rt
			return m, nil
		},
		Load: func(dir string, rt nn.Runtime) (any, error) {
			m, err := state.Load(dir)
			if err != nil {
				return nil, err
			}
			m.Runtime = rt
			return m, nil
		},
		LoadFS: func(fsys fs.FS, name string, rt nn.Runtime) (any, error) {
			m, err := state.LoadFS(fsys, name)
			if err != nil {
				return nil, err
			}
			m.Runtime = rt
			return m, nil
		},
		MetaFile: state.MetaFile},
	{Name: "sct", Kinds: []tasks.Kind{tasks.KindImputation}, Neural: true, Params: sct.Params,
		Doc: "sCT-style conv-transformer over K binned cells: conv tower, transformer, deconv tower with skips, shared layer norm, stratified masking (Joshi et al.)",
		New: func(c hparams.Config, rt nn.Runtime) (any, error) {
			m := sct.New(c)
			m.Runtime = rt
			return m, nil
		},
		Load: func(dir string, rt nn.Runtime) (any, error) {
			m, err := sct.Load(dir)
			if err != nil {
				return nil, err
			}
			m.Runtime = rt
			return m, nil
		},
		LoadFS: func(fsys fs.FS, name string, rt nn.Runtime) (any, error) {
			m, err := sct.LoadFS(fsys, name)
			if err != nil {
				return nil, err
			}
			m.Runtime = rt
			return m, nil
		},
		MetaFile: sct.MetaFile},
	{Name: "mode", Kinds: []tasks.Kind{tasks.KindImputation}, Params: baselines.ModeImputeParams,
		Doc: "most frequent expression bin of each gene in the training cells (sCT App. C.2 \"most-common\")",
		New: func(hparams.Config, nn.Runtime) (any, error) { return baselines.NewModeImputer(), nil }},
	{Name: "knn", Kinds: []tasks.Kind{tasks.KindImputation}, Params: baselines.KNNImputeParams,
		Doc: "kNN smoothing: mean of the 5 nearest training cells in PCA space of the unmasked genes, depth-rescaled (Wagner 2017; sCT §4)",
		New: func(c hparams.Config, _ nn.Runtime) (any, error) { return baselines.NewKNNImputerFromConfig(c), nil }},
	{Name: "pca", Kinds: []tasks.Kind{tasks.KindEmbedding}, Params: baselines.PCAEmbedParams,
		Doc: "PCA of the log1p expression (all genes, or the hvg most variable): the unintegrated embedding baseline",
		New: func(c hparams.Config, _ nn.Runtime) (any, error) { return baselines.NewPCAEmbedFromConfig(c), nil }},
	{Name: "stack", Kinds: []tasks.Kind{tasks.KindEmbedding, tasks.KindInContext, tasks.KindImputation}, Neural: true, Params: stack.Params,
		Doc: "STACK: tabular attention over cell sets, NB decoder, masked pre-training; in-context prompting; zero-shot NB imputation",
		New: func(c hparams.Config, rt nn.Runtime) (any, error) {
			m, err := stack.New(c)
			if err != nil {
				return nil, err
			}
			m.Runtime = rt
			return m, nil
		},
		Load: func(dir string, rt nn.Runtime) (any, error) {
			m, err := stack.Load(dir)
			if err != nil {
				return nil, err
			}
			m.Runtime = rt
			return m, nil
		},
		LoadFS: func(fsys fs.FS, name string, rt nn.Runtime) (any, error) {
			m, err := stack.LoadFS(fsys, name)
			if err != nil {
				return nil, err
			}
			m.Runtime = rt
			return m, nil
		},
		MetaFile: stack.MetaFile},
}

// Lookup returns the entry of a model name, or an error listing the
// known models.
func Lookup(name string) (Entry, error) {
	for _, e := range All {
		if e.Name == name {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("unknown model %q (known: %s)", name, strings.Join(Names(""), ", "))
}

// Names lists the models of a kind ("" = every model), in table order.
func Names(kind tasks.Kind) []string {
	var out []string
	for _, e := range All {
		if kind == "" || e.Has(kind) {
			out = append(out, e.Name)
		}
	}
	return out
}

// Has reports whether the model implements the interface of kind k.
func (e Entry) Has(k tasks.Kind) bool { return slices.Contains(e.Kinds, k) }

// Runs reports whether the model runs tasks of kind k (tasks.Kind.RunBy:
// its own kinds, and in-context tasks for every perturbation model).
func (e Entry) Runs(k tasks.Kind) bool { return k.RunBy(e.Kinds) }

// Backend is what records say the model ran on: "cpu" for pure-Go
// models, the GoMLX backend configuration for neural ones ("go",
// "xla:cuda", …).
func (e Entry) Backend() string {
	if e.Neural {
		return nn.BackendConfig()
	}
	return "cpu"
}

// Resolve resolves suite-style parameters (hparams.Table.ResolveParams:
// "config" names a named config, other keys override).
func (e Entry) Resolve(params map[string]string) (hparams.Config, error) {
	c, err := e.Params.ResolveParams(params)
	if err != nil {
		return hparams.Config{}, fmt.Errorf("model %w", err)
	}
	return c, nil
}

// newAs builds a model and checks it implements T (the interface of kind).
func newAs[T any](e Entry, kind tasks.Kind, cfg hparams.Config, rt nn.Runtime) (T, error) {
	var zero T
	if !e.Has(kind) {
		return zero, fmt.Errorf("model %s does not run %s tasks (it runs: %s)", e.Name, kind, kindList(e.Kinds))
	}
	m, err := e.New(cfg, rt)
	if err != nil {
		return zero, fmt.Errorf("model %s: %w", e.Name, err)
	}
	return as[T](e, kind, m), nil
}

// Adapter is implemented by a model whose value for one task kind is of
// another type, because the interfaces of two of its kinds clash (STACK:
// a PerturbationModel's Fit and an Imputer's Fit take different specs):
// ForKind returns the value implementing the interface of kind k.
type Adapter interface {
	ForKind(k tasks.Kind) any
}

// as returns m (built or loaded from e) as the interface T of kind,
// through its Adapter when it has one. A registered kind whose interface
// is missing is a programming error: it panics (the registry test builds
// every kind of every entry).
func as[T any](e Entry, kind tasks.Kind, m any) T {
	if a, ok := m.(Adapter); ok {
		m = a.ForKind(kind)
	}
	t, ok := m.(T)
	if !ok {
		panic(fmt.Sprintf("model: %s is registered for %s tasks but %T does not implement their interface", e.Name, kind, m))
	}
	return t
}

// ImputerOf returns a model built or loaded from e (Load,
// LoadCheckpoint) as its tasks.Imputer; it errors when e does not impute.
func (e Entry) ImputerOf(m any) (tasks.Imputer, error) {
	if !e.Has(tasks.KindImputation) {
		return nil, fmt.Errorf("model %s does not run %s tasks (it runs: %s)", e.Name, tasks.KindImputation, kindList(e.Kinds))
	}
	return as[tasks.Imputer](e, tasks.KindImputation, m), nil
}

func kindList(ks []tasks.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// NewPerturbation builds an unfitted tasks.PerturbationModel.
func (e Entry) NewPerturbation(cfg hparams.Config, rt nn.Runtime) (tasks.PerturbationModel, error) {
	return newAs[tasks.PerturbationModel](e, tasks.KindPerturbation, cfg, rt)
}

// NewEmbedder builds an unfitted tasks.Embedder.
func (e Entry) NewEmbedder(cfg hparams.Config, rt nn.Runtime) (tasks.Embedder, error) {
	return newAs[tasks.Embedder](e, tasks.KindEmbedding, cfg, rt)
}

// NewInContext builds an unfitted tasks.InContextModel.
func (e Entry) NewInContext(cfg hparams.Config, rt nn.Runtime) (tasks.InContextModel, error) {
	return newAs[tasks.InContextModel](e, tasks.KindInContext, cfg, rt)
}

// NewImputer builds an unfitted tasks.Imputer.
func (e Entry) NewImputer(cfg hparams.Config, rt nn.Runtime) (tasks.Imputer, error) {
	return newAs[tasks.Imputer](e, tasks.KindImputation, cfg, rt)
}

// Checkpointed is what every model read from a checkpoint tells: the
// genes it was trained on, in the order it expects them.
type Checkpointed interface {
	Genes() []string
}

// LoadCheckpoint reads a trained checkpoint directory of the model.
func (e Entry) LoadCheckpoint(dir string, rt nn.Runtime) (Checkpointed, error) {
	if e.Load == nil {
		return nil, fmt.Errorf("model %s has no checkpoints (it is fitted inside each run: use cellbench run)", e.Name)
	}
	m, err := e.Load(dir, rt)
	if err != nil {
		return nil, err
	}
	return e.checkpointed(m), nil
}

// LoadCheckpointFS reads a trained checkpoint of the model from the root
// of fsys (the files of its checkpoint directory); name labels errors.
func (e Entry) LoadCheckpointFS(fsys fs.FS, name string, rt nn.Runtime) (Checkpointed, error) {
	if e.Load == nil {
		return nil, fmt.Errorf("model %s has no checkpoints (it is fitted inside each run: use cellbench run)", e.Name)
	}
	if e.LoadFS == nil {
		return nil, fmt.Errorf("model %s loads its checkpoints only from a directory", e.Name)
	}
	m, err := e.LoadFS(fsys, name, rt)
	if err != nil {
		return nil, err
	}
	return e.checkpointed(m), nil
}

func (e Entry) checkpointed(m any) Checkpointed {
	c, ok := m.(Checkpointed)
	if !ok {
		panic(fmt.Sprintf("model: %s loads a %T without Genes()", e.Name, m))
	}
	return c
}
