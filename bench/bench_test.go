package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/results"
)

// synthData is a log1p dataset made by code: contexts A, B, C × (control,
// p1…p4, p1+p2, p3+p4), 20 cells each, 30 genes; perturbation pk raises
// gene k by 1.5 (a combination raises both), context c shifts gene 10+c.
func synthData() *data.Dataset {
	rng := rand.New(rand.NewPCG(1, 2))
	const genes = 30
	var dense []float32
	var names, perts, ctxs []string
	for ci, c := range []string{"A", "B", "C"} {
		for _, p := range []string{"control", "p1", "p2", "p3", "p4", "p1+p2", "p3+p4"} {
			for k := 0; k < 20; k++ {
				row := make([]float32, genes)
				for j := range row {
					if rng.Float64() < 0.5 {
						row[j] = float32(rng.Float64() * 2)
					}
				}
				row[10+ci] += 1
				for _, q := range strings.Split(p, "+") {
					if q != "control" {
						row[int(q[1]-'0')] += 1.5
					}
				}
				dense = append(dense, row...)
				names = append(names, fmt.Sprintf("%s-%s-%d", c, p, k))
				perts = append(perts, p)
				ctxs = append(ctxs, c)
			}
		}
	}
	var gn []string
	for j := 0; j < genes; j++ {
		gn = append(gn, fmt.Sprintf("g%d", j))
	}
	return &data.Dataset{
		X:   data.NewCSRFromDense(len(perts), genes, dense),
		Obs: data.Frame{Index: names, Columns: []*data.Column{data.NewCategorical("perturbation", perts), data.NewCategorical("cell_type", ctxs)}},
		Var: data.Frame{Index: gn},
	}
}

const synthSuite = `
name: synth
datasets:
  - name: synth
    file: synth.h5ad
    pert_col: perturbation
    context_col: cell_type
    control: control
tasks:
  - name: pert-fewshot
    holdout: A
    train_fraction: 0.5
    datasets: [synth]
  - name: pert-zeroshot
    datasets: [synth]
  - name: pert-combo
    datasets: [synth]
models: [control, perturbation-mean, context-mean, linear]
seeds: [0, 1, 2, 3]
eval:
  metrics: [pearson_delta, mae, discrimination_score_l1, pdisc_norm, overlap_at_N]
  max_cells: 10
  max_controls: 15
`

func synthLoad(spec DatasetSpec, _ string) (*Prepared, error) {
	return PrepareDataset(spec, synthData())
}

func newSynthRunner(t testing.TB, out string) *Runner {
	s, err := ParseSuite([]byte(synthSuite))
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{Suite: s, SuiteYAML: []byte(synthSuite), Out: out, Load: synthLoad, GitSHA: "test"}
}

// canonical renders records as sorted JSON lines (order-free comparison;
// wall time and peak memory vary between runs and are zeroed).
func canonical(recs []results.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		r.WallS, r.PeakMem = 0, 0
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

func TestResultJSONNonFinite(t *testing.T) {
	in := results.Record{Metric: "pearson_delta", Value: math.NaN(), CILow: math.Inf(-1), CIHigh: math.Inf(1), WallS: 1.5, Seed: 3}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value":"NaN"`) || !strings.Contains(string(b), `"ci_low":"-Inf"`) {
		t.Fatalf("encoding %s", b)
	}
	var out results.Record
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(out.Value) || !math.IsInf(out.CILow, -1) || !math.IsInf(out.CIHigh, 1) || out.WallS != 1.5 || out.Seed != 3 {
		t.Errorf("round trip %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"value":"nope"}`), &out); err == nil {
		t.Error("bad float string: want an error")
	}
}

func TestJournalIgnoresUnfinishedAndTornLines(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, "shard-0-of-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := j.WriteCell("a", []results.Record{{Metric: "m", Value: 1}, {Metric: "m2", Value: math.NaN()}}, ""); err != nil {
		t.Fatal(err)
	}
	// An unfinished cell (records, no done line) then a torn line.
	line, _ := json.Marshal(results.JournalLine{Kind: "r", Cell: "b", Attempt: "x", R: &results.Record{Metric: "m"}})
	j.f.Write(append(line, '\n'))
	j.f.Write([]byte(`{"k":"done","cell":"b","at`))
	j.Close()
	st, err := results.LoadStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Order) != 1 || st.Order[0] != "a" || len(st.Done["a"]) != 2 || st.Unfinished != 1 {
		t.Fatalf("store %+v", st)
	}
	// Reopening cuts the torn line; the retried cell b counts once, and its
	// earlier partial record is not mixed in (different attempt).
	j, err = OpenJournal(dir, "shard-0-of-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := j.WriteCell("b", []results.Record{{Metric: "m", Value: 2}}, ""); err != nil {
		t.Fatal(err)
	}
	j.Close()
	st, err = results.LoadStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Order) != 2 || len(st.Done["b"]) != 1 || st.Done["b"][0].Value != 2 {
		t.Fatalf("after retry: %+v", st)
	}
}

