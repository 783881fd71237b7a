package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cellbench/cellbench/internal/fsutil"
)

// A trained checkpoint directory holds the GoMLX checkpoint files, the
// loss curve (history.json) and, written last, the model's meta file (its
// configuration, genes and whatever Predict needs besides the weights): a
// directory without the meta file is an unfinished run. A second file,
// written when training starts, records what the run is trained with, so
// that resuming it with other settings is refused (GuardResume).

// WriteMeta writes v as indented JSON to dir/name, atomically.
func WriteMeta(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, name), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// ReadMeta reads dir/name (written by WriteMeta) into v. A missing file is
// an error saying the directory is not a finished checkpoint of model.
func ReadMeta(dir, name, model string, v any) error {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no %s (not a trained %s checkpoint, or training did not finish)", dir, name, model)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s/%s: %w", dir, name, err)
	}
	return nil
}

// GuardResume records in dir/name what a training run is started with
// (the JSON of v: configuration, genes, data spec…) the first time, and on
// a later call (a resumed run) refuses any other v — resuming with other
// settings would fail deep inside GoMLX or silently mix two runs.
func GuardResume(dir, name string, v any) error {
	want, err := json.Marshal(v)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name)
	got, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return fsutil.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(want); return err })
	case err != nil:
		return err
	case string(got) != string(want):
		return fmt.Errorf("%s holds an unfinished run started with another configuration, gene list, data or seed; resume it with the same flags or use a new directory", dir)
	}
	return nil
}
