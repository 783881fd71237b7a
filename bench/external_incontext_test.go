package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// externalICSuite is the incontext task on the perturbation fixture (k562
// and A172, 4 perturbations each: the seed draws which context queries
// and which prompts) with the built-in prompt-shift and, after it, the
// models block given.
const externalICSuite = `
name: ext-ic
datasets:
  - name: fixture
    file: fixture-perturbation
    pert_col: perturbation
    context_col: cell_type
    control: control
tasks:
  - name: incontext
    prompt_cells: 16
    datasets: [fixture]
models:
  - prompt-shift
%s
seeds: [0, 1]
eval:
  metrics: [pearson_delta, mae, overlap_at_N, pdisc_norm]
`

// icCommandModel is a models entry of kind incontext running argv.
func icCommandModel(name string, argv ...string) string {
	return kindCommandModel(tasks.KindInContext, name, argv...)
}

// kindCommandModel is a models entry of kind k running argv.
func kindCommandModel(k tasks.Kind, name string, argv ...string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf("  - name: %s\n    kind: %s\n    command: [%s]\n", name, k, strings.Join(q, ", "))
}

// icPython is Debian's python3 for the tests that run python external
// models on the perturbation fixture (extPython).
func icPython(t *testing.T) string {
	return extPython(t, "fixture_tiny_perturbation_300cells.h5ad")
}

// extPython is Debian's python3 for the tests that run python external
// models on data files; they skip in -short mode, without the files, or
// (unless CELLBENCH_REQUIRE_ANNDATA=1) without anndata.
func extPython(t *testing.T, files ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs python external models")
	}
	py := testdata.Python(t, "anndata", "numpy", "pandas")
	for _, f := range files {
		testdata.Path(t, f)
	}
	return py
}

