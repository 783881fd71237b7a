package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/results"
)

// Merge combines the finished cells of run directories (e.g. the shards of
// a job array, each with its own directory or all in one) into out: it
// writes out/results.jsonl with every done cell of the suite's grid once
// (the first found, in the order of dirs), copies the split files, the
// grid manifest and suite.yaml that out lacks, copies each merged cell's
// artifact directory from the run it was taken from (staged, then renamed
// into place; skipped when out already holds that cell's artifact),
// writes out/artifacts/index.jsonl and out/status.json. Unfinished cells
// and their artifacts are left out; failed cells (not done in any input)
// are listed in the status with their reasons.
//
// Inputs of different suites (grid.json digests) are refused, and so is an
// out that a run is writing (its journal lock is held). The returned
// status says how many cells of the grid are present: a merge with a
// shard missing is incomplete.
func Merge(out string, dirs []string) (*results.Store, *results.RunStatus, error) {
	if len(dirs) == 0 {
		return nil, nil, fmt.Errorf("merge: no run directories given")
	}
	var grid *results.Grid
	gridFrom := ""
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, nil, fmt.Errorf("merge: %s is not a run directory", d)
		}
		g, err := results.ReadGrid(d)
		if err != nil {
			return nil, nil, fmt.Errorf("merge: %w", err)
		}
		switch {
		case g == nil:
		case grid == nil:
			grid, gridFrom = g, d
		case g.Digest != grid.Digest:
			a, _ := os.ReadFile(filepath.Join(gridFrom, "suite.yaml"))
			b, _ := os.ReadFile(filepath.Join(d, "suite.yaml"))
			return nil, nil, fmt.Errorf("merge: %s and %s ran different suites (digest %.12s vs %.12s; %s): merge the shards of one suite", gridFrom, d, grid.Digest, g.Digest, SuiteDiff(a, b))
		}
	}
	if err := checkNoWriters(out); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	st, err := results.LoadStore(dirs...)
	if err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	if grid != nil {
		keys := make(map[string]bool, len(grid.Cells))
		for _, c := range grid.Cells {
			keys[c.Key] = true
		}
		st = st.Only(func(k string) bool { return keys[k] })
	}
	if len(st.Order) == 0 {
		return nil, nil, fmt.Errorf("merge: no finished cells in %v (%d failed)", dirs, len(st.FailOrder))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	for _, d := range dirs {
		if err := copySplits(d, out); err != nil {
			return nil, nil, fmt.Errorf("merge: %w", err)
		}
	}
	if grid != nil {
		if err := copyIfMissing(filepath.Join(gridFrom, "suite.yaml"), filepath.Join(out, "suite.yaml")); err != nil {
			return nil, nil, fmt.Errorf("merge: %w", err)
		}
		if err := writeJSON(filepath.Join(out, results.GridFile), grid); err != nil {
			return nil, nil, fmt.Errorf("merge: %w", err)
		}
	}
	stageRoot := filepath.Join(out, results.ArtifactDir, results.StagingDir, "merge")
	if err := os.RemoveAll(stageRoot); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	for _, k := range st.Order {
		rel := st.Artifacts[k]
		if rel == "" {
			continue
		}
		if err := copyArtifact(filepath.Join(st.Source[k], rel), filepath.Join(out, rel), stageRoot, k); err != nil {
			return nil, nil, fmt.Errorf("merge: cell %s: %w", k, err)
		}
	}
	os.RemoveAll(stageRoot)
	if err := WriteResults(out, st.Records()); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	if err := writeArtifactIndex(out, st); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	status := results.NewRunStatus(st, grid)
	status.WrittenBy = "merge"
	if err := writeJSON(filepath.Join(out, results.StatusFile), status); err != nil {
		return nil, nil, fmt.Errorf("merge: %w", err)
	}
	return st, status, nil
}

// copyIfMissing copies file src to dst unless dst exists (or src does not).
func copyIfMissing(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	return fsutil.WriteFileAtomic(dst, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// copySplits copies src/splits/** to dst/splits/** where dst lacks a file
// (splits are deterministic, so an existing file has the same content).
func copySplits(src, dst string) error {
	root := filepath.Join(src, "splits")
	if _, err := os.Stat(root); err != nil {
		return nil
	}
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if _, err := os.Stat(target); err == nil {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return fsutil.WriteFileAtomic(target, func(w io.Writer) error { _, err := w.Write(b); return err })
	})
}