func TestRunResumeAndRefuse(t *testing.T) {
	out := t.TempDir()
	r := newSynthRunner(t, out)
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Cells != 48 || sum.Ran != 48 {
		t.Fatalf("summary %+v", sum)
	}
	recs, err := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != sum.Records {
		t.Fatalf("results.jsonl has %d records, run wrote %d", len(recs), sum.Records)
	}
	for _, rec := range recs {
		if rec.Backend != "cpu" || rec.GitSHA != "test" || rec.Suite != "synth" || rec.Split == "" {
			t.Fatalf("record identity: %+v", rec)
		}
	}
	// Splits are on disk, one per (dataset, task, seed).
	files, _ := filepath.Glob(filepath.Join(out, "splits", "synth", "*", "seed-*.json"))
	if len(files) != 12 {
		t.Errorf("%d split files, want 12", len(files))
	}
	// Without --resume a finished run is not overwritten.
	if _, err := newSynthRunner(t, out).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("rerun without resume: %v", err)
	}
	r2 := newSynthRunner(t, out)
	r2.Resume = true
	sum2, err := r2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Ran != 0 || sum2.Skipped != 48 {
		t.Fatalf("resume of a finished run: %+v", sum2)
	}
	recs2, _ := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	if !reflect.DeepEqual(canonical(recs), canonical(recs2)) {
		t.Error("resume changed the results")
	}
}

func TestShardsMergeEqualsFullRun(t *testing.T) {
	full := t.TempDir()
	if _, err := newSynthRunner(t, full).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, _ := results.ReadJSONL(filepath.Join(full, "results.jsonl"))
	base := t.TempDir()
	var dirs []string
	seen := map[int]bool{}
	for i := 0; i < 3; i++ {
		d := filepath.Join(base, fmt.Sprintf("shard-%d", i))
		r := newSynthRunner(t, d)
		r.Shard = Shard{i, 3}
		sum, err := r.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Cells != 16 {
			t.Fatalf("shard %d has %d cells, want 16", i, sum.Cells)
		}
		for _, c := range r.Shard.Select(r.Suite.Grid()) {
			if seen[c.Index] {
				t.Fatalf("cell %d in two shards", c.Index)
			}
			seen[c.Index] = true
		}
		dirs = append(dirs, d)
	}
	merged := filepath.Join(base, "merged")
	st, _, err := Merge(merged, append(dirs, dirs[0])) // a repeated input is deduplicated
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Order) != 48 || st.Duplicates != 16 {
		t.Fatalf("merged %d cells, %d duplicates", len(st.Order), st.Duplicates)
	}
	got, _ := results.ReadJSONL(filepath.Join(merged, "results.jsonl"))
	if !reflect.DeepEqual(canonical(want), canonical(got)) {
		t.Error("merged shards differ from the full run")
	}
}

func TestParseShardAndSuiteErrors(t *testing.T) {
	for _, s := range []string{"3/3", "-1/2", "a/b", "1", "0/0"} {
		if _, err := ParseShard(s); err == nil {
			t.Errorf("ParseShard(%q): want an error", s)
		}
	}
	bad := []string{
		strings.Replace(synthSuite, "models: [control,", "models: [nope,", 1),
		strings.Replace(synthSuite, "datasets: [synth]\n  - name: pert-zeroshot", "datasets: [other]\n  - name: pert-zeroshot", 1),
		strings.Replace(synthSuite, "name: pert-combo", "name: pert-nothing", 1),
		strings.Replace(synthSuite, "seeds: [0, 1, 2, 3]", "seeds: [0, 0]", 1),
		synthSuite + "\nunknown_field: 1\n",
	}
	for i, b := range bad {
		if _, err := ParseSuite([]byte(b)); err == nil {
			t.Errorf("bad suite %d: want an error", i)
		}
	}
}

