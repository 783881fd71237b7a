package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/tasks"
)

// Suite is a declarative benchmark: for every task, each of its datasets ×
// every model × every seed is one cell of the grid.
type Suite struct {
	Name     string        `yaml:"name"`
	Datasets []DatasetSpec `yaml:"datasets"`
	Tasks    []TaskSpec    `yaml:"tasks"`
	Models   []ModelSpec   `yaml:"models"`
	Seeds    []uint64      `yaml:"seeds"`
	Eval     EvalSpec      `yaml:"eval"`
}

// DatasetSpec names a data file and how to read it as a perturbation
// dataset. Filters apply in order: Drop, Contexts, SharedOnly.
type DatasetSpec struct {
	Name string `yaml:"name"`
	// File is a registry name (data list) or a path; a relative path is
	// resolved under the data directory ($CELLBENCH_DATA).
	File       string `yaml:"file"`
	PertCol    string `yaml:"pert_col"`
	ContextCol string `yaml:"context_col,omitempty"` // "" = one context
	Control    string `yaml:"control"`
	// Scale of X: auto (default), counts or log1p; counts are normalised to
	// TargetSum (default 1e4; 0 is not allowed here) then log1p'd.
	Scale     string  `yaml:"scale,omitempty"`
	TargetSum float64 `yaml:"target_sum,omitempty"`
	// Drop removes cells with these perturbation labels (e.g. TAP-seq's
	// "multiple", "unassigned"); each must label some cell (a label that
	// matches none is an error, not silently ignored).
	Drop []string `yaml:"drop,omitempty"`
	// Contexts keeps only these contexts (all when empty).
	Contexts []string `yaml:"contexts,omitempty"`
	// SharedOnly keeps only the perturbations measured in every kept
	// context (plus the control).
	SharedOnly bool `yaml:"shared_only,omitempty"`
	// Embed reads the dataset as a cell embedding for the
	// embed-integration task (nil for perturbation-only datasets). Its JSON
	// tag keeps the fingerprints of datasets without it unchanged.
	Embed *EmbedSpec `yaml:"embed,omitempty" json:"embed,omitempty"`

	// keepCells asks LoadDataset for Prepared.EmbedCells (set by the
	// runner when external embedding models run on the dataset; not part
	// of the spec, its YAML or its fingerprint).
	keepCells bool
	// Coords names two numeric obs columns (x, y) holding spatial
	// coordinates: imputation tasks then build spatial neighbourhoods and
	// spatial models use them (empty for single-cell data).
	Coords []string `yaml:"coords,omitempty" json:"coords,omitempty"`
}

// EmbedSpec says how a dataset becomes an embedding to score with the scIB
// metrics (task embed-integration): a CSV whose columns matching Cols form
// the embedding, or an .h5ad whose embedding is an obsm entry (Obsm) or the
// PCA of its log1p highly variable genes (PCA components over HVG genes,
// tasks.DatasetEmbeddings; the PCA is also the pre-integration reference
// of pcr_comparison). Empty fields take the data registry's roles of the
// file ("label", "batch", "embedding").
type EmbedSpec struct {
	// Name is the embedding's name in results (their Model), e.g. "scVI";
	// default "PCA<n>", the obsm key, or the dataset name.
	Name     string `yaml:"name,omitempty" json:"name,omitempty"`
	LabelCol string `yaml:"label_col,omitempty" json:"label_col,omitempty"`
	BatchCol string `yaml:"batch_col,omitempty" json:"batch_col,omitempty"`
	// Cols (CSV) is a glob over the column names (path.Match), e.g.
	// "scviDim_*"; PreCols optionally selects a pre-integration embedding
	// of the same cells for pcr_comparison.
	Cols    string `yaml:"cols,omitempty" json:"cols,omitempty"`
	PreCols string `yaml:"pre_cols,omitempty" json:"pre_cols,omitempty"`
	// Obsm (.h5ad) names an obsm entry; PCA > 0 instead takes the PCA of
	// the HVG (default 2000) most variable log1p genes, seed 0.
	Obsm string `yaml:"obsm,omitempty" json:"obsm,omitempty"`
	PCA  int    `yaml:"pca,omitempty" json:"pca,omitempty"`
	HVG  int    `yaml:"hvg,omitempty" json:"hvg,omitempty"`
	// DropMissing drops cells whose label or batch is missing ("", "NA",
	// "NaN"); without it they are an error.
	DropMissing bool `yaml:"drop_missing,omitempty" json:"drop_missing,omitempty"`
}

