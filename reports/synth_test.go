package reports

import (
	"fmt"
	"math/rand/v2"

	"github.com/cellbench/cellbench/results"
)

// synthRecords builds a small run by code: 3 perturbation models × 2 seeds ×
// 4 perturbations × 3 metrics on one task, with "_agg" rows that are the
// means of the per-perturbation rows. Values are drawn from PCG(1, 2) around
// a per-model level so that models differ visibly.
func synthRecords() []results.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	models := []struct {
		name  string
		level float64
	}{{"control", 0.05}, {"perturbation-mean", 0.45}, {"linear-ridge", 0.6}}
	perts := []string{"SGK1", "MAPK1", "MAP2K3", "MAP4K3"}
	metricsList := []string{"pearson_delta", "mae", "discrimination_score_l1"}
	var out []results.Record
	for _, m := range models {
		for seed := uint64(0); seed < 2; seed++ {
			for _, metric := range metricsList {
				sum := 0.0
				for _, p := range perts {
					v := m.level + 0.1*rng.NormFloat64()
					if metric == "mae" {
						v = 0.3 - 0.2*m.level + 0.02*rng.NormFloat64()
					}
					sum += v
					out = append(out, results.Record{Suite: "quick", Dataset: "fixture_tiny_perturbation", Split: "fewshot-k562",
						Task: "pert-fewshot", Model: m.name, Seed: seed, Context: "k562", Perturbation: p,
						Metric: metric, Value: v, N: 30, WallS: 0.5, GitSHA: "abc1234", Backend: "go"})
				}
				out = append(out, results.Record{Suite: "quick", Dataset: "fixture_tiny_perturbation", Split: "fewshot-k562",
					Task: "pert-fewshot", Model: m.name, Seed: seed, Perturbation: AggregatePerturbation,
					Metric: metric, Value: sum / float64(len(perts)), N: len(perts), WallS: 1.5, GitSHA: "abc1234", Backend: "go"})
			}
		}
	}
	return out
}

// synthScibRecords builds embed-integration records for two embeddings.
func synthScibRecords() []results.Record {
	vals := map[string]map[string]float64{
		"pca": {"silhouette_label": 0.55, "isolated_labels": 0.6, "nmi_kmeans": 0.7, "ari_kmeans": 0.5, "clisi": 0.95,
			"silhouette_batch": 0.8, "ilisi": 0.1, "kbet_per_label": 0.2, "graph_connectivity": 0.85, "pcr_comparison": 0},
		"harmony": {"silhouette_label": 0.58, "isolated_labels": 0.62, "nmi_kmeans": 0.75, "ari_kmeans": 0.6, "clisi": 0.97,
			"silhouette_batch": 0.9, "ilisi": 0.4, "kbet_per_label": 0.5, "graph_connectivity": 0.93, "pcr_comparison": 0.7},
	}
	var out []results.Record
	for model, ms := range vals {
		for metric, v := range ms {
			out = append(out, results.Record{Suite: "quick", Dataset: "pbmc_symphony", Split: "all", Task: "embed-integration",
				Model: model, Seed: 0, Perturbation: AggregatePerturbation, Metric: metric, Value: v, N: 1200})
		}
	}
	return out
}

// synthImputeRecords builds impute-genes records at three masking ratios,
// the ratio carried in the Split field as "mask=0.15".
func synthImputeRecords() []results.Record {
	var out []results.Record
	for _, model := range []string{"knn-smoothing", "sct-tiny"} {
		for i, ratio := range []float64{0.15, 0.3, 0.8} {
			for seed := uint64(0); seed < 2; seed++ {
				base := 0.35
				if model == "sct-tiny" {
					base = 0.4
				}
				out = append(out, results.Record{Suite: "quick", Dataset: "pbmc3k", Split: fmt.Sprintf("mask=%g", ratio),
					Task: "impute-genes", Model: model, Seed: seed, Perturbation: AggregatePerturbation, Metric: "mcc",
					Value: base - 0.1*float64(i) + 0.01*float64(seed), N: 1000, MaskRatio: ratio})
			}
		}
	}
	return out
}
