package stack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// ArchKeys are the configuration keys that define the network's shape: a
// post-training stage keeps the pre-trained checkpoint's values (the
// release silently overrides CLI flags with the checkpoint's; cellbench
// refuses conflicting flags on the command line and takes the
// checkpoint's values in Fit).
var ArchKeys = []string{"n_tokens", "token_dim", "n_layers", "heads", "intra_heads", "mlp_ratio", "norm"}

// cp10kScale is the library size the in-context stage normalises every
// cell to (the 1e4 of log1p CP10k, data.DefaultTargetSum).
const cp10kScale = data.DefaultTargetSum

// toCP10k returns the cells of d as counts normalised to 1e4 per cell
// over d's genes: counts/lib·1e4 for raw counts, expm1(x) for log1p CP10k
// data (what the perturbation tasks hand models).
func toCP10k(x *data.CSR, scale data.Scale) *data.CSR {
	out := x.Clone()
	for i := 0; i < out.Rows; i++ {
		lo, hi := out.Indptr[i], out.Indptr[i+1]
		if scale == data.Log1p {
			for k := lo; k < hi; k++ {
				out.Data[k] = float32(math.Expm1(float64(out.Data[k])))
			}
			continue
		}
		s := 0.0
		for k := lo; k < hi; k++ {
			s += float64(out.Data[k])
		}
		if s > 0 {
			for k := lo; k < hi; k++ {
				out.Data[k] = float32(float64(out.Data[k]) / s * cp10kScale)
			}
		}
	}
	return out
}

// scaleOf returns the scale of a dataset's X (declared, else detected).
func scaleOf(d *data.Dataset) (data.Scale, error) {
	if d.Scale != data.ScaleUnknown {
		return d.Scale, nil
	}
	rep, err := data.DetectScale(d.X)
	if err != nil {
		return data.ScaleUnknown, fmt.Errorf("%s: %w", datasetName(d), err)
	}
	return rep.Scale, nil
}

// icPair is a (perturbation, query context) with the contexts that can
// prompt it.
type icPair struct {
	pert, query string
	prompts     []string
}

type icKey struct{ ctx, pert string }

// icData is the in-context post-training data: cells on the CP10k scale
// mapped to the gene universe, grouped by (context, perturbation).
type icData struct {
	a                arch
	x                *data.CSR
	genes            geneMap
	groups           map[icKey][]int
	controls         map[string][]int
	pairs            []icPair
	nPrompt          int
	tMax             float64
	maskMin, maskMax float64
	seed             uint64
}

// newICData indexes the training cells. A pair (p, B) is trainable when B
// has cells of p and controls, and another context A has cells of p.
func newICData(a arch, train *data.Dataset, spec tasks.PertSpec, universe []string, c hparams.Config) (*icData, error) {
	scale, err := scaleOf(train)
	if err != nil {
		return nil, err
	}
	perts, ctxs, err := spec.Labels(train)
	if err != nil {
		return nil, err
	}
	d := &icData{a: a, x: toCP10k(train.X, scale), genes: newGeneMap(universe, train.Var.Index),
		groups: map[icKey][]int{}, controls: map[string][]int{}, seed: spec.Seed,
		nPrompt: int(c.Float("ic_prompt_frac") * float64(a.setSize)), tMax: c.Float("ic_t_max"),
		maskMin: c.Float("ic_mask_rate_min"), maskMax: c.Float("ic_mask_rate_max")}
	if d.genes.nPresent() == 0 {
		return nil, fmt.Errorf("the training data share no gene with the checkpoint's %d genes", len(universe))
	}
	ctxOf := map[string][]string{} // perturbation → contexts with cells
	for i, p := range perts {
		if p == spec.Control {
			d.controls[ctxs[i]] = append(d.controls[ctxs[i]], i)
			continue
		}
		k := icKey{ctxs[i], p}
		if len(d.groups[k]) == 0 {
			ctxOf[p] = append(ctxOf[p], ctxs[i])
		}
		d.groups[k] = append(d.groups[k], i)
	}
	names := make([]string, 0, len(ctxOf))
	for p := range ctxOf {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		cs := slices.Sorted(slices.Values(ctxOf[p]))
		for _, b := range cs {
			if len(d.controls[b]) == 0 {
				continue
			}
			var prompts []string
			for _, a := range cs {
				if a != b {
					prompts = append(prompts, a)
				}
			}
			if len(prompts) > 0 {
				d.pairs = append(d.pairs, icPair{pert: p, query: b, prompts: prompts})
			}
		}
	}
	if len(d.pairs) == 0 {
		return nil, errors.New("in-context post-training needs a perturbation with training cells in two contexts, one of which has controls (none found)")
	}
	return d, nil
}

