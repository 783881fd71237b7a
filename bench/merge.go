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
// writes out/results.jsonl with every done cell once (the first found, in
// the order of dirs), copies the split files that out lacks, copies each
// merged cell's artifact directory from the run it was taken from (staged,
// then renamed into place; skipped when out already holds that cell's
// artifact) and writes out/artifacts/index.jsonl. Unfinished cells and
// their artifacts are left out. It returns the merged store.
func Merge(out string, dirs []string) (*results.Store, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("merge: no run directories given")
	}
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("merge: %s is not a run directory", d)
		}
	}
	st, err := results.LoadStore(dirs...)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if len(st.Order) == 0 {
		return nil, fmt.Errorf("merge: no finished cells in %v", dirs)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	for _, d := range dirs {
		if err := copySplits(d, out); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	}
	stageRoot := filepath.Join(out, results.ArtifactDir, results.StagingDir, "merge")
	if err := os.RemoveAll(stageRoot); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	for _, k := range st.Order {
		rel := st.Artifacts[k]
		if rel == "" {
			continue
		}
		if err := copyArtifact(filepath.Join(st.Source[k], rel), filepath.Join(out, rel), stageRoot, k); err != nil {
			return nil, fmt.Errorf("merge: cell %s: %w", k, err)
		}
	}
	os.RemoveAll(stageRoot)
	if err := WriteResults(out, st.Records()); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if err := writeArtifactIndex(out, st); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return st, nil
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
