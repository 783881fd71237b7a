package hdf5

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// FuzzOpenWalk opens arbitrary bytes as HDF5 and walks every group (to a
// bounded depth: links may form cycles), reading every dataset as numbers
// and as strings and the attributes AnnData uses. It must never panic,
// hang or allocate beyond the input's budget; errors are fine.
//
// Seeds: small h5py-written files with one of each structure, in both
// formats (testdata/variants.py; the target skips without python3-h5py),
// plus testdata/fuzz/FuzzOpenWalk.
//
//	go test -run '^$' -fuzz FuzzOpenWalk -fuzztime 10m ./data/h5ad/internal/hdf5
func FuzzOpenWalk(f *testing.F) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import h5py").Run(); err != nil {
		f.Skip("python3-h5py not installed")
	}
	dir := f.TempDir()
	if out, err := exec.Command(py, "testdata/variants.py", "--small", dir).CombinedOutput(); err != nil {
		f.Fatalf("variants.py --small: %v\n%s", err, out)
	}
	for _, name := range []string{"small_earliest.h5", "small_latest.h5"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := OpenBytes(b)
		if err != nil {
			return
		}
		root, err := file.Root()
		if err != nil {
			return
		}
		walk(root, 0)
	})
}

func walk(o *Object, depth int) {
	for _, name := range []string{"encoding-type", "shape", "_index", "column-order", "ordered"} {
		if a, err := o.Attr(name); err == nil && a != nil {
			a.Strings()
			a.Int64s()
		}
	}
	if o.IsDataset() {
		ReadRows[float64](o, 0, -1)
		ReadRows[int32](o, 0, -1)
		if d := o.Dims(); len(d) > 0 && d[0] > 2 {
			ReadRows[float32](o, 1, 1)
		}
		ReadStrings(o)
		return
	}
	if !o.IsGroup() || depth > 6 {
		return
	}
	names, err := o.Children()
	if err != nil {
		return
	}
	for _, n := range names {
		if c, err := o.Child(n); err == nil {
			walk(c, depth+1)
		}
	}
}
