//go:build !cgo

package h5ad

import (
	"fmt"
	"os"
)

// openFile opens path with the pure-Go reader (the reader of builds
// without cgo).
func openFile(path string) (node, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, nil, fmt.Errorf("is a directory")
	}
	root, err := openPure(f, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return root, f.Close, nil
}
