package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// A cell that fails (here: its evaluation returns an error, or panics,
// for two of the four models) is journalled with its reason; the run
// finishes the other cells, returns *CellsFailedError, and --resume
// retries only the failed cells, counting attempts; once fixed, the
// resumed run equals an uninterrupted one.
func TestFailedCellsDoNotStopTheRun(t *testing.T) {
	out := t.TempDir()
	broken := map[string]string{"linear": "error", "control": "panic"}
	fail := true
	// brokenRunner's Evaluate knows the model of each cell from the order
	// in which the runner visits the cells it has to run (grid order).
	brokenRunner := func(resume bool) *Runner {
		r := newSynthRunner(t, out)
		r.Resume = resume
		st, err := results.LoadStore(out)
		if err != nil {
			t.Fatal(err)
		}
		var todo []string
		for _, c := range r.Suite.Grid() {
			if _, done := st.Done[c.Key]; !done {
				todo = append(todo, c.Model.Name)
			}
		}
		next := 0
		r.Evaluate = func(ctx context.Context, o *tasks.PertOutput, spec tasks.PertSpec, ev EvalSpec) ([]MetricValue, error) {
			model := todo[next]
			next++
			if fail {
				switch broken[model] {
				case "error":
					return nil, errors.New("evaluation exploded\non two lines")
				case "panic":
					panic("model graph: shape mismatch")
				}
			}
			return EvaluatePert(ctx, o, spec, ev)
		}
		return r
	}
	sum, err := brokenRunner(false).Run(context.Background())
	var cf *CellsFailedError
	if !errors.As(err, &cf) {
		t.Fatalf("want *CellsFailedError, got %v", err)
	}
	// 3 tasks × 4 seeds × 2 broken models of 4.
	if sum.Failed != 24 || sum.Ran != 24 || len(cf.Failed) != 24 {
		t.Fatalf("summary %+v, %d failures", sum, len(cf.Failed))
	}
	reasons := map[string]bool{}
	for _, f := range cf.Failed {
		reasons[f.Model+": "+f.Reason] = true
	}
	for _, want := range []string{"linear: evaluation exploded on two lines", "control: panic: model graph: shape mismatch"} {
		if !reasons[want] {
			t.Errorf("no failure %q in %v", want, reasons)
		}
	}
	if sum.Status == nil || sum.Status.Done != 24 || len(sum.Status.Failed) != 24 || sum.Status.Complete() {
		t.Errorf("status %+v", sum.Status)
	}
	recs, _ := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	for _, rec := range recs {
		if broken[rec.Model] != "" {
			t.Fatalf("results.jsonl holds a record of a failed cell: %+v", rec)
		}
	}
	// Resume with the fault still there: only the failed cells run again
	// (attempt 2), and fail again.
	sum2, err := brokenRunner(true).Run(context.Background())
	if !errors.As(err, &cf) || sum2.Ran != 0 || sum2.Failed != 24 || sum2.Skipped != 24 {
		t.Fatalf("second attempt: %+v, %v", sum2, err)
	}
	st, _ := results.LoadStore(out)
	for _, k := range st.FailOrder {
		if st.Failed[k].Attempts != 2 {
			t.Fatalf("cell %s: %d attempts, want 2", k, st.Failed[k].Attempts)
		}
	}
	// Fixed: the resume completes the run and equals an uninterrupted one.
	fail = false
	sum3, err := brokenRunner(true).Run(context.Background())
	if err != nil || sum3.Ran != 24 || !sum3.Status.Complete() {
		t.Fatalf("fixed resume: %+v, %v", sum3, err)
	}
	ref := t.TempDir()
	if _, err := newSynthRunner(t, ref).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, _ := results.ReadJSONL(filepath.Join(ref, "results.jsonl"))
	got, _ := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	if strings.Join(canonical(want), "\n") != strings.Join(canonical(got), "\n") {
		t.Error("failed-then-resumed run differs from an uninterrupted one")
	}
}

