package hdf5

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The variant files are written by testdata/variants.py with Debian's
// python3-h5py 3.7 (libhdf5 1.10.8); every expected value below is the
// formula that script documents, recomputed here.

var (
	variantsOnce sync.Once
	variantsDir  string
	variantsErr  error
)

// variants writes the variant files once per test binary run, skipping the
// test when python3-h5py is missing (unless CELLBENCH_REQUIRE_ANNDATA=1,
// set in CI, makes that a failure).
func variants(t testing.TB) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import h5py").Run(); err != nil {
		if os.Getenv("CELLBENCH_REQUIRE_ANNDATA") == "1" {
			t.Fatalf("python3-h5py required but not importable: %v", err)
		}
		t.Skip("python3-h5py not installed")
	}
	variantsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hdf5-variants-")
		if err != nil {
			variantsErr = err
			return
		}
		out, err := exec.Command(py, "testdata/variants.py", dir).CombinedOutput()
		if err != nil {
			variantsErr = fmt.Errorf("variants.py: %v\n%s", err, out)
		}
		variantsDir = dir
	})
	if variantsErr != nil {
		t.Fatal(variantsErr)
	}
	return variantsDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if variantsDir != "" {
		os.RemoveAll(variantsDir)
	}
	os.Exit(code)
}

type manifest struct {
	Datasets []struct {
		Path    string
		Kind    string
		Shape   []uint64
		Written int
		Fill    int64
		Error   string
	}
	Attrs []struct {
		Path, Name, Kind string
		Value            json.RawMessage
	}
	Groups []struct {
		Path  string
		Count int
	}
}

func wantInt(i int, unsigned bool) int64 {
	if unsigned {
		return int64(i*7) % 250
	}
	return int64(i*7)%200 - 100
}

func wantFloat(i int) float64 { return float64(i)*0.25 - 3.5 }

