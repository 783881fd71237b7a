package sct

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// stepShape is one timed training shape.
type stepShape struct {
	config                    string
	genes, cells, batch, step int
}

// stepTimes trains a configuration on fixed random inputs shaped like
// bench/peers/sct_torch.py's (bins 0–4 with ~10 % non-zero, pad beyond
// the panel, a fixed stratified mask: 1 % of zeros, 15 % of non-zeros) and
// returns the wall time of every step (the first includes compilation) and
// the parameter count.
func stepTimes(tb testing.TB, backend compute.Backend, sh stepShape) ([]float64, int) {
	tb.Helper()
	cfg, err := Params.Resolve(sh.config, fmt.Sprintf("cells=%d;batch_size=%d", sh.cells, sh.batch))
	if err != nil {
		tb.Fatal(err)
	}
	a, err := archFrom(cfg, sh.genes, 5, false)
	if err != nil {
		tb.Fatal(err)
	}
	B, L := sh.batch, a.seqLen()
	rng := rand.New(rand.NewPCG(1, 2))
	tok, tgt, mask := make([]int32, B*L), make([]int32, B*L), make([]bool, B*L)
	for i := range tok {
		if i%a.genesPad >= a.genes {
			tok[i] = a.padToken()
			continue
		}
		if rng.Float64() < 0.1 {
			tok[i] = int32(1 + rng.IntN(4))
		}
		tgt[i] = tok[i]
		if p := rng.Float64(); tok[i] == 0 && p < 0.01 || tok[i] > 0 && p < 0.15 {
			mask[i], tok[i] = true, a.maskToken()
		}
	}
	batcher := func(int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
		return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(tok, B, L)},
			[]*tensors.Tensor{tensors.FromFlatDataAndDimensions(tgt, B, L), tensors.FromFlatDataAndDimensions(mask, B, L)}, nil
	}
	modelFn := func(scope *gmodel.Scope, in []*Node) []*Node { return []*Node{a.forward(scope, in[0], nil)} }
	store := nn.NewStore(0)
	h, err := nn.Train(context.Background(), backend, store, modelFn, lossFn, batcher,
		nn.TrainOptions{Steps: sh.step, PeakLR: 1e-3, WarmupFrac: 0, FinalLRFrac: 1, ClipNorm: 1})
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for v := range store.IterVariables() {
		if v.Trainable && !strings.HasPrefix(v.Path(), "/optimizers") && !strings.Contains(v.Path(), "Adam") {
			n += v.Shape().Size()
		}
	}
	return h.StepSeconds, n
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkTrainStep times one sCT optimizer step (forward, masked
// cross-entropy, backward, clipped Adam) on fixed random inputs, median
// over 8 steps after 2 warm-up steps (compilation excluded). The shapes are
// the tiny config (8 cells × 256 genes) and the default config (50 cells ×
// 512 genes), batch 2; bench/peers/sct_torch.py times the same shapes in
// PyTorch (bench/reports/sct-speed.md).
//
//	GOEXPERIMENT=simd go test -run ^$ -bench TrainStep -benchtime 1x ./model/sct/
func BenchmarkTrainStep(b *testing.B) {
	backend, err := nn.NewBackend()
	if err != nil {
		b.Fatal(err)
	}
	for _, sh := range []stepShape{{"tiny", 256, 8, 2, 10}, {"default", 512, 50, 2, 10}} {
		b.Run(fmt.Sprintf("config=%s,cells=%d,genes=%d,batch=%d", sh.config, sh.cells, sh.genes, sh.batch), func(b *testing.B) {
			var meds []float64
			for range b.N {
				st, _ := stepTimes(b, backend, sh)
				meds = append(meds, median(st[2:]))
			}
			b.ReportMetric(1e3*median(meds), "ms/step")
		})
	}
}

// TestStepProbe times a shape given as SCT_PROBE=config:genes:cells:batch:steps
// on $GOMLX_BACKEND and logs every step's wall time and the parameter count
// (used on the GPU for the paper-setting memory run; skipped otherwise).
func TestStepProbe(t *testing.T) {
	spec := os.Getenv("SCT_PROBE")
	if spec == "" {
		t.Skip("set SCT_PROBE=config:genes:cells:batch:steps")
	}
	f := strings.Split(spec, ":")
	if len(f) != 5 {
		t.Fatalf("SCT_PROBE %q", spec)
	}
	var v [4]int
	for i := range v {
		var err error
		if v[i], err = strconv.Atoi(f[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	backend, err := nn.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	st, n := stepTimes(t, backend, stepShape{f[0], v[0], v[1], v[2], v[3]})
	fmt.Printf("SCT_PROBE %s backend=%s params=%d first_step_s=%.3f median_step_s=%.4f steps=%v\n", spec, nn.BackendConfig(), n, st[0], median(st[min(2, len(st)-1):]), st)
}
