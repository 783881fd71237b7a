package nn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// TrainOptions configure Train.
type TrainOptions struct {
	Steps       int     // total optimizer steps (a resumed run continues up to Steps)
	PeakLR      float64 // peak learning rate of the schedule
	WarmupFrac  float64 // fraction of Steps spent in linear warm-up (STATE: 0.03)
	FinalLRFrac float64 // cosine annealing ends at FinalLRFrac·PeakLR (STATE: 0.3)
	ClipNorm    float64 // global gradient-norm clip; 0 = none
	WeightDecay float64 // AdamW decoupled weight decay

	// Seed makes initialisation deterministic (GoMLX initializer seed =
	// Seed+1, as 0 would mean "random"). Batches are the Batcher's business:
	// it must derive them from (its seed, step) alone.
	Seed uint64

	// CheckpointDir, if set, is loaded from (latest checkpoint: resume) and
	// saved to every CheckpointEvery steps (0 = only at the end), keeping
	// the Keep most recent (default 2). history.json beside it holds the
	// loss curve.
	CheckpointDir   string
	CheckpointEvery int
	Keep            int

	// Progress, if non-nil, receives a progress bar (redrawn in place on a
	// terminal, one line per LogEvery steps otherwise).
	Progress io.Writer
	LogEvery int

	// InitFrom, if set, is the directory of a trained checkpoint whose
	// model variables (everything outside the optimizer scope and the
	// global step) replace the fresh initialisation of the variables of
	// the same path and shape: a new training stage (e.g. STACK's
	// in-context post-training) with a fresh optimizer state and a step
	// counter from 0. Variables the new model has and the checkpoint lacks
	// keep their seeded initialisation (InitReport says which). When
	// CheckpointDir already holds a checkpoint (a resumed stage), that
	// checkpoint wins and InitFrom is not read.
	InitFrom string
	// InitAliases let variables the checkpoint does not hold start from
	// one it does: a variable whose path starts with From is offered the
	// checkpoint variable at To + the rest of its path (e.g. a teacher copy
	// "/teacher/…" starting as the student "/…"). Only with InitFrom.
	InitAliases []InitAlias
}

// Schedule returns the learning-rate schedule these options describe.
func (o TrainOptions) Schedule() Schedule {
	return Schedule{PeakLR: o.PeakLR, Warmup: int(o.WarmupFrac * float64(o.Steps)), Total: o.Steps, FinalFrac: o.FinalLRFrac}
}

// Batcher returns the training batch of a 0-based step. For resume to be
// exact it must be a pure function of step (and the Batcher's own seed).
type Batcher func(step int64) (inputs, labels []*tensors.Tensor, err error)

// ModelFn builds predictions from inputs (GoMLX graph-building function).
type ModelFn = func(scope *gmodel.Scope, inputs []*Node) []*Node

// LossFn builds the scalar loss from labels and predictions.
type LossFn = func(labels, predictions []*Node) *Node

// StepRecord is one point of the loss curve.
type StepRecord struct {
	Step     int64   `json:"step"` // 1-based global step after the update
	Loss     float64 `json:"loss"`
	LR       float64 `json:"lr"`
	GradNorm float64 `json:"grad_norm"`
	// Terms are the loss components the model recorded with LogTerm
	// (omitted when none).
	Terms map[string]float64 `json:"terms,omitempty"`
}

// History is the loss curve of a training run (across resumes).
type History struct {
	Records      []StepRecord `json:"records"`
	StepSeconds  []float64    `json:"-"` // wall time of each step of this process (compile steps included)
	ResumedAt    int64        `json:"resumed_at"`
	TrainSeconds float64      `json:"train_seconds"`
}

// Losses returns the loss column.
func (h History) Losses() []float64 {
	out := make([]float64, len(h.Records))
	for i, r := range h.Records {
		out[i] = r.Loss
	}
	return out
}

// NewStore returns an empty GoMLX store whose variable initialisation is
// seeded from seed (initializer seed = seed+1; GoMLX treats 0 as random).
func NewStore(seed uint64) *gmodel.Store {
	s := gmodel.NewStore()
	s.SetParam(gmodel.ParamInitialSeed, int64(seed&(1<<62-1))+1)
	return s
}

