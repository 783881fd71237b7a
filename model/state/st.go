package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// MetaFile is written last into a trained checkpoint directory: a directory
// without it is not a usable model.
const MetaFile = "state_meta.json"

// ST is the STATE-style State Transition model. Create with New, train
// with Fit (tasks.PerturbationModel), or load a trained one with Load.
type ST struct {
	cfg hparams.Config

	// Runtime: backend, checkpoint directory (Fit trains into and resumes
	// from it and writes MetaFile there at the end), progress, initial
	// checkpoint.
	nn.Runtime

	backend compute.Backend
	store   *gmodel.Store
	exec    *gmodel.Exec
	meta    meta
	hist    nn.History
	notes   []string
}

// meta is what Predict needs besides the weights.
type meta struct {
	Config json.RawMessage `json:"config"`
	Genes  []string        `json:"genes"`
	Perts  []string        `json:"perts"` // one-hot vocabulary, sorted
	Spec   tasks.PertSpec  `json:"spec"`
	SetLen int             `json:"set_len"` // resolved set size used in training
}

// New returns an unfitted ST with the given configuration (see Params).
func New(cfg hparams.Config) *ST { return &ST{cfg: cfg} }

// NewFromParams builds an ST from string parameters as a suite file gives
// them: "config" selects a named config (tiny, paper; default otherwise),
// every other key is a Params key. Unknown keys and bad values are errors.
func NewFromParams(params map[string]string) (*ST, error) {
	var set []string
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "config" {
			set = append(set, k+"="+params[k])
		}
	}
	cfg, err := Params.Resolve(params["config"], strings.Join(set, ";"))
	if err != nil {
		return nil, err
	}
	return New(cfg), nil
}

// Name implements tasks.PerturbationModel.
func (m *ST) Name() string { return "state" }

// Config returns the model's configuration.
func (m *ST) Config() hparams.Config { return m.cfg }

// History returns the loss curve of the last Fit.
func (m *ST) History() nn.History { return m.hist }

// Notes implements tasks.Noter.
func (m *ST) Notes() []string {
	out := m.notes
	m.notes = nil
	return out
}

func (m *ST) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !slices.Contains(m.notes, s) {
		m.notes = append(m.notes, s)
	}
}

func (m *ST) getBackend() (compute.Backend, error) {
	if m.backend != nil {
		return m.backend, nil
	}
	b, err := m.ResolveBackend()
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	m.backend = b
	return b, nil
}

// trainData is the training cells in dense form with their set structure.
type trainData struct {
	x        []float32 // N×G row-major log1p
	genes    int
	groups   []setGroup
	slots    []int // group index per slot (a group gets ceil(n/S) slots)
	setLen   int
	pertIdx  map[string]int
	nPerts   int
	batch    int
	seed     uint64
	fullSets bool
}

type setGroup struct {
	pert     int   // vocabulary index
	cells    []int // perturbed (target) rows
	controls []int // matched control pool: same context (and batch)
}

