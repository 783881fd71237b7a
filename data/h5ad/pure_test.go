package h5ad

import (
	"errors"
	"fmt"
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

// TestOneLine: names from a file reach error messages, and a name may hold
// a newline (FuzzReadBytes input f4467f719505dc44 named a top-level link
// "X\n\n\n..."); errors stay on one line and still unwrap.
func TestOneLine(t *testing.T) {
	base := errors.New("no /X (top level has [X\n\tobs])")
	err := oneLine(fmt.Errorf("f.h5ad: %w", base))
	if got, want := err.Error(), `f.h5ad: no /X (top level has [X\n\tobs])`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, base) {
		t.Error("escaped error does not unwrap")
	}
	if plain := errors.New("fine"); oneLine(plain) != plain || oneLine(nil) != nil {
		t.Error("oneLine changed an error without control characters")
	}
}
