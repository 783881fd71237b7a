package baselines

import (
	"context"
	"fmt"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/tasks"
)

// PCAEmbedParams is the PCA embedding baseline's table: n_comps components
// of the log1p expression (counts normalised to 1e4 first), over every
// gene (hvg = 0, "PCA50") or the hvg most variable ones (scanpy seurat
// flavour, "HVG-PCA").
var PCAEmbedParams = &hparams.Table{
	Model: "pca",
	Params: []hparams.Param{
		{Key: "n_comps", Default: 50, Doc: "principal components", Check: hparams.Positive},
		{Key: "hvg", Default: 0, Doc: "0 = every gene; k > 0 = the k most variable log1p genes (data.HighlyVariableGenes)", Check: hparams.NonNegative},
	},
}

// PCAEmbed is the PCA embedding baseline (the unintegrated reference of
// the scIB benchmarks): the top n_comps principal component scores
// (scib.PCA: centred, randomised, seeded) of the log1p expression of the
// cells being embedded. It learns nothing from training datasets.
type PCAEmbed struct {
	Comps, HVG int
}

// NewPCAEmbedFromConfig returns the PCA embedder of a resolved
// PCAEmbedParams configuration.
func NewPCAEmbedFromConfig(c hparams.Config) *PCAEmbed {
	return &PCAEmbed{Comps: c.Int("n_comps"), HVG: c.Int("hvg")}
}

// Name implements tasks.Embedder.
func (p *PCAEmbed) Name() string { return "pca" }

// FitEmbed implements tasks.Embedder: PCA is computed on the data being
// embedded, so there is nothing to learn.
func (p *PCAEmbed) FitEmbed(context.Context, []*data.Dataset, tasks.EmbedSpec) error { return nil }

// Embed implements tasks.Embedder: log1p (data.ToLog1p, auto scale, target
// sum 1e4), optional HVG selection, PCA with spec.Seed. It errors when the
// components exceed min(cells, genes).
func (p *PCAEmbed) Embed(_ context.Context, d *data.Dataset, spec tasks.EmbedSpec) (*data.Dense, error) {
	dd := *d
	x, err := data.ToLog1p(&dd, "auto", data.DefaultTargetSum)
	if err != nil {
		return nil, err
	}
	if p.HVG > 0 {
		h, err := data.HighlyVariableGenes(x, min(p.HVG, x.Cols))
		if err != nil {
			return nil, fmt.Errorf("pca: %w", err)
		}
		x = x.SubsetCols(h.Selected)
	}
	if p.Comps > min(x.Rows, x.Cols) {
		return nil, fmt.Errorf("pca: %d components exceed min(%d cells, %d genes)", p.Comps, x.Rows, x.Cols)
	}
	res, err := scib.PCA(x, p.Comps, spec.Seed)
	if err != nil {
		return nil, fmt.Errorf("pca: %w", err)
	}
	return res.Scores, nil
}
