// Package testdata locates the real shared datasets for tests: every test
// that reads ../shared/data calls Dir (or Path) so the lookup rule lives in
// one place and a machine without the data skips instead of failing.
package testdata

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// Dir returns the shared data directory ($CELLBENCH_DATA, default
// ../shared/data beside the repository root), skipping the test when it
// does not exist.
func Dir(t testing.TB) string {
	t.Helper()
	dir := data.DefaultDataDir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data not found at %s (set %s)", dir, data.DataDirEnv)
	}
	return dir
}

// Path returns the path of a file below the shared data directory,
// skipping the test when it is missing.
func Path(t testing.TB, file string) string {
	t.Helper()
	p := filepath.Join(Dir(t), file)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data file %s not found", p)
	}
	return p
}

// DebianPython is the interpreter of the Python peers and external-model
// scripts (Debian's python3 with numpy, anndata, torch; not a pyenv one).
const DebianPython = "/usr/bin/python3"

// Python returns DebianPython after checking that it imports modules,
// skipping the test when it does not, unless CELLBENCH_REQUIRE_ANNDATA=1
// (set in CI), which makes it fail.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	for _, m := range modules {
		if err := exec.Command(DebianPython, "-c", "import "+m).Run(); err != nil {
			if os.Getenv("CELLBENCH_REQUIRE_ANNDATA") == "1" {
				t.Fatalf("%s cannot import %s (%v); scripts/setup.sh installs it", DebianPython, m, err)
			}
			t.Skipf("%s cannot import %s: %v", DebianPython, m, err)
		}
	}
	return DebianPython
}
