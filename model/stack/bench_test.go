package stack

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/cellbench/cellbench/model/nn"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
)

// syntheticBatch is a fixed pre-training batch of Poisson-like counts
// (seeded), all genes present, one masked subset per set at rate 0.4.
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

// newStepTrainer returns a GoMLX trainer of one pre-training step (the
// loss and optimizer nn.Train uses) and a fixed batch.
func newStepTrainer(tb testing.TB, named, set string, genes int) (*train.Trainer, train.Batch) {
	cfg, err := Params.Resolve(named, set)
	if err != nil {
		tb.Fatal(err)
	}
	a := archFrom(cfg, genes)
	backend := goRuntime(tb).Backend
	store := nn.NewStore(1)
	opt := nn.NewClippedAdamW(nn.Schedule{PeakLR: 1e-4, Warmup: 1, Total: 1000, FinalFrac: 0.01}, 1, 3e-3)
	tr := train.NewTrainer(backend, store, func(scope *gmodel.Scope, _ any, in []*Node) []*Node {
		return []*Node{a.pretrainLoss(scope, in, 0.01)}
	}, func(_, p []*Node) *Node { return p[0] }, opt, nil, nil)
	return tr, train.Batch{Inputs: syntheticBatch(a, 2)}
}

// BenchmarkPretrainStep times one pre-training step (forward, backward,
// AdamW with clipping) on fixed synthetic inputs, after a compile step.
// bench/reports/stack-speed.md compares it with the PyTorch twin
// (bench/peers/stack_torch.py) at the same shapes.
func BenchmarkPretrainStep(b *testing.B) {
	for _, tc := range []struct{ name, named, set string; genes int }{
		{"tiny", "tiny", "", 200},
		{"default", "default", "", 1724},
	} {
		b.Run(fmt.Sprintf("config=%s,genes=%d", tc.name, tc.genes), func(b *testing.B) {
			tr, batch := newStepTrainer(b, tc.named, tc.set, tc.genes)
			if _, err := tr.TrainStep(batch); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			c0 := cpuSeconds()
			for range b.N {
				m, err := tr.TrainStep(batch)
				if err != nil {
					b.Fatal(err)
				}
				for _, t := range m {
					_ = t.FinalizeAll()
				}
			}
			b.ReportMetric((cpuSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuSeconds is the process's user + system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)*1e-6
}