// faultyCommand writes dir/<name>.sh, a command model of kind k that runs
// run (a shell line; the script's arguments are {train}, its second input
// and {out}) and then, while the file fault exists, the python code
// damage with the output's path in sys.argv[1]. It returns the models
// entry.
func faultyCommand(t *testing.T, dir, fault string, k tasks.Kind, name, second, run, py, damage string) string {
	t.Helper()
	sh := filepath.Join(dir, name+".sh")
	script := fmt.Sprintf("#!/bin/sh\nset -e\n%s\n[ -e %q ] || exit 0\n%q - \"$3\" <<'EOF'\n%s\nEOF\n", run, fault, py, damage)
	if err := os.WriteFile(sh, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return kindCommandModel(k, name, sh, "{train}", second, "{out}")
}

// promptShiftPeerPath is bench/peers/promptshift_model.py's absolute path.
func promptShiftPeerPath(t *testing.T) string {
	peer, err := filepath.Abs(filepath.Join("peers", "promptshift_model.py"))
	if err != nil {
		t.Fatal(err)
	}
	return peer
}

// promptShiftPeer is the models entry of bench/peers/promptshift_model.py.
func promptShiftPeer(t *testing.T, py, name string) string {
	return icCommandModel(name, py, promptShiftPeerPath(t), "--train", "{train}", "--requests", "{requests}", "--out", "{out}")
}

// recordKey is a record's identity within a model's records.
func recordKey(r results.Record) string {
	return fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s", r.Dataset, r.Split, r.Seed, r.Prompt, r.Context, r.Perturbation, r.Metric)
}

// runExtIC runs suite text into a new directory and returns its records
// by model and the run's error.
func runExtIC(t *testing.T, text, out, predictions string, resume bool) (map[string][]results.Record, error) {
	t.Helper()
	s, err := ParseSuite([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	_, runErr := (&Runner{Suite: s, SuiteYAML: []byte(text), Out: out, DataDir: testdata.Dir(t), GitSHA: "test", Predictions: predictions, Resume: resume}).Run(context.Background())
	recs, err := results.ReadJSONL(filepath.Join(out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]results.Record{}
	for _, r := range recs {
		by[r.Model] = append(by[r.Model], r)
	}
	return by, runErr
}

// checkSameRecords checks that got (a model's records) equal want (its
// twin's), record for record by key: the same number, Backend = backend,
// the same form (task, N, warnings, perturbation, prompt, mask ratio) and
// values within tol (NaN where both are NaN).
func checkSameRecords(t *testing.T, got, want []results.Record, key func(results.Record) string, backend string, tol float64) {
	t.Helper()
	ref := map[string]results.Record{}
	for _, r := range want {
		ref[key(r)] = r
	}
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("%d records, twin %d", len(got), len(want))
	}
	for _, r := range got {
		w, ok := ref[key(r)]
		switch {
		case !ok:
			t.Fatalf("record %s has no twin", key(r))
		case r.Backend != backend:
			t.Fatalf("record %s: backend %q, want %q", key(r), r.Backend, backend)
		case r.N != w.N || r.Warnings != w.Warnings || r.Task != w.Task || r.Perturbation != w.Perturbation || r.Prompt != w.Prompt || r.MaskRatio != w.MaskRatio:
			t.Errorf("record %s: n %d warnings %q, twin n %d warnings %q", key(r), r.N, r.Warnings, w.N, w.Warnings)
		case !(math.Abs(r.Value-w.Value) <= tol || (math.IsNaN(r.Value) && math.IsNaN(w.Value))):
			t.Errorf("record %s: %v, twin %v", key(r), r.Value, w.Value)
		}
	}
}

// TestExternalInContextModel: bench/peers/promptshift_model.py, the numpy
// prompt-shift run as an external in-context model, gives the built-in
// prompt-shift's records (every seed, prompt variant, perturbation and
// metric), in the same form (Prompt, N, warnings; Backend "external").
// Outputs with a missing request, genes in another order or a NaN fail
// only their own cell with a one-line reason, and --resume (fault gone)
// retries them.
func TestExternalInContextModel(t *testing.T) {
	py := icPython(t)
	dir := t.TempDir()
	peer := promptShiftPeerPath(t)
	// A faulty model is the peer whose output is then damaged while the
	// file FAULT exists (deleted before --resume).
	fault := filepath.Join(dir, "FAULT")
	os.WriteFile(fault, nil, 0o644)
	faulty := func(name, damage string) string {
		return faultyCommand(t, dir, fault, tasks.KindInContext, name, "{requests}",
			fmt.Sprintf("%q %q --train \"$1\" --requests \"$2\" --out \"$3\"", py, peer), py,
			"import sys, anndata as ad, numpy as np\na = ad.read_h5ad(sys.argv[1])\n"+damage+"\na.write_h5ad(sys.argv[1])")
	}
	cases := []struct{ model, damage, reason string }{
		{"missing-request", "a = a[a.obs['request'].to_numpy() != 1].copy()", "missing request 1 ("},
		{"gene-order", "a = a[:, a.var_names[::-1]].copy()", "genes are in another order than in {train} (position 0 is"},
		{"nan", "a.X[0, 0] = np.nan", "non-finite value NaN"},
	}
	models := promptShiftPeer(t, py, "prompt-shift-py")
	for _, c := range cases {
		models += faulty(c.model, c.damage)
	}
	text := fmt.Sprintf(externalICSuite, models)
	out := filepath.Join(dir, "run")
	by, err := runExtIC(t, text, out, "", false)
	var failed *CellsFailedError
	if !errors.As(err, &failed) || len(failed.Failed) != 2*len(cases) {
		t.Fatalf("run: %v; want %d failed cells", err, 2*len(cases))
	}
	for _, f := range failed.Failed {
		var want string
		for _, c := range cases {
			if c.model == f.Model {
				want = c.reason
			}
		}
		cell := fmt.Sprintf("cells/incontext/fixture/%s/seed=%d/out.h5ad", f.Model, f.Seed)
		if want == "" || !strings.Contains(f.Reason, want) || !strings.Contains(f.Reason, "output "+cell+": ") || strings.Contains(f.Reason, "\n") {
			t.Errorf("%s seed %d: reason %q; want one line naming %s and saying %q", f.Model, f.Seed, f.Reason, cell, want)
		}
	}

	// The command model's records are the built-in's. Tolerance 1e-6
	// absolute: both compute the shift in float64 and round the predicted
	// cells to float32, so they may differ by an ulp of float32 (numpy's
	// pairwise mean against Go's sequential one); measured: identical.
	const tol = 1e-6
	checkSame := func(t *testing.T, got, want []results.Record, backend string) {
		t.Helper()
		checkSameRecords(t, got, want, recordKey, backend, tol)
		variants := map[string]bool{}
		for _, r := range got {
			variants[r.Prompt] = true
		}
		if len(variants) != 3 || !variants[tasks.PromptMatched] || !variants[tasks.PromptNone] || !variants[tasks.PromptWrong] {
			t.Errorf("prompt variants %v", variants)
		}
	}
	checkSame(t, by["prompt-shift-py"], by["prompt-shift"], ExternalBackend)

	// --resume without the fault retries exactly the failed cells; the
	// healed models then give the same records.
	os.Remove(fault)
	by, err = runExtIC(t, text, out, "", true)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	for _, c := range cases {
		got := append([]results.Record(nil), by[c.model]...)
		for i := range got {
			got[i].Model = "prompt-shift-py"
		}
		t.Run(c.model+" after resume", func(t *testing.T) { checkSame(t, got, by["prompt-shift"], ExternalBackend) })
	}
	// A done cell keeps its output, not its inputs.
	cellDir := filepath.Join(out, "cells", "incontext", "fixture", "nan", "seed=0")
	if _, err := os.Stat(filepath.Join(cellDir, "out.h5ad")); err != nil {
		t.Error("a done cell lost its output")
	}
	if _, err := os.Stat(filepath.Join(cellDir, "requests.h5ad")); err == nil {
		t.Error("a done cell kept its requests")
	}
}

// TestExternalInContextExportRoundTrip: `export` writes the incontext
// unit (train, requests: only training cells, the query exactly the query
// context's controls), its commands.sh run by hand writes the outputs, and
// `run --predictions` scores them into the very records of the command
// model.
func TestExternalInContextExportRoundTrip(t *testing.T) {
	py := icPython(t)
	dir := t.TempDir()
	text := fmt.Sprintf(externalICSuite, promptShiftPeer(t, py, "prompt-shift-py"))
	direct, _, exp, m := runAndExport(t, text, dir)
	if len(m.Units) != 2 || m.Units[0].Kind != string(tasks.KindInContext) || m.Units[0].Inputs["requests"] != "incontext/fixture/seed=0/requests.h5ad" {
		t.Fatalf("units %+v", m.Units)
	}
	checkNoLeak(t, exp, m.Units[0])
	predictionsRoundTrip(t, text, dir, exp, 2, direct, "prompt-shift-py", "prompt-shift")
}

// runAndExport runs suite text into dir/direct (its records by model) and
// exports it into dir/export (the parsed suite, the directory, its
// manifest).
func runAndExport(t *testing.T, text, dir string) (map[string][]results.Record, *Suite, string, *ExportManifest) {
	t.Helper()
	direct, err := runExtIC(t, text, filepath.Join(dir, "direct"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSuite([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(dir, "export")
	m, err := Export(context.Background(), s, []byte(text), exp, testdata.Dir(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return direct, s, exp, m
}

// predictionsRoundTrip runs the export's commands.sh (from a scratch
// directory; it must report n commands), then text with --predictions
// exp into dir/via-files, and checks that each model's records equal
// direct's (the command run's) but for timings and git SHA.
func predictionsRoundTrip(t *testing.T, text, dir, exp string, n int, direct map[string][]results.Record, models ...string) {
	t.Helper()
	sh := exec.Command("sh", filepath.Join(exp, "commands.sh"))
	sh.Dir = t.TempDir()
	if b, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(b), fmt.Sprintf("%d commands done", n)) {
		t.Fatalf("commands.sh: %v\n%s", err, b)
	}
	via, err := runExtIC(t, text, filepath.Join(dir, "via-files"), exp, false)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(rs []results.Record) []string {
		var out []string
		for _, r := range rs {
			r.WallS, r.PeakMem, r.GitSHA = 0, 0, ""
			b, _ := json.Marshal(r)
			out = append(out, string(b))
		}
		sort.Strings(out)
		return out
	}
	for _, model := range models {
		a, b := strip(direct[model]), strip(via[model])
		if len(a) == 0 || strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("%s: records of the command run (%d) and the --predictions run (%d) differ", model, len(a), len(b))
		}
	}
}

// checkNoLeak checks an exported incontext unit: {train} holds exactly
// the split's training cells; every row of {requests} is a training
// cell's (none of the query context's perturbed cells), its query rows
// are the query context's controls, and its columns say each row's role.
func checkNoLeak(t *testing.T, exp string, u ExportUnit) {
	t.Helper()
	var sf inContextSplitFile
	b, err := os.ReadFile(filepath.Join(exp, "splits", u.Dataset, u.Task, fmt.Sprintf("seed-%d.json", u.Seed)))
	if err != nil || json.Unmarshal(b, &sf) != nil {
		t.Fatalf("split file: %v", err)
	}
	train, err := h5ad.Read(filepath.Join(exp, filepath.FromSlash(u.Inputs["train"])))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(train.Obs.Index, ",") != strings.Join(sf.TrainCells, ",") {
		t.Fatalf("{train} holds %d cells, the split's training cells are %d", len(train.Obs.Index), len(sf.TrainCells))
	}
	for _, n := range sf.TestCells {
		if slices.Contains(sf.TrainCells, n) {
			t.Fatalf("test cell %s is a training cell", n)
		}
	}
	// Rows by content (the data as prepared: the rows of {train}).
	rowHash := func(m *data.CSR, i int) uint64 {
		h := fnv.New64a()
		row := make([]float32, m.Cols)
		m.DenseRow(row, i)
		binary.Write(h, binary.LittleEndian, row)
		return h.Sum64()
	}
	trainRows, queryRows := map[uint64]bool{}, map[uint64]bool{}
	for i, n := range train.Obs.Index {
		trainRows[rowHash(train.X, i)] = true
		if slices.Contains(sf.QueryCells, n) {
			queryRows[rowHash(train.X, i)] = true
		}
	}
	req, err := h5ad.Read(filepath.Join(exp, filepath.FromSlash(u.Inputs["requests"])))
	if err != nil {
		t.Fatal(err)
	}
	roles, err := req.ObsLabels(RequestRoleCol)
	if err != nil {
		t.Fatal(err)
	}
	variants, _ := req.ObsLabels(RequestVariantCol)
	n := map[string]int{}
	for i, role := range roles {
		h := rowHash(req.X, i)
		if !trainRows[h] {
			t.Fatalf("requests row %d (%s) is not a training cell's", i, role)
		}
		if role == RoleQuery && !queryRows[h] {
			t.Fatalf("query row %d is not one of the query context's controls", i)
		}
		n[variants[i]+"/"+role]++
	}
	// 4 tested perturbations: the query (30 controls) per request, 16
	// prompt cells per prompted request.
	want := map[string]int{"matched/prompt": 4 * 16, "matched/query": 4 * 30, "none/query": 4 * 30, "wrong/prompt": 4 * 16, "wrong/query": 4 * 30}
	if fmt.Sprint(n) != fmt.Sprint(want) {
		t.Errorf("requests rows by variant/role %v, want %v", n, want)
	}
}

// TestExternalInContextValidation: declarations an external in-context
// model cannot have are refused by the suite's validation.
func TestExternalInContextValidation(t *testing.T) {
	for _, c := range []struct{ models, want string }{
		{"  - name: m\n    kind: incontext\n    command: [x, \"{data}\"]\n", "{data} is not an input of incontext models"},
		{"  - name: m\n    kind: incontext\n    command: [x, \"{requests}\"]\n    checkpoint: ck\n", "checkpoint and train_on apply to registry in-context models, not external ones"},
		{"  - name: m\n    kind: incontext\n    command: [x, \"{train}\", \"{requests}\", \"{out}\"]\n", ""},
	} {
		_, err := ParseSuite([]byte(fmt.Sprintf(externalICSuite, c.models)))
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want))) {
			t.Errorf("%q: error %v, want %q", c.models, err, c.want)
		}
	}
}

// docsTemplate writes the first ```python block under "## section" of
// docs/external-models.md into a new temporary directory and returns the
// directory and the script's path.
func docsTemplate(t *testing.T, section string) (dir, script string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "external-models.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "\n## "+section+"\n")
	_, block, ok2 := strings.Cut(sec, "\n```python\n")
	block, _, ok3 := strings.Cut(block, "\n```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("docs/external-models.md has no ```python block under %q", "## "+section)
	}
	dir = t.TempDir()
	script = filepath.Join(dir, "template.py")
	if err := os.WriteFile(script, []byte(block+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, script
}

// TestDocsInContextTemplate runs the minimal in-context model of
// docs/external-models.md: it predicts every query cell unchanged, so each
// of its prompt variants gives the built-in prompt-shift's records without
// a prompt (variant none), value for value.
func TestDocsInContextTemplate(t *testing.T) {
	py := icPython(t)
	dir, script := docsTemplate(t, "In-context models")
	by, err := runExtIC(t, fmt.Sprintf(externalICSuite, icCommandModel("template", py, script, "{train}", "{requests}", "{out}")), filepath.Join(dir, "run"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	none := map[string]results.Record{}
	for _, r := range by["prompt-shift"] {
		if r.Prompt == tasks.PromptNone {
			r.Prompt = ""
			none[recordKey(r)] = r
		}
	}
	if len(by["template"]) != 3*len(none) || len(none) == 0 {
		t.Fatalf("template: %d records, want 3 × %d", len(by["template"]), len(none))
	}
	for _, r := range by["template"] {
		p := r.Prompt
		r.Prompt = ""
		w, ok := none[recordKey(r)]
		if !ok || r.N != w.N || r.Warnings != w.Warnings || !(r.Value == w.Value || (math.IsNaN(r.Value) && math.IsNaN(w.Value))) {
			t.Errorf("template, prompt %s, %s: %v (n %d, %q); prompt-shift without a prompt: %v (n %d, %q)", p, recordKey(r), r.Value, r.N, r.Warnings, w.Value, w.N, w.Warnings)
		}
	}
}

// TestReadInContextOutputValidation: the request-level checks of an
// in-context {out}, on files made by code (the matrix checks are the
// perturbation path's, TestReadPertOutputValidation).
func TestReadInContextOutputValidation(t *testing.T) {
	dir := t.TempDir()
	genes := []string{"g0", "g1"}
	q := func(n int) *data.CSR { return data.NewCSRFromDense(n, 2, make([]float32, 2*n)) }
	variants := []string{tasks.PromptMatched, tasks.PromptNone}
	reqs := [][]tasks.InContextRequest{
		{{Perturbation: "p", QueryContext: "B", PromptContext: "A", Query: q(2)}},
		{{Perturbation: "p", QueryContext: "B", PromptContext: "A", Query: q(2)}},
	}
	build := func(name string, ids []int64, col string) string {
		dense := make([]float32, 2*len(ids))
		index := make([]string, len(ids))
		for i, id := range ids {
			dense[2*i] = float32(id) + 0.5 // request 1's cells read 1.5
			index[i] = fmt.Sprint("c", i)
		}
		obs := data.Frame{Index: index}
		obs.Set(&data.Column{Name: col, Kind: data.Int, Ints: ids})
		p := filepath.Join(dir, name+".h5ad")
		if err := h5ad.Write(p, &data.Dataset{X: data.NewCSRFromDense(len(ids), 2, dense), Obs: obs, Var: data.Frame{Index: genes}}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ name, path, want string }{
		{"valid, rows in any order", build("good", []int64{1, 0, 1, 0}, RequestIndexCol), ""},
		{"missing request", build("missing", []int64{0, 0}, RequestIndexCol), `missing request 1 ("p" in "B", prompt none): no cells (2 requested)`},
		{"miscounted request", build("count", []int64{0, 0, 0, 1, 1}, RequestIndexCol), `request 0 ("p" in "B", prompt matched) has 3 cells, 2 requested`},
		{"request not asked for", build("extra", []int64{0, 0, 1, 1, 7}, RequestIndexCol), "request 7 was not requested (1 cells)"},
		{"no request column", build("nocol", []int64{0, 0, 1, 1}, "req"), `obs: no column "request"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			preds, err := readInContextOutput(c.path, "out.h5ad", genes, variants, reqs)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(preds) != 2 || preds[0][0].Rows != 2 || preds[1][0].At(1, 0) != 1.5 || preds[0][0].At(0, 0) != 0.5 {
					t.Errorf("requests split wrongly: %+v", preds)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "output out.h5ad: ") || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), dir) {
				t.Errorf("error %v; want one naming out.h5ad and saying %q", err, c.want)
			}
		})
	}
}
