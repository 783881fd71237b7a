package h5ad

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/internal/h5adcorpus"
	"github.com/cellbench/cellbench/internal/h5adwrite"
)

// FuzzReadBytes feeds arbitrary bytes to the pure-Go reader (ReadBytes, the
// browser's entry point). It must never panic or hang, and never allocate
// beyond what the input can justify (internal/hdf5 bounds every
// allocation by the file size); what it returns without error must be a
// valid dataset, and errors must be one line.
//
// Seeds: the broken-input corpus and the corpus's base dataset in both
// HDF5 formats (written with libhdf5, so only in cgo builds), plus
// testdata/fuzz/FuzzReadBytes (regression inputs, every build).
//
//	go test -run '^$' -fuzz FuzzReadBytes -fuzztime 10m ./data/h5ad
func FuzzReadBytes(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ReadBytes(b, "fuzz")
		if err != nil {
			if d != nil {
				t.Fatalf("dataset returned with error %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("ReadBytes returned an invalid dataset: %v", err)
		}
	})
}

// fuzzSeeds returns the corpus files and the base dataset in both formats
// (nothing in builds without cgo, which cannot write .h5ad).
func fuzzSeeds(tb testing.TB) [][]byte {
	if !h5adwrite.Available {
		return nil
	}
	dir := tb.TempDir()
	if _, err := h5adcorpus.WriteBadInputCorpus(dir); err != nil {
		tb.Fatal(err)
	}
	for _, latest := range []bool{false, true} {
		name := map[bool]string{false: "good.h5ad", true: "good_latest.h5ad"}[latest]
		if err := h5adwrite.File(filepath.Join(dir, name), h5adcorpus.Base(), h5adwrite.Options{LatestFormat: latest}); err != nil {
			tb.Fatal(err)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.h5ad"))
	if err != nil {
		tb.Fatal(err)
	}
	var seeds [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}
