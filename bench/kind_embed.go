package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// embedRunner runs the cells of embedding tasks (tasks.KindEmbedding):
// one cell per (task, dataset, seed) whose model is the dataset's
// embedding (its embed block: CSV columns, an obsm entry or the PCA of
// its log1p HVGs), scored with metrics/scib.
type embedRunner struct{}

func (embedRunner) needsModels() bool { return false }

// validate checks that every dataset of an embedding task has an embed
// block and that no split parameter is given (every cell is scored).
func (embedRunner) validate(s *Suite, t TaskSpec) error {
	if t.Holdout != "" || t.TrainFraction != 0 || t.TestFraction != 0 || t.PromptContext != "" || t.PromptCells != 0 {
		return fmt.Errorf("task %s: holdout, train_fraction, test_fraction, prompt_context and prompt_cells do not apply (every cell of the embedding is scored)", t.Name)
	}
	for _, dn := range t.Datasets {
		if s.dataset(dn).Embed == nil {
			return fmt.Errorf("dataset %s: an embed block is required by task %s", dn, t.Name)
		}
	}
	return nil
}

// cells lists, per seed, the dataset's own embedding (the model is its
// name) and then, for an .h5ad dataset, each external embedding model of
// the suite (external_embed.go).
func (embedRunner) cells(s *Suite, t TaskSpec, d DatasetSpec, add func(m ModelSpec, seed uint64, fp string)) {
	e, err := ResolveEmbed(d)
	if err != nil {
		panic("bench: " + err.Error()) // Validate resolved it already
	}
	m := ModelSpec{Name: e.Name}
	for _, seed := range s.Seeds {
		add(m, seed, fingerprint(d, t.TaskConfig, e, seed))
		if isCSV(d.File) {
			continue
		}
		for _, em := range s.Models {
			if em.External() && runsKind(em, tasks.KindEmbedding) {
				add(em, seed, fingerprint(d, t.TaskConfig, e, em, seed))
			}
		}
	}
}

// split names the label and batch columns the metrics use
// ("label=cell_type,batch=donor"): an embedding task has no split.
func (embedRunner) split(c Cell) string {
	e, err := ResolveEmbed(c.Dataset)
	if err != nil {
		panic("bench: " + err.Error()) // Validate resolved it already
	}
	return "label=" + e.LabelCol + ",batch=" + e.BatchCol
}

// run scores a dataset's embedding with metrics/scib.Benchmark
// (scib-metrics 0.6 defaults, seed = the cell's seed, the pre-integration
// embedding when the dataset has one): one record per metric, Context "",
// Perturbation "_agg", N = cells scored, Warnings = the metric's reason
// (why it is NaN, or which members an aggregate skipped) plus dropped
// cells. The artifact holds the embedding's 2-D PCA.
//
// An external model's cell embeds the dataset's cells (external_embed.go)
// and scores that embedding the same way (labels, batches and the
// pre-integration embedding of the dataset's own); Backend "external".
func (embedRunner) run(ctx context.Context, r *Runner, c Cell, p *Prepared) ([]results.Record, string, *artifact, error) {
	t0 := time.Now()
	in := p.Embedding
	if in == nil {
		return nil, "", nil, fmt.Errorf("dataset %s has no embedding (embed block)", c.Dataset.Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", nil, err
	}
	e, err := ResolveEmbed(c.Dataset)
	if err != nil {
		return nil, "", nil, err
	}
	backend, what := "cpu", ""
	var cc *commandCell
	if c.Model.External() {
		t1 := time.Now()
		x, cmdCell, err := r.externalEmbedding(ctx, c, p.EmbedCells)
		if err != nil {
			return nil, "", nil, err
		}
		ext := *in
		ext.Name, ext.X = c.Model.ID(), x
		in, cc, backend = &ext, cmdCell, ExternalBackend
		what = fmt.Sprintf("model %.2fs, ", time.Since(t1).Seconds())
	}
	t2 := time.Now()
	opt := scib.DefaultOptions()
	opt.Seed = c.Seed
	opt.Pre = in.Pre
	rep, err := scib.Benchmark(in.X, in.Labels, in.Batches, opt)
	if err != nil {
		return nil, "", nil, fmt.Errorf("scib: %w", err)
	}
	wall := time.Since(t0).Seconds()
	peak := peakRSS()
	dropped := ""
	if in.Dropped > 0 {
		dropped = fmt.Sprintf("%d cells with a missing %s or %s were dropped", in.Dropped, e.LabelCol, e.BatchCol)
	}
	recs := make([]results.Record, 0, len(rep.Values))
	for _, v := range rep.Values {
		w := v.Reason
		if dropped != "" {
			if w != "" {
				w = dropped + "; " + w
			} else {
				w = dropped
			}
		}
		recs = append(recs, results.Record{
			Suite: r.Suite.Name, Dataset: c.Dataset.Name, Split: c.SplitName(), Task: c.Task.Name,
			Model: c.Model.ID(), Seed: c.Seed, Context: "", Perturbation: results.AggregatePerturbation,
			Metric: v.Name, Value: v.Value, N: rep.Cells, CILow: nan, CIHigh: nan, WallS: wall,
			PeakMem: peak, GitSHA: r.GitSHA, Backend: backend, Warnings: w,
		})
	}
	art, err := newEmbedArtifact(r.artifactMeta(c), in, e.LabelCol, e.BatchCol)
	if err != nil {
		return nil, "", nil, err
	}
	info := fmt.Sprintf("%sscib %.2fs; %d cells × %d dims, %d labels, %d batches", what, time.Since(t2).Seconds(), rep.Cells, rep.Dims, rep.Labels, rep.Batches)
	if cc != nil {
		cc.removeInputs(tasks.KindEmbedding)
	}
	return recs, info, art, nil
}
