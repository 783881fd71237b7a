package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/tasks"
)

// Export and predictions directories. `cellbench export SUITE --out DIR`
// writes, for every cell of the suite's external models, the input files
// its model would get, so that predictions can be made elsewhere (a GPU
// cluster); `cellbench run SUITE --predictions DIR` then scores the files
// found there as if the models had run in the suite. Inputs depend on the
// (task, dataset, seed) only, so each such unit is written once and
// shared by the suite's external models:
//
//	DIR/manifest.json                          ExportManifest
//	DIR/suite.yaml                             the suite exported
//	DIR/commands.sh                            each external model's command on each unit
//	DIR/<task>/<dataset>/seed=<s>/train.h5ad   perturbation units: {train}, {requests}
//	DIR/<task>/<dataset>/seed=<s>/requests.h5ad
//	DIR/<task>/<dataset>/seed=<s>/data.h5ad    embedding units: {data}
//	DIR/<task>/<dataset>/seed=<s>/masked.csv   imputation units: {train}, {requests}, {masked}
//	DIR/<task>/<dataset>/seed=<s>/<model>.h5ad the prediction to put there ({out};
//	                                           embeddings: <model>.csv or .h5ad;
//	                                           imputation: <model>.csv)
//	DIR/splits/…                               the splits, as a run writes them
//
// Each unit carries a fingerprint of its inputs (gene list, training
// cells and labels, requests and their control matrices); a --predictions
// run recomputes it and refuses a unit exported for another split.

// ExportManifest is DIR/manifest.json.
type ExportManifest struct {
	Suite     string       `json:"suite"`
	Digest    string       `json:"digest"`
	GitSHA    string       `json:"git_sha"`
	Created   string       `json:"created"`
	Units     []ExportUnit `json:"units"`
	Placehold []string     `json:"placeholders"`
}

// ExportUnit is one (task, dataset, seed) of an export: its inputs, the
// spec's columns, its fingerprint and where each external model's output
// goes (paths relative to the export directory, slash-separated).
type ExportUnit struct {
	Task        string                  `json:"task"`
	Dataset     string                  `json:"dataset"`
	Seed        uint64                  `json:"seed"`
	Kind        string                  `json:"kind"`
	Dir         string                  `json:"dir"`
	Inputs      map[string]string       `json:"inputs"`
	PertCol     string                  `json:"pert_col,omitempty"`
	ContextCol  string                  `json:"context_col,omitempty"`
	Control     string                  `json:"control,omitempty"`
	Fingerprint string                  `json:"fingerprint"`
	Outputs     map[string]ExportOutput `json:"outputs"`
}

// ExportOutput is where one model's output of a unit goes, and the
// model's command on that unit: argv with the placeholders replaced (paths
// relative to the export directory) and the variables the runner would
// add to its environment (CELLBENCH_*, the model's env); none for a model
// without a command.
type ExportOutput struct {
	Out  string            `json:"out"`
	Argv []string          `json:"argv,omitempty"`
	Env  map[string]string `json:"env,omitempty"`
}

func unitKey(task, dataset string, seed uint64) string {
	return fmt.Sprintf("%s|%s|%d", task, dataset, seed)
}

func unitDirRel(c Cell) string {
	return filepath.ToSlash(filepath.Join(fileSafe(c.Task.Name), fileSafe(c.Dataset.Name), fmt.Sprintf("seed=%d", c.Seed)))
}

// exportState collects the units of an export in progress.
type exportState struct {
	dir   string
	units map[string]*ExportUnit
	order []string
}

// unit returns (creating) the export unit of cell c and its absolute
// directory.
func (x *exportState) unit(c Cell, spec tasks.PertSpec) (*ExportUnit, string) {
	k := unitKey(c.Task.Name, c.Dataset.Name, c.Seed)
	u, ok := x.units[k]
	if !ok {
		kind, _ := tasks.KindOf(c.Task.Name)
		u = &ExportUnit{Task: c.Task.Name, Dataset: c.Dataset.Name, Seed: c.Seed, Kind: string(kind), Dir: unitDirRel(c),
			Inputs: map[string]string{}, PertCol: spec.PertCol, ContextCol: spec.ContextCol, Control: spec.Control, Outputs: map[string]ExportOutput{}}
		for _, in := range kindFiles[kind].inputs {
			u.Inputs[in] = u.Dir + "/" + inputFile(in)
		}
		x.units[k] = u
		x.order = append(x.order, k)
	}
	return u, filepath.Join(x.dir, filepath.FromSlash(u.Dir))
}