// isCSV reports whether a dataset file is an embedding CSV (by registry
// format or file suffix).
func isCSV(file string) bool {
	if e, ok := data.NewRegistry("").Lookup(file); ok {
		return e.Format == "csv"
	}
	return strings.HasSuffix(strings.ToLower(file), ".csv")
}

// ResolveEmbed returns d's embedding spec with the registry's defaults
// filled in (label and batch columns, CSV column glob, name, HVG count),
// or an error naming what is missing. d.Embed must be non-nil.
func ResolveEmbed(d DatasetSpec) (EmbedSpec, error) {
	if d.Embed == nil {
		panic("bench: ResolveEmbed of a dataset without embed")
	}
	e := *d.Embed
	roles := map[string]string{}
	if ent, ok := data.NewRegistry("").Lookup(d.File); ok {
		roles = ent.Labels
	}
	if e.LabelCol == "" {
		e.LabelCol = roles["label"]
	}
	if e.BatchCol == "" {
		e.BatchCol = roles["batch"]
	}
	if e.LabelCol == "" || e.BatchCol == "" {
		return e, fmt.Errorf("dataset %s: embed: label_col and batch_col are required (the registry names none for %q)", d.Name, d.File)
	}
	if isCSV(d.File) {
		if e.Obsm != "" || e.PCA != 0 {
			return e, fmt.Errorf("dataset %s: embed: obsm and pca apply to .h5ad files, not CSV", d.Name)
		}
		if e.Cols == "" {
			e.Cols = roles["embedding"]
		}
		if e.Cols == "" {
			return e, fmt.Errorf("dataset %s: embed: cols (a glob over the CSV's column names) is required", d.Name)
		}
		if e.Name == "" {
			e.Name = d.Name
		}
		return e, nil
	}
	switch {
	case e.Cols != "" || e.PreCols != "":
		return e, fmt.Errorf("dataset %s: embed: cols and pre_cols apply to CSV files", d.Name)
	case (e.Obsm == "") == (e.PCA == 0):
		return e, fmt.Errorf("dataset %s: embed: give exactly one of obsm (an obsm key) or pca (components) for an .h5ad", d.Name)
	case e.PCA < 0 || e.HVG < 0:
		return e, fmt.Errorf("dataset %s: embed: pca and hvg must be positive", d.Name)
	}
	if e.HVG == 0 {
		e.HVG = 2000
	}
	if e.Name == "" {
		if e.PCA > 0 {
			e.Name = fmt.Sprintf("PCA%d", e.PCA)
		} else {
			e.Name = e.Obsm
		}
	}
	return e, nil
}

// TaskSpec is a task configuration and the datasets it runs on.
type TaskSpec struct {
	tasks.TaskConfig `yaml:",inline"`
	Datasets         []string `yaml:"datasets"`
}