func TestSuiteDigestIsCanonical(t *testing.T) {
	base := "name: s\nseeds: [0, 1]\nmodels:\n  - linear\n  - {name: x, command: [a, b], timeout: 1m}\neval: {profile: vcc, max_cells: 10}\n"
	d0, err := SuiteDigest([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, text string
		same       bool
		diff       string
	}{
		{"comments and layout", "# a suite\nname: s\neval:\n  max_cells: 10\n  profile: \"vcc\"\nmodels:\n- linear\n- name: x\n  command:\n  - a\n  - b\n  timeout: 1m\nseeds:\n- 0\n- 1\n", true, ""},
		{"timeout", strings.Replace(base, "timeout: 1m", "timeout: 2h", 1), true, ""},
		{"no timeout", strings.Replace(base, ", timeout: 1m", "", 1), true, ""},
		{"name", strings.Replace(base, "name: s", "name: t", 1), false, "name s → t"},
		{"seed", strings.Replace(base, "[0, 1]", "[0, 2]", 1), false, "seeds: +2, -1"},
		{"seed order", strings.Replace(base, "[0, 1]", "[1, 0]", 1), false, "seeds: order changed"},
		{"eval", strings.Replace(base, "max_cells: 10", "max_cells: 20", 1), false, "eval changed"},
		{"command", strings.Replace(base, "[a, b]", "[a, c]", 1), false, "models: x changed"},
		{"model added", strings.Replace(base, "  - linear\n", "  - linear\n  - control\n", 1), false, "models: +control"},
		{"field added", base + "tasks: []\n", false, "tasks added"},
	} {
		d, err := SuiteDigest([]byte(c.text))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (d == d0) != c.same {
			t.Errorf("%s: digest equal = %v, want %v", c.name, d == d0, c.same)
		}
		if got := SuiteDiff([]byte(base), []byte(c.text)); got != c.diff {
			t.Errorf("%s: diff %q, want %q", c.name, got, c.diff)
		}
	}
}

func TestLockRefusesASecondHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := acquireLock(dir, "shard-0-of-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acquireLock(dir, "shard-0-of-1"); err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second holder: %v", err)
	}
	if err := checkNoWriters(dir); err == nil {
		t.Fatal("checkNoWriters with a held lock: want an error")
	}
	other, err := acquireLock(dir, "shard-1-of-2")
	if err != nil {
		t.Fatalf("another shard's lock: %v", err)
	}
	other.release()
	l.release()
	if err := checkNoWriters(dir); err != nil {
		t.Fatal(err)
	}
	l2, err := acquireLock(dir, "shard-0-of-1")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.release()
}

// Journal lines: a fail line counts attempts; a later done attempt of the
// same cell clears the failure; damaged lines are skipped and counted.
func TestStoreFailLinesAndDamage(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, "shard-0-of-1")
	if err != nil {
		t.Fatal(err)
	}
	fc := results.FailedCell{Task: "t", Dataset: "d", Model: "m", Seed: 1, Reason: "boom"}
	j.WriteFail("a", fc)
	j.WriteFail("b", fc)
	j.Close()
	j, _ = OpenJournal(dir, "shard-0-of-1") // another attempt id
	j.WriteFail("a", results.FailedCell{Task: "t", Dataset: "d", Model: "m", Seed: 1, Reason: "boom again"})
	j.WriteCell("b", []results.Record{{Metric: "x", Value: 1}}, "")
	j.f.Write([]byte("garbage in the middle\n"))
	j.WriteCell("c", []results.Record{{Metric: "x", Value: 2}}, "")
	j.Close()
	st, err := results.LoadStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.FailOrder) != 1 || st.Failed["a"].Attempts != 2 || st.Failed["a"].Reason != "boom again" || st.Failed["a"].Cell != "a" {
		t.Errorf("failed %+v", st.Failed)
	}
	if len(st.Order) != 2 || st.DamagedLines != 1 || !strings.Contains(st.Damaged[0], ".log:6: ") {
		t.Errorf("done %v, damaged %v", st.Order, st.Damaged)
	}
	only := st.Only(func(k string) bool { return k != "c" })
	if len(only.Order) != 1 || len(only.FailOrder) != 1 {
		t.Errorf("Only: %v %v", only.Order, only.FailOrder)
	}
}
