package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/model/hparams"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// The files of a trained checkpoint directory besides GoMLX's checkpoints:
// a start file written before training (what the run is trained with, so
// that resuming with other settings is refused instead of failing deep in
// GoMLX or mixing two runs) and a meta file written last (what prediction
// needs besides the weights; a directory without it is unfinished). Every
// neural model keeps these through the three functions below.

// CheckStart records want (the JSON of a model's training settings) in
// dir/file, creating dir, or — when dir/file exists — errors unless it
// holds exactly want. A start file beside which no checkpoint was ever
// saved (a run rejected or killed before its first save) holds nothing to
// resume: it is replaced, so a corrected run is not blocked by a rejected
// one. model prefixes the errors ("state", "sct").
func CheckStart(dir, file, model string, want []byte) error {
	path := filepath.Join(dir, file)
	got, err := os.ReadFile(path)
	if err == nil && string(got) != string(want) && !hasCheckpoint(dir) {
		err = os.ErrNotExist // nothing to resume: start afresh
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%s: %w", model, err)
		}
		return fsutil.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(want); return err })
	case err != nil:
		return fmt.Errorf("%s: %w", model, err)
	case string(got) != string(want):
		return fmt.Errorf("%s: %s holds a run started with another configuration, gene list or data spec; resume it with the same flags or use a new directory", model, dir)
	}
	return nil
}

// hasCheckpoint reports whether dir holds a GoMLX checkpoint
// ("checkpoint-*.json", as checkpoint.Handler names them) or the loss
// history written with each save.
func hasCheckpoint(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "history.json")); err == nil {
		return true
	}
	m, _ := filepath.Glob(filepath.Join(dir, "checkpoint-*.json"))
	return len(m) > 0
}

// WriteMeta writes v as indented JSON to dir/file, atomically.
func WriteMeta(dir, file, model string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", model, err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, file), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// LoadTrained reads a model trained into dir: its meta file (JSON, into
// meta) and the newest GoMLX checkpoint (a fresh store). It is
// LoadTrainedFS over the directory.
func LoadTrained(dir, file, model string, meta any) (*gmodel.Store, error) {
	return LoadTrainedFS(os.DirFS(dir), dir, file, model, meta)
}

// LoadTrainedFS reads a trained model from the root of fsys (a checkpoint
// directory, a zip archive, files in memory in the browser): the meta file
// into meta and the newest checkpoint (LoadCheckpointFS) into a fresh
// store. name labels errors; model prefixes them. A missing meta file
// means the training did not finish; a damaged file is an error, never a
// panic.
func LoadTrainedFS(fsys fs.FS, name, file, model string, meta any) (*gmodel.Store, error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %s: no %s (not a trained %s checkpoint, or training did not finish)", model, name, file, model)
		}
		return nil, fmt.Errorf("%s: %s: %w", model, name, err)
	}
	if err := json.Unmarshal(b, meta); err != nil {
		return nil, fmt.Errorf("%s: %s/%s: %w", model, name, file, err)
	}
	store := gmodel.NewStore()
	if _, err := LoadCheckpointFS(store, fsys); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", model, name, err)
	}
	return store, nil
}

// LoadTrainedConfigFS is LoadTrainedFS for a model whose meta records its
// hyperparameters as JSON: after meta is read, *config (a field of meta)
// is parsed with params. The one loader of state, stack and sct.
func LoadTrainedConfigFS(fsys fs.FS, name, file, model string, meta any, config *json.RawMessage, params *hparams.Table) (*gmodel.Store, hparams.Config, error) {
	store, err := LoadTrainedFS(fsys, name, file, model, meta)
	if err != nil {
		return nil, hparams.Config{}, err
	}
	cfg, err := params.ConfigFromJSON(*config)
	if err != nil {
		return nil, hparams.Config{}, fmt.Errorf("%s: %s: %w", model, name, err)
	}
	return store, cfg, nil
}
