// Command stackpaper times STACK pre-training steps at a configuration's
// shapes (default: the paper config over Stack-Large's 15,012 genes) on
// the backend of $GOMLX_BACKEND, on a fixed synthetic batch
// (stack.StepBench), and writes the step times with the memory estimate
// (stack.EstimateStepMemory) to OUT/stack-<config>.json. It links neither
// libhdf5 nor any data file, so the binary runs on a bare GPU machine with
// only a PJRT plugin (docs/gpu.md). Used by bench/gpu/stack-paper.sh.
//
//	GOMLX_BACKEND=xla:cuda stackpaper -config paper -steps 20 -out $OUT
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/model/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "stackpaper:", err)
		os.Exit(1)
	}
}

type result struct {
	Config      string             `json:"config"`
	Set         string             `json:"set"`
	Genes       int                `json:"genes"`
	Backend     string             `json:"backend"`
	Device      string             `json:"device"`
	Params      int                `json:"params"`
	Cells       int                `json:"cells_per_step"`
	CompileS    float64            `json:"first_step_s"`
	StepMS      []float64          `json:"step_ms"`
	MedianMS    float64            `json:"median_step_ms"`
	CellsPerS   float64            `json:"cells_per_s"`
	Losses      []float64          `json:"losses"`
	MemoryBytes stack.StepMemory   `json:"memory_estimate_bytes"`
	MemoryGiB   map[string]float64 `json:"memory_estimate_gib"`
}

func run() error {
	named := flag.String("config", "paper", "named config of stack.Params")
	set := flag.String("set", "", "overrides key=value;…")
	genes := flag.Int("genes", 15012, "genes (Stack-Large: 15,012)")
	steps := flag.Int("steps", 20, "timed steps after the first (compile) step")
	out := flag.String("out", ".", "output directory")
	flag.Parse()
	cfg, err := stack.Params.Resolve(*named, *set)
	if err != nil {
		return err
	}
	mem := stack.EstimateStepMemory(cfg, *genes)
	gib := func(b int64) float64 { return float64(b) / (1 << 30) }
	r := result{Config: *named, Set: *set, Genes: *genes, Backend: nn.BackendConfig(), MemoryBytes: mem,
		MemoryGiB: map[string]float64{"params": gib(mem.Params), "grads": gib(mem.Grads), "adamw": gib(mem.Optimizer),
			"activations": gib(mem.Activations), "inputs": gib(mem.Inputs), "total": gib(mem.Total())}}
	fmt.Printf("stackpaper: config %s (%s), %d genes: estimated step memory %.1f GiB (params %.2f, grads %.2f, AdamW %.2f, activations %.1f, inputs %.2f)\n",
		*named, *set, *genes, gib(mem.Total()), gib(mem.Params), gib(mem.Grads), gib(mem.Optimizer), gib(mem.Activations), gib(mem.Inputs))
	backend, err := nn.NewBackend()
	if err != nil {
		return err
	}
	r.Device = backend.Description()
	sb, err := stack.NewStepBench(cfg, *genes, backend, 1)
	if err != nil {
		return err
	}
	r.Params, r.Cells = sb.Params, sb.Cells
	t0 := time.Now()
	loss, err := sb.Step()
	if err != nil {
		return fmt.Errorf("first step: %w", err)
	}
	r.CompileS = time.Since(t0).Seconds()
	r.Losses = append(r.Losses, loss)
	fmt.Printf("stackpaper: %s on %s: %d parameters, %d cells/step; first step (compile) %.1fs, loss %.4f\n", *named, r.Device, r.Params, r.Cells, r.CompileS, loss)
	for i := range *steps {
		t := time.Now()
		loss, err := sb.Step()
		if err != nil {
			return fmt.Errorf("step %d: %w", i+2, err)
		}
		r.StepMS = append(r.StepMS, float64(time.Since(t).Microseconds())/1e3)
		r.Losses = append(r.Losses, loss)
	}
	s := slices.Clone(r.StepMS)
	slices.Sort(s)
	if len(s) > 0 {
		r.MedianMS = s[len(s)/2]
		r.CellsPerS = float64(r.Cells) / (r.MedianMS / 1e3)
	}
	fmt.Printf("stackpaper: median step %.1f ms over %d steps (%.0f cells/s)\n", r.MedianMS, len(s), r.CellsPerS)
	b, _ := json.MarshalIndent(r, "", " ")
	return os.WriteFile(filepath.Join(*out, "stack-"+*named+".json"), b, 0o644)
}
