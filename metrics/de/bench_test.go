package de

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
)

// benchCase is one real dataset prepared for the Mann–Whitney benchmark: a
// log1p matrix, the control rows and the target groups.
type benchCase struct {
	name   string
	x      *data.CSR
	ctrl   []int
	groups [][]int
}

// loadBenchCases reads the two real datasets of bench/reports/score-pert.md:
// TAP-seq (normalised to 1e4 + log1p; 26 targets × 72 genes vs 7,760
// non-targeting cells) and perturbench k562 (log1p as shipped; 33
// perturbations × 500 genes vs 100 controls). bench/peers/mwu_scipy.py
// prepares the same groups for the scipy loop.
func loadBenchCases(b *testing.B) []benchCase {
	dir := dataDir(b)
	var out []benchCase
	tap := filepath.Join(dir, "tapseq_schraivogel2020_crispat.h5ad")
	if _, err := os.Stat(tap); err != nil {
		b.Skipf("real data not available: %v", err)
	}
	d, err := h5ad.Read(tap)
	if err != nil {
		b.Fatal(err)
	}
	labels, _ := d.ObsLabels("perturbation")
	c := benchCase{name: "tapseq", x: data.NormalizeLog1p(d.X, 1e4)}
	byLabel := map[string][]int{}
	var order []string
	for i, l := range labels {
		if _, ok := byLabel[l]; !ok {
			order = append(order, l)
		}
		byLabel[l] = append(byLabel[l], i)
	}
	c.ctrl = byLabel["non-targeting"]
	for _, l := range order {
		if l != "non-targeting" && l != "multiple" && l != "unassigned" {
			c.groups = append(c.groups, byLabel[l])
		}
	}
	out = append(out, c)

	d, err = h5ad.Read(filepath.Join(dir, "upstream", "perturbench_devel_as_shipped.h5ad"))
	if err != nil {
		b.Fatal(err)
	}
	labels, _ = d.ObsLabels("perturbation")
	cells, _ := d.ObsLabels("cell_type")
	c = benchCase{name: "perturbench_k562", x: d.X}
	byLabel = map[string][]int{}
	order = nil
	for i, l := range labels {
		if cells[i] != "k562" {
			continue
		}
		if _, ok := byLabel[l]; !ok {
			order = append(order, l)
		}
		byLabel[l] = append(byLabel[l], i)
	}
	c.ctrl = byLabel["control"]
	for _, l := range order {
		if l != "control" {
			c.groups = append(c.groups, byLabel[l])
		}
	}
	out = append(out, c)
	return out
}

// BenchmarkMannWhitneyReal times the whole DE step the scipy peer times:
// rank the controls once (NewReference) and test every group × gene
// (TestGroups), on 1 and 2 goroutines.
func BenchmarkMannWhitneyReal(b *testing.B) {
	for _, c := range loadBenchCases(b) {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("data=%s,groups=%d,genes=%d,controls=%d,threads=%d", c.name, len(c.groups), c.x.Cols, len(c.ctrl), threads), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					ref, err := NewReference(c.x, c.ctrl, threads)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := TestGroups(c.x, c.groups, ref, threads); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTestGroupsSynthetic is a grid on synthetic sparse log1p-like data
// (density 10 %, values log1p of small integer counts × a per-cell scale) for
// tracking the kernel without the real files: 20 groups of 200 cells against
// a reference of `controls` cells.
func BenchmarkTestGroupsSynthetic(b *testing.B) {
	for _, controls := range []int{1000, 10000} {
		for _, genes := range []int{2000, 18000} {
			b.Run(fmt.Sprintf("controls=%d,genes=%d,groups=20x200", controls, genes), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(uint64(controls), uint64(genes)))
				cells := controls + 20*200
				x := &data.CSR{Rows: cells, Cols: genes, Indptr: make([]int64, cells+1)}
				for i := 0; i < cells; i++ {
					scale := 0.5 + rng.Float64()
					for j := 0; j < genes; j++ {
						if rng.Float64() < 0.1 {
							x.Indices = append(x.Indices, int32(j))
							x.Data = append(x.Data, float32(math.Log1p(float64(1+rng.IntN(5))*scale)))
						}
					}
					x.Indptr[i+1] = int64(len(x.Data))
				}
				ctrl := make([]int, controls)
				for i := range ctrl {
					ctrl[i] = i
				}
				groups := make([][]int, 20)
				for g := range groups {
					for k := 0; k < 200; k++ {
						groups[g] = append(groups[g], controls+g*200+k)
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					ref, err := NewReference(x, ctrl, 0)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := TestGroups(x, groups, ref, 0); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