// outputName is the file an external model's output of a unit is read
// from: <model>.h5ad for perturbation and in-context units, <model>.csv
// for embedding units (an .h5ad of that name is read too) and imputation
// units.
func outputName(kind tasks.Kind, model string) string {
	if kind == tasks.KindEmbedding || kind == tasks.KindImputation {
		return fileSafe(model) + ".csv"
	}
	return fileSafe(model) + ".h5ad"
}

// Export writes the inputs of every external-model cell of the suite into
// a new directory out (see above); text is the suite file's text. The
// directory is written under a temporary name beside out and renamed when
// complete, so a failed export leaves nothing that looks valid; out must
// not exist or be empty. load defaults to LoadDataset.
func Export(ctx context.Context, s *Suite, text []byte, out, dataDir string, progress io.Writer,
	load func(DatasetSpec, string) (*Prepared, error)) (*ExportManifest, error) {
	if progress == nil {
		progress = io.Discard
	}
	if load == nil {
		load = LoadDataset
	}
	var external []Cell
	for _, c := range s.Grid() {
		if c.Model.External() {
			external = append(external, c)
		}
	}
	if len(external) == 0 {
		return nil, fmt.Errorf("export: suite %s has no external models (a model with a command, or with a kind and no command for predictions made elsewhere)", s.Name)
	}
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("export: %s exists and is not empty: choose a new --out", out)
	}
	text = suiteYAML(s, text)
	digest, err := SuiteDigest(text)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer os.RemoveAll(stage) // no-op after the rename
	x := &exportState{dir: stage, units: map[string]*ExportUnit{}}
	r := &Runner{Suite: s, Out: stage, DataDir: dataDir, Load: load, GitSHA: "export", Progress: progress, export: x}
	datasets, loadErrs := map[string]*Prepared{}, map[string]error{}
	t0 := time.Now()
	for i, c := range external {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := unitKey(c.Task.Name, c.Dataset.Name, c.Seed)
		if _, done := x.units[k]; !done {
			p, err := r.dataset(c.Dataset, datasets, loadErrs)
			if err != nil {
				return nil, fmt.Errorf("export: %w", err)
			}
			t1 := time.Now()
			if _, _, _, err := r.runCell(ctx, c, p); !errors.Is(err, errExported) {
				if err == nil {
					err = fmt.Errorf("the %s runner wrote no inputs", c.Task.Name)
				}
				return nil, fmt.Errorf("export: %s %s seed=%d: %w", c.Task.Name, c.Dataset.Name, c.Seed, err)
			}
			fmt.Fprintf(progress, "  [%d/%d] %s %s seed=%d: inputs written (%.1fs)\n", i+1, len(external), c.Task.Name, c.Dataset.Name, c.Seed, time.Since(t1).Seconds())
		}
		u := x.units[k]
		kind := tasks.Kind(u.Kind)
		o := ExportOutput{Out: u.Dir + "/" + outputName(kind, c.Model.ID())}
		if len(c.Model.Command) > 0 {
			vals := map[string]string{"out": o.Out, "dir": u.Dir, "seed": fmt.Sprint(c.Seed), "task": c.Task.Name, "dataset": c.Dataset.Name,
				"model": c.Model.ID(), "pert_col": u.PertCol, "context_col": u.ContextCol, "control": u.Control}
			for name, f := range u.Inputs {
				vals[name] = f
			}
			for _, a := range c.Model.Command {
				o.Argv = append(o.Argv, placeholderRE.ReplaceAllStringFunc(a, func(s string) string { return vals[s[1:len(s)-1]] }))
			}
			o.Env = map[string]string{}
			placeholderEnv(o.Env, vals)
			for k, v := range c.Model.Env {
				o.Env[k] = v
			}
		}
		u.Outputs[c.Model.ID()] = o
	}
	m := &ExportManifest{Suite: s.Name, Digest: digest, GitSHA: DetectGitSHA(), Created: time.Now().UTC().Format(time.RFC3339), Placehold: CommandPlaceholders}
	for _, k := range x.order {
		m.Units = append(m.Units, *x.units[k])
	}
	if err := writeJSON(filepath.Join(stage, "manifest.json"), m); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(stage, "suite.yaml"), func(w io.Writer) error { _, err := w.Write(text); return err }); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(stage, "commands.sh"), func(w io.Writer) error { return writeCommandsScript(w, m) }); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	os.Chmod(filepath.Join(stage, "commands.sh"), 0o755)
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := fsutil.ReplaceDir(stage, out); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(progress, "export %s: %d units for %d external-model cells in %.1fs\n", s.Name, len(m.Units), len(external), time.Since(t0).Seconds())
	return m, nil
}

