package sct

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

func TestStepTimesProbe(t *testing.T) {
	if os.Getenv("SCT_PROBE") == "" {
		t.Skip()
	}
	cfg, err := Params.Resolve(os.Getenv("SCT_CFG"), os.Getenv("SCT_SET"))
	if err != nil {
		t.Fatal(err)
	}
	G := 1024
	n := 120
	dense := make([]float32, n*G)
	for i := range dense {
		if i%3 == 0 {
			dense[i] = float32(i%7 + 1)
		}
	}
	d := &data.Dataset{X: data.NewCSRFromDense(n, G, dense)}
	for j := range G {
		d.Var.Index = append(d.Var.Index, fmt.Sprint("g", j))
	}
	cfg = cfg.With("steps", 6)
	m := New(cfg)
	if err := m.Fit(context.Background(), d, tasks.ImputeSpec{Bins: 5}); err != nil {
		t.Fatal(err)
	}
	t.Logf("steps %v", m.hist.StepSeconds)
	_ = nn.History{}
}
