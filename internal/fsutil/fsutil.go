// Package fsutil writes output files so that a failed or interrupted command
// never leaves a partial file looking valid: everything is written to a
// temporary name in the destination directory and renamed when complete.
package fsutil

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// WriteFileAtomic creates path by calling write on a buffered temporary file
// in the same directory, then syncing and renaming it over path. If write or
// any step fails, the temporary file is removed and path is untouched.
func WriteFileAtomic(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// OutDir stages the files of one command's output directory. Files are
// written into a hidden temporary directory beside the destination; Commit
// moves them into place (creating the destination), Abort removes them.
// Until Commit, the destination does not gain any file.
type OutDir struct {
	Dest  string
	stage string
	names []string
}

// NewOutDir prepares staging for dest.
func NewOutDir(dest string) (*OutDir, error) {
	parent := filepath.Dir(filepath.Clean(dest))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("output %s: %w", dest, err)
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(dest)+".partial-*")
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", dest, err)
	}
	return &OutDir{Dest: dest, stage: stage}, nil
}

// Path returns where a staged file of the given name is written; use it for
// writers that need a file name (e.g. the HDF5 writer). The name is recorded
// for Commit.
func (o *OutDir) Path(name string) string {
	o.names = append(o.names, name)
	return filepath.Join(o.stage, name)
}

// Write stages one file by calling write on it.
func (o *OutDir) Write(name string, write func(w io.Writer) error) error {
	p := o.Path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Commit moves every staged file into Dest (each by an atomic rename) and
// removes the staging directory.
func (o *OutDir) Commit() error {
	if err := os.MkdirAll(o.Dest, 0o755); err != nil {
		return fmt.Errorf("output %s: %w", o.Dest, err)
	}
	for _, n := range o.names {
		dst := filepath.Join(o.Dest, n)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(o.stage, n), dst); err != nil {
			return fmt.Errorf("output %s: %w", o.Dest, err)
		}
	}
	return os.RemoveAll(o.stage)
}

// CommitReplace makes the staging directory Dest as a whole: an existing
// Dest is renamed aside, the staging directory renamed to Dest, then the
// old one removed, so Dest never mixes the files of two commands (no
// stale figure of an earlier report stays beside new ones).
func (o *OutDir) CommitReplace() error {
	var old string
	if _, err := os.Lstat(o.Dest); err == nil {
		parent := filepath.Dir(filepath.Clean(o.Dest))
		aside, err := os.MkdirTemp(parent, "."+filepath.Base(o.Dest)+".old-*")
		if err != nil {
			return fmt.Errorf("output %s: %w", o.Dest, err)
		}
		old = filepath.Join(aside, "old")
		if err := os.Rename(o.Dest, old); err != nil {
			os.Remove(aside)
			return fmt.Errorf("output %s: %w", o.Dest, err)
		}
		defer os.RemoveAll(aside)
	}
	if err := os.Rename(o.stage, o.Dest); err != nil {
		if old != "" {
			os.Rename(old, o.Dest) // put the old one back
		}
		return fmt.Errorf("output %s: %w", o.Dest, err)
	}
	return SyncDir(filepath.Dir(filepath.Clean(o.Dest)))
}

// OutDirRule is cellbench's one rule for a command's output directory,
// which the command replaces as a whole (NewOutDir, then CommitReplace), so
// that files of an earlier run never stay beside new ones (an old
// score.csv next to new results).
type OutDirRule struct {
	// What names the output in messages ("report", "score pert output").
	What string
	// Markers are file names of which at least one is in every earlier
	// output of the command: a directory holding one may be replaced.
	Markers []string
	// Inputs are the command's input paths: an --out that is one of them
	// or holds one is refused even with force.
	Inputs []string
}

// Check returns an error unless out may be replaced: out is absent, an
// empty directory, or a directory holding an earlier output (a marker
// file); any other directory only with force. A file, or a directory that
// is or holds an input, is refused whatever force says. Call it before any
// work so that a refused command costs nothing.
func (r OutDirRule) Check(out string, force bool) error {
	for _, in := range r.Inputs {
		if in != "" && Inside(in, out) {
			return fmt.Errorf("--out %s would replace %s, an input of this command: choose another --out", out, in)
		}
	}
	st, err := os.Stat(out)
	if err != nil {
		return nil // created by the commit
	}
	if !st.IsDir() {
		return fmt.Errorf("--out %s is a file, not a directory", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	if len(ents) == 0 || force {
		return nil
	}
	for _, e := range ents {
		if slices.Contains(r.Markers, e.Name()) {
			return nil
		}
	}
	return fmt.Errorf("--out %s is not empty and holds no earlier %s (%d entries, e.g. %q); the new output replaces the whole directory: choose another --out, or pass --force", out, r.What, len(ents), ents[0].Name())
}

// CheckOutFile refuses an output file that is one of the command's inputs
// (the same path, or the same file through a link): replacing it would
// destroy the input (data prep --out equal to --in would replace raw
// counts by their log1p copy, and an .h5ad written back loses what
// cellbench does not model, e.g. uns). Call it before any work.
func CheckOutFile(out string, inputs ...string) error {
	for _, in := range inputs {
		if in == "" {
			continue
		}
		same := filepath.Clean(in) == filepath.Clean(out)
		if a, err := os.Stat(in); err == nil {
			if b, err := os.Stat(out); err == nil && os.SameFile(a, b) {
				same = true
			}
		}
		if same {
			return fmt.Errorf("--out %s is %s, an input of this command: choose another --out", out, in)
		}
	}
	return nil
}

// Inside reports whether path is dir or below it (after making both
// absolute and clean).
func Inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Abort removes the staged files; it is safe to call after Commit (no-op).
func (o *OutDir) Abort() { os.RemoveAll(o.stage) }

// ReplaceDir moves the complete directory stage to dst (replacing dst) and
// syncs dst's parent so the rename is durable.
func ReplaceDir(stage, dst string) error {
	if err := SyncDir(stage); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.Rename(stage, dst); err != nil {
		return err
	}
	if err := SyncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	return nil
}

// WriteFileSynced creates path, writes it through a buffer, fsyncs and
// closes it (the caller renames its directory into place; see ReplaceDir).
func WriteFileSynced(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SyncDir fsyncs a directory so that renames into it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