// drawRows draws n rows of pool: without replacement when it holds
// enough, else with replacement (the release refills sets by duplication).
func drawRows(pool []int, n int, rng *rand.Rand) []int {
	if len(pool) >= n {
		return sampleWithout(pool, n, rng)
	}
	out := make([]int, n)
	for i := range out {
		out[i] = pool[rng.IntN(len(pool))]
	}
	return out
}

// batch builds the in-context batch of a step from PCG(seed, step): per
// set a trainable (p, B) and a prompt context A; positions [0, n_prompt)
// hold cells of (A, p); t ~ U(0, ic_t_max), n_context = n_prompt +
// ⌊(S − n_prompt)·t⌋; positions [n_prompt, n_context) hold revealed cells
// of (B, p) (input = ground truth); positions [n_context, S) hold controls
// of B as input and cells of (B, p) as ground truth (distributional
// targets). One gene subset at rate ~ U(ic_mask_rate_min, max) is masked
// per set.
func (d *icData) batch(step int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
	a := d.a
	B, S, G, D := a.batch, a.setSize, a.genes, a.dim()
	rng := rand.New(rand.NewPCG(d.seed, uint64(step)^0x1c0c7e47))
	obs := make([]float32, B*S*G)
	gt := make([]float32, B*S*G)
	genes := make([]bool, B*G)
	masked := make([]bool, B*G)
	qpos := make([]bool, B*S)
	ctxpos := make([]bool, B*S)
	weight := make([]float32, B)
	eps := make([]float32, B*S*G)
	logistic := make([]float32, B*S*G)
	for b := range B {
		pr := d.pairs[rng.IntN(len(d.pairs))]
		pa := pr.prompts[rng.IntN(len(pr.prompts))]
		prompt := drawRows(d.groups[icKey{pa, pr.pert}], d.nPrompt, rng)
		targets := drawRows(d.groups[icKey{pr.query, pr.pert}], S-d.nPrompt, rng)
		t := d.tMax * rng.Float64()
		nCtx := d.nPrompt + int(float64(S-d.nPrompt)*t)
		ctrls := drawRows(d.controls[pr.query], S-nCtx, rng)
		weight[b] = float32(1 / (1 - t))
		for i := range S {
			o := obs[(b*S+i)*G : (b*S+i+1)*G]
			y := gt[(b*S+i)*G : (b*S+i+1)*G]
			switch {
			case i < d.nPrompt:
				d.genes.denseRow(y, d.x, prompt[i])
				copy(o, y)
			case i < nCtx:
				d.genes.denseRow(y, d.x, targets[i-d.nPrompt])
				copy(o, y)
				ctxpos[b*S+i] = true
			default:
				d.genes.denseRow(y, d.x, targets[i-d.nPrompt])
				d.genes.denseRow(o, d.x, ctrls[i-nCtx])
				qpos[b*S+i] = true
			}
		}
		copy(genes[b*G:(b+1)*G], d.genes.present)
		rate := d.maskMin + (d.maskMax-d.maskMin)*rng.Float64()
		for _, u := range sampleWithout(d.genes.presentIdx, int(float64(d.genes.nPresent())*rate), rng) {
			masked[b*G+int(u)] = true
		}
	}
	for i := range eps {
		eps[i] = float32(rng.NormFloat64())
		u := min(max(rng.Float64(), 1e-6), 1-1e-6)
		logistic[i] = float32(math.Log(u) - math.Log1p(-u))
	}
	idx, proj, prior := swInputs(rng, B, S, a.swCells, D, a.swProj)
	in := make([]*tensors.Tensor, icNumInputs)
	in[icObs] = tensors.FromFlatDataAndDimensions(obs, B, S, G)
	in[icGT] = tensors.FromFlatDataAndDimensions(gt, B, S, G)
	in[icLnFact] = tensors.FromFlatDataAndDimensions(logFactorials(gt), B, S, G)
	in[icGenes] = tensors.FromFlatDataAndDimensions(genes, B, G)
	in[icMasked] = tensors.FromFlatDataAndDimensions(masked, B, G)
	in[icQuery] = tensors.FromFlatDataAndDimensions(qpos, B, S)
	in[icContext] = tensors.FromFlatDataAndDimensions(ctxpos, B, S)
	in[icWeight] = tensors.FromFlatDataAndDimensions(weight, B)
	in[icEps] = tensors.FromFlatDataAndDimensions(eps, B, S, G)
	in[icLogistic] = tensors.FromFlatDataAndDimensions(logistic, B, S, G)
	in[icSWIdx], in[icSWProj], in[icPrior] = idx, proj, prior
	return in, nil, nil
}

