package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"slices"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// MetaFile is written last into a trained checkpoint directory: a
// directory without it is not a usable model.
const MetaFile = "stack_meta.json"

// Stages of a checkpoint.
const (
	StagePretrain  = "pretrain"
	StageInContext = "incontext"
)

// Model is STACK. Create with New, pre-train with FitEmbed
// (tasks.Embedder), post-train for in-context prediction with Fit
// (tasks.PerturbationModel / InContextModel), or load a checkpoint with
// Load.
type Model struct {
	cfg hparams.Config

	// Runtime: backend, checkpoint directory (FitEmbed/Fit train into and
	// resume from it and write MetaFile there at the end), progress, and
	// InitFrom (the pre-trained checkpoint a post-training stage starts
	// from).
	nn.Runtime
	// Notes: the fallbacks taken (tasks.Noter).
	nn.NoteLog
	// OnRound, if set, is called by Generate before each generation round
	// (round counts from 0 to rounds-1): a progress hook for the command's
	// stderr and the browser page.
	OnRound func(round, rounds int)

	store *gmodel.Store
	meta  meta
	hist  nn.History

	embedExec *gmodel.Exec
	genExec   *gmodel.Exec
	reconExec *gmodel.Exec // imputation (Imputer)
	dir       string       // checkpoint directory this model was loaded from
}

// meta is what a checkpoint holds besides the weights.
type meta struct {
	Config json.RawMessage `json:"config"`
	Stage  string          `json:"stage"`
	// Genes is the gene universe (upper-cased), in the model's order.
	Genes []string   `json:"genes"`
	Pool  []PoolInfo `json:"pool,omitempty"`
	Seed  uint64     `json:"seed"`
	// Spec, InitFrom and DataGenes describe an in-context stage: the data
	// spec, the pre-trained checkpoint it started from and the genes of
	// its training data (the genes of PredictInContext's requests).
	Spec      *tasks.PertSpec `json:"spec,omitempty"`
	InitFrom  string          `json:"init_from,omitempty"`
	DataGenes []string        `json:"data_genes,omitempty"`
	// Data is the file of the in-context stage's training cells ("" when
	// they came from memory): part of TrainedOn.
	Data  string `json:"data,omitempty"`
	Steps int    `json:"steps"`
}

// New returns an unfitted STACK with a resolved configuration (see Params).
func New(cfg hparams.Config) (*Model, error) {
	if err := validateConfig(cfg); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	return &Model{cfg: cfg}, nil
}

// Name implements tasks.Embedder and tasks.PerturbationModel.
func (m *Model) Name() string { return "stack" }

// Config returns the model's configuration.
func (m *Model) Config() hparams.Config { return m.cfg }

// History returns the loss curve of the last training run.
func (m *Model) History() nn.History { return m.hist }

// Genes returns the gene universe, in the model's order.
func (m *Model) Genes() []string { return m.meta.Genes }

// Stage returns the checkpoint's stage (pretrain or incontext; "" when
// untrained).
func (m *Model) Stage() string { return m.meta.Stage }

// Pool describes the pre-training datasets.
func (m *Model) Pool() []PoolInfo { return m.meta.Pool }

func (m *Model) getBackend() (compute.Backend, error) {
	b, err := m.CachedBackend()
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	return b, nil
}

func (m *Model) arch() arch { return archFrom(m.cfg, len(m.meta.Genes)) }

// FitEmbed implements tasks.Embedder: masked-gene pre-training on a pool of
// raw-count datasets over one gene universe (GeneUniverse), sets of
// set_size cells drawn within one sample (spec.SampleColOf(i)) of one
// dataset. Every dataset must hold counts; samples smaller than a set are
// left out (and reported by Notes). It trains into m.CheckpointDir when
// set (resumable) and writes MetaFile there at the end.
func (m *Model) FitEmbed(ctx context.Context, train []*data.Dataset, spec tasks.EmbedSpec) error {
	if spec.SampleCols != nil && len(spec.SampleCols) != len(train) {
		return fmt.Errorf("stack: %d sample columns for %d datasets", len(spec.SampleCols), len(train))
	}
	cols := make([]string, len(train))
	for i := range train {
		cols[i] = spec.SampleColOf(i)
	}
	return m.fitPretrain(ctx, train, cols, spec.Seed, false)
}

