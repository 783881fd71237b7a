package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cellbench/cellbench/results"
)

// Run directories keep their promises (hardening issue), each class through
// the real binary on the real perturbation fixture: a second writer is
// refused with the holder's pid; a torn or damaged journal stays readable
// and --resume repairs it; --resume with an edited suite is refused and says
// what changed; merge with a shard missing and report on an unfinished run
// say how much of the grid is there and mark the report incomplete; report
// --out never keeps stale files.

const promisesModels = "  - perturbation-mean\n  - linear\n"

// cliCase is one command of a table and what it must do.
type cliCase struct {
	name string
	args []string
	code int
	// stdout/stderr fragments that must appear.
	out, err []string
}

func (c cliCase) check(t *testing.T) (string, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, c.args...)
	if code != c.code {
		t.Fatalf("%s: %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", c.name, c.args, code, c.code, stdout, stderr)
	}
	for _, w := range c.out {
		if !strings.Contains(stdout, w) {
			t.Errorf("%s: stdout lacks %q:\n%s", c.name, w, stdout)
		}
	}
	for _, w := range c.err {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr lacks %q:\n%s", c.name, w, stderr)
		}
	}
	if c.code != 0 {
		if last := lastLine(stderr); !strings.HasPrefix(last, "cellbench: ") {
			t.Errorf("%s: the error is not one cellbench line: %q", c.name, last)
		}
	}
	return stdout, stderr
}

func journalPath(run string) string { return filepath.Join(run, "journal", "shard-0-of-1.log") }

func TestRunDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	suite := fixtureSuite(t, dir, "lock", promisesModels, "[0, 1]")
	run := filepath.Join(dir, "run")
	// A holder the test makes itself: the lock is what is checked, not a pid
	// file (a lock file left by a dead process is free).
	os.MkdirAll(filepath.Join(run, "journal"), 0o755)
	f, err := os.OpenFile(filepath.Join(run, "journal", "shard-0-of-1.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("pid 4242 on testhost, shard-0-of-1 since 2025-01-01T00:00:00Z\n")
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	cliCase{name: "second writer", args: []string{"run", suite, "--out", run}, code: 1,
		err: []string{"is being written by another cellbench process (pid 4242 on testhost, shard-0-of-1 since"}}.check(t)
	cliCase{name: "merge into a directory being written", args: []string{"merge", "--out", run, run}, code: 1,
		err: []string{"being written by another cellbench process (pid 4242"}}.check(t)
	cliCase{name: "another shard is not blocked", args: []string{"run", suite, "--out", run, "--shard", "1/2"}, code: 0,
		out: []string{"2 cells in shard 1/2, ran 2"}}.check(t)
	f.Close() // releases the lock; the stale text stays
	cliCase{name: "free lock, stale holder text", args: []string{"run", suite, "--out", run, "--resume"}, code: 0,
		out: []string{"ran 2, failed 0, skipped 2", "all 4 cells of the grid are done"}}.check(t)
}

// TestRunDirectoryLockRealWriter: a run that is busy in a cell holds the
// lock; a second run is refused with its pid; after kill -9 the directory
// resumes (with a shorter timeout: timeouts are not part of the digest).
func TestRunDirectoryLockRealWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a child run")
	}
	dir := t.TempDir()
	sleeper := func(timeout string) string {
		return promisesModels + "  - name: sleeper\n    command: [/bin/sleep, \"5\"]\n    timeout: " + timeout + "\n"
	}
	suite := fixtureSuite(t, dir, "busy", sleeper("1m"), "[0]")
	run := filepath.Join(dir, "run")
	child := exec.Command(os.Args[0], "run", suite, "--out", run)
	child.Env = append(os.Environ(), "CELLBENCH_TEST_MAIN=1")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	busy := filepath.Join(run, "cells", "pert-zeroshot", "fixture", "sleeper", "seed=0", "stderr.log")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(busy); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child run never reached the sleeper cell")
		}
	}
	cliCase{name: "second writer while a cell runs", args: []string{"run", suite, "--out", run, "--resume"}, code: 1,
		err: []string{fmt.Sprintf("being written by another cellbench process (pid %d ", child.Process.Pid)}}.check(t)
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	suite = fixtureSuite(t, t.TempDir(), "busy", sleeper("1s"), "[0]")
	cliCase{name: "resume after kill -9, timeout shortened", args: []string{"run", suite, "--out", run, "--resume"}, code: 1,
		out: []string{"3 cells in shard 0/1, ran 0, failed 1, skipped 2", "FAILED pert-zeroshot fixture sleeper seed=0: sleeper: predict: command timed out after 1s"}}.check(t)
}