// stageConfig returns the post-training configuration: the pre-trained
// checkpoint's architecture (ArchKeys) with every other key from c.
func stageConfig(base, c hparams.Config) (hparams.Config, error) {
	out := c
	for _, k := range ArchKeys {
		if k == "norm" {
			out = out.With(k, base.Str(k))
		} else {
			out = out.With(k, base.Int(k))
		}
	}
	return out, validateConfig(out)
}

// Fit implements tasks.PerturbationModel: in-context post-training (see
// doc.go, "In-context post-training"). It starts from pre-trained
// weights: the checkpoint the model was loaded from or trained into, else
// m.InitFrom. Without any, it first pre-trains on the training cells
// themselves (as CP10k pseudo-counts, one sample per context; reported by
// Notes) — a self-contained but weak substitute for a pool. The training
// cells may be raw counts or log1p CP10k; both are brought to CP10k.
func (m *Model) Fit(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) error {
	if train == nil || train.X == nil || train.X.Rows == 0 {
		return errors.New("stack: no training cells")
	}
	if spec.PertCol == "" || spec.Control == "" {
		return errors.New("stack: the data spec needs a perturbation column and a control label")
	}
	baseDir, base, tmp, err := m.preTrained(ctx, train, spec)
	if err != nil {
		return err
	}
	initFrom := baseDir
	if tmp {
		// Train reads the weights into memory when the stage starts.
		defer os.RemoveAll(baseDir)
		initFrom = "(pre-trained in memory)"
	}
	cfg, err := stageConfig(base.cfg, m.cfg)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	m.cfg = cfg
	m.meta = meta{Stage: StageInContext, Genes: base.meta.Genes, Pool: base.meta.Pool, Seed: spec.Seed,
		Spec: &spec, InitFrom: initFrom, DataGenes: slices.Clone(train.Var.Index), Data: train.Path, Steps: cfg.Int("ic_steps")}
	cfgJSON, _ := cfg.MarshalJSON()
	m.meta.Config = cfgJSON
	a := m.arch()
	d, err := newICData(a, train, spec, m.meta.Genes, cfg)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	if d.genes.Unknown > 0 {
		m.Note("stack: %d of the %d training genes are not in the checkpoint's gene universe; their predictions are the query cells' own values", d.genes.Unknown, train.X.Cols)
	}
	if m.CheckpointDir != "" {
		if err := checkResume(m.CheckpointDir, m.meta); err != nil {
			return err
		}
	}
	backend, err := m.getBackend()
	if err != nil {
		return err
	}
	m.store = nn.NewStore(spec.Seed)
	m.embedExec, m.genExec, m.reconExec = nil, nil, nil
	swW, clsW := cfg.Float("sw_weight"), cfg.Float("ic_cls_weight")
	decay, every := cfg.Float("ic_ema_decay"), cfg.Int("ic_ema_every")
	modelFn := func(scope *gmodel.Scope, in []*Node) []*Node {
		return []*Node{a.icLoss(scope, in, d.nPrompt, swW, clsW, decay, every)}
	}
	opts := nn.TrainOptionsFrom(cfg, m.Runtime, spec.Seed)
	opts.Steps, opts.PeakLR = cfg.Int("ic_steps"), cfg.Float("ic_lr")
	opts.WarmupFrac, opts.WeightDecay = cfg.Float("ic_warmup_frac"), cfg.Float("ic_weight_decay")
	opts.InitFrom = baseDir
	opts.InitAliases = []nn.InitAlias{{From: teacherPrefix, To: "/"}}
	return m.train(ctx, backend, modelFn, d.batch, opts)
}