// TestKillNineLosesNothing runs the runner in a child process (this test
// binary, re-executed), kills it with SIGKILL at several moments, resumes
// each time and finally compares with an uninterrupted run: every cell is
// done exactly once and the records are identical.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns and kills child processes")
	}
	ref := t.TempDir()
	if _, err := newSynthRunner(t, ref).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, _ := results.ReadJSONL(filepath.Join(ref, "results.jsonl"))

	out := t.TempDir()
	sawUnfinished, sawStaged := false, false
	for kill := 0; kill < 4; kill++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v")
		cmd.Env = append(os.Environ(), "CELLBENCH_KILL_CHILD_OUT="+out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until a few more cells are done, then kill at once.
		before := doneCells(t, out)
		deadline := time.Now().Add(20 * time.Second)
		for doneCells(t, out) < before+3+kill && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(kill*7) * time.Millisecond) // vary where in a cell the kill lands
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		st, err := results.LoadStore(out)
		if err != nil {
			t.Fatalf("after kill %d: journal unreadable: %v", kill, err)
		}
		if st.Duplicates != 0 {
			t.Fatalf("after kill %d: %d duplicate cells", kill, st.Duplicates)
		}
		sawUnfinished = sawUnfinished || st.Unfinished > 0
		// Every done cell names a complete artifact of its own; a kill
		// mid-artifact leaves files only in the staging directory.
		checkArtifacts(t, out)
		staged := stagedFiles(out)
		sawStaged = sawStaged || staged > 0
		t.Logf("kill %d: %d cells done, %d unfinished, %d staged artifact files", kill, len(st.Order), st.Unfinished, staged)
	}
	r := newSynthRunner(t, out)
	r.Resume = true
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped == 0 || sum.Ran == 0 {
		t.Fatalf("final resume: %+v (the kills should have left some cells done and some not)", sum)
	}
	st, _ := results.LoadStore(out)
	if len(st.Order) != 48 || st.Duplicates != 0 {
		t.Fatalf("final: %d cells, %d duplicates", len(st.Order), st.Duplicates)
	}
	got, _ := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	if !reflect.DeepEqual(canonical(want), canonical(got)) {
		t.Errorf("killed-and-resumed run differs from the uninterrupted one (%d vs %d records)", len(got), len(want))
	}
	if !sawUnfinished {
		t.Log("no kill landed between a cell's records and its done line this time")
	}
	if !sawStaged {
		t.Log("no kill landed while an artifact was being staged this time")
	}
	// Artifacts: one complete directory per done cell, byte-identical to
	// the uninterrupted run's, and nothing left in staging.
	if n := checkArtifacts(t, out); n != 48 {
		t.Errorf("%d done cells with artifacts, want 48", n)
	}
	if n := stagedFiles(out); n != 0 {
		t.Errorf("%d files left in staging after the final resume", n)
	}
	wantArt, gotArt := artifactFiles(t, ref), artifactFiles(t, out)
	if len(gotArt) != len(wantArt) {
		t.Errorf("%d artifact files, uninterrupted run has %d", len(gotArt), len(wantArt))
	}
	for k, b := range wantArt {
		if !bytes.Equal(gotArt[k], b) {
			t.Errorf("artifact %s differs from the uninterrupted run's", k)
		}
	}
}

// TestKillChild is the child of TestKillNineLosesNothing; it does nothing
// unless started by it. It slows each cell between its records and its
// done line, and after each staged artifact file, so kills often land
// there.
func TestKillChild(t *testing.T) {
	out := os.Getenv("CELLBENCH_KILL_CHILD_OUT")
	if out == "" {
		t.Skip("child process of TestKillNineLosesNothing only")
	}
	crashHook = func() { time.Sleep(15 * time.Millisecond) }
	artifactHook = func() { time.Sleep(5 * time.Millisecond) }
	r := newSynthRunner(t, out)
	r.Resume = true
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func doneCells(t *testing.T, out string) int {
	st, err := results.LoadStore(out)
	if err != nil {
		t.Fatal(err)
	}
	return len(st.Order)
}
