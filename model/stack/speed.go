package stack

import (
	"fmt"
	"math/rand/v2"

	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
)

// StepBench is one pre-training step (forward, backward, AdamW with
// global-norm clipping, as nn.Train runs it) on a fixed synthetic batch at
// a configuration's shapes: what BenchmarkPretrainStep, the PyTorch twin
// comparison and the GPU step-time program (cmd/stackpaper) time.
// Data loading is excluded.
type StepBench struct {
	trainer *train.Trainer
	batch   train.Batch
	// Params is the number of trainable parameters (ParamCount).
	Params int
	// Cells is the number of cells per step (sets × set size).
	Cells int
}

// NewStepBench builds the step of configuration c over genes genes on
// backend, with weights and batch seeded by seed. The first Step compiles.
func NewStepBench(c hparams.Config, genes int, backend compute.Backend, seed uint64) (*StepBench, error) {
	if err := validateConfig(c); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	a := archFrom(c, genes)
	store := nn.NewStore(seed)
	sched := nn.Schedule{PeakLR: c.Float(nn.KeyLR), Warmup: 1, Total: max(c.Int(nn.KeySteps), 2), FinalFrac: c.Float(nn.KeyFinalLRFrac)}
	opt := nn.NewClippedAdamW(sched, c.Float(nn.KeyGradClip), c.Float(nn.KeyWeightDecay))
	swWeight := c.Float("sw_weight")
	tr := train.NewTrainer(backend, store, func(scope *gmodel.Scope, _ any, in []*Node) []*Node {
		return []*Node{a.pretrainLoss(scope, in, swWeight)}
	}, func(_, p []*Node) *Node { return p[0] }, opt, nil, nil)
	return &StepBench{trainer: tr, batch: train.Batch{Inputs: syntheticBatch(a, seed+1)},
		Params: ParamCount(c, genes, false), Cells: a.batch * a.setSize}, nil
}

// Step runs one training step and returns its loss.
func (s *StepBench) Step() (float64, error) {
	m, err := s.trainer.TrainStep(s.batch)
	if err != nil {
		return 0, err
	}
	var loss float64
	switch v := m[0].Value().(type) {
	case float32:
		loss = float64(v)
	case float64:
		loss = v
	}
	for _, t := range m {
		_ = t.FinalizeAll()
	}
	return loss, nil
}

// syntheticBatch is a fixed pre-training batch (seeded): counts 1–5 in
// 30 % of the entries, all cells real, all genes present, each set's
// masked genes at rate 0.4; SW inputs as the training batcher draws them.
// The PyTorch twin builds the same kind of batch (stack_torch.py
// synthetic_batch).
func syntheticBatch(a arch, seed uint64) []*tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	B, S, G := a.batch, a.setSize, a.genes
	counts := make([]float32, B*S*G)
	for i := range counts {
		if rng.Float64() < 0.3 {
			counts[i] = float32(1 + rng.IntN(5))
		}
	}
	cells := make([]bool, B*S)
	for i := range cells {
		cells[i] = true
	}
	genes := make([]bool, B*G)
	masked := make([]bool, B*G)
	for i := range genes {
		genes[i] = true
		masked[i] = rng.Float64() < 0.4
	}
	idx, proj, prior := swInputs(rng, B, S, a.swCells, a.dim(), a.swProj)
	return []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(counts, B, S, G), tensors.FromFlatDataAndDimensions(logFactorials(counts), B, S, G),
		tensors.FromFlatDataAndDimensions(cells, B, S),
		tensors.FromFlatDataAndDimensions(genes, B, G), tensors.FromFlatDataAndDimensions(masked, B, G), idx, proj, prior}
}

// StepMemory is an estimate of the device memory of one pre-training step
// in float32 (bytes).
type StepMemory struct {
	Params, Grads, Optimizer int64 // weights, their gradients, AdamW's two moments
	Activations              int64 // tensors kept for the backward pass
	Inputs                   int64 // the batch (counts, ln counts!, masks, SW inputs)
}

// Total is the sum of the parts.
func (m StepMemory) Total() int64 { return m.Params + m.Grads + m.Optimizer + m.Activations + m.Inputs }

// EstimateStepMemory counts, for configuration c over genes genes, the
// float32 tensors one pre-training step holds: parameters (ParamCount),
// gradients, AdamW moments (2×), the inputs, and the activations a
// reverse-mode pass keeps, per cell (N = batch_size·set_size cells; D =
// n_tokens·token_dim, T tokens, h/hi inter/intra heads, C = set_size):
//
//	input and decoder side   19·G   (counts, ln y!, log1p, masked input;
//	                                 2G decoder output, softmax, μ, θ and
//	                                 ~10 G-sized NB-NLL intermediates)
//	gene projection, decoder  6·D
//	per layer                26·D + 2·hi·T² + 2·h·C
//	                                (intra: x+pos, QKV, context, output,
//	                                 residual, LayerNorm; scores and
//	                                 probabilities hi·T² each; inter: QKV,
//	                                 context, output, residual, LayerNorm,
//	                                 h·C² per set = h·C per cell, twice;
//	                                 MLP: 4D up, 4D GELU, down, residual,
//	                                 LayerNorm)
//
// It is an estimate of what an unfused reverse pass stores (XLA may fuse
// and drop some of it; the go backend keeps more temporaries): the
// intra-cell attention maps dominate at the paper size (hi·T² = 80,000
// floats per cell per layer).
func EstimateStepMemory(c hparams.Config, genes int) StepMemory {
	a := archFrom(c, genes)
	const f32 = 4
	N := int64(a.batch * a.setSize)
	G, D, T := int64(genes), int64(a.dim()), int64(a.tokens)
	perLayer := 26*D + 2*int64(a.intraHeads)*T*T + 2*int64(a.heads)*int64(a.setSize)
	perCell := 19*G + 6*D + int64(a.layers)*perLayer
	p := int64(ParamCount(c, genes, false)) * f32
	in := N*G*2*f32 + N + int64(a.batch)*G*2 + int64(a.batch*a.swCells)*D*f32 + D*int64(a.swProj)*f32
	return StepMemory{Params: p, Grads: p, Optimizer: 2 * p, Activations: N * perCell * f32, Inputs: in}
}
