package sct

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/metrics/recon"
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
const MetaFile = "sct_meta.json"

// startFile records what a checkpoint directory is being trained with.
const startFile = "sct_train_start.json"

// SCT is the sCT-style imputation model (tasks.Imputer). Create with New,
// train with Fit, or load a trained one with Load.
type SCT struct {
	cfg hparams.Config
	// Runtime: backend, checkpoint directory (Fit trains into it, resumes
	// from it — a finished run is simply reloaded — and writes MetaFile),
	// progress, initial checkpoint.
	nn.Runtime

	store *gmodel.Store
	exec  *gmodel.Exec
	meta  meta
	hist  nn.History
}

// meta is what Impute needs besides the weights.
type meta struct {
	Config  json.RawMessage `json:"config"`
	Genes   []string        `json:"genes"`
	Bins    int             `json:"bins"`
	Spatial bool            `json:"spatial"`
	// CoordUnit is the median nearest-neighbour distance of the training
	// spots: coordinates are divided by it (spatial models).
	CoordUnit float64 `json:"coord_unit,omitempty"`
	Seed      uint64  `json:"seed"`
}

// New returns an unfitted model with the given configuration (Params).
func New(cfg hparams.Config) *SCT { return &SCT{cfg: cfg} }

// Name implements tasks.Imputer.
func (m *SCT) Name() string { return "sct" }

// Config returns the model's configuration.
func (m *SCT) Config() hparams.Config { return m.cfg }

// History returns the loss curve of the last Fit.
func (m *SCT) History() nn.History { return m.hist }

// Genes returns the gene panel the model was trained on, in order.
func (m *SCT) Genes() []string { return m.meta.Genes }

// backendOf resolves the runtime's backend once (nn.NewBackend when unset)
// and keeps it in the runtime.
func (m *SCT) backendOf() (compute.Backend, error) {
	b, err := m.ResolveBackend()
	if err != nil {
		return nil, fmt.Errorf("sct: %w", err)
	}
	m.Runtime.Backend = b
	return b, nil
}

// spatialFor resolves the spatial hyperparameter for a task that gives
// (or not) coordinate columns.
func spatialFor(c hparams.Config, coordCols []string) (bool, error) {
	switch c.Str("spatial") {
	case "on":
		if len(coordCols) == 0 {
			return false, errors.New("spatial=on but the task gives no coordinate columns")
		}
		return true, nil
	case "off":
		return false, nil
	}
	return len(coordCols) > 0, nil
}

// cellData is the per-cell input of the batcher and of Impute.
type cellData struct {
	counts [][]float32 // cells × G (dense)
	bins   [][]int8    // true bins (training) — nil for Impute
	coords [][2]float64
}

// Fit implements tasks.Imputer: masked-token training on bags of training
// cells (see doc.go "Training"). train holds raw counts (the task's gene
// panel, in its order).
func (m *SCT) Fit(ctx context.Context, train *data.Dataset, spec tasks.ImputeSpec) error {
	if train == nil || train.X == nil || train.X.Rows == 0 {
		return errors.New("sct: no training cells")
	}
	if spec.Bins < 2 {
		return fmt.Errorf("sct: bins %d must be ≥ 2", spec.Bins)
	}
	spatial, err := spatialFor(m.cfg, spec.CoordCols)
	if err != nil {
		return fmt.Errorf("sct: %w", err)
	}
	a, err := archFrom(m.cfg, train.NGenes(), spec.Bins, spatial)
	if err != nil {
		return fmt.Errorf("sct: %w", err)
	}
	cd := cellData{counts: denseRows(train.X)}
	cd.bins = make([][]int8, len(cd.counts))
	x := make([]float64, a.genes)
	for i, row := range cd.counts {
		for j, v := range row {
			x[j] = math.Log1p(float64(v))
		}
		cb := recon.NewCellBins(x, a.bins)
		cd.bins[i] = make([]int8, a.genes)
		for j, v := range x {
			cd.bins[i][j] = int8(cb.Bin(v))
		}
	}
	cfgJSON, _ := m.cfg.MarshalJSON()
	m.meta = meta{Config: cfgJSON, Genes: slices.Clone(train.Var.Index), Bins: a.bins, Spatial: spatial, Seed: spec.Seed}
	if spatial {
		if cd.coords, err = tasks.Coords(train, spec.CoordCols); err != nil {
			return fmt.Errorf("sct: %w", err)
		}
		m.meta.CoordUnit = medianSpacing(cd.coords)
	}
	backend, err := m.backendOf()
	if err != nil {
		return err
	}
	if m.CheckpointDir != "" {
		if err := m.checkResumeConfig(m.CheckpointDir); err != nil {
			return err
		}
	}
	m.store = nn.NewStore(spec.Seed)
	m.exec = nil
	opts := nn.TrainOptionsFrom(m.cfg, m.Runtime, spec.Seed)
	modelFn := func(scope *gmodel.Scope, in []*Node) []*Node {
		var coords *Node
		if a.spatial {
			coords = in[1]
		}
		return []*Node{a.forward(scope, in[0], coords)}
	}
	tr := trainer{a: a, cfg: m.cfg, cd: cd, unit: m.meta.CoordUnit, seed: spec.Seed, batch: m.cfg.Int("batch_size")}
	hist, err := nn.Train(ctx, backend, m.store, modelFn, lossFn, tr.batcher(), opts)
	m.hist = hist
	if err != nil {
		return fmt.Errorf("sct: %w", err)
	}
	if m.CheckpointDir != "" {
		if err := m.writeMeta(m.CheckpointDir); err != nil {
			return err
		}
	}
	return nil
}

