package nn

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Schedule is a learning-rate schedule: linear warm-up from PeakLR/Warmup
// to PeakLR over the first Warmup steps, then cosine annealing from PeakLR
// down to FinalFrac·PeakLR at step Total, constant after that.
//
//	lr(s) = PeakLR·(s+1)/Warmup                                   s < Warmup
//	lr(s) = PeakLR·(f + (1−f)·½(1 + cos(π·p))),  p = (s−Warmup)/(Total−Warmup) ∈ [0,1]
//
// s is the 0-based step (the global step before the update). STATE trains
// with 3 % warm-up and cosine annealing to 30 % of the peak (FinalFrac 0.3).
type Schedule struct {
	PeakLR    float64
	Warmup    int
	Total     int
	FinalFrac float64
}

// Validate checks PeakLR > 0, 0 ≤ Warmup ≤ Total, Total > 0, FinalFrac ∈ [0,1].
func (s Schedule) Validate() error {
	if !(s.PeakLR > 0) || s.Total <= 0 || s.Warmup < 0 || s.Warmup > s.Total || s.FinalFrac < 0 || s.FinalFrac > 1 {
		return fmt.Errorf("bad learning-rate schedule %+v (want lr > 0, 0 ≤ warmup ≤ steps, steps > 0, final_frac in [0,1])", s)
	}
	return nil
}

// At returns lr(step) in float64.
func (s Schedule) At(step int64) float64 {
	if step < int64(s.Warmup) {
		return s.PeakLR * float64(step+1) / float64(s.Warmup)
	}
	p := 1.0
	if s.Total > s.Warmup {
		p = float64(step-int64(s.Warmup)) / float64(s.Total-s.Warmup)
	}
	p = min(max(p, 0), 1)
	return s.PeakLR * (s.FinalFrac + (1-s.FinalFrac)*0.5*(1+math.Cos(math.Pi*p)))
}

// Graph builds lr(step) in the graph; step is an integer scalar node (the
// global step before the update). The result has the given dtype.
func (s Schedule) Graph(step *Node, dtype dtypes.DType) *Node {
	g := step.Graph()
	st := ConvertDType(step, dtypes.Float64)
	warm := Scalar(g, dtypes.Float64, float64(max(s.Warmup, 1)))
	warmLR := MulScalar(Div(AddScalar(st, 1), warm), s.PeakLR)
	span := float64(max(s.Total-s.Warmup, 1))
	p := DivScalar(AddScalar(st, -float64(s.Warmup)), span)
	p = MinScalar(MaxScalar(p, 0), 1)
	cosLR := MulScalar(AddScalar(MulScalar(OnePlus(Cos(MulScalar(p, math.Pi))), 0.5*(1-s.FinalFrac)), s.FinalFrac), s.PeakLR)
	lr := Where(LessThan(st, Scalar(g, dtypes.Float64, float64(s.Warmup))), warmLR, cosLR)
	return ConvertDType(lr, dtype)
}