// fitPretrain is FitEmbed; pseudo allows non-integer "counts" (the CP10k
// pseudo-counts of an in-context fallback).
func (m *Model) fitPretrain(ctx context.Context, train []*data.Dataset, cols []string, seed uint64, pseudo bool) error {
	if len(train) == 0 {
		return errors.New("stack: no pre-training datasets")
	}
	if !pseudo {
		for _, d := range train {
			if err := checkCounts(d); err != nil {
				return fmt.Errorf("stack: %w", err)
			}
		}
	}
	universe, err := GeneUniverse(train, m.cfg.Int("hvg_per_dataset"), m.cfg.Int("hvg_cells"), seed)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	m.meta = meta{Stage: StagePretrain, Genes: universe, Seed: seed}
	a := m.arch()
	minCells := m.cfg.Int("min_set_cells")
	if minCells == 0 {
		minCells = a.setSize
	}
	var pool []*poolDataset
	for i, d := range train {
		p, info, err := newPoolDataset(d, cols[i], universe, minCells)
		if err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		m.meta.Pool = append(m.meta.Pool, info)
		if p.dropped > 0 {
			m.Note("stack: %s: %d samples of %s have fewer than %d cells and are not pre-trained on", p.name, p.dropped, info.SampleCol, minCells)
		}
		if p.genes.Duplicates > 0 {
			m.Note("stack: %s: %d genes share an upper-cased name with a later column; the last one is used", p.name, p.genes.Duplicates)
		}
		if len(p.samples) == 0 {
			m.Note("stack: %s has no sample with ≥ %d cells; it is left out of pre-training", p.name, minCells)
			continue
		}
		pool = append(pool, p)
	}
	if len(pool) == 0 {
		return fmt.Errorf("stack: no dataset has a sample with ≥ %d cells (set_size)", minCells)
	}
	cfgJSON, _ := m.cfg.MarshalJSON()
	m.meta.Config = cfgJSON
	m.meta.Steps = m.cfg.Int(nn.KeySteps)
	if m.CheckpointDir != "" {
		if err := checkResume(m.CheckpointDir, m.meta); err != nil {
			return err
		}
	}
	backend, err := m.getBackend()
	if err != nil {
		return err
	}
	m.store = nn.NewStore(seed)
	m.embedExec, m.genExec, m.reconExec = nil, nil, nil
	pb := &pretrainBatcher{a: a, pool: pool, seed: seed, maskMin: m.cfg.Float("mask_rate_min"), maskMax: m.cfg.Float("mask_rate_max")}
	swWeight := m.cfg.Float("sw_weight")
	modelFn := func(scope *gmodel.Scope, in []*Node) []*Node { return []*Node{a.pretrainLoss(scope, in, swWeight)} }
	opts := nn.TrainOptionsFrom(m.cfg, m.Runtime, seed)
	opts.InitFrom = "" // pre-training starts from scratch
	return m.train(ctx, backend, modelFn, pb.batch, opts)
}

// train runs nn.Train with a model function whose one output is the loss,
// keeps the loss curve, and finishes a checkpoint directory with MetaFile.
func (m *Model) train(ctx context.Context, backend compute.Backend, modelFn nn.ModelFn, batcher nn.Batcher, opts nn.TrainOptions) error {
	lossFn := func(_, preds []*Node) *Node { return preds[0] }
	hist, err := nn.Train(ctx, backend, m.store, modelFn, lossFn, batcher, opts)
	m.hist = hist
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	if m.CheckpointDir != "" {
		if err := m.writeMeta(m.CheckpointDir); err != nil {
			return err
		}
		m.dir = m.CheckpointDir
	}
	return nil
}

// embedSets splits the rows of d into sets for inference: cells grouped by
// sampleCol ("" = one group), each group ordered by a seeded hash of the
// cell names (so the sets do not depend on the order of d's rows) and cut
// into consecutive sets of setSize, the last one padded (nn.PadSet: mask
// false, no resampling).
func embedSets(d *data.Dataset, sampleCol string, setSize int, seed uint64) ([]nn.PaddedSet, error) {
	groups, err := sampleGroups(d, sampleCol)
	if err != nil {
		return nil, err
	}
	key := func(i int) uint64 {
		h := fnv.New64a()
		var b [8]byte
		for k := range 8 {
			b[k] = byte(seed >> (8 * k))
		}
		h.Write(b[:])
		h.Write([]byte(d.Obs.Index[i]))
		return h.Sum64()
	}
	var sets []nn.PaddedSet
	for _, rows := range groups {
		rows = slices.Clone(rows)
		keys := make(map[int]uint64, len(rows))
		for _, r := range rows {
			keys[r] = key(r)
		}
		sort.Slice(rows, func(a, b int) bool {
			ka, kb := keys[rows[a]], keys[rows[b]]
			if ka != kb {
				return ka < kb
			}
			return d.Obs.Index[rows[a]] < d.Obs.Index[rows[b]]
		})
		for start := 0; start < len(rows); start += setSize {
			sets = append(sets, nn.PadSet(rows[start:min(start+setSize, len(rows))], setSize))
		}
	}
	return sets, nil
}

