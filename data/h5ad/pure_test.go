package h5ad

import (
	"os"
	"testing"
)

// openPureReader opens path with the pure-Go reader whatever the build.
func openPureReader(t testing.TB, path string) *Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenFrom(f, st.Size(), path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReadBytes checks that the in-memory entry point reads every shared
// file exactly as the io.ReaderAt one does (both are the pure-Go reader).
func TestReadBytes(t *testing.T) {
	for _, p := range sharedFiles(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fromBytes, err := ReadBytes(b, p)
		if err != nil {
			t.Fatal(err)
		}
		fromReader, err := readPure(t, p)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffDatasets(fromReader, fromBytes); d != "" {
			t.Errorf("%s: ReadBytes differs from ReadFrom: %s", p, d)
		}
	}
	if _, err := ReadBytes(nil, ""); err == nil || err.Error() != "h5ad input: not an HDF5 file" {
		t.Errorf("empty input: %v", err)
	}
}
