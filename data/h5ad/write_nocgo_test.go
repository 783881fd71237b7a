//go:build !cgo

package h5ad

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteWithoutCgo: a build without cgo cannot write .h5ad; Write says
// so on one line and creates nothing (not even its temporary file).
func TestWriteWithoutCgo(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.h5ad")
	err := Write(p, syntheticDataset())
	if err == nil || !strings.Contains(err.Error(), "needs libhdf5 through cgo") || strings.Contains(err.Error(), "\n") ||
		!strings.HasPrefix(err.Error(), "write "+p+": ") {
		t.Fatalf("Write without cgo: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("Write left %v behind", left)
	}
	if err := WriteUnvalidated(p, syntheticDataset()); err == nil || !strings.Contains(err.Error(), "cgo") {
		t.Fatalf("WriteUnvalidated without cgo: %v", err)
	}
}
