package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// embedRunner runs the cells of embedding tasks (tasks.KindEmbedding:
// embed-integration, celltype-zeroshot): per (task, dataset, seed) one
// cell whose model is the dataset's own embedding (its embed block: CSV
// columns, an obsm entry or the PCA of its log1p HVGs), plus one cell per
// embedding model of the suite (model.Names(tasks.KindEmbedding): e.g.
// pca, stack), which embeds the dataset's expression — from a checkpoint,
// after pre-training on the model's train_on datasets (once per seed, in
// OUT/models/, resumable), or with no training at all (pca) — and one per
// external embedding model (a command, external_embed.go). The
// embedding is scored with metrics/scib.Benchmark (embed-integration) or
// typed across batches with metrics/scib.KNNTransfer (celltype-zeroshot).
type embedRunner struct{}

// typingK is the number of voting neighbours of celltype-zeroshot (the
// scIB benchmark's TypingK).
const typingK = 5

func (embedRunner) needsModels() bool { return false }

// embeddingModels returns the suite's registry models that embed cells.
func embeddingModels(s *Suite) []ModelSpec {
	var out []ModelSpec
	for _, m := range s.Models {
		if !m.External() && runsKind(m, tasks.KindEmbedding) {
			out = append(out, m)
		}
	}
	return out
}

// modelEmbeds reports whether suite model m embeds dataset d: d is an
// expression matrix (not a CSV embedding) and not among m's training
// datasets (zero-shot).
func modelEmbeds(m ModelSpec, d DatasetSpec) bool {
	return !isCSV(d.File) && !slices.Contains(m.TrainOn, d.File)
}

// validate checks the task's split parameters (only celltype-zeroshot
// takes a holdout: the batch to type), that every dataset has an embed
// block, and the suite's embedding models: a checkpoint only for models
// that have checkpoints, train_on or a checkpoint for neural ones, and at
// least one dataset of the task each model may embed.
func (embedRunner) validate(s *Suite, t TaskSpec) error {
	if t.TrainFraction != 0 || t.TestFraction != 0 || t.PromptContext != "" || t.PromptCells != 0 || (t.Holdout != "" && t.Name != tasks.CelltypeZeroshot) {
		return fmt.Errorf("task %s: train_fraction, test_fraction, prompt_context and prompt_cells do not apply (every cell is embedded); holdout only to %s (the batch to type)", t.Name, tasks.CelltypeZeroshot)
	}
	for _, dn := range t.Datasets {
		if s.dataset(dn).Embed == nil {
			return fmt.Errorf("dataset %s: an embed block is required by task %s (label and batch columns, and the dataset's own embedding)", dn, t.Name)
		}
	}
	for _, m := range s.Models {
		if m.External() {
			if m.Checkpoint != "" || len(m.TrainOn) > 0 {
				return fmt.Errorf("model %s: checkpoint and train_on apply to registry embedding models, not external ones", m.ID())
			}
			continue
		}
		e, err := model.Lookup(m.Name)
		if err != nil {
			continue // Validate reports unknown models
		}
		hasCkpt, trains := m.Checkpoint != "", len(m.TrainOn) > 0
		switch {
		case (hasCkpt || trains) && !e.Has(tasks.KindEmbedding):
			return fmt.Errorf("model %s: checkpoint and train_on apply to embedding models (%v)", m.ID(), model.Names(tasks.KindEmbedding))
		case !e.Has(tasks.KindEmbedding):
			continue
		case hasCkpt && e.Load == nil:
			return fmt.Errorf("model %s: %s has no checkpoints", m.ID(), e.Name)
		case e.Neural && !hasCkpt && !trains:
			return fmt.Errorf("model %s: a neural embedding model needs a checkpoint or train_on datasets", m.ID())
		}
		if !slices.ContainsFunc(t.Datasets, func(dn string) bool { return modelEmbeds(m, s.dataset(dn)) }) {
			return fmt.Errorf("task %s: model %s embeds none of its datasets (CSV embeddings cannot be re-embedded; a model never embeds its own train_on datasets)", t.Name, m.ID())
		}
	}
	return nil
}

