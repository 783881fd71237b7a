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
	"github.com/cellbench/cellbench/model/stack"
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
			fsys, label, err := CheckpointFS(dirFiles(b, dir, "ckpt"), state.MetaFile)
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

// BenchmarkPredictInContext is the in-context panel's work natively (the
// browser runs the same Session.PredictInContext compiled to wasm;
// bench/reports/web.md compares them) on a STACK checkpoint post-trained
// for in-context prediction, named by CELLBENCH_BENCH_STACK_CKPT (skipped
// without it): Kang (kang-muscat), prompt = FCGR3A+ Monocytes' stim cells,
// query = CD14+ Monocytes' controls, seed 0. Reported (medians):
// generate-s (with the prompt, graph compilation included on the first
// iteration only as in a fresh page it is in every one: each iteration
// loads the checkpoint anew), generate-noprompt-s, load-s, read-s, score-s.
func BenchmarkPredictInContext(b *testing.B) {
	dir := os.Getenv("CELLBENCH_BENCH_STACK_CKPT")
	if dir == "" {
		b.Skip("CELLBENCH_BENCH_STACK_CKPT (an in-context STACK checkpoint directory) not set")
	}
	const name = "kang_muscat_example_sce.h5ad"
	raw, err := os.ReadFile(filepath.Join(data.DefaultDataDir(), name))
	if err != nil {
		b.Skipf("%s not available: %v", name, err)
	}
	fsys, label, err := CheckpointFS(dirFiles(b, dir, "ckpt"), stack.MetaFile)
	if err != nil {
		b.Fatal(err)
	}
	o := InContextOptions{PertCol: "group_id", ContextCol: "cluster_id", Control: "ctrl", Perturbation: "stim",
		PromptContext: "FCGR3A+ Monocytes", QueryContext: "CD14+ Monocytes", Profile: "vcc"}
	var gen, genNo, load, read, score []float64
	for b.Loop() {
		var s Session
		res, err := s.PredictInContext(context.Background(), fsys, label, File{Name: name, Bytes: raw}, o, nil)
		if err != nil {
			b.Fatal(err)
		}
		gen = append(gen, res.Variants[0].GenerateS)
		genNo = append(genNo, res.Variants[1].GenerateS)
		load = append(load, res.Timings.LoadS)
		read = append(read, res.Timings.ReadS)
		score = append(score, res.Timings.ScoreS)
	}
	b.ReportMetric(median(gen), "generate-s")
	b.ReportMetric(median(genNo), "generate-noprompt-s")
	b.ReportMetric(median(load), "load-s")
	b.ReportMetric(median(read), "read-s")
	b.ReportMetric(median(score), "score-s")
}
