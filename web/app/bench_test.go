package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/model/state"
	"github.com/cellbench/cellbench/tasks"
)

// BenchmarkPredict is the model panel's work natively (the browser runs
// the same Session.Predict compiled to wasm; bench/reports/web.md compares
// them): a tiny ST (cellbench train --config tiny, trained in the set-up)
// predicts 100 cells of every (context, perturbation) group of a dataset.
// Reported: predict-s (all groups), first-group-s (graph compilation
// included), load-s (checkpoint from memory); medians over the iterations.
func BenchmarkPredict(b *testing.B) {
	for _, name := range []string{"fixture_tiny_perturbation_300cells.h5ad", "perturbench_devel_norman19_mcfaline23.h5ad"} {
		b.Run("data="+name, func(b *testing.B) {
			path := filepath.Join(data.DefaultDataDir(), name)
			raw, err := os.ReadFile(path)
			if err != nil {
				b.Skipf("%s not available: %v", name, err)
			}
			d, err := h5ad.ReadBytes(raw, name)
			if err != nil {
				b.Fatal(err)
			}
			x, _ := data.ToLog1p(d, "auto", data.DefaultTargetSum)
			d.X, d.Scale = x, data.Log1p
			cfg, _ := state.Params.Resolve("tiny", "")
			dir := b.TempDir()
			e, _ := model.Lookup("state")
			m, _ := e.NewPerturbation(cfg, nn.Runtime{CheckpointDir: dir})
			if err := m.Fit(context.Background(), d, tasks.PertSpec{PertCol: "perturbation", ContextCol: "cell_type", Control: "control"}); err != nil {
				b.Fatal(err)
			}
			var files []File
			entries, _ := os.ReadDir(dir)
			for _, en := range entries {
				bs, _ := os.ReadFile(filepath.Join(dir, en.Name()))
				files = append(files, File{Name: en.Name(), Bytes: bs})
			}
			fsys, label, err := CheckpointFS(files, state.MetaFile)
			if err != nil {
				b.Fatal(err)
			}
			var predict, first, load []float64
			b.ResetTimer()
			for b.Loop() {
				var s Session
				res, err := s.Predict(context.Background(), fsys, label, File{Name: name, Bytes: raw}, PredictOptions{NCells: 100}, nil)
				if err != nil {
					b.Fatal(err)
				}
				predict = append(predict, res.Timings.PredictS)
				first = append(first, res.Timings.FirstGroupS)
				load = append(load, res.Timings.LoadS)
			}
			b.ReportMetric(median(predict), "predict-s")
			b.ReportMetric(median(first), "first-group-s")
			b.ReportMetric(median(load), "load-s")
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
