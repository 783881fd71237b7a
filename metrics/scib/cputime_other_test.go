//go:build !unix

package scib

import "time"

// processCPU is not measured off unix: benchmarks report cpu-s/op = 0.
func processCPU() time.Duration { return 0 }