// ModelSpec is a model of the registry (model.All) by name with its
// parameters, or an external model (a program, see command.go). In YAML a
// model is either a plain name, {name: linear, params: {ridge: "0.1"}},
// or {name: torch-st, command: [python3, m.py, --train, "{train}", …]}.
//
// The JSON tags keep the fingerprints (cell keys) of registry models as
// they were before external models existed; Timeout is left out of
// fingerprints and of the suite digest (it decides whether a cell
// finishes, not what it computes).
type ModelSpec struct {
	Name   string            `yaml:"name"`
	Params map[string]string `yaml:"params,omitempty"`
	// Label distinguishes two configurations of the same model in results
	// (default: Name).
	Label string `yaml:"label,omitempty"`
	// Command makes the model an external program: argv with
	// placeholders ({train}, {requests}, {masked}, {data}, {out}, {seed}, …; see
	// CommandPlaceholders) run once per cell.
	Command []string `yaml:"command,omitempty" json:",omitempty"`
	// Kind is the task kind an external model runs: "perturbation"
	// (default), "incontext", "embedding" or "imputation". A model with a kind and no command is
	// external too: its outputs come from `run --predictions DIR`.
	Kind string `yaml:"kind,omitempty" json:",omitempty"`
	// Timeout bounds one run of the command (Go duration, e.g. "30m";
	// default DefaultCommandTimeout).
	Timeout string `yaml:"timeout,omitempty" json:"-"`
	// Workdir is the command's working directory (default: cellbench's).
	Workdir string `yaml:"workdir,omitempty" json:",omitempty"`
	// Env adds variables to the command's environment.
	Env map[string]string `yaml:"env,omitempty" json:",omitempty"`
	// Checkpoint (models with checkpoints that embed or predict in
	// context, e.g. stack) is a trained checkpoint directory: embedding
	// cells embed with it instead of training one, in-context cells
	// post-train from it (nn.Runtime.InitFrom), imputation cells impute
	// with it zero-shot (pool-pre-trained imputers). "{seed}" in it is replaced
	// by the cell's seed and "{file}" by the evaluated dataset's file
	// (CheckpointPlaceholders). A checkpoint that records its training
	// datasets (stack) is refused for a dataset it was trained on.
	Checkpoint string `yaml:"checkpoint,omitempty" json:"checkpoint,omitempty"`
	// TrainOn (neural embedding models) lists the datasets (registry names
	// or paths) the model is pre-trained on in the run, once per seed, into
	// OUT/models/ — or, with Checkpoint, was pre-trained on. The embedding,
	// in-context and imputation cells of the model start from that
	// pre-training. A model never embeds, imputes nor is prompted on a
	// dataset it was trained on:
	// its cells for such datasets are left out of the grid (zero-shot).
	TrainOn []string `yaml:"train_on,omitempty" json:"train_on,omitempty"`
}

// External reports whether m is an external model (a command, or a kind
// whose outputs come from a predictions directory) rather than one of the
// registry.
func (m ModelSpec) External() bool { return len(m.Command) > 0 || m.Kind != "" }

// runsKind reports whether suite model m runs tasks of kind k: an
// external model its one kind, a registry model the kinds of its entry.
// Runners of other kinds use it to pick their cells' models.
func runsKind(m ModelSpec, k tasks.Kind) bool {
	if m.External() {
		return m.externalKind() == k
	}
	e, err := model.Lookup(m.Name)
	return err == nil && e.Has(k)
}

// UnmarshalYAML accepts a scalar name or a mapping.
func (m *ModelSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		m.Name = n.Value
		return nil
	}
	type plain ModelSpec
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*m = ModelSpec(p)
	return nil
}

// ID is the model's name in results: Label, or Name.
func (m ModelSpec) ID() string {
	if m.Label != "" {
		return m.Label
	}
	return m.Name
}

// EvalSpec configures the evaluation of every cell.
type EvalSpec struct {
	// Metrics to compute (metrics/pert names); empty = Profile.
	Metrics []string `yaml:"metrics,omitempty"`
	// Profile of metrics/pert ("full", "vcc", "minimal", "pds"); default "vcc"
	// when Metrics is empty.
	Profile string `yaml:"profile,omitempty"`
	// MaxCells and MaxControls cap the evaluation sets (tasks.EvalOptions);
	// 0 = no cap.
	MaxCells    int `yaml:"max_cells,omitempty"`
	MaxControls int `yaml:"max_controls,omitempty"`
	// DEFDR is the DE significance threshold (default 0.05).
	DEFDR float64 `yaml:"de_fdr,omitempty"`
}

