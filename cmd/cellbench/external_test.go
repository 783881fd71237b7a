package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/results"
)

// External (command) models and prediction files, through the real binary
// on the real perturbation and integration fixtures; the models are the
// numpy + anndata peers of bench/peers run by Debian's python3.

// peer is the absolute path of a bench/peers script.
func peer(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "bench", "peers", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixtureSuite writes a suite on the perturbation fixture (pert-zeroshot,
// k562 held out: 4 test groups) with the given models block and seeds.
func fixtureSuite(t *testing.T, dir, name, models, seeds string) string {
	t.Helper()
	testdata.Path(t, "fixture_tiny_perturbation_300cells.h5ad")
	text := fmt.Sprintf(`name: %s
datasets:
  - name: fixture
    file: fixture-perturbation
    pert_col: perturbation
    context_col: cell_type
    control: control
tasks:
  - name: pert-zeroshot
    holdout: k562
    datasets: [fixture]
models:
%s
seeds: %s
eval: {profile: vcc}
`, name, models, seeds)
	p := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// commandModel is a models entry running a python script.
func commandModel(name, py, script string, args ...string) string {
	argv := []string{py, script}
	argv = append(argv, args...)
	argv = append(argv, "--train", "{train}", "--requests", "{requests}", "--out", "{out}")
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf("  - name: %s\n    command: [%s]\n", name, strings.Join(q, ", "))
}

// strippedRecords are a run's records as sorted JSON without the fields
// that vary between runs (wall_s, peak_mem, git_sha), optionally of one
// model only (scripts/stripdiff.py's rule).
func strippedRecords(t *testing.T, dir, model string) []string {
	t.Helper()
	recs, err := results.ReadJSONL(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if model != "" && r.Model != model {
			continue
		}
		r.WallS, r.PeakMem, r.GitSHA = 0, 0, ""
		b, _ := json.Marshal(r)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// TestExternalModelFailuresAndResume runs a suite in which external models
// misbehave in every way a program can (bench/peers/faulty_model.py while
// CELLBENCH_DEMO_FAULT is set): each failure fails only its own cell, with
// a one-line reason in the run's output, the journal, status.json and the
// report; the other cells finish; --resume (fault gone) retries exactly the
// failed cells and completes the run.
func TestExternalModelFailuresAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python external models")
	}
	py := testdata.Python(t, "anndata", "numpy", "pandas")
	dir := t.TempDir()
	faulty := peer(t, "faulty_model.py")
	cases := []struct{ model, fault, reason string }{
		{"crash", "crash", `command exited with status 1 (last stderr line: "RuntimeError: injected crash (CELLBENCH_DEMO_FAULT is set)")`},
		{"gene-order", "gene-order", "genes are in another order than in {train} (position 0 is"},
		{"missing-group", "missing-group", `missing group ("k562", "MAP2K3"): no cells`},
		{"timeout", "timeout", "command timed out after 3s and was killed"},
		{"counts", "counts", "values look like raw counts"},
		{"nan", "nan", "non-finite value NaN"},
	}
	models := func(timeout string) string {
		m := "  - perturbation-mean\n" + commandModel("mean-py", py, peer(t, "mean_model.py"))
		for _, c := range cases {
			m += commandModel(c.model, py, faulty, "--fault", c.fault)
			if c.fault == "timeout" {
				m += "    timeout: " + timeout + "\n"
			}
		}
		return m
	}
	suite := fixtureSuite(t, dir, "faults", models("3s"), "[0]")
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runCLIEnv(t, []string{"CELLBENCH_DEMO_FAULT=1"}, "run", suite, "--out", out)
	if code != 1 {
		t.Fatalf("run with faults: exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "ran 2, failed 6") || !strings.Contains(stdout, "incomplete: 2 of 8 cells of the grid done, 6 failed, 0 not run") {
		t.Errorf("run summary:\n%s", stdout)
	}
	status, err := results.LoadRunStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, f := range status.Failed {
		reasons[f.Model] = f.Reason
		if f.Dir == "" || f.Attempts != 1 {
			t.Errorf("%s: failure without its command directory or attempt count: %+v", f.Model, f)
		}
	}
	lines := map[string]string{}
	for _, l := range strings.Split(stdout, "\n") {
		if m := regexp.MustCompile(`^  FAILED pert-zeroshot fixture (\S+) seed=0: (.*)$`).FindStringSubmatch(l); m != nil {
			lines[m[1]] = m[2]
		}
	}
	for _, c := range cases {
		if !strings.Contains(reasons[c.model], c.reason) {
			t.Errorf("%s: reason %q does not say %q", c.model, reasons[c.model], c.reason)
		}
		if lines[c.model] != reasons[c.model] {
			t.Errorf("%s: stdout line %q differs from the journal's reason", c.model, lines[c.model])
		}
		if !strings.Contains(reasons[c.model], "cells/pert-zeroshot/fixture/"+c.model+"/seed=0") {
			t.Errorf("%s: the reason does not name the cell's files: %q", c.model, reasons[c.model])
		}
	}
	// The command directory keeps what a user needs to reproduce it.
	cellDir := filepath.Join(out, "cells", "pert-zeroshot", "fixture", "crash", "seed=0")
	for _, f := range []string{"train.h5ad", "requests.h5ad", "command.json", "stdout.log", "stderr.log"} {
		if _, err := os.Stat(filepath.Join(cellDir, f)); err != nil {
			t.Errorf("failed cell lacks %s: %v", f, err)
		}
	}
	var log struct {
		Argv     []string
		ExitCode *int `json:"exit_code"`
		Env      map[string]string
	}
	b, _ := os.ReadFile(filepath.Join(cellDir, "command.json"))
	if err := json.Unmarshal(b, &log); err != nil || log.ExitCode == nil || *log.ExitCode != 1 || log.Env["CELLBENCH_SEED"] != "0" ||
		log.Env["CELLBENCH_PERT_COL"] != "perturbation" || !strings.HasSuffix(log.Argv[len(log.Argv)-1], "/out.h5ad") {
		t.Errorf("command.json: %s (%v)", b, err)
	}
	// The report is marked incomplete and lists every reason.
	rep := filepath.Join(dir, "report")
	if code, so, se := runCLI(t, "report", out, "--out", rep); code != 0 {
		t.Fatalf("report: exit %d\n%s\n%s", code, so, se)
	}
	md, _ := os.ReadFile(filepath.Join(rep, "leaderboard.md"))
	html, _ := os.ReadFile(filepath.Join(rep, "index.html"))
	for _, want := range []string{"Incomplete run — 2 of 8 cells of the grid done, 6 failed", "## Failed cells", "| pert-zeroshot | fixture | gene-order | 0 | 1 | gene-order: predict: output cells/pert-zeroshot/fixture/gene-order/seed=0/out.h5ad: genes are in another order"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("leaderboard.md lacks %q", want)
		}
	}
	for _, want := range []string{`class="incomplete"`, `id="failed"`, "Failed cells (6)", "timed out after 3s"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	// Resume without the fault: exactly the six failed cells run again.
	// The timeout goes up to 2 minutes (python starts slowly on a loaded
	// machine); a timeout is not part of the suite's digest, so the edited
	// suite resumes the same run.
	suite = fixtureSuite(t, t.TempDir(), "faults", models("2m"), "[0]")
	code, stdout, stderr = runCLI(t, "run", suite, "--out", out, "--resume")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "ran 6, failed 0, skipped 2") || !strings.Contains(stdout, "all 8 cells of the grid are done") ||
		!strings.Contains(stderr, "(6 failed before: retrying)") {
		t.Errorf("resume output:\n%s\n%s", stdout, stderr)
	}
	// The healed faulty models are mean_model.py: their records equal mean-py's.
	want := strippedRecords(t, out, "mean-py")
	for _, c := range cases {
		got := strippedRecords(t, out, c.model)
		for i := range got {
			got[i] = strings.Replace(got[i], `"model":"`+c.model+`"`, `"model":"mean-py"`, 1)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s after resume: records differ from mean-py's", c.model)
		}
	}
	if _, err := os.Stat(filepath.Join(cellDir, "train.h5ad")); err == nil {
		t.Error("a done cell kept its input files")
	}
	if _, err := os.Stat(filepath.Join(cellDir, "out.h5ad")); err != nil {
		t.Error("a done cell lost its output file")
	}
	rep2 := filepath.Join(dir, "report2")
	if code, so, se := runCLI(t, "report", out, "--out", rep2); code != 0 {
		t.Fatalf("report: exit %d\n%s\n%s", code, so, se)
	}
	md, _ = os.ReadFile(filepath.Join(rep2, "leaderboard.md"))
	if strings.Contains(string(md), "Incomplete") || strings.Contains(string(md), "Failed cells") {
		t.Error("the completed run's report is still marked incomplete")
	}
}

// TestExternalModelBadCommands: a program that does not exist or writes
// nothing fails its cell (the others finish), and bad model declarations
// are refused before anything runs.
func TestExternalModelBadCommands(t *testing.T) {
	dir := t.TempDir()
	models := "  - perturbation-mean\n" +
		"  - name: no-program\n    command: [/nonexistent/model, \"{out}\"]\n" +
		"  - name: no-output\n    command: [/bin/true]\n"
	suite := fixtureSuite(t, dir, "bad-commands", models, "[0]")
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runCLI(t, "run", suite, "--out", out)
	if code != 1 || !strings.Contains(stdout, "ran 1, failed 2") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{`command "/nonexistent/model" could not start: no such file or directory`, "out.h5ad: no such file (the model wrote no output)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("run output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "cellbench: run: 2 cells failed, the others ran") || strings.Count(strings.TrimSpace(lastLine(stderr)), "\n") != 0 {
		t.Errorf("error line: %q", lastLine(stderr))
	}
	for _, c := range []struct{ name, models, want string }{
		{"unknown placeholder", "  - name: m\n    command: [x, \"{trian}\"]\n", "unknown placeholder {trian}"},
		{"data in a perturbation model", "  - name: m\n    command: [x, \"{data}\"]\n", "{data} is not an input of perturbation models"},
		{"bad timeout", "  - name: m\n    command: [x]\n    timeout: soon\n", `timeout "soon" is not a positive duration`},
		{"params on an external model", "  - name: m\n    command: [x]\n    params: {a: \"1\"}\n", "params apply to registry models"},
		{"unknown kind", "  - name: m\n    kind: clustering\n    command: [x]\n", `kind "clustering" cannot be an external model (one of: embedding, imputation, incontext, perturbation)`},
		{"timeout on a registry model", "  - name: linear\n    timeout: 1m\n", "timeout, workdir and env apply to external models"},
		{"kind the suite does not run", "  - name: m\n    kind: embedding\n    command: [x, \"{data}\"]\n", "runs none of the suite's tasks"},
		{"no command, no predictions", "  - name: m\n    kind: perturbation\n", "model m has no command: its outputs come from --predictions DIR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := fixtureSuite(t, t.TempDir(), "bad", c.models, "[0]")
			o := filepath.Join(t.TempDir(), "run")
			code, _, stderr := runCLI(t, "run", s, "--out", o)
			if code != 1 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want one line saying %q", code, stderr, c.want)
			}
			if _, err := os.Stat(o); err == nil {
				t.Errorf("a refused run created %s", o)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestExportPredictionsRoundTrip: a command model's records equal those of
// the same model run elsewhere on the exported files (commands.sh) and
// scored with --predictions; a missing or stale prediction fails its cell.
func TestExportPredictionsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python external models")
	}
	py := testdata.Python(t, "anndata", "numpy", "pandas")
	dir := t.TempDir()
	models := "  - perturbation-mean\n" + commandModel("mean-py", py, peer(t, "mean_model.py"), "--seed", "{seed}")
	suite := fixtureSuite(t, dir, "roundtrip", models, "[0, 1]")
	direct := filepath.Join(dir, "direct")
	if code, so, se := runCLI(t, "run", suite, "--out", direct); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, so, se)
	}
	exp := filepath.Join(dir, "export")
	code, stdout, stderr := runCLI(t, "export", suite, "--out", exp)
	if code != 0 || !strings.Contains(stdout, "2 units (task × dataset × seed) for 2 external-model outputs") {
		t.Fatalf("export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"manifest.json", "commands.sh", "suite.yaml", "pert-zeroshot/fixture/seed=0/train.h5ad",
		"pert-zeroshot/fixture/seed=1/requests.h5ad", "splits/fixture/pert-zeroshot/seed-1.json"} {
		if _, err := os.Stat(filepath.Join(exp, f)); err != nil {
			t.Errorf("export lacks %s", f)
		}
	}
	if code, _, se := runCLI(t, "export", suite, "--out", exp); code != 1 || !strings.Contains(se, "is not empty") {
		t.Errorf("export into a non-empty directory: exit %d, %q", code, se)
	}
	// "Elsewhere": the generated script, from another directory.
	sh := exec.Command("sh", filepath.Join(exp, "commands.sh"))
	sh.Dir = t.TempDir()
	if b, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(b), "2 commands done") {
		t.Fatalf("commands.sh: %v\n%s", err, b)
	}
	viaFiles := filepath.Join(dir, "via-files")
	if code, so, se := runCLI(t, "run", suite, "--out", viaFiles, "--predictions", exp); code != 0 {
		t.Fatalf("run --predictions: exit %d\n%s\n%s", code, so, se)
	}
	a, b := strippedRecords(t, direct, ""), strippedRecords(t, viaFiles, "")
	if len(a) == 0 || strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("records of the command run (%d) and the --predictions run (%d) differ", len(a), len(b))
	}
	if n := len(strippedRecords(t, viaFiles, "mean-py")); n == 0 {
		t.Fatal("no mean-py records")
	}
	// A missing prediction and a stale unit fail their cells only.
	os.Remove(filepath.Join(exp, "pert-zeroshot/fixture/seed=1/mean-py.h5ad"))
	mb, _ := os.ReadFile(filepath.Join(exp, "manifest.json"))
	mb = bytes.Replace(mb, []byte(`"fingerprint": "`), []byte(`"fingerprint": "0`), 1) // seed 0's unit
	os.WriteFile(filepath.Join(exp, "manifest.json"), mb, 0o644)
	broken := filepath.Join(dir, "broken")
	code, stdout, _ = runCLI(t, "run", suite, "--out", broken, "--predictions", exp)
	if code != 1 || !strings.Contains(stdout, "ran 2, failed 2") ||
		!strings.Contains(stdout, "was exported for another split or cellbench version") ||
		!strings.Contains(stdout, "pert-zeroshot/fixture/seed=1/mean-py.h5ad: no such file") {
		t.Errorf("broken predictions: exit %d\n%s", code, stdout)
	}
}

// TestExternalEmbeddingModel: a numpy PCA run as an external embedding
// model is scored beside the dataset's own embedding; an output that
// misses a cell fails its cell.
func TestExternalEmbeddingModel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python external models")
	}
	py := testdata.Python(t, "anndata", "numpy", "pandas")
	testdata.Path(t, "fixture_tiny_integration_300cells.h5ad")
	dir := t.TempDir()
	bad := filepath.Join(dir, "drop_cell.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\n\""+py+"\" \""+peer(t, "pca_embed_model.py")+"\" --data \"$1\" --out \"$2\" && sed -i 3d \"$2\"\n"), 0o755)
	suite := filepath.Join(dir, "embed.yaml")
	os.WriteFile(suite, []byte(fmt.Sprintf(`name: embed
datasets:
  - name: fixture-integration
    file: fixture-integration
    embed: {name: PCA10, pca: 10}
tasks:
  - name: embed-integration
    datasets: [fixture-integration]
models:
  - name: pca-py
    kind: embedding
    command: [%q, %q, --data, "{data}", --out, "{out}"]
  - name: drops-a-cell
    kind: embedding
    command: [%q, "{data}", "{out}"]
seeds: [0]
`, py, peer(t, "pca_embed_model.py"), bad)), 0o644)
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runCLI(t, "run", suite, "--out", out)
	if code != 1 || !strings.Contains(stdout, "ran 2, failed 1") || !strings.Contains(stdout, "1 of the 300 cells of {data} are missing") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	recs, _ := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	got := map[string]int{}
	for _, r := range recs {
		if r.Model == "pca-py" && r.Backend != "external" {
			t.Fatalf("pca-py record with backend %q", r.Backend)
		}
		got[r.Model]++
	}
	if got["pca-py"] == 0 || got["pca-py"] != got["PCA10"] {
		t.Errorf("records per model %v: want as many for pca-py as for PCA10", got)
	}
	// {data} withholds the label column the metrics score against.
	check := exec.Command(py, "-c", "import anndata,sys; print(list(anndata.read_h5ad(sys.argv[1]).obs.columns))",
		filepath.Join(out, "cells/embed-integration/fixture-integration/drops-a-cell/seed=0/data.h5ad"))
	if b, err := check.Output(); err != nil || strings.TrimSpace(string(b)) != "['donor']" {
		t.Errorf("{data} obs columns: %s (%v), want only the batch column", b, err)
	}
}

// TestDocsTemplateIsThePeer: the template in docs/external-models.md is
// bench/peers/mean_model.py verbatim (the tests above run that file).
func TestDocsTemplateIsThePeer(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "external-models.md"))
	if err != nil {
		t.Fatal(err)
	}
	peerText, err := os.ReadFile(peer(t, "mean_model.py"))
	if err != nil {
		t.Fatal(err)
	}
	var block strings.Builder
	in := false
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case !in && l == "```python":
			in = true
		case in && l == "```":
			in = false
			if strings.Contains(block.String(), "def fit(") {
				if block.String() != string(peerText) {
					t.Fatal("the template in docs/external-models.md differs from bench/peers/mean_model.py")
				}
				return
			}
			block.Reset()
		case in:
			block.WriteString(l + "\n")
		}
	}
	t.Fatal("docs/external-models.md has no ```python block with the template")
}
