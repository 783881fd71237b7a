package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

// CheckpointPlaceholders are the names a model's checkpoint path may hold
// in braces: {seed} (the cell's seed) and {file} (the evaluated dataset's
// file: its registry name, or a path's base name without extension), so
// that one suite entry can name one checkpoint per seed and per dataset
// (e.g. "runs/stack-pools/excl-{file}-s{seed}", a pool without that
// dataset; scripts/stack-pools.sh).
var CheckpointPlaceholders = []string{"seed", "file"}

// checkCheckpointPath checks that a checkpoint path uses only
// CheckpointPlaceholders.
func checkCheckpointPath(m ModelSpec) error {
	for _, sub := range placeholderRE.FindAllStringSubmatch(m.Checkpoint, -1) {
		if !slices.Contains(CheckpointPlaceholders, sub[1]) {
			return fmt.Errorf("model %s: checkpoint %q: unknown placeholder {%s} (known: {%s})", m.ID(), m.Checkpoint, sub[1], strings.Join(CheckpointPlaceholders, "}, {"))
		}
	}
	return nil
}

// checkpointFor returns m's checkpoint path for a cell on dataset d with
// seed: the placeholders replaced.
func checkpointFor(m ModelSpec, d DatasetSpec, seed uint64) string {
	file := d.File
	if strings.ContainsAny(file, `/\`) || strings.HasSuffix(file, ".h5ad") || strings.HasSuffix(file, ".csv") {
		file = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	return strings.NewReplacer("{seed}", strconv.FormatUint(seed, 10), "{file}", file).Replace(m.Checkpoint)
}

// trainedOnEvaluated reports whether a loaded model records the cell's
// dataset among its training data (models with TrainedOn: stack). Files
// match when they are the same file or share a base name.
func trainedOnEvaluated(loaded any, evaluated string) (bool, string) {
	tr, ok := loaded.(interface{ TrainedOn() []string })
	if !ok {
		return false, ""
	}
	for _, p := range tr.TrainedOn() {
		if sameFile(p, evaluated) || filepath.Base(p) == filepath.Base(evaluated) {
			return true, p
		}
	}
	return false, ""
}

// modelCheckpoint returns the trained checkpoint directory a cell's model
// starts from, and what was done to get it:
//
//   - the model's Checkpoint with its placeholders replaced
//     (checkpointFor); it must be finished (its entry's MetaFile) and is
//     refused when it records the evaluated dataset among its training
//     data (zero-shot);
//   - else, with TrainOn, OUT/models/<model>/<fingerprint>-seed-<s>:
//     pre-trained here on those datasets (FitEmbed, each dataset's
//     SampleColumn, seed = the cell's) when it is not finished yet,
//     resuming an interrupted one; every cell of that model and seed
//     shares it;
//   - else "" (the model trains from scratch, or needs no training).
//
// The runners leave the TrainOn datasets out of a model's cells, so a
// model never meets a dataset it was trained on here.
func modelCheckpoint(ctx context.Context, r *Runner, c Cell, entry model.Entry, cfg hparams.Config, rt nn.Runtime) (dir, info string, err error) {
	switch {
	case c.Model.Checkpoint != "":
		dir = checkpointFor(c.Model, c.Dataset, c.Seed)
		loaded, err := entry.LoadCheckpoint(dir, rt)
		if err != nil {
			return "", "", fmt.Errorf("model %s: checkpoint: %w", c.Model.ID(), err)
		}
		path, err := data.NewRegistry(r.DataDir).Resolve(c.Dataset.File)
		if err != nil {
			return "", "", err
		}
		if bad, p := trainedOnEvaluated(loaded, path); bad {
			return "", "", fmt.Errorf("model %s: checkpoint %s was trained on %s (%s), the dataset being evaluated: a zero-shot evaluation needs a checkpoint whose training data exclude it", c.Model.ID(), dir, c.Dataset.File, p)
		}
		return dir, "loaded " + dir, nil
	case len(c.Model.TrainOn) > 0:
		dir = filepath.Join(r.Out, "models", fileSafe(c.Model.ID()), fmt.Sprintf("%s-seed-%d", fingerprint(c.Model, cfg.String()), c.Seed))
		if _, err := os.Stat(filepath.Join(dir, entry.MetaFile)); err == nil {
			return dir, "loaded " + dir, nil
		}
		t0 := time.Now()
		rt.CheckpointDir = dir
		m, err := entry.NewEmbedder(cfg, rt)
		if err != nil {
			return "", "", err
		}
		pool := make([]*data.Dataset, len(c.Model.TrainOn))
		cols := make([]string, len(c.Model.TrainOn))
		reg := data.NewRegistry(r.DataDir)
		for i, name := range c.Model.TrainOn {
			path, err := reg.Resolve(name)
			if err != nil {
				return "", "", fmt.Errorf("model %s: train_on: %w", c.Model.ID(), err)
			}
			if pool[i], err = h5ad.Read(path); err != nil {
				return "", "", fmt.Errorf("model %s: train_on: %w", c.Model.ID(), err)
			}
			cols[i] = SampleColumn(name, r.DataDir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", err
		}
		if err := m.FitEmbed(ctx, pool, tasks.EmbedSpec{SampleCols: cols, Seed: c.Seed}); err != nil {
			return "", "", fmt.Errorf("model %s: %w", c.Model.ID(), err)
		}
		return dir, fmt.Sprintf("pre-trained on %d datasets in %.1fs", len(pool), time.Since(t0).Seconds()), nil
	}
	return "", "", nil
}
