package h5ad

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
)

// benchReaders are the readers of this build: libhdf5 (cgo builds only,
// added by bench_libhdf5_test.go) and the pure-Go reader.
var benchReaders = map[string]func(testing.TB, string) (*data.Dataset, error){
	"purego": readPure,
}

// BenchmarkRead times Read (whole file: X, obs, var, validation including
// sorting unsorted rows) with each reader on the real files named in the
// foundation issue, plus any files listed in CELLBENCH_BENCH_H5AD
// (os.PathListSeparator-separated; bench/peers/read_h5ad_side_by_side.py
// sets it for the 85,000 × 18,000 unsorted file it generates in /tmp).
func BenchmarkRead(b *testing.B) {
	dir := sharedData(b)
	files := []string{filepath.Join(dir, "tapseq_schraivogel2020_crispat.h5ad"), filepath.Join(dir, "pancreas_baron_cider_human_mouse.h5ad")}
	if extra := os.Getenv("CELLBENCH_BENCH_H5AD"); extra != "" {
		files = append(files, strings.Split(extra, string(os.PathListSeparator))...)
	}
	for _, name := range []string{"libhdf5", "purego"} {
		read, ok := benchReaders[name]
		if !ok {
			continue
		}
		b.Run("reader="+name, func(b *testing.B) {
			for _, p := range files {
				b.Run("file="+filepath.Base(p), func(b *testing.B) {
					for b.Loop() {
						if _, err := read(b, p); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