// Fit implements tasks.PerturbationModel: it trains ST on the log1p cells
// of train. Sets are (context, perturbation[, batch]) groups chunked to
// cell_set_len cells (sampled without replacement, or up-sampled with
// replacement when the group is smaller — STATE's PerturbationBatchSampler);
// each is paired with as many control cells drawn at random with
// replacement from the same context (and batch_col value, when set) — cell-
// load's RandomMappingStrategy.
func (m *ST) Fit(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	if train == nil || train.X == nil || train.X.Rows == 0 {
		return errors.New("state: no training cells")
	}
	if train.Scale == data.Counts {
		return errors.New("state: training data are counts; ST trains on log1p expression (use data.ToLog1p)")
	}
	a := archFrom(m.cfg, train.X.Cols, 0)
	if err := a.validate(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	td, err := m.prepare(train, spec)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	a.perts = td.nPerts
	backend, err := m.getBackend()
	if err != nil {
		return err
	}
	cfgJSON, _ := m.cfg.MarshalJSON()
	m.meta = meta{Config: cfgJSON, Genes: append([]string(nil), train.Var.Index...), Spec: spec, SetLen: td.setLen}
	m.meta.Perts = make([]string, td.nPerts)
	for p, i := range td.pertIdx {
		m.meta.Perts[i] = p
	}
	if m.CheckpointDir != "" {
		if err := m.checkResumeConfig(m.CheckpointDir, train.Var.Index, spec); err != nil {
			return err
		}
	}
	m.store = nn.NewStore(spec.Seed)
	m.exec = nil
	opts := nn.TrainOptionsFrom(m.cfg, m.Runtime, spec.Seed)
	if a.embedDim > 0 {
		if err := m.initEmbedding(train, a.embedDim, spec.Seed); err != nil {
			return fmt.Errorf("state: %w", err)
		}
	}
	modelFn, lossFn := a.trainFns()
	hist, err := nn.Train(ctx, backend, m.store, modelFn, lossFn, td.batcher(), opts)
	m.hist = hist
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if m.CheckpointDir != "" {
		if err := m.writeMeta(m.CheckpointDir); err != nil {
			return err
		}
	}
	return nil
}

// prepare indexes the training cells into set groups.
func (m *ST) prepare(train *data.Dataset, spec tasks.PertSpec) (*trainData, error) {
	if spec.PertCol == "" || spec.Control == "" {
		return nil, errors.New("spec needs PertCol and Control")
	}
	perts, ctxs, err := spec.Labels(train)
	if err != nil {
		return nil, err
	}
	batches := make([]string, len(perts))
	if col := m.cfg.Str("batch_col"); col != "" {
		if batches, err = train.ObsLabels(col); err != nil {
			return nil, err
		}
	}
	vocab := map[string]bool{}
	for _, p := range perts {
		vocab[p] = true
	}
	if !vocab[spec.Control] {
		return nil, fmt.Errorf("no %q control cells in the training data", spec.Control)
	}
	names := make([]string, 0, len(vocab))
	for p := range vocab {
		names = append(names, p)
	}
	sort.Strings(names)
	td := &trainData{genes: train.X.Cols, pertIdx: map[string]int{}, nPerts: len(names),
		batch: m.cfg.Int("batch_size"), seed: spec.Seed}
	for i, p := range names {
		td.pertIdx[p] = i
	}
	if td.batch <= 0 {
		return nil, fmt.Errorf("batch_size %d must be > 0", td.batch)
	}
	type key struct{ ctx, pert, batch string }
	type cb struct{ ctx, batch string }
	groupRows := map[key][]int{}
	ctrlByCB := map[cb][]int{}
	ctrlByCtx := map[string][]int{}
	for i, p := range perts {
		groupRows[key{ctxs[i], p, batches[i]}] = append(groupRows[key{ctxs[i], p, batches[i]}], i)
		if p == spec.Control {
			ctrlByCB[cb{ctxs[i], batches[i]}] = append(ctrlByCB[cb{ctxs[i], batches[i]}], i)
			ctrlByCtx[ctxs[i]] = append(ctrlByCtx[ctxs[i]], i)
		}
	}
	keys := make([]key, 0, len(groupRows))
	for k := range groupRows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.ctx != b.ctx {
			return a.ctx < b.ctx
		}
		if a.pert != b.pert {
			return a.pert < b.pert
		}
		return a.batch < b.batch
	})
	maxN := 0
	for _, k := range keys {
		if k.pert == spec.Control && !m.cfg.Bool("control_sets") {
			continue
		}
		pool := ctrlByCB[cb{k.ctx, k.batch}]
		if len(pool) == 0 {
			pool = ctrlByCtx[k.ctx]
			if len(pool) == 0 {
				m.note("state: context %q has no training controls; its %q cells are not used for training", k.ctx, k.pert)
				continue
			}
			m.note("state: no controls in batch %q of context %q; matched controls from the whole context", k.batch, k.ctx)
		}
		td.groups = append(td.groups, setGroup{pert: td.pertIdx[k.pert], cells: groupRows[k], controls: pool})
		maxN = max(maxN, len(groupRows[k]))
	}
	if len(td.groups) == 0 {
		return nil, errors.New("no (context, perturbation) group with matching controls to train on")
	}
	td.setLen = m.cfg.Int("cell_set_len")
	switch {
	case td.setLen < 0:
		return nil, fmt.Errorf("cell_set_len %d must be ≥ 0", td.setLen)
	case td.setLen == 0:
		td.fullSets = true
		td.setLen = nn.BucketSize(maxN, nn.DefaultSetBuckets)
	}
	for gi, g := range td.groups {
		n := 1
		if !td.fullSets {
			n = (len(g.cells) + td.setLen - 1) / td.setLen
		}
		for range n {
			td.slots = append(td.slots, gi)
		}
	}
	td.x = make([]float32, train.X.Rows*train.X.Cols)
	for i := 0; i < train.X.Rows; i++ {
		train.X.DenseRow(td.x[i*td.genes:(i+1)*td.genes], i)
	}
	return td, nil
}