// writeCommandsScript writes a shell script that runs every external
// model's command on every unit, with the unit paths under $EXPORT
// (default: the script's directory), from the current directory.
func writeCommandsScript(w io.Writer, m *ExportManifest) error {
	fmt.Fprintf(w, "#!/bin/sh\n# Generated by cellbench export (suite %s). Runs each external model's command on\n", m.Suite)
	fmt.Fprintf(w, "# each exported unit; the inputs and outputs are under $EXPORT (default: this\n# script's directory). Run it from where the commands expect to run; then\n")
	fmt.Fprintf(w, "#   cellbench run SUITE.yaml --out runs/NAME --predictions \"$EXPORT\"\nset -e\nEXPORT=\"${EXPORT:-$(cd \"$(dirname \"$0\")\" && pwd)}\"\n")
	n := 0
	for _, u := range m.Units {
		models := make([]string, 0, len(u.Outputs))
		for name := range u.Outputs {
			models = append(models, name)
		}
		sort.Strings(models)
		for _, name := range models {
			o := u.Outputs[name]
			if len(o.Argv) == 0 {
				fmt.Fprintf(w, "# %s on %s: no command; write \"$EXPORT/%s\"\n", name, u.Dir, o.Out)
				continue
			}
			var args []string
			keys := make([]string, 0, len(o.Env))
			for k := range o.Env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				args = append(args, k+"="+shellArg(o.Env[k], u))
			}
			for _, a := range o.Argv {
				args = append(args, shellArg(a, u))
			}
			fmt.Fprintf(w, "echo %s >&2\nenv %s\n", shellQuote(fmt.Sprintf("%s on %s", name, u.Dir)), strings.Join(args, " "))
			n++
		}
	}
	_, err := fmt.Fprintf(w, "echo \"%d commands done\" >&2\n", n)
	return err
}

// shellArg quotes an argument, putting "$EXPORT/" before the unit's paths.
func shellArg(a string, u ExportUnit) string {
	if strings.HasPrefix(a, u.Dir+"/") || a == u.Dir {
		return "\"$EXPORT\"/" + shellQuote(a)
	}
	return shellQuote(a)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ',' || r == ':' || r == '+' ||
			(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// PredictionsIndex is a predictions directory (an export with outputs
// added) as a run reads it.
type PredictionsIndex struct {
	Dir      string
	Manifest ExportManifest
	units    map[string]*ExportUnit
}

// ReadPredictions reads DIR/manifest.json.
func ReadPredictions(dir string) (*PredictionsIndex, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("--predictions %s: %w (a directory written by cellbench export)", dir, err)
	}
	ix := &PredictionsIndex{Dir: dir, units: map[string]*ExportUnit{}}
	if err := json.Unmarshal(b, &ix.Manifest); err != nil {
		return nil, fmt.Errorf("--predictions %s: manifest.json: %w", dir, err)
	}
	for i := range ix.Manifest.Units {
		u := &ix.Manifest.Units[i]
		ix.units[unitKey(u.Task, u.Dataset, u.Seed)] = u
	}
	return ix, nil
}

// lookup returns the unit of cell c and checks that it lists c's model.
func (ix *PredictionsIndex) lookup(c Cell) (*ExportUnit, error) {
	u, ok := ix.units[unitKey(c.Task.Name, c.Dataset.Name, c.Seed)]
	if !ok {
		return nil, fmt.Errorf("predictions directory %s has no unit %s %s seed=%d (export this suite again)", ix.Dir, c.Task.Name, c.Dataset.Name, c.Seed)
	}
	if _, ok := u.Outputs[c.Model.ID()]; !ok {
		return nil, fmt.Errorf("predictions directory %s: unit %s lists no output for model %s (export this suite again)", ix.Dir, u.Dir, c.Model.ID())
	}
	return u, nil
}

// prepareExternal checks, before a run writes anything, that every
// external model of the shard can run: it has a command, or its outputs
// come from Predictions (read here).
func (r *Runner) prepareExternal() error {
	if r.Predictions != "" {
		ix, err := ReadPredictions(r.Predictions)
		if err != nil {
			return err
		}
		r.predictions = ix
		return nil
	}
	if r.export != nil {
		return nil
	}
	for _, m := range r.Suite.Models {
		if m.External() && len(m.Command) == 0 {
			return fmt.Errorf("model %s has no command: its outputs come from --predictions DIR (see cellbench export)", m.ID())
		}
	}
	return nil
}