// cells lists, per seed, the dataset's own embedding, then each suite
// registry embedding model that may embed the dataset, then (for an .h5ad
// dataset) each external embedding model.
func (embedRunner) cells(s *Suite, t TaskSpec, d DatasetSpec, add func(m ModelSpec, seed uint64, fp string)) {
	e, err := ResolveEmbed(d)
	if err != nil {
		panic("bench: " + err.Error()) // Validate resolved it already
	}
	own := ModelSpec{Label: e.Name} // Name "" marks the dataset's own embedding
	for _, seed := range s.Seeds {
		add(own, seed, fingerprint(d, t.TaskConfig, e, seed))
		for _, m := range embeddingModels(s) {
			if modelEmbeds(m, d) {
				add(m, seed, fingerprint(d, t.TaskConfig, e, m, seed))
			}
		}
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
// ("label=cell_type,batch=donor"; celltype-zeroshot with a holdout adds
// ",holdout=B"): an embedding task has no split.
func (embedRunner) split(c Cell) string {
	e, err := ResolveEmbed(c.Dataset)
	if err != nil {
		panic("bench: " + err.Error()) // Validate resolved it already
	}
	s := "label=" + e.LabelCol + ",batch=" + e.BatchCol
	if c.Task.Holdout != "" {
		s += ",holdout=" + c.Task.Holdout
	}
	return s
}

// run embeds (model cells; an external model's cell runs its command on
// the dataset's cells, external_embed.go, Backend "external") and scores
// one cell: one record per metric,
// Perturbation "_agg", N = cells scored (typed), Warnings = the metric's
// reason (why it is NaN, or which members an aggregate skipped) plus
// dropped cells and the model's notes. embed-integration: scib.Benchmark
// (scib-metrics 0.6 defaults, seed = the cell's seed, the dataset's PCA as
// the pre-integration embedding), Context "", and an artifact with the
// embedding's 2-D PCA. celltype-zeroshot: scib.KNNTransfer per held-out
// batch (Context = the batch) and the mean over batches (Context "").
func (embedRunner) run(ctx context.Context, r *Runner, c Cell, p *Prepared) ([]results.Record, string, *artifact, error) {
	t0 := time.Now()
	own := p.Embedding
	if own == nil {
		return nil, "", nil, fmt.Errorf("dataset %s has no embedding (embed block)", c.Dataset.Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", nil, err
	}
	e, err := ResolveEmbed(c.Dataset)
	if err != nil {
		return nil, "", nil, err
	}
	in, backend, info, notes := own, "cpu", "", ""
	var cc *commandCell
	switch {
	case c.Model.External():
		t1 := time.Now()
		x, cmdCell, err := r.externalEmbedding(ctx, c, p.EmbedCells)
		if err != nil {
			return nil, "", nil, err
		}
		ext := *own
		ext.Name, ext.X = c.Model.ID(), x
		in, cc, backend = &ext, cmdCell, ExternalBackend
		info = fmt.Sprintf("model %.2fs; ", time.Since(t1).Seconds())
	case c.Model.Name != "":
		if in, info, notes, err = modelEmbedding(ctx, r, c, e, own); err != nil {
			return nil, "", nil, err
		}
		entry, _ := model.Lookup(c.Model.Name)
		backend = entry.Backend()
	}
	dropped := ""
	if in.Dropped > 0 {
		dropped = fmt.Sprintf("%d cells with a missing %s or %s were dropped", in.Dropped, e.LabelCol, e.BatchCol)
	}
	warn := func(reason string) string {
		w := ""
		for _, part := range []string{notes, dropped, reason} {
			if part != "" {
				if w != "" {
					w += "; "
				}
				w += part
			}
		}
		return w
	}
	rec := func(context, metric string, v float64, n int, reason string) results.Record {
		return results.Record{
			Suite: r.Suite.Name, Dataset: c.Dataset.Name, Split: c.SplitName(), Task: c.Task.Name,
			Model: c.Model.ID(), Seed: c.Seed, Context: context, Perturbation: results.AggregatePerturbation,
			Metric: metric, Value: v, N: n, CILow: nan, CIHigh: nan, PeakMem: peakRSS(), GitSHA: r.GitSHA,
			Backend: backend, Warnings: warn(reason),
		}
	}
	var recs []results.Record
	var art *artifact
	switch c.Task.Name {
	case tasks.CelltypeZeroshot:
		rows, err := typingByBatch(in, c.Task.Holdout)
		if err != nil {
			return nil, "", nil, err
		}
		for _, tr := range rows {
			recs = append(recs, rec(tr.batch, scib.KNNAccuracyName, tr.acc, tr.n, tr.reason),
				rec(tr.batch, scib.KNNBalancedAccuracyName, tr.balanced, tr.n, tr.reason))
		}
		info += fmt.Sprintf("%d cells × %d dims, %d held-out batches", in.X.Rows, in.X.Cols, len(rows)-1)
	default:
		opt := scib.DefaultOptions()
		opt.Seed = c.Seed
		opt.Pre = in.Pre
		rep, err := scib.Benchmark(in.X, in.Labels, in.Batches, opt)
		if err != nil {
			return nil, "", nil, fmt.Errorf("scib: %w", err)
		}
		for _, v := range rep.Values {
			recs = append(recs, rec("", v.Name, v.Value, rep.Cells, v.Reason))
		}
		if art, err = newEmbedArtifact(r.artifactMeta(c), in, e.LabelCol, e.BatchCol); err != nil {
			return nil, "", nil, err
		}
		info += fmt.Sprintf("%d cells × %d dims, %d labels, %d batches", rep.Cells, rep.Dims, rep.Labels, rep.Batches)
	}
	wall := time.Since(t0).Seconds()
	for i := range recs {
		recs[i].WallS = wall
	}
	if cc != nil {
		cc.removeInputs(tasks.KindEmbedding)
	}
	return recs, fmt.Sprintf("%.2fs; %s", wall, info), art, nil
}

// typingRow is one celltype-zeroshot result: a held-out batch, or the
// mean over batches (batch "").
type typingRow struct {
	batch         string
	acc, balanced float64
	n             int
	reason        string
}

// typingByBatch types the cells of each batch (or only holdout) from the
// cells of the other batches, then averages over the typed batches.
func typingByBatch(in *tasks.EmbeddingInput, holdout string) ([]typingRow, error) {
	var batches []string
	for _, b := range in.Batches {
		if !slices.Contains(batches, b) {
			batches = append(batches, b)
		}
	}
	slices.Sort(batches)
	if holdout != "" {
		if !slices.Contains(batches, holdout) {
			return nil, fmt.Errorf("celltype-zeroshot: holdout batch %q is not among the batches (%v)", holdout, batches)
		}
		batches = []string{holdout}
	}
	var rows []typingRow
	var sumA, sumB float64
	typed := 0
	for _, b := range batches {
		var ref, query []int
		for i, x := range in.Batches {
			if x == b {
				query = append(query, i)
			} else {
				ref = append(ref, i)
			}
		}
		if len(ref) == 0 {
			rows = append(rows, typingRow{batch: b, acc: math.NaN(), balanced: math.NaN(), n: len(query),
				reason: "only one batch: no reference cells to type it from"})
			continue
		}
		acc, bal, err := scib.KNNTransfer(subRows(in.X, ref), pick(in.Labels, ref), subRows(in.X, query), pick(in.Labels, query), typingK)
		if err != nil {
			return nil, fmt.Errorf("celltype-zeroshot: batch %q: %w", b, err)
		}
		rows = append(rows, typingRow{batch: b, acc: acc, balanced: bal, n: len(query)})
		sumA += acc
		sumB += bal
		typed++
	}
	mean := typingRow{batch: "", acc: math.NaN(), balanced: math.NaN(), n: len(in.Batches)}
	if typed > 0 {
		mean.acc, mean.balanced = sumA/float64(typed), sumB/float64(typed)
		mean.reason = fmt.Sprintf("mean over %d held-out batches", typed)
	} else {
		mean.reason = "no batch could be typed (one batch only)"
	}
	return append(rows, mean), nil
}

// sameFile reports whether two paths name the same file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(sa, sb)
}

func subRows(x *data.Dense, idx []int) *data.Dense {
	out := &data.Dense{Rows: len(idx), Cols: x.Cols, Data: make([]float64, 0, len(idx)*x.Cols)}
	for _, i := range idx {
		out.Data = append(out.Data, x.Row(i)...)
	}
	return out
}

func pick(v []string, idx []int) []string {
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = v[i]
	}
	return out
}

// SampleColumn is the obs column whose values are samples (cell sets are
// drawn within one) of a dataset by registry name: its "batch" role, else
// its "context" role, else "" (the whole dataset; also for paths).
func SampleColumn(file, dataDir string) string {
	e, ok := data.NewRegistry(dataDir).Lookup(file)
	if !ok {
		return ""
	}
	if c := e.Labels["batch"]; c != "" {
		return c
	}
	return e.Labels["context"]
}

// modelEmbedding embeds the cell's dataset with its model: loaded from the
// checkpoint modelCheckpoint gives (the model's checkpoint, or one
// pre-trained on its train_on datasets into
// OUT/models/<model>/<fingerprint>-seed-<s>, reused by every cell of that
// model and seed, resumable), or built untrained (pca). The cells with a
// missing label or batch are dropped as for the dataset's own embedding,
// whose pre-integration PCA is kept for pcr_comparison. It returns the
// embedding input, a timing summary and the model's notes.
func modelEmbedding(ctx context.Context, r *Runner, c Cell, e EmbedSpec, own *tasks.EmbeddingInput) (*tasks.EmbeddingInput, string, string, error) {
	entry, err := model.Lookup(c.Model.Name)
	if err != nil {
		return nil, "", "", err
	}
	cfg, err := entry.Resolve(c.Model.Params)
	if err != nil {
		return nil, "", "", err
	}
	backend, err := nn.NewBackend()
	if err != nil {
		return nil, "", "", err
	}
	rt := nn.Runtime{Backend: backend}
	var m tasks.Embedder
	dir, fitInfo, err := modelCheckpoint(ctx, r, c, entry, cfg, rt)
	if err != nil {
		return nil, "", "", err
	}
	if dir != "" {
		loaded, err := entry.LoadCheckpoint(dir, rt)
		if err != nil {
			return nil, "", "", err
		}
		m = loaded.(tasks.Embedder)
	} else if m, err = entry.NewEmbedder(cfg, rt); err != nil {
		return nil, "", "", err
	}
	path, err := data.NewRegistry(r.DataDir).Resolve(c.Dataset.File)
	if err != nil {
		return nil, "", "", err
	}
	d, err := h5ad.Read(path)
	if err != nil {
		return nil, "", "", err
	}
	t1 := time.Now()
	emb, err := m.Embed(ctx, d, tasks.EmbedSpec{SampleCol: e.BatchCol, Seed: c.Seed})
	if err != nil {
		return nil, "", "", fmt.Errorf("model %s: %w", c.Model.ID(), err)
	}
	var notes []string
	if n, ok := m.(tasks.Noter); ok {
		notes = n.Notes()
	}
	const key = "X_model"
	if d.Obsm == nil {
		d.Obsm = map[string]*data.Dense{}
	}
	d.Obsm[key] = emb
	ins, err := tasks.DatasetEmbeddings(d, tasks.EmbeddingOptions{LabelCol: e.LabelCol, BatchCol: e.BatchCol,
		DropMissing: e.DropMissing, ObsmKeys: []string{key}})
	if err != nil {
		return nil, "", "", err
	}
	in := ins[0]
	in.Name, in.Pre = c.Model.ID(), own.Pre
	info := fmt.Sprintf("embed %.2fs", time.Since(t1).Seconds())
	if fitInfo != "" {
		info = fitInfo + ", " + info
	}
	return &in, info + "; ", strings.Join(notes, "; "), nil
}