func denseRows(x *data.CSR) [][]float32 {
	out := make([][]float32, x.Rows)
	for i := range out {
		out[i] = x.DenseRow(make([]float32, x.Cols), i)
	}
	return out
}

// medianSpacing is the median over spots of the distance to the nearest
// other spot (1 when undefined: fewer than 2 spots or all at one place).
func medianSpacing(c [][2]float64) float64 {
	if len(c) < 2 {
		return 1
	}
	d := make([]float64, len(c))
	for i := range c {
		best := math.Inf(1)
		for j := range c {
			if i != j {
				if v := math.Hypot(c[i][0]-c[j][0], c[i][1]-c[j][1]); v < best {
					best = v
				}
			}
		}
		d[i] = best
	}
	slices.Sort(d)
	med := d[len(d)/2]
	if !(med > 0) || math.IsInf(med, 0) {
		return 1
	}
	return med
}

// trainer draws training batches.
type trainer struct {
	a     arch
	cfg   hparams.Config
	cd    cellData
	unit  float64
	seed  uint64
	batch int
}

// sequence is one input sequence under construction.
type sequence struct {
	tokens  []int32   // K·G_pad
	targets []int32   // K·G_pad (true bins where masked)
	loss    []bool    // K·G_pad
	coords  []float32 // K·2
}

func newSequence(a arch) sequence {
	L := a.seqLen()
	s := sequence{tokens: make([]int32, L), targets: make([]int32, L), loss: make([]bool, L), coords: make([]float32, a.cells*2)}
	for i := range s.tokens {
		s.tokens[i] = a.padToken()
	}
	return s
}

// fillCell writes cell slot k of s from counts (G values) with the
// positions in hidden masked: visible values are binned with the cell's
// visible values only (recon.CellBins of the unmasked entries), masked
// positions get the mask token, genes beyond the panel stay pad.
func fillCell(a arch, s sequence, k int, counts []float32, hidden []bool, x []float64) {
	for j, v := range counts {
		x[j] = 0
		if !hidden[j] {
			x[j] = math.Log1p(float64(v))
		}
	}
	cb := recon.NewCellBins(x, a.bins)
	off := k * a.genesPad
	for j := range counts {
		if hidden[j] {
			s.tokens[off+j] = a.maskToken()
		} else {
			s.tokens[off+j] = int32(cb.Bin(x[j]))
		}
	}
}

// batcher returns the deterministic batch of a step, PCG(seed, step):
// batch_size sequences of K training cells (random cells, or a random
// spot and its K−1 nearest training spots), masked as the masking
// hyperparameters say.
func (t trainer) batcher() nn.Batcher {
	a := t.a
	N := len(t.cd.counts)
	strat := t.cfg.Str("masking") == "stratified"
	p0, p1, pu := t.cfg.Float("mask_zero"), t.cfg.Float("mask_nonzero"), t.cfg.Float("mask_uniform")
	cellFrac := t.cfg.Float("cell_mask_frac")
	return func(step int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
		rng := rand.New(rand.NewPCG(t.seed, uint64(step)^0x5c7b47c4))
		B, L := t.batch, a.seqLen()
		tokens := make([]int32, 0, B*L)
		targets := make([]int32, 0, B*L)
		loss := make([]bool, 0, B*L)
		coords := make([]float32, 0, B*a.cells*2)
		x := make([]float64, a.genes)
		hidden := make([]bool, a.genes)
		scored := false
		var firstCells []int
		for bi := range B {
			s := newSequence(a)
			var cells []int
			if t.cd.coords != nil {
				cells = nearest(t.cd.coords, rng.IntN(N), min(a.cells, N))
			} else {
				cells = rng.Perm(N)[:min(a.cells, N)]
			}
			if bi == 0 {
				firstCells = cells
			}
			whole := make([]bool, len(cells))
			if len(cells) > 1 && rng.Float64() < cellFrac {
				for _, k := range rng.Perm(len(cells))[:1+rng.IntN(len(cells)-1)] {
					whole[k] = true
				}
			}
			for k, c := range cells {
				off := k * a.genesPad
				for j := range a.genes {
					b := t.cd.bins[c][j]
					var h bool
					switch {
					case whole[k]:
						h = true
					case strat && b == 0:
						h = rng.Float64() < p0
					case strat:
						h = rng.Float64() < p1
					default:
						h = rng.Float64() < pu
					}
					hidden[j] = h
					if h {
						s.targets[off+j] = int32(b)
						s.loss[off+j] = true
						scored = true
					}
				}
				fillCell(a, s, k, t.cd.counts[c], hidden, x)
			}
			if t.cd.coords != nil {
				centre(s.coords, t.cd.coords, cells, t.unit)
			}
			tokens = append(tokens, s.tokens...)
			targets = append(targets, s.targets...)
			loss = append(loss, s.loss...)
			coords = append(coords, s.coords...)
		}
		if !scored { // at least one scored position per batch
			k := rng.IntN(len(firstCells))
			j := rng.IntN(a.genes)
			p := k*a.genesPad + j
			loss[p] = true
			targets[p] = int32(t.cd.bins[firstCells[k]][j])
			tokens[p] = a.maskToken()
		}
		in := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(tokens, B, L)}
		if a.spatial {
			in = append(in, tensors.FromFlatDataAndDimensions(coords, B, a.cells, 2))
		}
		lab := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(targets, B, L), tensors.FromFlatDataAndDimensions(loss, B, L)}
		return in, lab, nil
	}
}

