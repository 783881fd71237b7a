package data

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Entry describes one dataset cellbench knows by name.
type Entry struct {
	Name        string
	File        string // path below the data directory; "" for upstream-only datasets
	SHA256      string // of File; "" when not recorded (upstream-only)
	Format      string // "h5ad" or "csv"
	Shape       string // cells × genes as documented by the source
	Description string
	Labels      map[string]string // role → obs column: "perturbation", "context", "batch", "label", "control" (label value)
	Source      string            // publication and upstream origin
	Licence     string
	Upstream    string // where a user with a network gets it (upstream-only datasets)
}

// Local reports whether the dataset ships in the data directory.
func (e Entry) Local() bool { return e.File != "" }

// Registry maps dataset names to entries and resolves them under a data
// directory ($CELLBENCH_DATA, default ../shared/data relative to the
// repository root).
type Registry struct {
	Dir     string
	entries map[string]Entry
	order   []string
}

// DataDirEnv is the environment variable naming the data directory.
const DataDirEnv = "CELLBENCH_DATA"

// DefaultDataDir returns $CELLBENCH_DATA, or ../shared/data relative to the
// repository root found by walking up from the working directory to the
// directory holding go.mod (falling back to ../shared/data of the working
// directory).
func DefaultDataDir() string {
	if d := os.Getenv(DataDirEnv); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "data")
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data")
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return filepath.Join("..", "shared", "data")
}

// NewRegistry returns the built-in registry resolved under dir ("" = DefaultDataDir()).
func NewRegistry(dir string) *Registry {
	if dir == "" {
		dir = DefaultDataDir()
	}
	r := &Registry{Dir: dir, entries: map[string]Entry{}}
	for _, e := range builtinEntries {
		if _, dup := r.entries[e.Name]; dup {
			panic("data: duplicate registry entry " + e.Name)
		}
		r.entries[e.Name] = e
		r.order = append(r.order, e.Name)
	}
	return r
}

// Entries returns every entry, local ones first, in registration order.
func (r *Registry) Entries() []Entry {
	out := make([]Entry, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.entries[n])
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Local() && !out[b].Local() })
	return out
}

// Lookup returns the named entry.
func (r *Registry) Lookup(name string) (Entry, bool) {
	e, ok := r.entries[name]
	return e, ok
}

// Path resolves a dataset name to its file. It errors for an unknown name
// (listing the known ones), for an upstream-only dataset ("not available
// here", with its source), and when the file is missing.
func (r *Registry) Path(name string) (string, error) {
	e, ok := r.entries[name]
	if !ok {
		return "", fmt.Errorf("unknown dataset %q (known: %s)", name, strings.Join(r.order, ", "))
	}
	if !e.Local() {
		return "", fmt.Errorf("dataset %q is not available here: it lives upstream only (%s; %s) and this machine cannot download it", name, e.Source, e.Upstream)
	}
	p := filepath.Join(r.Dir, e.File)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("dataset %q: %s not found (set %s to the data directory)", name, p, DataDirEnv)
	}
	return p, nil
}

// Resolve turns a dataset name or a file path into a file path: an existing
// path (or one containing a path separator or a known file extension) is
// used as is; anything else is looked up by name.
func (r *Registry) Resolve(nameOrPath string) (string, error) {
	if _, err := os.Stat(nameOrPath); err == nil {
		return nameOrPath, nil
	}
	if strings.ContainsRune(nameOrPath, os.PathSeparator) || strings.HasSuffix(nameOrPath, ".h5ad") || strings.HasSuffix(nameOrPath, ".csv") {
		return "", fmt.Errorf("%s: no such file", nameOrPath)
	}
	return r.Path(nameOrPath)
}

// Verify computes the SHA-256 of a local entry's file and compares it with
// the recorded checksum.
func (r *Registry) Verify(name string) error {
	p, err := r.Path(name)
	if err != nil {
		return err
	}
	e := r.entries[name]
	got, err := FileSHA256(p)
	if err != nil {
		return fmt.Errorf("dataset %q: %w", name, err)
	}
	if got != e.SHA256 {
		return fmt.Errorf("dataset %q: %s has SHA-256 %s, registry records %s (file changed?)", name, p, got, e.SHA256)
	}
	return nil
}

// FileSHA256 returns the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