func TestRunDirectoryTornAndDamagedJournal(t *testing.T) {
	dir := t.TempDir()
	suite := fixtureSuite(t, dir, "journal", promisesModels, "[0, 1]")
	run := filepath.Join(dir, "run")
	cliCase{name: "first run", args: []string{"run", suite, "--out", run}, code: 0, out: []string{"ran 4"}}.check(t)
	// A torn last line (a writer killed mid-append).
	j, _ := os.OpenFile(journalPath(run), os.O_WRONLY|os.O_APPEND, 0)
	j.WriteString(`{"k":"r","cell":"pert-zeroshot|fixture|linear|seed=9|x","att":"a","r":{"suite":"jour`)
	j.Close()
	cliCase{name: "report with a torn last line", args: []string{"report", run, "--out", filepath.Join(dir, "r1")}, code: 0,
		out: []string{"all 4 cells of the grid are done"}}.check(t)
	cliCase{name: "resume cuts the torn line", args: []string{"run", suite, "--out", run, "--resume"}, code: 0,
		out: []string{"ran 0, failed 0, skipped 4"}}.check(t)
	b, _ := os.ReadFile(journalPath(run))
	if len(b) == 0 || b[len(b)-1] != '\n' || bytes.Contains(b, []byte(`"suite":"jour`+"\n")) {
		t.Errorf("journal still torn:\n%s", b[max(0, len(b)-200):])
	}
	// A damaged line in the middle (two writers interleaved, as before the
	// lock): the last done line is cut short by foreign bytes.
	lines := bytes.SplitAfter(b, []byte("\n"))
	var lastDone int
	for i, l := range lines {
		if bytes.Contains(l, []byte(`"k":"done"`)) {
			lastDone = i
		}
	}
	bad := append([]byte(nil), lines[lastDone][:20]...)
	bad = append(bad, []byte("{\"k\":\"done\",\"cell\":\"interleaved\n")...)
	lines[lastDone] = bad
	os.WriteFile(journalPath(run), bytes.Join(lines, nil), 0o644)
	_, stderr := cliCase{name: "report with a damaged line", args: []string{"report", run, "--out", filepath.Join(dir, "r2")}, code: 0,
		out: []string{"incomplete: 3 of 4 cells of the grid done, 0 failed, 1 not run"}}.check(t)
	if !strings.Contains(stderr, "1 unreadable journal lines were skipped") {
		t.Errorf("report does not say that lines were skipped:\n%s", stderr)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "r2", "leaderboard.md"))
	if !strings.Contains(string(md), "Incomplete run") {
		t.Error("report of a damaged run is not marked incomplete")
	}
	cliCase{name: "resume reruns the damaged cell", args: []string{"run", suite, "--out", run, "--resume"}, code: 0,
		out: []string{"ran 1, failed 0, skipped 3", "all 4 cells of the grid are done"},
		err: []string{"run: warning: 1 unreadable journal lines skipped"}}.check(t)
}