// preTrained returns the directory and model of the weights a
// post-training stage starts from (see Fit); tmp says the directory is a
// temporary copy for Fit to remove.
func (m *Model) preTrained(ctx context.Context, train *data.Dataset, spec tasks.PertSpec) (dir string, base *Model, tmp bool, err error) {
	switch {
	case m.store != nil && m.meta.Stage != "":
		if m.dir != "" {
			return m.dir, &Model{cfg: m.cfg, meta: m.meta}, false, nil
		}
		if dir, err = os.MkdirTemp("", "stack-pretrained-*"); err != nil {
			return "", nil, false, fmt.Errorf("stack: %w", err)
		}
		if err := m.save(dir); err != nil {
			os.RemoveAll(dir)
			return "", nil, false, err
		}
		return dir, &Model{cfg: m.cfg, meta: m.meta}, true, nil
	case m.InitFrom != "":
		b, err := Load(m.InitFrom)
		if err != nil {
			return "", nil, false, err
		}
		return m.InitFrom, b, false, nil
	}
	// No pre-trained weights: pre-train on the training cells (CP10k
	// pseudo-counts), one sample per context, into a directory beside the
	// post-training checkpoint (or a temporary one).
	if m.CheckpointDir != "" {
		dir = filepath.Join(m.CheckpointDir, "pretrain")
		if b, err := Load(dir); err == nil {
			return dir, b, false, nil
		}
	} else {
		if dir, err = os.MkdirTemp("", "stack-pretrain-*"); err != nil {
			return "", nil, false, fmt.Errorf("stack: %w", err)
		}
		tmp = true
	}
	scale, err := scaleOf(train)
	if err != nil {
		return "", nil, false, fmt.Errorf("stack: %w", err)
	}
	pseudo := &data.Dataset{Path: train.Path, X: toCP10k(train.X, scale), Obs: train.Obs, Var: train.Var}
	pre := &Model{cfg: m.cfg, Runtime: m.Runtime}
	pre.CheckpointDir = dir
	pre.InitFrom = ""
	if err := pre.fitPretrain(ctx, []*data.Dataset{pseudo}, []string{spec.ContextCol}, spec.Seed, true); err != nil {
		if tmp {
			os.RemoveAll(dir)
		}
		return "", nil, false, err
	}
	m.Note("stack: no pre-trained checkpoint was given; pre-trained %d steps on the training cells themselves (CP10k pseudo-counts) before in-context post-training", m.cfg.Int(nn.KeySteps))
	for _, n := range pre.Notes() {
		m.Note("%s", n)
	}
	return dir, pre, tmp, nil
}

// save writes the model's variables and meta file into dir.
func (m *Model) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	h, err := checkpoint.Build(m.store).Dir(dir).Keep(1).Done()
	if err != nil {
		return fmt.Errorf("stack: save %s: %w", dir, err)
	}
	if err := h.Save(); err != nil {
		return fmt.Errorf("stack: save %s: %w", dir, err)
	}
	return m.writeMeta(dir)
}