// nearest returns spot c and its n−1 nearest other spots (Euclidean, ties
// by index), in that order.
func nearest(coords [][2]float64, c, n int) []int {
	idx := make([]int, len(coords))
	d := make([]float64, len(coords))
	for i := range idx {
		idx[i] = i
		d[i] = math.Hypot(coords[i][0]-coords[c][0], coords[i][1]-coords[c][1])
	}
	sort.SliceStable(idx, func(p, q int) bool {
		if d[idx[p]] != d[idx[q]] {
			return d[idx[p]] < d[idx[q]]
		}
		return idx[p] < idx[q]
	})
	if idx[0] != c { // a duplicate location sorted first: keep c first
		k := slices.Index(idx, c)
		idx[0], idx[k] = idx[k], idx[0]
	}
	return idx[:n]
}

// centre writes the coordinates of cells (slots 0…) into dst, relative
// to the sequence's centroid and in units of unit (spot spacing): the
// encoding sees the neighbourhood's shape, not where the tissue lies, so
// a held-out region is encoded like the training ones.
func centre(dst []float32, coords [][2]float64, cells []int, unit float64) {
	var mx, my float64
	for _, c := range cells {
		mx += coords[c][0]
		my += coords[c][1]
	}
	mx /= float64(len(cells))
	my /= float64(len(cells))
	for k, c := range cells {
		dst[2*k] = float32((coords[c][0] - mx) / unit)
		dst[2*k+1] = float32((coords[c][1] - my) / unit)
	}
}

