package nn

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// toyTask is a tiny set-regression problem: y = mean over the set of x·w*
// broadcast back to each cell, learnt through one SetAttentionBlock.
func toyTask(seed uint64) (ModelFn, LossFn, Batcher) {
	const B, S, D = 4, 8, 6
	modelFn := func(scope *gmodel.Scope, in []*Node) []*Node {
		h := MLP(scope.In("enc"), in[0], 16, 1, 16, "layer")
		h = SetAttentionBlock(scope.In("block"), h, in[1], 2, 2, "rms")
		return []*Node{layers.Dense(scope.In("out"), h, true, D)}
	}
	lossFn := func(labels, preds []*Node) *Node {
		d := Sub(labels[0], preds[0])
		return ReduceAllMean(Square(d))
	}
	batcher := func(step int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
		rng := rand.New(rand.NewPCG(seed, uint64(step)))
		x := make([]float32, B*S*D)
		y := make([]float32, B*S*D)
		mask := make([]bool, B*S)
		for b := range B {
			mean := make([]float32, D)
			for i := range S * D {
				v := float32(rng.NormFloat64())
				x[b*S*D+i] = v
				mean[i%D] += v / S
			}
			for i := range S * D {
				y[b*S*D+i] = 2 * mean[i%D]
			}
			for i := range S {
				mask[b*S+i] = true
			}
		}
		return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, B, S, D), tensors.FromFlatDataAndDimensions(mask, B, S)},
			[]*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, B, S, D)}, nil
	}
	return modelFn, lossFn, batcher
}

func toyOpts() TrainOptions {
	return TrainOptions{Steps: 30, PeakLR: 3e-3, WarmupFrac: 0.1, FinalLRFrac: 0.3, ClipNorm: 1, WeightDecay: 1e-4, Seed: 7}
}

func runToy(t *testing.T, opts TrainOptions, ctx context.Context, cancelAt int64, cancel func()) History {
	t.Helper()
	modelFn, lossFn, batcher := toyTask(opts.Seed)
	if cancel != nil {
		inner := batcher
		batcher = func(step int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
			if step == cancelAt {
				cancel()
			}
			return inner(step)
		}
	}
	h, err := Train(ctx, goBackend(t), NewStore(opts.Seed), modelFn, lossFn, batcher, opts)
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	return h
}

// Same seed, same backend → bit-identical loss curve; the loss goes down;
// gradients are clipped to norm ≤ ClipNorm at the update (the recorded
// norm is before clipping, so we only check it is finite and positive).
func TestTrainDeterministicAndLearns(t *testing.T) {
	a := runToy(t, toyOpts(), context.Background(), -1, nil)
	b := runToy(t, toyOpts(), context.Background(), -1, nil)
	if !slices.Equal(a.Losses(), b.Losses()) {
		t.Fatalf("same seed, different loss curves:\n%v\n%v", a.Losses(), b.Losses())
	}
	o := toyOpts()
	o.Seed = 8
	c := runToy(t, o, context.Background(), -1, nil)
	if slices.Equal(a.Losses(), c.Losses()) {
		t.Fatal("different seeds gave the same loss curve")
	}
	l := a.Losses()
	first, last := (l[0]+l[1]+l[2])/3, (l[len(l)-1]+l[len(l)-2]+l[len(l)-3])/3
	if !(last < 0.7*first) {
		t.Fatalf("loss did not go down: first %.4f last %.4f", first, last)
	}
	for _, r := range a.Records {
		if !(r.GradNorm > 0) {
			t.Fatalf("step %d: grad norm %v", r.Step, r.GradNorm)
		}
	}
	if a.Records[0].LR != o.Schedule().At(0) || a.Records[0].Step != 1 {
		t.Fatalf("first record %+v", a.Records[0])
	}
}

// Interrupting a run (context cancelled during step 12) saves a checkpoint;
// resuming from it reproduces the uninterrupted loss curve exactly.
func TestTrainResume(t *testing.T) {
	full := runToy(t, toyOpts(), context.Background(), -1, nil)
	o := toyOpts()
	o.CheckpointDir = t.TempDir()
	o.CheckpointEvery = 5
	ctx, cancel := context.WithCancel(context.Background())
	part := runToy(t, o, ctx, 12, cancel)
	if len(part.Records) != 13 {
		t.Fatalf("interrupted run has %d records, want 13", len(part.Records))
	}
	resumed := runToy(t, o, context.Background(), -1, nil)
	if resumed.ResumedAt != 13 {
		t.Fatalf("resumed at %d, want 13", resumed.ResumedAt)
	}
	if !slices.Equal(full.Losses(), resumed.Losses()) {
		t.Fatalf("resumed curve differs:\nfull    %v\nresumed %v", full.Losses(), resumed.Losses())
	}
}

// A new stage initialised from a trained checkpoint (TrainOptions.InitFrom)
// starts from its weights with a fresh step counter: its first loss does
// not depend on the new store's initialisation seed (two stages seeded 1
// and 2 see bit-identical first losses, below the first loss of a fresh
// model), its steps count from 1, and a resumed stage keeps its own
// checkpoint.
func TestTrainStageInitFrom(t *testing.T) {
	pre := toyOpts()
	pre.CheckpointDir = t.TempDir()
	first := runToy(t, pre, context.Background(), -1, nil)
	stageOpts := toyOpts()
	stageOpts.Steps = 5
	stage := func(seed uint64) History {
		o := stageOpts
		o.InitFrom = pre.CheckpointDir
		o.CheckpointDir = t.TempDir()
		modelFn, lossFn, batcher := toyTask(toyOpts().Seed) // same batches as pre-training
		store := NewStore(seed)
		h, err := Train(context.Background(), goBackend(t), store, modelFn, lossFn, batcher, o)
		if err != nil {
			t.Fatal(err)
		}
		if used, unused, ok := InitReport(store); !ok || len(used) == 0 || len(unused) != 0 {
			t.Fatalf("InitReport: ok %v, %d used, unused %v", ok, len(used), unused)
		}
		return h
	}
	a, b := stage(1), stage(2)
	if a.Records[0].Step != 1 || a.Records[0].LR != stageOpts.Schedule().At(0) {
		t.Fatalf("stage does not start at step 1 with a fresh schedule: %+v", a.Records[0])
	}
	if a.Records[0].Loss != b.Records[0].Loss {
		t.Fatalf("first stage loss depends on the new seed: %v vs %v (weights not taken from the checkpoint)", a.Records[0].Loss, b.Records[0].Loss)
	}
	if !(a.Records[0].Loss < first.Records[0].Loss/2) {
		t.Fatalf("first stage loss %v is not below half the fresh model's first loss %v", a.Records[0].Loss, first.Records[0].Loss)
	}
	// Fresh models with seeds 1 and 2 differ at step 1 (the check above is
	// not vacuous).
	fresh := func(seed uint64) History {
		modelFn, lossFn, batcher := toyTask(toyOpts().Seed)
		h, err := Train(context.Background(), goBackend(t), NewStore(seed), modelFn, lossFn, batcher, TrainOptions{Steps: 1, PeakLR: 1e-3})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	f1, f2 := fresh(1), fresh(2)
	if f1.Records[0].Loss == f2.Records[0].Loss {
		t.Fatalf("fresh models of seeds 1 and 2 have equal first losses %v", f1.Records[0].Loss)
	}
	if err := InitStage(NewStore(0), t.TempDir()); err == nil {
		t.Fatal("InitStage from a directory without a checkpoint: want an error")
	}
}