func TestRunDirectoryResumeWithEditedSuite(t *testing.T) {
	dir := t.TempDir()
	suite := fixtureSuite(t, dir, "edits", promisesModels, "[0, 1]")
	run := filepath.Join(dir, "run")
	cliCase{name: "first run", args: []string{"run", suite, "--out", run}, code: 0, out: []string{"ran 4"}}.check(t)
	text, _ := os.ReadFile(suite)
	edit := func(old, new string) string {
		if !strings.Contains(string(text), old) {
			t.Fatalf("suite lacks %q", old)
		}
		p := filepath.Join(t.TempDir(), "edits.yaml")
		os.WriteFile(p, []byte(strings.Replace(string(text), old, new, 1)), 0o644)
		return p
	}
	for _, c := range []struct{ name, old, new, says string }{
		{"another name", "name: edits", "name: edits2", "name edits → edits2"},
		{"eval settings", "eval: {profile: vcc}", "eval: {profile: full}", "eval changed"},
		{"a model added", promisesModels, promisesModels + "  - control\n", "models: +control"},
		{"a model removed", promisesModels, "  - linear\n", "models: -perturbation-mean"},
		{"seeds", "seeds: [0, 1]", "seeds: [0, 1, 2]", "seeds: +2"},
		{"a task setting", "holdout: k562", "holdout: A172", "tasks: pert-zeroshot changed"},
		{"a dataset filter", "control: control", "control: control\n    contexts: [k562, A172]", "datasets: fixture changed"},
	} {
		cliCase{name: c.name, args: []string{"run", edit(c.old, c.new), "--out", run, "--resume"}, code: 1,
			err: []string{"was run with another suite", c.says, "use a new --out for the edited suite"}}.check(t)
	}
	// Comments, quoting and layout are not configuration.
	cliCase{name: "layout only", args: []string{"run", edit("seeds: [0, 1]", "# the seeds\nseeds:\n  - 0\n  - 1 # second\n"), "--out", run, "--resume"}, code: 0,
		out: []string{"ran 0, failed 0, skipped 4"}}.check(t)
	// The refused resumes changed nothing.
	if recs, _ := results.ReadJSONL(filepath.Join(run, "results.jsonl")); len(recs) == 0 || recs[0].Suite != "edits" {
		t.Error("a refused resume touched results.jsonl")
	}
	cliCase{name: "without --resume", args: []string{"run", suite, "--out", run}, code: 1,
		err: []string{"already has 4 finished and 0 failed cells: pass --resume"}}.check(t)
}

func TestRunDirectoryMergeAndReportCompleteness(t *testing.T) {
	dir := t.TempDir()
	suite := fixtureSuite(t, dir, "shards", promisesModels, "[0, 1]")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cliCase{name: "shard 0", args: []string{"run", suite, "--out", a, "--shard", "0/2"}, code: 0,
		out: []string{"ran 2", "incomplete: 2 of 4 cells of the grid done, 0 failed, 2 not run (e.g. pert-zeroshot fixture linear seed=0; pert-zeroshot fixture linear seed=1)"}}.check(t)
	cliCase{name: "merge with a shard missing", args: []string{"merge", "--out", filepath.Join(dir, "m1"), a}, code: 0,
		out: []string{"merged 2 finished cells", "incomplete: 2 of 4 cells of the grid done, 0 failed, 2 not run"},
		err: []string{"merge: warning: incomplete: 2 of 4"}}.check(t)
	cliCase{name: "report on the incomplete merge", args: []string{"report", filepath.Join(dir, "m1"), "--out", filepath.Join(dir, "r1")}, code: 0,
		err: []string{"report: warning: the report is marked incomplete: 2 of 4"}}.check(t)
	cliCase{name: "report on an unfinished run", args: []string{"report", a, "--out", filepath.Join(dir, "r2")}, code: 0,
		out: []string{"incomplete: 2 of 4 cells of the grid done"}}.check(t)
	for _, r := range []string{"r1", "r2"} {
		md, _ := os.ReadFile(filepath.Join(dir, r, "leaderboard.md"))
		html, _ := os.ReadFile(filepath.Join(dir, r, "index.html"))
		if !strings.Contains(string(md), "> **Incomplete run — 2 of 4 cells of the grid done, 0 failed, 2 not run") || !strings.Contains(string(html), `class="incomplete"`) {
			t.Errorf("%s is not marked incomplete", r)
		}
	}
	cliCase{name: "shard 1", args: []string{"run", suite, "--out", b, "--shard", "1/2"}, code: 0, out: []string{"ran 2"}}.check(t)
	cliCase{name: "merge of both shards", args: []string{"merge", "--out", filepath.Join(dir, "m2"), a, b}, code: 0,
		out: []string{"merged 4 finished cells", "all 4 cells of the grid are done"}}.check(t)
	_, stderr := cliCase{name: "report on the complete merge", args: []string{"report", filepath.Join(dir, "m2"), "--out", filepath.Join(dir, "r3")}, code: 0,
		out: []string{"all 4 cells of the grid are done"}}.check(t)
	if strings.Contains(stderr, "incomplete") {
		t.Errorf("complete run reported incomplete: %s", stderr)
	}
	other := fixtureSuite(t, t.TempDir(), "other", promisesModels, "[0, 1]")
	c := filepath.Join(dir, "c")
	cliCase{name: "a shard of another suite", args: []string{"run", other, "--out", c, "--shard", "1/2"}, code: 0}.check(t)
	cliCase{name: "merge of two suites", args: []string{"merge", "--out", filepath.Join(dir, "m3"), a, c}, code: 1,
		err: []string{"ran different suites", "name shards → other"}}.check(t)
	if _, err := os.Stat(filepath.Join(dir, "m3")); err == nil {
		t.Error("a refused merge created its --out")
	}
}