// batcher returns the deterministic batch of a step: PCG(seed, step).
func (td *trainData) batcher() nn.Batcher {
	return func(step int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
		rng := rand.New(rand.NewPCG(td.seed, uint64(step)^0x5eed5e75))
		B, S, G, P := td.batch, td.setLen, td.genes, td.nPerts
		ctrl := make([]float32, B*S*G)
		target := make([]float32, B*S*G)
		pert := make([]float32, B*P)
		mask := make([]bool, B*S)
		for b := range B {
			g := td.groups[td.slots[rng.IntN(len(td.slots))]]
			pert[b*P+g.pert] = 1
			var rows []int
			switch {
			case td.fullSets:
				rows = slices.Clone(g.cells)
				rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			case len(g.cells) >= S:
				rows = sampleWithout(g.cells, S, rng)
			default:
				rows = make([]int, S)
				for i := range rows {
					rows[i] = g.cells[rng.IntN(len(g.cells))]
				}
			}
			for i := range S {
				off := ((b * S) + i) * G
				if i >= len(rows) {
					continue // padding: zeros, mask false
				}
				mask[b*S+i] = true
				copy(target[off:off+G], td.x[rows[i]*G:(rows[i]+1)*G])
				c := g.controls[rng.IntN(len(g.controls))]
				copy(ctrl[off:off+G], td.x[c*G:(c+1)*G])
			}
		}
		in := []*tensors.Tensor{
			tensors.FromFlatDataAndDimensions(ctrl, B, S, G),
			tensors.FromFlatDataAndDimensions(pert, B, P),
			tensors.FromFlatDataAndDimensions(mask, B, S),
		}
		lab := []*tensors.Tensor{
			tensors.FromFlatDataAndDimensions(target, B, S, G),
			tensors.FromFlatDataAndDimensions(slices.Clone(mask), B, S),
		}
		return in, lab, nil
	}
}

// sampleWithout draws k of rows without replacement (partial Fisher–Yates).
func sampleWithout(rows []int, k int, rng *rand.Rand) []int {
	c := slices.Clone(rows)
	for i := range k {
		j := i + rng.IntN(len(c)-i)
		c[i], c[j] = c[j], c[i]
	}
	return c[:k]
}

