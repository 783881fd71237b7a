package h5ad

import (
	"path/filepath"
	"testing"

	"github.com/cellbench/cellbench/internal/testdata"
)

func sharedData(t testing.TB) string { return testdata.Dir(t) }

// TestReadEverySharedFile reads every .h5ad in the shared data (and
// upstream/) and checks the shape against SOURCES.md.
func TestReadEverySharedFile(t *testing.T) {
	dir := sharedData(t)
	want := []struct {
		file         string
		cells, genes int
		obsCol       string
		layers, obsm int
		raw          bool
	}{
		// Shapes from ../shared/data/SOURCES.md.
		{"perturbench_devel_norman19_mcfaline23.h5ad", 5961, 500, "perturbation", 0, 0, false},
		{"tapseq_schraivogel2020_crispat.h5ad", 21977, 72, "perturbation", 0, 0, false},
		{"kang_muscat_example_sce.h5ad", 1556, 1267, "group_id", 0, 0, false},
		{"pbmc_symphony_3batches.h5ad", 1200, 1767, "donor", 0, 0, false},
		{"pancreas_baron_cider_human_mouse.h5ad", 328, 12474, "Batch", 0, 0, false},
		{"spatial_mouse_olfactory_bulb_st.h5ad", 262, 15928, "layer", 0, 0, false},
		{"spatial_visium_seurat_testdata.h5ad", 2695, 100, "array_row", 0, 0, false},
		{"pbmc3k_sctransform_283cells.h5ad", 283, 914, "", 0, 0, false},
		{"fixture_tiny_perturbation_300cells.h5ad", 300, 200, "perturbation", 0, 0, false},
		{"fixture_tiny_integration_300cells.h5ad", 300, 1767, "donor", 0, 0, false},
		{"upstream/perturbench_devel_as_shipped.h5ad", 5961, 500, "perturbation", 0, 0, false},
		{"upstream/scanpy_pbmc68k_reduced_as_shipped.h5ad", 700, 765, "bulk_labels", 0, 2, true},
		{"upstream/crispat_grna_counts_as_shipped.h5ad", 21977, 86, "batch", 0, 0, false},
	}
	for _, w := range want {
		t.Run(w.file, func(t *testing.T) {
			d, err := Read(filepath.Join(dir, w.file))
			if err != nil {
				t.Fatal(err)
			}
			if d.NCells() != w.cells || d.NGenes() != w.genes {
				t.Fatalf("shape %d×%d, want %d×%d", d.NCells(), d.NGenes(), w.cells, w.genes)
			}
			if w.obsCol != "" {
				if _, err := d.Obs.Column(w.obsCol); err != nil {
					t.Fatal(err)
				}
			}
			if len(d.Obsm) != w.obsm || len(d.Layers) != w.layers || (d.Raw != nil) != w.raw {
				t.Fatalf("obsm %d layers %d raw %v", len(d.Obsm), len(d.Layers), d.Raw != nil)
			}
			if d.X.NNZ() == 0 {
				t.Fatal("X has no stored values")
			}
		})
	}
}
