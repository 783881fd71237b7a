package state

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/gomlx/core/tensors"
)

// BenchmarkTrainStep times one ST optimizer step (forward, energy loss,
// backward, clipped AdamW) on fixed random inputs of the default config's
// shapes, after 5 warm-up steps (graph compilation excluded). The metric
// ms/step is the median over 40 steps; bench/peers/state_torch.py times the
// same configuration in PyTorch (bench/reports/state-speed.md).
//
//	GOEXPERIMENT=simd go test -run ^$ -bench TrainStep ./model/state/
func BenchmarkTrainStep(b *testing.B) {
	backend, err := nn.NewBackend()
	if err != nil {
		b.Fatal(err)
	}
	for _, sh := range []struct{ batch, set, genes int }{{8, 32, 500}, {8, 64, 2000}} {
		b.Run(fmt.Sprintf("batch=%d,set=%d,genes=%d", sh.batch, sh.set, sh.genes), func(b *testing.B) {
			cfg, _ := Params.Resolve("", "")
			const perts, warm, timed = 10, 5, 40
			a := archFrom(cfg, sh.genes, perts)
			B, S, G := sh.batch, sh.set, sh.genes
			rng := rand.New(rand.NewPCG(1, 2))
			ctrl, target := make([]float32, B*S*G), make([]float32, B*S*G)
			for i := range ctrl {
				ctrl[i], target[i] = 3*rng.Float32(), 3*rng.Float32()
			}
			pert := make([]float32, B*perts)
			mask := make([]bool, B*S)
			for i := range B {
				pert[i*perts+i%perts] = 1
			}
			for i := range mask {
				mask[i] = true
			}
			batcher := func(int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
				return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ctrl, B, S, G), tensors.FromFlatDataAndDimensions(pert, B, perts),
						tensors.FromFlatDataAndDimensions(mask, B, S)},
					[]*tensors.Tensor{tensors.FromFlatDataAndDimensions(target, B, S, G), tensors.FromFlatDataAndDimensions(mask, B, S)}, nil
			}
			modelFn, lossFn := a.trainFns()
			var medians []float64
			for range b.N {
				h, err := nn.Train(context.Background(), backend, nn.NewStore(0), modelFn, lossFn, batcher,
					nn.TrainOptions{Steps: warm + timed, PeakLR: 3e-4, WarmupFrac: 0.03, FinalLRFrac: 0.3, ClipNorm: 10, WeightDecay: 5e-4})
				if err != nil {
					b.Fatal(err)
				}
				s := slices.Clone(h.StepSeconds[warm:])
				slices.Sort(s)
				medians = append(medians, s[len(s)/2])
			}
			slices.Sort(medians)
			b.ReportMetric(1e3*medians[len(medians)/2], "ms/step")
		})
	}
}