// Train runs (or resumes) a training loop: AdamW with warm-up + cosine
// schedule and global-norm clipping (ClippedAdamW), one Batcher batch per
// step, checkpoints and the loss curve in opts.CheckpointDir. On ctx
// cancellation it saves a checkpoint (when a directory is set) and returns
// ctx's error. Errors from a step carry the step number.
func Train(ctx context.Context, backend compute.Backend, store *gmodel.Store, modelFn ModelFn, lossFn LossFn,
	batcher Batcher, opts TrainOptions) (History, error) {
	var hist History
	if opts.Steps <= 0 {
		return hist, fmt.Errorf("train: steps must be > 0, got %d", opts.Steps)
	}
	sched := opts.Schedule()
	if err := sched.Validate(); err != nil {
		return hist, fmt.Errorf("train: %w", err)
	}
	if opts.Keep <= 0 {
		opts.Keep = 2
	}
	var ckpt *checkpoint.Handler
	if opts.CheckpointDir != "" {
		var err error
		ckpt, err = checkpoint.Build(store).Dir(opts.CheckpointDir).Keep(opts.Keep).Done()
		if err != nil {
			return hist, fmt.Errorf("train: checkpoint %s: %w", opts.CheckpointDir, err)
		}
		if b, err := os.ReadFile(filepath.Join(opts.CheckpointDir, "history.json")); err == nil {
			if err := json.Unmarshal(b, &hist); err != nil {
				return hist, fmt.Errorf("train: %s/history.json: %w", opts.CheckpointDir, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return hist, fmt.Errorf("train: %w", err)
		}
	}
	start := optimizer.GetGlobalStep(store)
	if opts.InitFrom != "" && start == 0 {
		if err := InitStage(store, opts.InitFrom, opts.InitAliases...); err != nil {
			return hist, fmt.Errorf("train: %w", err)
		}
	}
	kept := hist.Records[:0]
	for _, r := range hist.Records {
		if r.Step <= start {
			kept = append(kept, r)
		}
	}
	hist.Records = kept
	hist.ResumedAt = start

	opt := NewClippedAdamW(sched, opts.ClipNorm, opts.WeightDecay)
	trainer := train.NewTrainer(backend, store,
		func(scope *gmodel.Scope, spec any, inputs []*Node) []*Node { return modelFn(scope, inputs) },
		lossFn, opt, nil, nil)

	save := func() error {
		if ckpt == nil {
			return nil
		}
		if err := ckpt.Save(); err != nil {
			return fmt.Errorf("train: save checkpoint: %w", err)
		}
		b, _ := json.Marshal(hist)
		return fsutil.WriteFileAtomic(filepath.Join(opts.CheckpointDir, "history.json"), func(w io.Writer) error {
			_, err := w.Write(b)
			return err
		})
	}
	bar := newProgress(opts.Progress, opts.Steps, opts.LogEvery)
	t0 := time.Now()
	for step := start; step < int64(opts.Steps); step++ {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return hist, errors.Join(err, serr)
			}
			return hist, err
		}
		inputs, labels, err := batcher(step)
		if err != nil {
			return hist, fmt.Errorf("train: batch of step %d: %w", step, err)
		}
		ts := time.Now()
		metrics, err := trainer.TrainStep(train.Batch{Inputs: inputs, Labels: labels})
		if err != nil {
			return hist, fmt.Errorf("train: step %d: %w", step, err)
		}
		loss := scalarFloat(metrics[0])
		for _, m := range metrics {
			_ = m.FinalizeAll()
		}
		hist.StepSeconds = append(hist.StepSeconds, time.Since(ts).Seconds())
		rec := StepRecord{Step: step + 1, Loss: loss, LR: sched.At(step), GradNorm: readScalarVar(store, GradNormVariable),
			Terms: readTerms(store)}
		hist.Records = append(hist.Records, rec)
		bar.update(rec)
		if loss != loss { // NaN
			return hist, fmt.Errorf("train: loss is NaN at step %d (lr %.3g, grad norm %.3g)", step+1, rec.LR, rec.GradNorm)
		}
		if opts.CheckpointEvery > 0 && (step+1)%int64(opts.CheckpointEvery) == 0 && step+1 < int64(opts.Steps) {
			if err := save(); err != nil {
				return hist, err
			}
		}
	}
	hist.TrainSeconds += time.Since(t0).Seconds()
	bar.done()
	return hist, save()
}

func scalarFloat(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	panic(fmt.Sprintf("model: metric of dtype %s", t.DType()))
}

// readScalarVar reads a scalar variable of the optimizer scope (NaN if absent).
func readScalarVar(store *gmodel.Store, name string) float64 {
	v := store.GetVariable(gmodel.JoinPath(gmodel.ScopeSeparator, optimizer.Scope, name))
	if v == nil {
		return nan
	}
	t, err := v.Value()
	if err != nil || t.DType() != dtypes.Float32 && t.DType() != dtypes.Float64 {
		return nan
	}
	return scalarFloat(t)
}

var nan = math.NaN()

// progress draws a text progress bar.
type progress struct {
	w        io.Writer
	total    int
	every    int
	tty      bool
	start    time.Time
	last     time.Time
	lastStep int64
	first    int64
}

func newProgress(w io.Writer, total, every int) *progress {
	p := &progress{w: w, total: total, every: every, start: time.Now(), first: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	if p.every <= 0 {
		p.every = max(1, total/20)
	}
	return p
}

func (p *progress) update(r StepRecord) {
	if p.w == nil {
		return
	}
	if p.first < 0 {
		p.first = r.Step - 1
		p.start = time.Now()
	}
	now := time.Now()
	p.lastStep = r.Step
	if p.tty {
		if now.Sub(p.last) < 200*time.Millisecond && int(r.Step) != p.total {
			return
		}
	} else if r.Step%int64(p.every) != 0 && int(r.Step) != p.total {
		return
	}
	p.last = now
	const width = 24
	filled := int(float64(width) * float64(r.Step) / float64(p.total))
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	rate := float64(r.Step-p.first) / max(now.Sub(p.start).Seconds(), 1e-9)
	eta := time.Duration(float64(int64(p.total)-r.Step)/max(rate, 1e-9)) * time.Second
	line := fmt.Sprintf("step %d/%d [%s] loss %.4g lr %.2e |g| %.3g %.2f step/s eta %s",
		r.Step, p.total, bar, r.Loss, r.LR, r.GradNorm, rate, eta.Round(time.Second))
	if p.tty {
		fmt.Fprintf(p.w, "\r%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	if p.w != nil && p.tty {
		fmt.Fprintln(p.w)
	}
}
