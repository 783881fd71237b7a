package h5ad

import (
	"path/filepath"
	"testing"
)

// BenchmarkRead times Read (whole file: X, obs, var, validation) on the
// real files named in the foundation issue.
func BenchmarkRead(b *testing.B) {
	dir := sharedData(b)
	for _, f := range []string{"tapseq_schraivogel2020_crispat.h5ad", "pancreas_baron_cider_human_mouse.h5ad"} {
		b.Run("file="+f, func(b *testing.B) {
			p := filepath.Join(dir, f)
			for b.Loop() {
				if _, err := Read(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
