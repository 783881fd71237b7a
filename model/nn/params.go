package nn

import (
	"fmt"
	"io"
	"math"

	"github.com/gomlx/compute"

	"github.com/cellbench/cellbench/model/hparams"
)

// Training hyperparameter keys shared by every neural model: declared once
// here (TrainParams), read once (TrainOptionsFrom). A model chooses only
// their defaults.
const (
	KeySteps           = "steps"
	KeyLR              = "lr"
	KeyWarmupFrac      = "warmup_frac"
	KeyFinalLRFrac     = "final_lr_frac"
	KeyWeightDecay     = "weight_decay"
	KeyGradClip        = "grad_clip"
	KeyCheckpointEvery = "checkpoint_every"
)

// TrainDefaults are one model's defaults for the shared training settings.
type TrainDefaults struct {
	Steps           int
	LR              float64
	WarmupFrac      float64
	FinalLRFrac     float64
	WeightDecay     float64
	GradClip        float64
	CheckpointEvery int
}

// TrainParams returns the shared training hyperparameters with d's
// defaults, in a fixed order, for a model to append to its hparams.Table.
func TrainParams(d TrainDefaults) []hparams.Param {
	return []hparams.Param{
		{Key: KeySteps, Default: d.Steps, Doc: "optimizer steps", Check: hparams.Positive},
		{Key: KeyLR, Default: d.LR, Doc: "peak learning rate (AdamW)", Check: finitePositive},
		{Key: KeyWarmupFrac, Default: d.WarmupFrac, Doc: "fraction of steps in linear warm-up", Check: fraction},
		{Key: KeyFinalLRFrac, Default: d.FinalLRFrac, Doc: "cosine annealing ends at this fraction of lr", Check: fraction},
		{Key: KeyWeightDecay, Default: d.WeightDecay, Doc: "AdamW decoupled weight decay", Check: finiteNonNegative},
		{Key: KeyGradClip, Default: d.GradClip, Doc: "global gradient-norm clip; 0 = none", Check: finiteNonNegative},
		{Key: KeyCheckpointEvery, Default: d.CheckpointEvery, Doc: "save a checkpoint every N steps when training into a directory; 0 = at the end only", Check: hparams.NonNegative},
	}
}

// The checks of the shared training settings: a value Train or the
// schedule would refuse is refused when the configuration is resolved,
// before a command creates its checkpoint directory.
func finitePositive(v any) error {
	if x, ok := v.(float64); ok && x > 0 && !math.IsInf(x, 1) {
		return nil
	}
	return fmt.Errorf("want a finite value > 0")
}

func finiteNonNegative(v any) error {
	if x, ok := v.(float64); ok && x >= 0 && !math.IsInf(x, 1) {
		return nil
	}
	return fmt.Errorf("want a finite value ≥ 0")
}

func fraction(v any) error {
	if x, ok := v.(float64); ok && x >= 0 && x <= 1 {
		return nil
	}
	return fmt.Errorf("want a fraction in [0, 1]")
}

// TrainOptionsFrom returns the TrainOptions of a resolved configuration
// whose table includes TrainParams, with the runtime's checkpoint
// directory, progress writer and initial checkpoint, and seed.
func TrainOptionsFrom(c hparams.Config, rt Runtime, seed uint64) TrainOptions {
	return TrainOptions{
		Steps: c.Int(KeySteps), PeakLR: c.Float(KeyLR), WarmupFrac: c.Float(KeyWarmupFrac),
		FinalLRFrac: c.Float(KeyFinalLRFrac), ClipNorm: c.Float(KeyGradClip), WeightDecay: c.Float(KeyWeightDecay),
		Seed: seed, CheckpointDir: rt.CheckpointDir, CheckpointEvery: c.Int(KeyCheckpointEvery),
		Progress: rt.Progress, InitFrom: rt.InitFrom,
	}
}

// Runtime is how and where a neural model runs, as opposed to what it is
// (its hparams.Config). Models embed it; the zero value trains in memory
// on NewBackend().
type Runtime struct {
	// Backend overrides NewBackend() (tests, benchmarks).
	Backend compute.Backend
	// CheckpointDir, if set before Fit, makes Fit train into (and resume
	// from) that directory and write the model's meta file there at the end.
	CheckpointDir string
	// Progress, if set, receives Fit's progress bar.
	Progress io.Writer
	// InitFrom, if set, is a trained checkpoint directory whose model
	// weights seed a new training stage (fresh optimizer state and step
	// counter; see TrainOptions.InitFrom).
	InitFrom string
}

// ResolveBackend returns rt.Backend, or NewBackend().
func (rt Runtime) ResolveBackend() (compute.Backend, error) {
	if rt.Backend != nil {
		return rt.Backend, nil
	}
	return NewBackend()
}

// CachedBackend is ResolveBackend that keeps the backend it creates in
// rt.Backend, so a model builds its graphs on one backend.
func (rt *Runtime) CachedBackend() (compute.Backend, error) {
	b, err := rt.ResolveBackend()
	if err != nil {
		return nil, err
	}
	rt.Backend = b
	return b, nil
}