// ParseSuite reads a suite from YAML, rejecting unknown fields, and
// validates it.
func ParseSuite(b []byte) (*Suite, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Suite
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	s.dropEmpty()
	if err := finiteNumbers(reflect.ValueOf(s), "suite"); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// dropEmpty makes empty lists and maps nil, so that "params: {}" or
// "drop: []" mean what leaving them out means: the same fingerprints and
// cell keys (a parsed suite re-encoded, as a runner given no suite text
// writes it, omits them; found by FuzzParseSuite).
func (s *Suite) dropEmpty() {
	for i := range s.Datasets {
		d := &s.Datasets[i]
		if len(d.Drop) == 0 {
			d.Drop = nil
		}
		if len(d.Contexts) == 0 {
			d.Contexts = nil
		}
		if len(d.Coords) == 0 {
			d.Coords = nil
		}
	}
	for i := range s.Models {
		m := &s.Models[i]
		if len(m.Params) == 0 {
			m.Params = nil
		}
		if len(m.Command) == 0 {
			m.Command = nil
		}
		if len(m.Env) == 0 {
			m.Env = nil
		}
	}
	for i := range s.Tasks {
		if len(s.Tasks[i].MaskRatios) == 0 {
			s.Tasks[i].MaskRatios = nil
		}
	}
	if len(s.Eval.Metrics) == 0 {
		s.Eval.Metrics = nil
	}
}

// finiteNumbers returns an error naming the first number of v (walked
// through structs, slices and maps) that is NaN or infinite: no suite
// setting means anything as .nan or .inf (a NaN target_sum or de_fdr
// passed the range checks and then panicked the fingerprint of the cells).
func finiteNumbers(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %v is not a finite number", path, f)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return finiteNumbers(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			name := t.Field(i).Name
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
				name = tag
			}
			p := path + "." + name
			if t.Field(i).Anonymous {
				p = path
			}
			if err := finiteNumbers(v.Field(i), p); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := finiteNumbers(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if err := finiteNumbers(v.MapIndex(k), fmt.Sprintf("%s.%v", path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadSuite reads and parses a suite file.
func LoadSuite(path string) (*Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	s, err := ParseSuite(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Validate checks names, references and values; the error names the field.
func (s *Suite) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("suite: name is required")
	}
	if len(s.Datasets) == 0 || len(s.Tasks) == 0 || len(s.Seeds) == 0 {
		return fmt.Errorf("suite %s: datasets, tasks and seeds must each be non-empty", s.Name)
	}
	seenTask := map[string]bool{}
	for i, t := range s.Tasks {
		kind, err := tasks.KindOf(t.Name)
		if err != nil {
			return fmt.Errorf("suite %s: tasks[%d]: %w", s.Name, i, err)
		}
		if _, ok := kindRunners[kind]; !ok {
			return fmt.Errorf("suite %s: tasks[%d]: %s tasks (%s) cannot run in a suite yet", s.Name, i, kind, t.Name)
		}
		if len(t.Datasets) == 0 {
			return fmt.Errorf("suite %s: task %s: datasets is empty", s.Name, t.Name)
		}
		for _, d := range t.Datasets {
			if !slices.ContainsFunc(s.Datasets, func(x DatasetSpec) bool { return x.Name == d }) {
				return fmt.Errorf("suite %s: task %s: unknown dataset %q", s.Name, t.Name, d)
			}
			key := t.Name + "/" + d
			if seenTask[key] {
				return fmt.Errorf("suite %s: task %s on dataset %s listed twice", s.Name, t.Name, d)
			}
			seenTask[key] = true
		}
	}
	ds := map[string]bool{}
	for i, d := range s.Datasets {
		switch {
		case d.Name == "":
			return fmt.Errorf("suite %s: datasets[%d]: name is required", s.Name, i)
		case ds[d.Name]:
			return fmt.Errorf("suite %s: dataset %q declared twice", s.Name, d.Name)
		case d.File == "":
			return fmt.Errorf("suite %s: dataset %s: file is required", s.Name, d.Name)
		case d.Scale != "" && d.Scale != "auto" && d.Scale != "counts" && d.Scale != "log1p":
			return fmt.Errorf("suite %s: dataset %s: scale %q (want auto, counts or log1p)", s.Name, d.Name, d.Scale)
		case data.CheckTargetSum(d.TargetSum) != nil:
			return fmt.Errorf("suite %s: dataset %s: target_sum %g: want a library size > 0 (unset = %g)", s.Name, d.Name, d.TargetSum, data.DefaultTargetSum)
		case len(d.Coords) != 0 && len(d.Coords) != 2:
			return fmt.Errorf("suite %s: dataset %s: coords %q: want two obs columns (x, y)", s.Name, d.Name, d.Coords)
		}
		if d.Embed != nil {
			if _, err := ResolveEmbed(d); err != nil {
				return fmt.Errorf("suite %s: %w", s.Name, err)
			}
		}
		ds[d.Name] = true
	}
	needModels := ""
	for _, t := range s.Tasks {
		kr := runnerOf(t.Name)
		if err := kr.validate(s, t); err != nil {
			return fmt.Errorf("suite %s: %w", s.Name, err)
		}
		if kr.needsModels() && needModels == "" {
			needModels = t.Name
		}
	}
	if len(s.Models) == 0 && needModels != "" {
		return fmt.Errorf("suite %s: models is empty but task %s runs models", s.Name, needModels)
	}
	ms := map[string]bool{}
	for i, m := range s.Models {
		if m.External() {
			if err := m.validateExternal(); err != nil {
				return fmt.Errorf("suite %s: models[%d]: %w", s.Name, i, err)
			}
			if !slices.ContainsFunc(s.Tasks, func(t TaskSpec) bool { k, _ := tasks.KindOf(t.Name); return k == m.externalKind() }) {
				return fmt.Errorf("suite %s: model %s runs none of the suite's tasks (it runs %s tasks)", s.Name, m.ID(), m.externalKind())
			}
		} else {
			e, err := model.Lookup(m.Name)
			if err != nil {
				return fmt.Errorf("suite %s: models[%d]: %w", s.Name, i, err)
			}
			if !slices.ContainsFunc(s.Tasks, func(t TaskSpec) bool { k, _ := tasks.KindOf(t.Name); return e.Runs(k) }) {
				return fmt.Errorf("suite %s: model %s runs none of the suite's tasks (it runs %v tasks)", s.Name, m.ID(), e.Kinds)
			}
			if _, err := e.Resolve(m.Params); err != nil {
				return fmt.Errorf("suite %s: models[%d]: %w", s.Name, i, err)
			}
			if err := checkCheckpointPath(m); err != nil {
				return fmt.Errorf("suite %s: %w", s.Name, err)
			}
			if m.Timeout != "" || m.Workdir != "" || len(m.Env) > 0 {
				return fmt.Errorf("suite %s: model %s: timeout, workdir and env apply to external models (with a command)", s.Name, m.ID())
			}
		}
		if ms[m.ID()] {
			return fmt.Errorf("suite %s: model %q listed twice (give one a label)", s.Name, m.ID())
		}
		ms[m.ID()] = true
	}
	seeds := map[uint64]bool{}
	for _, sd := range s.Seeds {
		if seeds[sd] {
			return fmt.Errorf("suite %s: seed %d listed twice", s.Name, sd)
		}
		seeds[sd] = true
	}
	if s.Eval.MaxCells < 0 || s.Eval.MaxControls < 0 || s.Eval.DEFDR < 0 || s.Eval.DEFDR > 1 {
		return fmt.Errorf("suite %s: eval: max_cells/max_controls must be ≥ 0 and de_fdr in [0, 1]", s.Name)
	}
	return nil
}

func (s *Suite) dataset(name string) DatasetSpec {
	for _, d := range s.Datasets {
		if d.Name == name {
			return d
		}
	}
	panic("bench: unknown dataset " + name) // Validate guarantees presence
}

// fingerprint is a short hash of the JSON of v (configuration identity).
func fingerprint(v ...any) string {
	h := sha256.New()
	for _, x := range v {
		b, err := json.Marshal(x)
		if err != nil {
			panic("bench: fingerprint: " + err.Error())
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
