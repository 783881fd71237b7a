package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/h5adcorpus"
	"github.com/cellbench/cellbench/internal/testdata"
)

// TestMain lets tests run the real binary (this test executable re-entering
// main) to check exit statuses: CELLBENCH_TEST_MAIN=1 makes it call main.
func TestMain(m *testing.M) {
	if os.Getenv("CELLBENCH_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func sharedDataDir(t testing.TB) string { return testdata.Dir(t) }

// runCLI runs the cellbench binary (via TestMain) and returns its exit
// status, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLIEnv(t, nil, args...)
}

// runCLIEnv is runCLI with extra environment variables.
func runCLIEnv(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "CELLBENCH_TEST_MAIN=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// TestBadInputCorpus runs `data prep` on every broken input: each must fail
// with one line naming the file and the problem, exit 1, and leave no
// output file (nor a temporary one) behind.
func TestBadInputCorpus(t *testing.T) {
	dir := t.TempDir()
	cases, err := h5adcorpus.WriteBadInputCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("corpus has %d cases, want ≥ 20", len(cases))
	}
	outDir := t.TempDir()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			in := filepath.Join(dir, c.Name)
			out := filepath.Join(outDir, "out.h5ad")
			code, stdout, stderr := runCLI(t, "data", "prep", "-q", "--in", in, "--out", out)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (stdout %q, stderr %q)", code, stdout, stderr)
			}
			msg := strings.TrimSpace(stderr)
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("error is not one line:\n%s", msg)
			}
			if !strings.Contains(msg, c.Name) {
				t.Errorf("error does not name the file: %s", msg)
			}
			if !strings.Contains(msg, c.WantErr) {
				t.Errorf("error %q does not say %q (%s)", msg, c.WantErr, c.Problem)
			}
			left, _ := os.ReadDir(outDir)
			if len(left) != 0 {
				t.Errorf("output left behind: %v", left)
			}
		})
	}
	// An unknown obs column and a bad flag value on a good real file.
	real := filepath.Join(sharedDataDir(t), "fixture_tiny_perturbation_300cells.h5ad")
	for _, args := range [][]string{
		{"--obs-cols", "perturbation,no_such_column"},
		{"--scale", "log1p"},
		{"--scale", "sqrt"},
		{"--hvg", "999"},
		{"--where", "perturbation=sgk1"},                           // near-miss of SGK1
		{"--where", "no_such_column=SGK1"},                         // unknown column
		{"--where", "perturbation"},                                // not COL=VALUE
		{"--where", "perturbation=SGK1", "--where", "cell_type=x"}, // value no cell has
	} {
		out := filepath.Join(outDir, "out.h5ad")
		code, _, stderr := runCLI(t, append([]string{"data", "prep", "-q", "--in", real, "--out", out}, args...)...)
		if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: output left behind", args)
		}
	}
}

// TestDataPrepRealData normalises the real tiny perturbation fixture and
// keeps 50 HVGs; the output must read back as log1p.
func TestDataPrepRealData(t *testing.T) {
	in := filepath.Join(sharedDataDir(t), "fixture_tiny_perturbation_300cells.h5ad")
	out := filepath.Join(t.TempDir(), "prep.h5ad")
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"data", "prep", "--in", in, "--out", out, "--hvg", "50", "--obs-cols", "perturbation,cell_type"}, &so, &se); err != nil {
		t.Fatal(err)
	}
	d, err := h5ad.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if d.NCells() != 300 || d.NGenes() != 50 || len(d.Obs.Columns) != 2 {
		t.Fatalf("got %d×%d with %d obs columns", d.NCells(), d.NGenes(), len(d.Obs.Columns))
	}
	for _, v := range d.X.Data {
		if v <= 0 || v >= 15 {
			t.Fatalf("value %v is not log1p", v)
		}
	}
}

func TestDataInfoAndList(t *testing.T) {
	dir := sharedDataDir(t)
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"data", "info", "--data-dir", dir, "tapseq"}, &so, &se); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"21977 cells × 72 genes", "scale:     counts", "non-targeting"} {
		if !strings.Contains(so.String(), want) {
			t.Errorf("data info output lacks %q:\n%s", want, so.String())
		}
	}
	so.Reset()
	if err := run(context.Background(), []string{"data", "list", "--data-dir", dir, "--verify"}, &so, &se); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(so.String(), "CHANGED") || strings.Contains(so.String(), "MISSING") || !strings.Contains(so.String(), "not available here") {
		t.Errorf("data list:\n%s", so.String())
	}
	code, _, stderr := runCLI(t, "data", "info", "--data-dir", dir, "tahoe-100m")
	if code != 1 || !strings.Contains(stderr, "not available here") {
		t.Errorf("upstream-only dataset: exit %d, %q", code, stderr)
	}
}

// TestDataPrepWhere: --where keeps exactly the cells whose obs columns
// carry every value (the fixture has 30 cells per (cell type,
// perturbation), SOURCES.md), and each kept cell is normalised as in the
// whole file (per-cell library size, target sum 1e4), so its values equal
// that cell's row of the unfiltered prep.
func TestDataPrepWhere(t *testing.T) {
	in := filepath.Join(sharedDataDir(t), "fixture_tiny_perturbation_300cells.h5ad")
	dir := t.TempDir()
	all, some := filepath.Join(dir, "all.h5ad"), filepath.Join(dir, "some.h5ad")
	if code, _, se := runCLI(t, "data", "prep", "-q", "--in", in, "--out", all); code != 0 {
		t.Fatal(se)
	}
	code, so, se := runCLI(t, "data", "prep", "-q", "--in", in, "--out", some, "--where", "perturbation=SGK1", "--where", "cell_type=k562")
	if code != 0 {
		t.Fatal(se)
	}
	if !strings.Contains(so, "30 cells") {
		t.Errorf("stdout %q: want 30 cells", so)
	}
	a, err := h5ad.Read(all)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h5ad.Read(some)
	if err != nil {
		t.Fatal(err)
	}
	perts, _ := b.ObsLabels("perturbation")
	types, _ := b.ObsLabels("cell_type")
	for i := range perts {
		if perts[i] != "SGK1" || types[i] != "k562" {
			t.Fatalf("kept cell %d is %s/%s", i, types[i], perts[i])
		}
	}
	row := make(map[string]int, a.NCells())
	for i, id := range a.Obs.Index {
		row[id] = i
	}
	for i, id := range b.Obs.Index {
		j, ok := row[id]
		if !ok {
			t.Fatalf("kept cell %q is not in the file", id)
		}
		got, want := b.X.DenseRow(make([]float32, b.NGenes()), i), a.X.DenseRow(make([]float32, a.NGenes()), j)
		for g := range got {
			if got[g] != want[g] {
				t.Fatalf("cell %q gene %d: %v with --where, %v without", id, g, got[g], want[g])
			}
		}
	}
}