func openVariant(t *testing.T, dir, libver string) (*Object, manifest) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "variants_"+libver+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// Read through an *os.File (io.ReaderAt), not memory, to cover that path.
	fh, err := os.Open(filepath.Join(dir, "variants_"+libver+".h5"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	st, _ := fh.Stat()
	f, err := Open(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	wantSB := map[string]int{"earliest": 0, "latest": 3}[libver]
	if f.SuperblockVersion() != wantSB {
		t.Fatalf("superblock version %d, want %d", f.SuperblockVersion(), wantSB)
	}
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root, m
}

func TestVariants(t *testing.T) {
	dir := variants(t)
	for _, libver := range []string{"earliest", "latest"} {
		t.Run(libver, func(t *testing.T) {
			root, m := openVariant(t, dir, libver)
			for _, d := range m.Datasets {
				t.Run(d.Path, func(t *testing.T) { checkDataset(t, root, d.Path, d.Kind, d.Shape, d.Written, d.Fill, d.Error) })
			}
			for _, a := range m.Attrs {
				t.Run(a.Path+"@"+a.Name, func(t *testing.T) {
					o, err := root.Child(a.Path)
					if err != nil {
						t.Fatal(err)
					}
					at, err := o.Attr(a.Name)
					if err != nil || at == nil {
						t.Fatalf("attribute: %v %v", at, err)
					}
					var got, want any
					switch a.Kind {
					case "int":
						var w []int64
						if err := json.Unmarshal(a.Value, &w); err != nil {
							var one int64
							json.Unmarshal(a.Value, &one)
							w = []int64{one}
						}
						want = w
						got, err = at.Int64s()
					default:
						var w []string
						json.Unmarshal(a.Value, &w)
						want = w
						got, err = at.Strings()
					}
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("got %v, want %v", got, want)
					}
				})
			}
			if a, err := root.Attr("no-such-attribute"); a != nil || err != nil {
				t.Errorf("missing attribute: %v %v", a, err)
			}
			for _, g := range m.Groups {
				o, err := root.Child(g.Path)
				if err != nil {
					t.Fatal(err)
				}
				names, err := o.Children()
				if err != nil {
					t.Fatal(err)
				}
				if len(names) != g.Count {
					t.Fatalf("%s: %d children, want %d", g.Path, len(names), g.Count)
				}
				for k, name := range names {
					if want := fmt.Sprintf("d%03d", k); name != want {
						t.Fatalf("child %d is %q, want %q", k, name, want)
					}
					c, err := o.Child(name)
					if err != nil {
						t.Fatal(err)
					}
					v, err := ReadRows[int32](c, 0, -1)
					if err != nil || len(v) != 1 || int(v[0]) != k {
						t.Fatalf("%s: %v %v", name, v, err)
					}
				}
			}
		})
	}
}

// TestVariantIndexes checks that the latest-format file really uses each
// chunk index the reader implements (so TestVariants covers them all).
func TestVariantIndexes(t *testing.T) {
	root, _ := openVariant(t, variants(t), "latest")
	want := map[string]int{
		"idx/single": indexSingle, "idx/single_gzip": indexSingle, "idx/implicit": indexImplicit,
		"idx/farray": indexFixedArray, "idx/farray_paged": indexFixedArray, "idx/farray_maxdims": indexFixedArray,
		"idx/earray": indexExtensible, "idx/earray_paged": indexExtensible, "idx/earray_2d_second": indexExtensible,
		"idx/btree2": indexBTree2, "idx/btree2_gzip": indexBTree2,
	}
	for p, idx := range want {
		o, err := root.Child(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.ds.layout.index; o.ds.layout.class != layoutChunked || got != idx {
			t.Errorf("%s: layout %d index %d, want chunked index %d", p, o.ds.layout.class, got, idx)
		}
	}
	o, _ := root.Child("idx/compact")
	if o.ds.layout.class != layoutCompact {
		t.Errorf("idx/compact: layout class %d", o.ds.layout.class)
	}
}

func checkDataset(t *testing.T, root *Object, path, kind string, shape []uint64, written int, fill int64, wantErr string) {
	o, err := root.Child(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.Dims()) != fmt.Sprint(shape) {
		t.Fatalf("dims %v, want %v", o.Dims(), shape)
	}
	n := 1
	for _, s := range shape {
		n *= int(s)
	}
	switch kind {
	case "error":
		_, err := ReadRows[int64](o, 0, -1)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err %v, want %q", err, wantErr)
		}
	case "int", "uint", "fill":
		v, err := ReadRows[int64](o, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			w := wantInt(i, kind == "uint")
			if kind == "fill" && i >= written {
				w = fill
			}
			if v[i] != w {
				t.Fatalf("element %d = %d, want %d", i, v[i], w)
			}
		}
		f, err := ReadRows[float32](o, 0, -1)
		if err != nil || len(f) != n {
			t.Fatalf("as float32: %v", err)
		}
		checkRows(t, o, n, func(i int, got float64) bool { return got == float64(v[i]) })
	case "float":
		v, err := ReadRows[float64](o, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if v[i] != wantFloat(i) {
				t.Fatalf("element %d = %v, want %v", i, v[i], wantFloat(i))
			}
		}
		if _, err := ReadRows[int64](o, 0, -1); err == nil && n > 0 {
			t.Fatal("floats read as integers")
		}
		checkRows(t, o, n, func(i int, got float64) bool { return got == wantFloat(i) })
	case "bool":
		v, err := ReadRows[int8](o, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if (v[i] != 0) != (i%3 == 0) {
				t.Fatalf("element %d = %d", i, v[i])
			}
		}
	case "vstr", "fstr":
		v, err := ReadStrings(o)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			w := fmt.Sprintf("s%d", i)
			if kind == "vstr" {
				w += "-ü"
			}
			if v[i] != w {
				t.Fatalf("element %d = %q, want %q", i, v[i], w)
			}
		}
		if _, err := ReadRows[float64](o, 0, -1); err == nil {
			t.Fatal("strings read as numbers")
		}
	default:
		t.Fatalf("unknown kind %q", kind)
	}
}

// checkRows reads row ranges and compares them with the whole read.
func checkRows(t *testing.T, o *Object, n int, ok func(i int, got float64) bool) {
	dims := o.Dims()
	if len(dims) == 0 || dims[0] < 3 {
		return
	}
	rowElems := n / int(dims[0])
	for _, r := range [][2]int{{0, 1}, {1, 2}, {2, int(dims[0]) - 3}, {int(dims[0]) - 1, 1}, {3, 0}} {
		v, err := ReadRows[float64](o, r[0], r[1])
		if err != nil {
			t.Fatalf("rows %v: %v", r, err)
		}
		if len(v) != r[1]*rowElems {
			t.Fatalf("rows %v: %d values", r, len(v))
		}
		for k, x := range v {
			if !ok(r[0]*rowElems+k, x) {
				t.Fatalf("rows %v: element %d = %v", r, k, x)
			}
		}
	}
	if _, err := ReadRows[float64](o, int(dims[0]), 1); err == nil {
		t.Fatal("row past the end accepted")
	}
}
