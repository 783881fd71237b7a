package stack

import (
	"fmt"
	"syscall"
	"testing"
)

// BenchmarkPretrainStep times one pre-training step (StepBench: forward,
// backward, AdamW with clipping) on fixed synthetic inputs, after a
// compile step, and reports CPU time per step too.
// bench/reports/stack-speed.md compares it with the PyTorch twin
// (bench/peers/stack_torch.py) at the same shapes.
func BenchmarkPretrainStep(b *testing.B) {
	for _, tc := range []struct {
		name, named, set string
		genes            int
	}{
		{"tiny", "tiny", "", 200},
		{"default", "default", "", 1724},
		// paper-shaped cells (100 tokens × 16) at a CPU-sized set and batch
		{"mid", "paper", "n_layers=2;set_size=64;batch_size=2;sw_cells=32", 2000},
	} {
		b.Run(fmt.Sprintf("config=%s,genes=%d", tc.name, tc.genes), func(b *testing.B) {
			cfg, err := Params.Resolve(tc.named, tc.set)
			if err != nil {
				b.Fatal(err)
			}
			s, err := NewStepBench(cfg, tc.genes, goRuntime(b).Backend, 1)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Step(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			c0 := cpuSeconds()
			for range b.N {
				if _, err := s.Step(); err != nil {
					b.Fatal(err)
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