// Predict implements tasks.PerturbationModel. For each request it draws
// NCells of the given controls (without replacement when there are enough,
// else with), chunks them into sets of the training set size (padded with
// a mask), and returns ReLU(control + predicted shift) per cell — predicted
// cell i is the transform of drawn control i in the context of its set.
// A perturbation not in the training vocabulary: a combination "A+B" whose
// parts are known is encoded as the sum of their one-hots; anything else as
// the all-zero vector (the model's average perturbation); both are
// reported by Notes.
func (m *ST) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	if m.store == nil {
		return nil, errors.New("state: Predict before Fit or Load")
	}
	a := archFrom(m.cfg, len(m.meta.Genes), len(m.meta.Perts))
	if m.exec == nil {
		backend, err := m.getBackend()
		if err != nil {
			return nil, err
		}
		m.exec, err = gmodel.NewExec(backend, m.store, func(scope *gmodel.Scope, ctrl, pert, mask *Node) *Node {
			pred, _ := a.forward(scope, ctrl, pert, mask)
			return pred
		})
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
	}
	G, P, B := a.genes, a.perts, m.cfg.Int("batch_size")
	pertIdx := map[string]int{}
	for i, p := range m.meta.Perts {
		pertIdx[p] = i
	}
	out := make([]*data.CSR, len(reqs))
	for k, req := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if req.Controls == nil || req.Controls.Rows == 0 {
			return nil, fmt.Errorf("state: request (%q, %q) has no control cells", req.Context, req.Perturbation)
		}
		if req.Controls.Cols != G {
			return nil, fmt.Errorf("state: request (%q, %q): controls have %d genes, model was trained on %d", req.Context, req.Perturbation, req.Controls.Cols, G)
		}
		if req.NCells <= 0 {
			out[k] = &data.CSR{Rows: 0, Cols: G, Indptr: []int64{0}}
			continue
		}
		onehot := m.encodePert(req.Perturbation, pertIdx)
		rng := tasks.RequestRNG(m.meta.Spec.Seed, req)
		all := make([]int, req.Controls.Rows)
		for i := range all {
			all[i] = i
		}
		var drawn []int
		if req.NCells <= len(all) {
			drawn = sampleWithout(all, req.NCells, rng)
		} else {
			drawn = make([]int, req.NCells)
			for i := range drawn {
				drawn[i] = rng.IntN(len(all))
			}
		}
		ctrlDense := make([]float32, len(drawn)*G)
		for i, r := range drawn {
			req.Controls.DenseRow(ctrlDense[i*G:(i+1)*G], r)
		}
		setLen := m.meta.SetLen
		if m.cfg.Int("cell_set_len") == 0 {
			setLen = len(drawn) // whole group as one set
		}
		order := make([]int, len(drawn))
		for i := range order {
			order[i] = i
		}
		sets := nn.ChunkSets(order, setLen, nn.DefaultSetBuckets)
		pred := make([]float32, len(drawn)*G)
		sizes, bySize := nn.GroupBySize(sets)
		for _, S := range sizes {
			idx := bySize[S]
			for start := 0; start < len(idx); start += B {
				chunk := idx[start:min(start+B, len(idx))]
				ctrl := make([]float32, B*S*G)
				pert := make([]float32, B*P)
				mask := make([]bool, B*S)
				for b := range B {
					copy(pert[b*P:(b+1)*P], onehot)
					if b >= len(chunk) {
						mask[b*S] = true // dummy set (zeros) keeps the batch shape fixed
						continue
					}
					set := sets[chunk[b]]
					for i, r := range set.Rows {
						copy(ctrl[(b*S+i)*G:(b*S+i+1)*G], ctrlDense[r*G:(r+1)*G])
						mask[b*S+i] = set.Mask[i]
					}
				}
				res, err := m.exec.Call1(tensors.FromFlatDataAndDimensions(ctrl, B, S, G),
					tensors.FromFlatDataAndDimensions(pert, B, P), tensors.FromFlatDataAndDimensions(mask, B, S))
				if err != nil {
					return nil, fmt.Errorf("state: predict: %w", err)
				}
				flat := tensors.MustCopyFlatData[float32](res)
				_ = res.FinalizeAll()
				for b := range chunk {
					set := sets[chunk[b]]
					for i, r := range set.Rows {
						if set.Mask[i] {
							copy(pred[r*G:(r+1)*G], flat[(b*S+i)*G:(b*S+i+1)*G])
						}
					}
				}
			}
		}
		out[k] = data.NewCSRFromDense(len(drawn), G, pred)
	}
	return out, nil
}