// Embed implements tasks.Embedder: the cell embeddings (n_tokens·token_dim
// dimensions; the last layer's output, flattened) of d's raw counts, with
// d's genes aligned by upper-cased name to the model's gene universe (the
// model's genes d lacks are left at 0, the release's zero-fill; d's genes
// the model does not know are dropped). Cells are embedded in sets formed
// within spec.SampleCol (embedSets); a cell's embedding depends on the
// other cells of its set but not on their order or on d's row order.
// Errors: untrained model, d not counts, no shared gene.
func (m *Model) Embed(ctx context.Context, d *data.Dataset, spec tasks.EmbedSpec) (*data.Dense, error) {
	if m.store == nil {
		return nil, errors.New("stack: Embed before FitEmbed or Load")
	}
	if err := checkCounts(d); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	gm := newGeneMap(m.meta.Genes, d.Var.Index)
	if gm.nPresent() == 0 {
		return nil, fmt.Errorf("stack: %s shares no gene with the checkpoint's %d genes (names are matched upper-cased)", datasetName(d), len(m.meta.Genes))
	}
	a := m.arch()
	sets, err := embedSets(d, spec.SampleCol, a.setSize, spec.Seed)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	if m.embedExec == nil {
		backend, err := m.getBackend()
		if err != nil {
			return nil, err
		}
		m.embedExec, err = gmodel.NewExec(backend, m.store, func(scope *gmodel.Scope, counts, cells *Node) *Node {
			return a.embedGraph(scope, counts, cells)
		})
		if err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
	}
	B, S, G, D := a.batch, a.setSize, a.genes, a.dim()
	out := &data.Dense{Rows: d.X.Rows, Cols: D, Data: make([]float64, d.X.Rows*D)}
	for start := 0; start < len(sets); start += B {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := sets[start:min(start+B, len(sets))]
		counts, cells := packSets(gm, d.X, chunk, B, S, G, nil)
		res, err := m.embedExec.Call1(counts, cells)
		if err != nil {
			return nil, fmt.Errorf("stack: embed: %w", err)
		}
		flat := tensors.MustCopyFlatData[float32](res)
		_ = res.FinalizeAll()
		for b, set := range chunk {
			for i, r := range set.Rows {
				if !set.Mask[i] {
					continue
				}
				row := out.Data[r*D : (r+1)*D]
				for k := range D {
					row[k] = float64(flat[(b*S+i)*D+k])
				}
			}
		}
	}
	return out, nil
}

// packSets lays out up to B sets of S rows of x as the model's inputs:
// counts [B,S,G] over the gene universe (gm) and the real-cell mask [B,S]
// (padding false); the batch is filled up to B with dummy sets holding one
// "real" all-zero cell, so that the graph keeps its shape. The entries of
// masked (row → columns of x; nil = none) are 0.
func packSets(gm geneMap, x *data.CSR, chunk []nn.PaddedSet, B, S, G int, masked [][]int) (counts, cells *tensors.Tensor) {
	c := make([]float32, B*S*G)
	m := make([]bool, B*S)
	for b := range B {
		if b >= len(chunk) {
			m[b*S] = true // dummy set keeps the batch shape
			continue
		}
		for i, r := range chunk[b].Rows {
			row := c[(b*S+i)*G : (b*S+i+1)*G]
			gm.denseRow(row, x, r)
			if masked != nil {
				for _, j := range masked[r] {
					if u := gm.col[j]; u >= 0 {
						row[u] = 0
					}
				}
			}
			m[b*S+i] = chunk[b].Mask[i]
		}
	}
	return tensors.FromFlatDataAndDimensions(c, B, S, G), tensors.FromFlatDataAndDimensions(m, B, S)
}

// writeMeta writes MetaFile (last, atomically).
func (m *Model) writeMeta(dir string) error {
	return nn.WriteMeta(dir, MetaFile, "stack", m.meta)
}

// Load reads a trained checkpoint directory (cellbench train --model
// stack). It errors if dir lacks MetaFile (training unfinished).
func Load(dir string) (*Model, error) {
	m, err := LoadFS(os.DirFS(dir), dir)
	if err != nil {
		return nil, err
	}
	m.dir = dir
	return m, nil
}

// LoadFS reads a trained model from the root of fsys (the files of a
// checkpoint directory, from a zip archive or memory: the browser build;
// nn.LoadTrainedFS); name labels errors. A model read this way has no
// directory (Dir() is ""), so a later in-context Fit cannot start from it.
func LoadFS(fsys fs.FS, name string) (*Model, error) {
	var mt meta
	store, cfg, err := nn.LoadTrainedConfigFS(fsys, name, MetaFile, "stack", &mt, &mt.Config, Params)
	if err != nil {
		return nil, err
	}
	return &Model{cfg: cfg, meta: mt, store: store}, nil
}

// Dir returns the checkpoint directory the model was loaded from or
// trained into ("" for an in-memory model).
func (m *Model) Dir() string { return m.dir }

// startFile records what a checkpoint directory is being trained with
// (nn.CheckStart).
const startFile = "stack_train_start.json"

func checkResume(dir string, mt meta) error {
	want, err := json.Marshal(mt)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	return nn.CheckStart(dir, startFile, "stack", want)
}

// TrainedOn returns the files of the datasets the model was trained on
// (the zero-shot check of the suite runner): its pre-training pool and,
// for an in-context stage, the file of its post-training cells.
func (m *Model) TrainedOn() []string {
	out := make([]string, 0, len(m.meta.Pool)+1)
	for _, p := range m.meta.Pool {
		out = append(out, p.Name)
	}
	if m.meta.Data != "" {
		out = append(out, m.meta.Data)
	}
	return out
}
