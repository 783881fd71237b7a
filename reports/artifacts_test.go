package reports

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/bench"
	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/results"
)

// fixtureSuite runs perturbation baselines on the real 300-cell
// perturbation fixture (k562 held out: 4 test perturbations) and the PCA
// of the 300-cell integration fixture.
const fixtureSuite = `
name: fixture
datasets:
  - name: fixture
    file: fixture-perturbation
    pert_col: perturbation
    context_col: cell_type
    control: control
  - name: fixture-integration
    file: fixture-integration
    embed: {name: PCA10, pca: 10}
tasks:
  - name: pert-zeroshot
    holdout: k562
    datasets: [fixture]
  - name: embed-integration
    datasets: [fixture-integration]
models: [perturbation-mean, linear]
seeds: [0, 1]
eval:
  metrics: [discrimination_score_l1, pdisc_norm, overlap_at_N, mae, pearson_delta, de_nsig_real]
`

// runFixture runs fixtureSuite into a temporary directory and returns its
// records and artifacts; it skips without the shared data.
func runFixture(t *testing.T) ([]results.Record, []results.ArtifactRef, string) {
	t.Helper()
	for _, n := range []string{"fixture-perturbation", "fixture-integration"} {
		if _, err := data.NewRegistry("").Path(n); err != nil {
			t.Skipf("real data not available: %v", err)
		}
	}
	s, err := bench.ParseSuite([]byte(fixtureSuite))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := (&bench.Runner{Suite: s, Out: out, GitSHA: "test"}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := results.LoadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := results.LoadArtifacts(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 6 { // 2 models × 2 seeds + 1 embedding × 2 seeds
		t.Fatalf("%d artifacts, want 6", len(refs))
	}
	return recs, refs, out
}

// TestExtrasFromArtifacts checks the figure inputs drawn from a real run's
// artifacts against its records: the heat map's per-row scores equal the
// runner's discrimination_score_l1 records (deltas from the artifact vs
// metrics/pert inside the runner), the default perturbation has the most
// real DE genes (de_nsig_real records), and the options select what they
// name or fail.
func TestExtrasFromArtifacts(t *testing.T) {
	recs, refs, _ := runFixture(t)
	ex, notes, err := ExtrasFromArtifacts(recs, refs, ArtifactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.LFC) != 1 || len(ex.Discrimination) != 1 || len(ex.Embeddings) != 1 || len(notes) != 0 {
		t.Fatalf("extras: %d LFC, %d heat maps, %d embeddings; notes %v", len(ex.LFC), len(ex.Discrimination), len(ex.Embeddings), notes)
	}
	d := ex.Discrimination[0]
	model := d.Model
	// The default model is the leaderboard's rank 1.
	var lb bytes.Buffer
	if err := Leaderboard(recs, &lb, LeaderboardOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lb.String(), "| 1    | "+model) {
		t.Errorf("heat map model %s is not rank 1 on the leaderboard:\n%s", model, lb.String())
	}
	if len(d.Perturbations) != 4 || d.Context != "k562" || d.Seeds[0] != 0 || d.Task != "pert-zeroshot" {
		t.Fatalf("heat map input %v %q seeds %v", d.Perturbations, d.Context, d.Seeds)
	}
	_, score, err := DiscriminationMatrix(d)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(model string, seed uint64, pert, metric string) float64 {
		for _, r := range recs {
			if r.Model == model && r.Seed == seed && r.Perturbation == pert && r.Metric == metric && r.Task == "pert-zeroshot" {
				return r.Value
			}
		}
		t.Fatalf("no record %s seed %d %s %s", model, seed, pert, metric)
		return 0
	}
	for i, p := range d.Perturbations {
		// 7 stored significant digits in the deltas; the rank-based score
		// is exact unless two distances tie to that precision.
		if want := rec(model, 0, p, "discrimination_score_l1"); math.Abs(score[i]-want) > 1e-9 {
			t.Errorf("%s: heat map score %v, discrimination_score_l1 record %v", p, score[i], want)
		}
	}
	l := ex.LFC[0]
	best := -1.0
	for _, p := range d.Perturbations {
		best = math.Max(best, rec(model, 0, p, "de_nsig_real"))
	}
	if got := rec(model, 0, l.Perturbation, "de_nsig_real"); got != best || l.Model != model || !strings.Contains(l.Note, "most real significant") {
		t.Errorf("LFC perturbation %s has %v real DE genes, the most is %v; note %q", l.Perturbation, got, best, l.Note)
	}
	e := ex.Embeddings[0]
	if e.Name != "PCA10" || e.Cells != 300 || e.Dims != 10 || len(e.Scores) != 300 || e.Seeds[0] != 0 {
		t.Errorf("embedding input %s %d×%d, %d points, seeds %v", e.Name, e.Cells, e.Dims, len(e.Scores), e.Seeds)
	}

	// Options: model, seed and perturbation are honoured.
	other := "linear"
	if model == "linear" {
		other = "perturbation-mean"
	}
	ex2, _, err := ExtrasFromArtifacts(recs, refs, ArtifactOptions{Model: other, Seed: 1, HasSeed: true, Perturbation: "SGK1"})
	if err != nil {
		t.Fatal(err)
	}
	if ex2.LFC[0].Model != other || ex2.LFC[0].Perturbation != "SGK1" || ex2.LFC[0].Seeds[0] != 1 ||
		ex2.Discrimination[0].Model != other || ex2.Embeddings[0].Seeds[0] != 1 {
		t.Errorf("options not honoured: %s %s %v / %s / %v", ex2.LFC[0].Model, ex2.LFC[0].Perturbation, ex2.LFC[0].Seeds,
			ex2.Discrimination[0].Model, ex2.Embeddings[0].Seeds)
	}
	for _, o := range []ArtifactOptions{{Model: "nope"}, {Seed: 7, HasSeed: true}, {Perturbation: "NOPE"}} {
		if _, _, err := ExtrasFromArtifacts(recs, refs, o); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}

	// Build places the figures in their task's section.
	rep, err := Build(recs, Options{Run: "fixture", Extras: ex})
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]string{}
	for _, s := range rep.Sections {
		for _, f := range s.Figures {
			where[f.Name] = s.ID
		}
	}
	for prefix, section := range map[string]string{"lfc_pert-zeroshot_fixture": "pert-zeroshot_fixture_holdout-k562",
		"discrimination_pert-zeroshot_fixture":                  "pert-zeroshot_fixture_holdout-k562",
		"embedding_embed-integration_fixture-integration_PCA10": "scib_fixture-integration_label-cell_type-batch-donor"} {
		found := false
		for name, sec := range where {
			if strings.HasPrefix(name, prefix) {
				found = true
				if sec != section {
					t.Errorf("figure %s in section %s, want %s", name, sec, section)
				}
			}
		}
		if !found {
			t.Errorf("no figure %s* (figures: %v)", prefix, where)
		}
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html.String(), "http://") || strings.Contains(html.String(), "https://") || strings.Contains(html.String(), "<script") {
		t.Error("index.html must be self-contained (no network reference, no script)")
	}
}
