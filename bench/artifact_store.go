package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/results"
)

// commitArtifact writes a's files and meta.json into a staging directory
// (OUT/artifacts/.staging/<owner>/), fsyncs them, removes any older
// directory at rel and renames the staging directory to rel.
func commitArtifact(out, rel, owner string, a *artifact) error {
	stageRoot := filepath.Join(out, results.ArtifactDir, results.StagingDir, owner)
	if err := os.MkdirAll(stageRoot, 0o755); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	stage, err := os.MkdirTemp(stageRoot, "cell-*")
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	defer os.RemoveAll(stage) // no-op after the rename
	a.meta.Files = nil
	for _, f := range a.files {
		a.meta.Files = append(a.meta.Files, f.name)
	}
	files := append(slices.Clone(a.files), artifactFile{"meta.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(a.meta)
	}})
	for _, f := range files {
		if err := fsutil.WriteFileSynced(filepath.Join(stage, f.name), f.write); err != nil {
			return fmt.Errorf("artifact %s: %w", f.name, err)
		}
		if artifactHook != nil {
			artifactHook()
		}
	}
	return fsutil.ReplaceDir(stage, filepath.Join(out, rel))
}

// artifactHook, when set (tests), runs after each staged artifact file.
var artifactHook func()

// cleanStaging removes what an earlier, killed process of the same owner
// (shard) left in its staging directory.
func cleanStaging(out, owner string) error {
	return os.RemoveAll(filepath.Join(out, results.ArtifactDir, results.StagingDir, owner))
}

// writeArtifactIndex writes OUT/artifacts/index.jsonl atomically from a
// store's done cells (directories relative to out).
func writeArtifactIndex(out string, st *results.Store) error {
	var refs []results.ArtifactRef
	for _, k := range st.Order {
		if a := st.Artifacts[k]; a != "" {
			refs = append(refs, results.ArtifactRef{Cell: k, Dir: a})
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return fsutil.WriteFileAtomic(filepath.Join(out, results.ArtifactDir, results.ArtifactIndex), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range refs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// copyArtifact copies the artifact directory src to dst (staged under
// stageRoot, then renamed into place) unless dst already holds the same
// cell's artifact.
func copyArtifact(src, dst, stageRoot, cell string) error {
	if _, err := results.ReadArtifactMeta(dst, cell); err == nil {
		return nil
	}
	if _, err := results.ReadArtifactMeta(src, cell); err != nil {
		return err
	}
	if err := os.MkdirAll(stageRoot, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(stageRoot, "copy-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := fsutil.WriteFileSynced(filepath.Join(stage, e.Name()), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
	}
	return fsutil.ReplaceDir(stage, dst)
}