func TestReportOutIsReplacedNotMixed(t *testing.T) {
	dir := t.TempDir()
	suite := fixtureSuite(t, dir, "report", promisesModels, "[0]")
	run := filepath.Join(dir, "run")
	cliCase{name: "run", args: []string{"run", suite, "--out", run}, code: 0}.check(t)
	rep := filepath.Join(dir, "rep")
	cliCase{name: "first report", args: []string{"report", run, "--out", rep}, code: 0}.check(t)
	os.WriteFile(filepath.Join(rep, "bars_stale_from_an_earlier_run.png"), []byte("old"), 0o644)
	cliCase{name: "report over an earlier report", args: []string{"report", run, "--out", rep}, code: 0}.check(t)
	if _, err := os.Stat(filepath.Join(rep, "bars_stale_from_an_earlier_run.png")); err == nil {
		t.Error("a stale figure of the earlier report survived")
	}
	if _, err := os.Stat(filepath.Join(rep, "index.html")); err != nil {
		t.Error("the new report lacks index.html")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".rep.*"))
	if len(left) > 0 {
		t.Errorf("staging directories left: %v", left)
	}
	notReport := filepath.Join(dir, "notes")
	os.MkdirAll(notReport, 0o755)
	os.WriteFile(filepath.Join(notReport, "thesis.tex"), []byte("mine"), 0o644)
	cliCase{name: "a non-empty directory that is no report", args: []string{"report", run, "--out", notReport}, code: 1,
		err: []string{`is not empty and holds no earlier report (1 entries, e.g. "thesis.tex")`, "--force"}}.check(t)
	if b, _ := os.ReadFile(filepath.Join(notReport, "thesis.tex")); string(b) != "mine" {
		t.Error("a refused report touched the directory")
	}
	cliCase{name: "--force", args: []string{"report", run, "--out", notReport, "--force"}, code: 0}.check(t)
	if _, err := os.Stat(filepath.Join(notReport, "thesis.tex")); err == nil {
		t.Error("--force kept the old file beside the report")
	}
	for _, o := range []string{run, dir} {
		cliCase{name: "the run directory or a folder above it as --out", args: []string{"report", run, "--out", o, "--force"}, code: 1,
			err: []string{"would replace the run directory"}}.check(t)
	}
	if _, err := os.Stat(filepath.Join(run, "results.jsonl")); err != nil {
		t.Fatal("a refused report removed the run")
	}
	file := filepath.Join(dir, "file.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	cliCase{name: "a file as --out", args: []string{"report", run, "--out", file}, code: 1, err: []string{"is a file, not a directory"}}.check(t)
}

// TestRunWithOnlyFailedCellsNeedsResume: failed cells count as started.
func TestRunWithOnlyFailedCellsNeedsResume(t *testing.T) {
	dir := t.TempDir()
	suite := fixtureSuite(t, dir, "failing", "  - name: broken\n    command: [/bin/false]\n", "[0]")
	run := filepath.Join(dir, "run")
	cliCase{name: "all cells fail", args: []string{"run", suite, "--out", run}, code: 1,
		out: []string{"ran 0, failed 1", "FAILED pert-zeroshot fixture broken seed=0: broken: predict: command exited with status 1"}}.check(t)
	cliCase{name: "rerun without --resume", args: []string{"run", suite, "--out", run}, code: 1,
		err: []string{"already has 0 finished and 1 failed cells: pass --resume"}}.check(t)
	cliCase{name: "report with no done cell", args: []string{"report", run, "--out", filepath.Join(dir, "r")}, code: 1,
		err: []string{"no finished cells"}}.check(t)
	cliCase{name: "retry", args: []string{"run", suite, "--out", run, "--resume"}, code: 1,
		err: []string{"FAILED after", "(attempt 2)"}}.check(t)
	st, err := results.LoadRunStatus(run)
	if err != nil || len(st.Failed) != 1 || st.Failed[0].Attempts != 2 {
		t.Fatalf("status %+v, %v: want one failed cell with 2 attempts", st, err)
	}
}
