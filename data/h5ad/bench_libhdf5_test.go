//go:build cgo

package h5ad

import (
	"testing"

	"github.com/cellbench/cellbench/data"
)

func init() {
	benchReaders["libhdf5"] = func(_ testing.TB, p string) (*data.Dataset, error) { return Read(p) }
}
