package reports

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/results"
)

func TestLeaderboardRanksAndIntervals(t *testing.T) {
	var rs []results.Record
	add := func(model string, seed uint64, metric string, v float64) {
		rs = append(rs, results.Record{Suite: "s", Task: "pert-fewshot", Dataset: "d", Split: "holdout=k562", Model: model,
			Seed: seed, Perturbation: "_agg", Metric: metric, Value: v, GitSHA: "abc", Backend: "cpu"})
	}
	// "good" is better on both metrics (higher discrimination, lower mae);
	// "bad" has a NaN mae on one seed.
	for s := uint64(0); s < 3; s++ {
		add("good", s, "discrimination_score_l1", 0.8+0.01*float64(s))
		add("bad", s, "discrimination_score_l1", 0.5)
		add("good", s, "mae", 0.1)
		v := 0.2
		if s == 2 {
			v = math.NaN()
		}
		add("bad", s, "mae", v)
	}
	var buf bytes.Buffer
	if err := Leaderboard(rs, &buf, LeaderboardOptions{Title: "T"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# T", "## pert-fewshot — d (holdout=k562)",
		"| rank | model", "discrimination_score_l1", "mae",
		// mean of 0.80, 0.81, 0.82 is 0.81 (hand-computed), bold as best;
		// its bootstrap interval lies within [0.8, 0.82].
		"| 1    | good", "**0.81** [0.8",
		"| 2    | bad",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("leaderboard lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "| good") > strings.Index(out, "| bad") {
		t.Error("good should rank above bad")
	}
	if err := Leaderboard(nil, &buf, LeaderboardOptions{}); err == nil {
		t.Error("no records: want an error")
	}
	if err := Leaderboard(rs, &buf, LeaderboardOptions{Metrics: []string{"nope"}}); err == nil {
		t.Error("absent metrics: want an error")
	}
}

func TestRankModelsTiesAndNaN(t *testing.T) {
	vals := map[string]float64{"a": 1, "b": 1, "c": math.NaN(), "d": 2}
	r := rankModels([]string{"a", "b", "c", "d"}, []string{"pearson_delta"}, func(m, _ string) (float64, bool) { return vals[m], true })
	// Hand-computed: d best (1), a and b tie for 2–3 (2.5), NaN last (4).
	want := map[string]float64{"d": 1, "a": 2.5, "b": 2.5, "c": 4}
	for m, w := range want {
		if r[m] != w {
			t.Errorf("rank of %s = %v, want %v", m, r[m], w)
		}
	}
}

// TestLeaderboardPromptVariants: the prompt variants of an in-context model
// are rows of their own (results.ModelVariant), beside models without a
// prompt, and each is a baseline entry of its own.
func TestLeaderboardPromptVariants(t *testing.T) {
	var rs []results.Record
	add := func(model, prompt string, seed uint64, v float64) {
		rs = append(rs, results.Record{Suite: "s", Task: "incontext", Dataset: "d", Split: "holdout=by-seed", Model: model, Prompt: prompt,
			Seed: seed, Perturbation: "_agg", Metric: "pearson_delta", Value: v, GitSHA: "abc", Backend: "cpu"})
	}
	for s := uint64(0); s < 2; s++ {
		add("stack", "matched", s, 0.6)
		add("stack", "none", s, 0.2)
		add("stack", "wrong", s, 0.1)
		add("linear", "", s, 0.4)
	}
	var buf bytes.Buffer
	if err := Leaderboard(rs, &buf, LeaderboardOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"| 1    | stack [prompt=matched] | **0.6**", "| 2    | linear", "| 3    | stack [prompt=none]", "| 4    | stack [prompt=wrong]"} {
		if !strings.Contains(out, want) {
			t.Errorf("leaderboard lacks %q:\n%s", want, out)
		}
	}
	bl := NewBaseline(rs, "s", "test", DefaultBaselineDefaults)
	var models []string
	for _, m := range bl.Metrics {
		models = append(models, m.Model)
	}
	if strings.Join(models, ",") != "linear,stack [prompt=matched],stack [prompt=none],stack [prompt=wrong]" {
		t.Errorf("baseline metric models %v", models)
	}
}

// Cell typing outside a scIB table (celltype-zeroshot) gets a table of its
// own: one row per embedding ordered by balanced accuracy, the mean over
// seeds of the mean over held-out batches (Context ""; the per-batch
// records do not enter it), with a bootstrap interval over seeds. The
// typing columns of an embed-integration group stay in its scIB table,
// and typing records alone make a leaderboard.
func TestLeaderboardTypingTables(t *testing.T) {
	var rs []results.Record
	add := func(task, model, context string, seed uint64, metric string, v float64) {
		rs = append(rs, results.Record{Suite: "s", Task: task, Dataset: "pbmc", Split: "label=cell_type,batch=donor", Model: model,
			Seed: seed, Context: context, Perturbation: "_agg", Metric: metric, Value: v, GitSHA: "abc", Backend: "cpu"})
	}
	for s := uint64(0); s < 3; s++ {
		for _, m := range []string{"knn_accuracy", "knn_balanced_accuracy"} {
			// per-batch values far from the means: they must not enter the table
			add("celltype-zeroshot", "PCA50", "donor1", s, m, 0.1)
			add("celltype-zeroshot", "PCA50", "", s, m, 0.9)
			add("celltype-zeroshot", "stack", "", s, m, 0.60+0.01*float64(s))
		}
	}
	var buf bytes.Buffer
	if err := Leaderboard(rs, &buf, LeaderboardOptions{Title: "T"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// stack: mean of 0.60, 0.61, 0.62 = 0.61 (hand-computed).
	for _, want := range []string{"## celltype-zeroshot — pbmc (label=cell_type,batch=donor)", "| embedding | knn_accuracy",
		"| PCA50     | **0.9** [0.9, 0.9]", "| stack     | 0.61 [0.6"} {
		if !strings.Contains(out, want) {
			t.Errorf("leaderboard lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "| PCA50") > strings.Index(out, "| stack") {
		t.Error("PCA50 should come first")
	}
	// With a scIB metric in the group the typing columns join the scIB
	// table instead.
	for s := uint64(0); s < 3; s++ {
		add("embed-integration", "PCA50", "", s, "knn_accuracy", 0.8)
		add("embed-integration", "PCA50", "", s, "nmi_kmeans", 0.7)
	}
	buf.Reset()
	if err := Leaderboard(rs, &buf, LeaderboardOptions{Title: "T"}); err != nil {
		t.Fatal(err)
	}
	out = buf.String()
	if strings.Contains(out, "## embed-integration — pbmc") || !strings.Contains(out, "## embed-integration: scIB metrics") || strings.Count(out, "## celltype-zeroshot") != 1 {
		t.Errorf("embed-integration typing outside its scIB table:\n%s", out)
	}
}