// encodePert returns the perturbation input vector.
func (m *ST) encodePert(p string, idx map[string]int) []float32 {
	v := make([]float32, len(m.meta.Perts))
	if i, ok := idx[p]; ok {
		v[i] = 1
		return v
	}
	parts := strings.Split(p, "+")
	if len(parts) > 1 {
		ok := true
		for _, q := range parts {
			if _, found := idx[q]; !found {
				ok = false
			}
		}
		if ok {
			for _, q := range parts {
				v[idx[q]] = 1
			}
			m.note("state: perturbation %q unseen in training; encoded as the sum of its parts' one-hots", p)
			return v
		}
	}
	m.note("state: perturbation %q unseen in training; encoded as the all-zero vector", p)
	return v
}

func (m *ST) writeMeta(dir string) error { return nn.WriteMeta(dir, MetaFile, "state", m.meta) }

// Load reads a model trained into dir (Fit with CheckpointDir set, or
// cellbench train). It errors if dir lacks MetaFile (training unfinished).
func Load(dir string) (*ST, error) {
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS reads a trained model from the root of fsys — the files of a
// checkpoint directory (MetaFile and the newest GoMLX checkpoint's .json and
// .bin, nn.LoadTrainedFS) from a directory, a zip archive or memory (the
// browser build). name labels errors. It errors if MetaFile is missing
// (training unfinished) or damaged.
func LoadFS(fsys fs.FS, name string) (*ST, error) {
	var mt meta
	store, cfg, err := nn.LoadTrainedConfigFS(fsys, name, MetaFile, "state", &mt, &mt.Config, Params)
	if err != nil {
		return nil, err
	}
	return &ST{cfg: cfg, meta: mt, store: store}, nil
}

// Genes returns the training genes, in the order Predict expects.
func (m *ST) Genes() []string { return m.meta.Genes }

// Spec returns the PertSpec the model was trained with.
func (m *ST) Spec() tasks.PertSpec { return m.meta.Spec }

// initEmbedding computes the PCA (scib.PCA: centred, top k components) of
// the training cells and stores mean and loadings as non-trainable
// variables under /embedding.
func (m *ST) initEmbedding(train *data.Dataset, k int, seed uint64) error {
	pca, err := scib.PCA(train.X, k, seed)
	if err != nil {
		return err
	}
	G := train.X.Cols
	mean := make([]float32, G)
	for i := 0; i < train.X.Rows; i++ {
		idx, val := train.X.Row(i)
		for t, j := range idx {
			mean[j] += val[t]
		}
	}
	for j := range mean {
		mean[j] /= float32(train.X.Rows)
	}
	load := make([]float32, G*k)
	for j := range G {
		for c := range k {
			load[j*k+c] = float32(pca.Loadings.At(j, c))
		}
	}
	es := m.store.RootScope().At("embedding")
	es.VariableWithValue("mean", tensors.FromFlatDataAndDimensions(mean, G)).SetTrainable(false)
	es.VariableWithValue("loadings", tensors.FromFlatDataAndDimensions(load, G, k)).SetTrainable(false)
	return nil
}

// startFile records what a checkpoint directory is being trained with, so
// that resuming with another configuration, gene list or spec is refused
// instead of failing deep inside GoMLX (or silently mixing two runs).
const startFile = "state_train_start.json"

func (m *ST) checkResumeConfig(dir string, genes []string, spec tasks.PertSpec) error {
	cfgJSON, _ := m.cfg.MarshalJSON()
	want, _ := json.Marshal(struct {
		Config json.RawMessage `json:"config"`
		Genes  []string        `json:"genes"`
		Spec   tasks.PertSpec  `json:"spec"`
	}{cfgJSON, genes, spec})
	return nn.CheckStart(dir, startFile, "state", want)
}
