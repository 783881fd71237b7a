//go:build cgo

package h5ad

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/h5adcorpus"
)

// TestReadersAgree reads every .h5ad in the shared data (and upstream/)
// with both readers — libhdf5 through cgo and the pure-Go reader — and
// requires the same dataset value for value, and the same metadata.
func TestReadersAgree(t *testing.T) {
	for _, p := range sharedFiles(t) {
		name, _ := filepath.Rel(sharedData(t), p)
		t.Run(name, func(t *testing.T) {
			want, err := Read(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readPure(t, p)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffDatasets(want, got); d != "" {
				t.Fatalf("pure-Go reader differs from libhdf5: %s", d)
			}
			t.Logf("equal: %s", summary(got))
			checkMetaAgree(t, p)
		})
	}
}

func checkMetaAgree(t *testing.T, p string) {
	t.Helper()
	want, err := ReadMeta(p)
	if err != nil {
		t.Fatal(err)
	}
	r := openPureReader(t, p)
	defer r.Close()
	got, w := r.Meta, *want
	// Frames are compared value for value by TestReadersAgree.
	w.Obs, w.Var, got.Obs, got.Var = data.Frame{}, data.Frame{}, data.Frame{}, data.Frame{}
	if fmt.Sprintf("%+v", w) != fmt.Sprintf("%+v", got) {
		t.Fatalf("meta differs:\nlibhdf5 %+v\npure-Go %+v", w, got)
	}
}

// TestBadInputCorpusBothReaders reads every file of the broken-input corpus
// with both readers. Where Read itself rejects a file (structure, format),
// both readers must fail with the corpus's message, naming the file, on one
// line, and return no dataset; where the defect is found later (values,
// scale), both must return the same dataset.
func TestBadInputCorpusBothReaders(t *testing.T) {
	dir := t.TempDir()
	cases, err := h5adcorpus.WriteBadInputCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p := filepath.Join(dir, c.Name)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := Read(p)
			for _, r := range []struct {
				name string
				read func() (*data.Dataset, error)
			}{
				{"pure-Go", func() (*data.Dataset, error) { return readPure(t, p) }},
				{"pure-Go bytes", func() (*data.Dataset, error) { return ReadBytes(b, p) }},
			} {
				got, err := r.read()
				if (err == nil) != (wantErr == nil) {
					t.Fatalf("%s error %v, libhdf5 error %v", r.name, err, wantErr)
				}
				if err == nil {
					if d := diffDatasets(want, got); d != "" {
						t.Fatalf("%s differs from libhdf5: %s", r.name, d)
					}
					continue
				}
				if got != nil {
					t.Errorf("%s returned a dataset with its error", r.name)
				}
				for _, e := range []error{err, wantErr} {
					msg := e.Error()
					if !strings.Contains(msg, c.Name) || !strings.Contains(msg, c.WantErr) || strings.Contains(msg, "\n") {
						t.Errorf("error %q does not name the file and say %q on one line", msg, c.WantErr)
					}
				}
			}
		})
	}
}

// TestReadersAgreeOnAnndataVariants writes small files with Debian's
// python3-anndata 0.8 in every storage variant a user may bring
// (testdata/anndata_variants.py: default, gzip, lzf, h5py libver="latest"
// i.e. superblock 3 with extensible-array chunk indexes, CSC X, dense
// float64 X, int64 X; unsorted CSR rows; categorical with missing values,
// ordered, 200 categories; nullable integers; layers, obsm, raw). All hold
// the same data, so every variant, read by either reader, must equal
// default.h5ad read by libhdf5. libhdf5 has no LZF filter (an h5py
// plugin) and must fail on lzf.h5ad; the pure-Go reader reads it.
func TestReadersAgreeOnAnndataVariants(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import anndata").Run(); err != nil {
		if os.Getenv("CELLBENCH_REQUIRE_ANNDATA") == "1" {
			t.Fatalf("python3-anndata required but not importable: %v", err)
		}
		t.Skip("python3-anndata not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command(py, "testdata/anndata_variants.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("anndata_variants.py: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.h5ad"))
	if len(files) != 7 {
		t.Fatalf("%d variant files, want 7", len(files))
	}
	ref, err := Read(filepath.Join(dir, "default.h5ad"))
	if err != nil {
		t.Fatal(err)
	}
	if ref.NCells() != 300 || ref.NGenes() != 120 || ref.Raw == nil || len(ref.Layers) != 1 || len(ref.Obsm) != 1 {
		t.Fatalf("default.h5ad read as %s", summary(ref))
	}
	c, err := ref.Obs.Column("perturbation")
	if err != nil || c.Kind != data.Categorical || len(c.Categories) != 3 || !slices.Contains(c.Codes, -1) {
		t.Fatalf("perturbation column: %+v %v", c, err)
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			pure, err := readPure(t, p)
			if err != nil {
				t.Fatal(err)
			}
			pure.Path = ref.Path
			if d := diffDatasets(ref, pure); d != "" {
				t.Fatalf("pure-Go reader: differs from the reference: %s", d)
			}
			lib, err := Read(p)
			if filepath.Base(p) == "lzf.h5ad" {
				if err == nil {
					t.Fatal("libhdf5 read an LZF file (expected: no LZF filter)")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lib.Path = ref.Path
			if d := diffDatasets(ref, lib); d != "" {
				t.Fatalf("libhdf5: differs from the reference: %s", d)
			}
		})
	}
}