// Impute implements tasks.Imputer: every bag of spec.Bags (consecutive
// chunks of K cells when nil) is cut into sequences of at most K cells,
// the visible values binned per cell, masked positions given the mask
// token and empty cell slots the pad token; the answer is the softmax over
// the expression-bin logits at every masked position.
func (m *SCT) Impute(ctx context.Context, d *data.Dataset, masked []tasks.Position, spec tasks.ImputeSpec) (tasks.Imputation, error) {
	if m.store == nil {
		return tasks.Imputation{}, errors.New("sct: Impute before Fit or Load")
	}
	if !slices.Equal(d.Var.Index, m.meta.Genes) {
		return tasks.Imputation{}, fmt.Errorf("sct: the data's %d genes are not the %d genes (in order) the model was trained on", d.NGenes(), len(m.meta.Genes))
	}
	if spec.Bins != m.meta.Bins {
		return tasks.Imputation{}, fmt.Errorf("sct: trained with %d bins, asked for %d", m.meta.Bins, spec.Bins)
	}
	a, err := archFrom(m.cfg, len(m.meta.Genes), m.meta.Bins, m.meta.Spatial)
	if err != nil {
		return tasks.Imputation{}, fmt.Errorf("sct: %w", err)
	}
	var coords [][2]float64
	if a.spatial {
		if len(spec.CoordCols) == 0 {
			return tasks.Imputation{}, errors.New("sct: a spatial model needs the task's coordinate columns")
		}
		if coords, err = tasks.Coords(d, spec.CoordCols); err != nil {
			return tasks.Imputation{}, fmt.Errorf("sct: %w", err)
		}
	}
	if m.exec == nil {
		backend, err := m.backendOf()
		if err != nil {
			return tasks.Imputation{}, err
		}
		m.exec, err = gmodel.NewExec(backend, m.store, func(scope *gmodel.Scope, in []*Node) *Node {
			var c *Node
			if a.spatial {
				c = in[1]
			}
			return a.binProbs(a.forward(scope, in[0], c))
		})
		if err != nil {
			return tasks.Imputation{}, fmt.Errorf("sct: %w", err)
		}
	}
	n, G := d.NCells(), a.genes
	hiddenAll := make([]bool, n*G)
	for _, p := range masked {
		if p.Cell < 0 || p.Cell >= n || p.Gene < 0 || p.Gene >= G {
			return tasks.Imputation{}, fmt.Errorf("sct: masked position (%d, %d) outside %d cells × %d genes", p.Cell, p.Gene, n, G)
		}
		hiddenAll[p.Cell*G+p.Gene] = true
	}
	bags := spec.Bags
	if bags == nil {
		for s := 0; s < n; s += a.cells {
			var b []int
			for i := s; i < min(s+a.cells, n); i++ {
				b = append(b, i)
			}
			bags = append(bags, b)
		}
	}
	var chunks [][]int
	for _, b := range bags {
		for s := 0; s < len(b); s += a.cells {
			chunks = append(chunks, b[s:min(s+a.cells, len(b))])
		}
	}
	// probs per (cell, gene) of masked positions
	probs := make(map[int][]float32, len(masked))
	cd := cellData{counts: denseRows(d.X)}
	x := make([]float64, G)
	B, L := m.cfg.Int("batch_size"), a.seqLen()
	for start := 0; start < len(chunks); start += B {
		if err := ctx.Err(); err != nil {
			return tasks.Imputation{}, err
		}
		batch := chunks[start:min(start+B, len(chunks))]
		tokens := make([]int32, 0, B*L)
		cs := make([]float32, 0, B*a.cells*2)
		for bi := range B {
			s := newSequence(a)
			if bi < len(batch) {
				for k, c := range batch[bi] {
					if c < 0 || c >= n {
						return tasks.Imputation{}, fmt.Errorf("sct: bag cell %d outside %d cells", c, n)
					}
					fillCell(a, s, k, cd.counts[c], hiddenAll[c*G:(c+1)*G], x)
				}
				if a.spatial {
					centre(s.coords, coords, batch[bi], m.meta.CoordUnit)
				}
			}
			tokens = append(tokens, s.tokens...)
			cs = append(cs, s.coords...)
		}
		args := []any{tensors.FromFlatDataAndDimensions(tokens, B, L)}
		if a.spatial {
			args = append(args, tensors.FromFlatDataAndDimensions(cs, B, a.cells, 2))
		}
		res, err := m.exec.Exec(args...)
		if err != nil {
			return tasks.Imputation{}, fmt.Errorf("sct: %w", err)
		}
		flat := tensors.MustCopyFlatData[float32](res[0])
		for _, r := range res {
			_ = r.FinalizeAll()
		}
		nb := a.bins
		for bi, chunk := range batch {
			for k, c := range chunk {
				for j := range G {
					if hiddenAll[c*G+j] {
						off := ((bi*a.cells+k)*a.genesPad + j) * nb
						probs[c*G+j] = slices.Clone(flat[off : off+nb])
					}
				}
			}
		}
	}
	out := tasks.Imputation{Probs: make([][]float32, len(masked))}
	for k, p := range masked {
		pr, ok := probs[p.Cell*G+p.Gene]
		if !ok {
			return tasks.Imputation{}, fmt.Errorf("sct: cell %d is in no bag", p.Cell)
		}
		out.Probs[k] = pr
	}
	return out, nil
}

func (m *SCT) writeMeta(dir string) error { return nn.WriteMeta(dir, MetaFile, "sct", m.meta) }

// checkResumeConfig refuses to resume a checkpoint directory started with
// another configuration, gene panel, binning, spatial setting or seed.
func (m *SCT) checkResumeConfig(dir string) error {
	want, _ := json.Marshal(m.meta)
	return nn.CheckStart(dir, startFile, "sct", want)
}

// Load reads a model trained into dir (Fit with CheckpointDir set). It
// errors if dir lacks MetaFile (training unfinished).
func Load(dir string) (*SCT, error) { return LoadFS(os.DirFS(dir), dir) }

// LoadFS reads a trained model from the root of fsys (the files of a
// checkpoint directory, from a zip archive or memory: the browser build;
// nn.LoadTrainedFS); name labels errors.
func LoadFS(fsys fs.FS, name string) (*SCT, error) {
	var mt meta
	store, cfg, err := nn.LoadTrainedConfigFS(fsys, name, MetaFile, "sct", &mt, &mt.Config, Params)
	if err != nil {
		return nil, err
	}
	return &SCT{cfg: cfg, meta: mt, store: store}, nil
}
