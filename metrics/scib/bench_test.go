package scib

import (
	"fmt"
	"testing"
)

// BenchmarkSuite times the full Benchmark (every metric, default options,
// 2 workers) on synthetic blobs of growing size (cells=…,dims=…), and on
// the real 10,000-cell scEiaD scVI embedding when the shared data is
// present. Speed targets (bench/reports/score-embed.md): the full suite on
// the 10,000-cell embedding in < 30 s on 2 cores.
func BenchmarkSuite(b *testing.B) {
	for _, n := range []int{1000, 4000} {
		x, lab, bat := blobs(1, 8, 4, n/32, 16, 1)
		b.Run(fmt.Sprintf("cells=%d,dims=16", x.Rows), func(b *testing.B) {
			opt := DefaultOptions()
			opt.Workers = 2
			for i := 0; i < b.N; i++ {
				if _, err := Benchmark(x, lab, bat, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("sceiad_retina,cells=9934,dims=8", func(b *testing.B) {
		e := realCSV(b, "embedding_scpop_sceiad_retina.csv", "scviDim_*", "CellType_predict", "batch")
		opt := DefaultOptions()
		opt.Workers = 2
		for i := 0; i < b.N; i++ {
			if _, err := Benchmark(e.X, e.Columns["CellType_predict"], e.Columns["batch"], opt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKernels times the expensive kernels separately on the real
// 10,000-cell embedding: exact 90-NN, silhouette over labels, k-means,
// one Louvain run (ours vs gonum's Modularize) and LISI.
func BenchmarkKernels(b *testing.B) {
	e := realCSV(b, "embedding_scpop_sceiad_retina.csv", "scviDim_*", "CellType_predict", "batch")
	lab := Encode(e.Columns["CellType_predict"])
	b.Run("knn,k=90", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ExactKNN(e.X, 90, 2)
		}
	})
	b.Run("silhouette", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			SilhouetteSamples(e.X, lab, 2)
		}
	})
	nb := ExactKNN(e.X, 90, 2)
	b.Run("lisi", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			LISI(nb, lab, 0, 2)
		}
	})
	g := FuzzyConnectivities(nb.First(15))
	b.Run("louvain=fast,res=1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Louvain(g, 1, 0)
		}
	})
	b.Run("louvain=gonum,res=1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			LouvainGonum(g, 1, 0)
		}
	})
}
