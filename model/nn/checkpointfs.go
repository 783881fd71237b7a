package nn

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// LatestCheckpoint returns the base name (without .json/.bin) of the
// newest GoMLX checkpoint at the root of fsys: the last, in name order, of
// the "checkpoint-*.json" files that have their ".bin" beside them — the
// one GoMLX's checkpoint.Load(store).Dir(dir) loads. It errors when there
// is none.
func LatestCheckpoint(fsys fs.FS) (string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", err
	}
	var names []string
	have := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			have[e.Name()] = true
		}
	}
	for n := range have {
		base, ok := strings.CutSuffix(n, checkpoint.JsonNameSuffix)
		if ok && strings.HasPrefix(base, "checkpoint-") && have[base+checkpoint.BinDataSuffix] {
			names = append(names, base)
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no GoMLX checkpoint (checkpoint-*%s with its %s) found", checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix)
	}
	slices.Sort(names)
	return names[len(names)-1], nil
}

// LoadCheckpointFS loads the newest checkpoint at the root of fsys
// (LatestCheckpoint) into store, as checkpoint.Load(store).Dir(dir) does
// for a directory: the variables are set when the model's graph is built.
// It reads only through fsys, so a checkpoint can come from a directory
// (os.DirFS), a zip archive (archive/zip.Reader) or files held in memory
// (the browser build, which has no filesystem).
//
// The handler holds the loaded values (Handler.LoadedVariables). A damaged
// checkpoint is an error, never a panic (GoMLX's reader of in-memory
// checkpoints panics on some truncated files).
func LoadCheckpointFS(store *gmodel.Store, fsys fs.FS) (h *checkpoint.Handler, err error) {
	base, err := LatestCheckpoint(fsys)
	if err != nil {
		return nil, err
	}
	js, err := fs.ReadFile(fsys, base+checkpoint.JsonNameSuffix)
	if err != nil {
		return nil, err
	}
	bin, err := fs.ReadFile(fsys, base+checkpoint.BinDataSuffix)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("%s: damaged checkpoint: %v", base, r)
		}
	}()
	if h, err = checkpoint.Load(store).FromEmbed(string(js), bin).Done(); err != nil {
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	return h, nil
}
