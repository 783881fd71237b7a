package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/h5adcorpus"
	"github.com/cellbench/cellbench/internal/h5adwrite"
	"github.com/cellbench/cellbench/internal/par"
	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/results"
)

// The hardening issue ("no silent wrong answers, no corrupted run
// directories"), class by class, through the real binary. Every input is
// made by code: the bad-input corpus and the label corpus of
// internal/h5adcorpus, CSVs written here, variants of the shared fixtures.
// Each class is a table; a case names the command, the exit status and
// what the one-line error, a warning or the output must say.

// noOutput fails when path exists (a refused command must leave nothing).
func noOutput(t *testing.T, name, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s: %s was created despite the error", name, path)
	}
}

// writeFile writes text to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// embedCSV writes the scIB fixture CSV with every embedding coordinate
// passed through f(row, column, value).
func embedCSV(t *testing.T, dir, name string, f func(i, j int, v string) string) string {
	t.Helper()
	b, err := os.ReadFile(embedFixture)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := 1; i < len(lines); i++ {
		fields := strings.Split(lines[i], ",")
		for j := 3; j < len(fields); j++ { // cell, cell_type, batch, X1…X8
			fields[j] = f(i-1, j-3, fields[j])
		}
		lines[i] = strings.Join(fields, ",")
	}
	return writeFile(t, dir, name, strings.Join(lines, "\n")+"\n")
}

// embedResults reads the metrics of the one embedding of a score embed
// results.json, with the reasons.
func embedResults(t *testing.T, out string) (map[string]float64, map[string]string, []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Embeddings []struct {
			Metrics []struct {
				Name   string          `json:"name"`
				Value  json.RawMessage `json:"value"`
				Reason string          `json:"reason"`
			} `json:"metrics"`
			Notes []string `json:"notes"`
		} `json:"embeddings"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	vals, reasons := map[string]float64{}, map[string]string{}
	for _, m := range doc.Embeddings[0].Metrics {
		var v float64
		if err := json.Unmarshal(m.Value, &v); err != nil {
			v = math.NaN() // "NaN" is a JSON string (metrics.Value)
		}
		vals[m.Name], reasons[m.Name] = v, m.Reason
	}
	return vals, reasons, doc.Embeddings[0].Notes
}

// TestHardeningNumeric: no embedding panics score embed, every NaN in
// results.json has its reason, and an embedding beyond float64 is refused
// with the coordinate named.
func TestHardeningNumeric(t *testing.T) {
	dir := t.TempDir()
	common := []string{"score", "embed", "--embed-cols", "X*", "--label-col", "cell_type", "--batch-col", "batch", "--threads", "2"}
	args := func(csv, out string) []string {
		return append(append([]string{}, common...), "--embed", csv, "--out", out)
	}

	plain := embedCSV(t, dir, "plain.csv", func(_, _ int, v string) string { return v })
	// ×2^530 (≈ 3.5e159) is exact in float64: the same embedding around 1e160.
	big := embedCSV(t, dir, "big.csv", func(_, _ int, v string) string {
		var x float64
		fmt.Sscan(v, &x)
		return fmt.Sprint(math.Ldexp(x, 530))
	})
	outlier := embedCSV(t, dir, "outlier.csv", func(i, j int, v string) string {
		if i == 3 && j == 0 {
			return "1e200"
		}
		return v
	})
	constant := embedCSV(t, dir, "constant.csv", func(_, _ int, _ string) string { return "2.5" })

	cliCase{name: "plain fixture", args: args(plain, filepath.Join(dir, "o-plain")), code: 0}.check(t)
	// Was: panic: slice bounds out of range [-8:] in KMeansPlusPlusInit.
	cliCase{name: "coordinates around 1e160", args: args(big, filepath.Join(dir, "o-big")), code: 0,
		err: []string{"note: embedding rescaled by 2^"}}.check(t)
	// Was: silhouette_label, silhouette_batch, pcr_comparison NaN with no
	// (or a wrong) reason, NMI silently lower.
	cliCase{name: "one coordinate 1e200", args: args(outlier, filepath.Join(dir, "o-outlier")), code: 1,
		err: []string{"embedding: value 1e+200 at cell 3, column 0 is about 2^664 (8e+199) times the median magnitude"}}.check(t)
	noOutput(t, "one coordinate 1e200", filepath.Join(dir, "o-outlier"))
	cliCase{name: "constant embedding", args: args(constant, filepath.Join(dir, "o-constant")), code: 0}.check(t)

	want, _, _ := embedResults(t, filepath.Join(dir, "o-plain"))
	got, reasons, notes := embedResults(t, filepath.Join(dir, "o-big"))
	if len(notes) != 1 || !strings.Contains(notes[0], "rescaled") {
		t.Errorf("notes of the rescaled embedding: %q", notes)
	}
	for name, w := range want {
		g := got[name]
		switch name {
		case "clisi", "ilisi", "bio", "batch", "total": // LISI is not scale-invariant (scib-metrics' definition)
			if math.Abs(g-w) > 1e-4 || !strings.Contains(reasons["clisi"], "rescaled") {
				t.Errorf("%s at 1e160: %v, want %v within 1e-4 and a reason saying so", name, g, w)
			}
		default:
			if math.Abs(g-w) > 1e-12 && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Errorf("%s at 1e160: %v, want %v as at scale 1", name, g, w)
			}
		}
	}
	for _, out := range []string{"o-plain", "o-big", "o-constant"} {
		vals, reasons, _ := embedResults(t, filepath.Join(dir, out))
		for name, v := range vals {
			if math.IsNaN(v) && reasons[name] == "" {
				t.Errorf("%s: %s is NaN without a reason", out, name)
			}
		}
	}
}

// TestPanicBecomesOneLineError: the last resort — a panic in a command,
// even in a parallel worker goroutine, is one error line that names it as
// a bug (no input is known to reach one: the causes are fixed).
func TestPanicBecomesOneLineError(t *testing.T) {
	for name, body := range map[string]func(){
		"in the command": func() { var s []int; _ = s[3] },
		"in a worker":    func() { par.Range(100, 4, 1, func(_, lo, _ int) { panic(fmt.Sprintf("bad cell\n%d", lo)) }) },
	} {
		c := command{name: "test panic", run: func(context.Context, []string, io.Writer, io.Writer) error { body(); return nil }}
		err := c.runGuarded(context.Background(), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "test panic: internal error, a cellbench bug") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v", name, err)
		}
		if !strings.Contains(err.Error(), "hardening_test.go:") {
			t.Errorf("%s: the error does not say where: %v", name, err)
		}
	}
}

// TestHardeningStrictInputs: one rule per input class, each refused (or
// warned about) with a one-line message naming what is wrong, before any
// output is created.
func TestHardeningStrictInputs(t *testing.T) {
	if !h5adwrite.Available {
		t.Skip("writing the corpus needs cgo")
	}
	dir := t.TempDir()
	labels, err := h5adcorpus.WriteLabelCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h5adcorpus.WriteBadInputCorpus(dir); err != nil {
		t.Fatal(err)
	}
	in := func(name string) string { return filepath.Join(dir, name) }
	base := in("base.h5ad")

	// Label corpus through score pert: missing labels refused, near-misses
	// warned about or named, invisible differences quoted visibly.
	for _, c := range labels {
		real := base
		if c.Self {
			real = in(c.Name)
		}
		out := filepath.Join(dir, "out-"+c.Name)
		cc := cliCase{name: c.Problem, args: []string{"score", "pert", "--real", real, "--pred", in(c.Name), "--out", out}}
		if c.WantErr != "" {
			cc.code, cc.err = 1, []string{c.WantErr}
			cc.check(t)
			noOutput(t, c.Name, out)
			continue
		}
		cc.err = []string{"warning: ", c.WantWarn}
		cc.check(t)
		b, _ := os.ReadFile(filepath.Join(out, "results.json"))
		if !strings.Contains(string(b), "differs from the control") {
			t.Errorf("%s: results.json lacks the warning", c.Name)
		}
	}
	// log1p with an integer ≥ 15, through score pert (data prep runs the
	// whole bad-input corpus in TestBadInputCorpus).
	for _, name := range []string{"log1p_integer_20.h5ad", "log1p_integer_1e30.h5ad"} {
		want := map[string]string{"log1p_integer_20.h5ad": "value 20 ≥ 15", "log1p_integer_1e30.h5ad": "value 1e+30 ≥ 15"}[name]
		cliCase{name: name, args: []string{"score", "pert", "--real", in(name), "--pred", in(name), "--out", in("o-" + name)}, code: 1,
			err: []string{name, want, "neither"}}.check(t)
	}

	// Flags and obs columns before X: the file's X is broken
	// (indptr_inconsistent.h5ad), so an error about the column proves that
	// X was not read first (it was: 7 s of reading on an 85k × 18k file
	// before a wrong --pert-col was reported).
	broken := in("badx.h5ad")
	if err := os.Rename(in("indptr_inconsistent.h5ad"), broken); err != nil {
		t.Fatal(err)
	}
	for _, c := range []cliCase{
		{name: "score pert --pert-col", args: []string{"score", "pert", "--real", broken, "--pred", broken, "--pert-col", "perturbaton", "--out", in("o1")},
			err: []string{`--pert-col: obs: no column "perturbaton" (have "target_gene")`}},
		{name: "score pert --context-col", args: []string{"score", "pert", "--real", broken, "--pred", broken, "--context-col", "cell_type", "--out", in("o1")},
			err: []string{`--context-col: obs: no column "cell_type"`}},
		{name: "score pert --control", args: []string{"score", "pert", "--real", broken, "--pred", broken, "--control", "Non-Targeting", "--out", in("o1")},
			err: []string{`control label "Non-Targeting" not found in obs column "target_gene"; it has "non-targeting"`}},
		{name: "score pert --lfc-epsilon", args: []string{"score", "pert", "--real", broken, "--pred", broken, "--lfc-epsilon", "Inf", "--out", in("o1")},
			err: []string{`LFC epsilon +Inf is negative or not finite`}},
		{name: "score pert --metrics", args: []string{"score", "pert", "--real", broken, "--pred", broken, "--metrics", "pearson", "--out", in("o1")},
			err: []string{`unknown perturbation metric "pearson"`}},
		{name: "score embed --metrics", args: []string{"score", "embed", "--data", broken, "--pca", "2", "--metrics", "asw", "--out", in("o1")},
			err: []string{`--metrics: unknown metric "asw"`}},
		{name: "score embed --label-col", args: []string{"score", "embed", "--data", broken, "--pca", "2", "--label-col", "celltype", "--out", in("o1")},
			err: []string{`--label-col: `, `no column "celltype"`}},
		{name: "data prep --obs-cols", args: []string{"data", "prep", "--in", broken, "--obs-cols", "target_gene,dose", "--out", in("o1.h5ad")},
			err: []string{`--obs-cols: `, `no column "dose"`}},
		{name: "train --pert-col", args: []string{"train", "--config", "tiny", "--data", broken, "--pert-col", "gene", "--out", in("o1")},
			err: []string{`pert_col: no column "gene"`}},
		{name: "train --scale", args: []string{"train", "--config", "tiny", "--data", broken, "--scale", "log", "--out", in("o1")},
			err: []string{`--scale: unknown scale "log"`}},
		{name: "train --split", args: []string{"train", "--config", "tiny", "--data", broken, "--split", "zeroshot", "--out", in("o1")},
			err: []string{`--split: unknown task "zeroshot"`}},
	} {
		c.code = 1
		_, stderr := c.check(t)
		if strings.Contains(stderr, "indptr") {
			t.Errorf("%s: X was read before the flags were checked: %s", c.name, stderr)
		}
		noOutput(t, c.name, in("o1"))
		noOutput(t, c.name, in("o1.h5ad"))
	}

	// --target-sum ≤ 0 (0 is the documented median): the flag's error,
	// not the input file's, and no negative "log1p" data written.
	fix := pertFixture(t)
	for _, c := range []cliCase{
		{name: "data prep --target-sum -5", args: []string{"data", "prep", "--in", fix, "--target-sum", "-5", "--out", in("o2.h5ad")}},
		{name: "score pert --target-sum -1", args: []string{"score", "pert", "--real", fix, "--pred", fix, "--pert-col", "perturbation", "--control", "control", "--target-sum", "-1", "--out", in("o2")}},
		{name: "score embed --target-sum NaN", args: []string{"score", "embed", "--data", fix, "--pca", "5", "--label-col", "cell_type", "--batch-col", "perturbation", "--target-sum", "NaN", "--out", in("o2")}},
	} {
		c.code, c.err = 1, []string{"--target-sum: target sum", "want a library size > 0, or 0 for the median"}
		_, stderr := c.check(t)
		if strings.Contains(stderr, filepath.Base(fix)) {
			t.Errorf("%s: the error blames the input file: %s", c.name, stderr)
		}
		noOutput(t, c.name, in("o2"))
		noOutput(t, c.name, in("o2.h5ad"))
	}

	// A CSV with a column named twice: refused by every CSV reader (the
	// embedding CSV used the last one).
	dup := embedCSV(t, dir, "dup.csv", func(_, _ int, v string) string { return v })
	b, _ := os.ReadFile(dup)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	lines[0] += ",cell_type"
	for i := 1; i < len(lines); i++ {
		lines[i] += ",WRONG"
	}
	writeFile(t, dir, "dup.csv", strings.Join(lines, "\n")+"\n")
	dupAgg := writeFile(t, dir, "dup_agg.csv", "statistic,mse,mse\nmean,0.1,0.2\n")
	dupPos := writeFile(t, dir, "dup_pos.csv", "cell,gene,true_count,true_bin,pred_bin,pred_count,gene\na,b,1,1,1,1,c\n")
	for _, c := range []cliCase{
		{name: "embedding CSV", args: []string{"score", "embed", "--embed", dup, "--embed-cols", "X*", "--label-col", "cell_type", "--batch-col", "batch", "--out", in("o3")},
			err: []string{`header: column "cell_type" appears twice (columns 2 and 12)`}},
		{name: "baseline agg_results.csv", args: []string{"score", "pert", "--real", base, "--pred", base, "--baseline", dupAgg, "--out", in("o3")},
			err: []string{`header: column "mse" appears twice (columns 2 and 3)`}},
		{name: "positions CSV", args: []string{"score", "impute", "--positions", dupPos, "--out", in("o3")},
			err: []string{`header: column "gene" appears twice (columns 2 and 7)`}},
	} {
		c.code = 1
		c.check(t)
		noOutput(t, c.name, in("o3"))
	}
}

// suiteOn writes a suite with one pert-zeroshot task (k562 held out) on a
// dataset block given as YAML lines and the control model.
func suiteOn(t *testing.T, dir, name, dataset string) string {
	t.Helper()
	text := fmt.Sprintf("name: %s\ndatasets:\n  - name: ds\n%s\ntasks:\n  - name: pert-zeroshot\n    holdout: k562\n    datasets: [ds]\nmodels: [control]\nseeds: [0]\neval: {profile: minimal}\n", name, dataset)
	return writeFile(t, dir, name+".yaml", text)
}

// TestHardeningSuiteInputs: the same rules through cellbench run: a drop
// label that labels no cell, missing labels, columns checked before X, a
// target_sum that is no library size; control near-misses are warnings.
func TestHardeningSuiteInputs(t *testing.T) {
	fix := pertFixture(t)
	dir := t.TempDir()
	missing := writeVariant(t, fix, filepath.Join(dir, "missing.h5ad"), func(d *data.Dataset) {
		c, _ := d.Obs.Column("perturbation")
		c.Codes[7] = -1 // pandas NaN
	})
	near := writeVariant(t, fix, filepath.Join(dir, "near.h5ad"), func(d *data.Dataset) {
		labels, _ := d.ObsLabels("perturbation")
		n := 0
		for i, l := range labels {
			if l == "control" && n < 5 {
				labels[i] = "Control "
				n++
			}
		}
		d.Obs.Set(data.NewCategorical("perturbation", labels))
	})
	block := func(file string, extra string) string {
		return fmt.Sprintf("    file: %s\n    pert_col: perturbation\n    context_col: cell_type\n    control: control\n%s", file, extra)
	}
	run := func(name, suite string) []string {
		return []string{"run", suite, "--out", filepath.Join(dir, "run-"+name)}
	}
	for _, c := range []struct {
		cliCase
		dataset string
	}{
		{cliCase{name: "drop label that labels no cell", code: 1,
			out: []string{`FAILED`, `dataset ds: drop label "multple" not found in obs column "perturbation"`}},
			block(fix, "    drop: [multple]\n")},
		{cliCase{name: "missing perturbation label", code: 1,
			out: []string{`FAILED`, `obs column "perturbation": 1 of 300 cells have a missing label`}},
			block(missing, "")},
		{cliCase{name: "control near-miss", code: 0,
			err: []string{`warning: dataset ds: obs column "perturbation": label "Control " (5 cells) differs from the control "control" only by case`}},
			block(near, "")},
	} {
		c.args = run(strings.ReplaceAll(c.name, " ", "-"), suiteOn(t, dir, strings.ReplaceAll(c.name, " ", "-"), c.dataset))
		c.cliCase.check(t)
	}
	// The near-miss warning is in every record of the dataset's cells, not
	// only on stderr.
	recs, err := results.ReadJSONL(filepath.Join(dir, "run-control-near-miss", "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("control near-miss: no records")
	}
	for _, r := range recs {
		if !strings.Contains(r.Warnings, `label "Control " (5 cells) differs from the control "control" only by case`) {
			t.Fatalf("record %s/%s/%s lacks the dataset's near-miss warning: warnings %q", r.Task, r.Perturbation, r.Metric, r.Warnings)
		}
	}
	// Refused when the suite is parsed: nothing is run or created.
	for _, c := range []struct{ name, extra, want string }{
		{"negative target_sum", "    target_sum: -1\n", "target_sum -1: want a library size > 0"},
		{"NaN target_sum", "    target_sum: .nan\n", "suite.datasets[0].target_sum: NaN is not a finite number"},
	} {
		suite := suiteOn(t, dir, strings.ReplaceAll(c.name, " ", "-"), block(fix, c.extra))
		out := filepath.Join(dir, "run-"+strings.ReplaceAll(c.name, " ", "-"))
		cliCase{name: c.name, args: []string{"run", suite, "--out", out}, code: 1, err: []string{c.want}}.check(t)
		noOutput(t, c.name, out)
	}
	// Any number of a suite: a NaN de_fdr passed its range check and
	// panicked the cells' fingerprints (as a NaN target_sum did).
	suite := suiteOn(t, dir, "nan-de-fdr", block(fix, ""))
	b, _ := os.ReadFile(suite)
	os.WriteFile(suite, []byte(strings.Replace(string(b), "eval: {profile: minimal}", "eval: {profile: minimal, de_fdr: .nan}", 1)), 0o644)
	out := filepath.Join(dir, "run-nan-de-fdr")
	cliCase{name: "NaN de_fdr", args: []string{"run", suite, "--out", out}, code: 1, err: []string{"suite.eval.de_fdr: NaN is not a finite number"}}.check(t)
	noOutput(t, "NaN de_fdr", out)
}

// TestHardeningTrainPredict: train refuses a configuration Train would
// refuse before creating --out (a rejected steps=0 left a start file that
// blocked the corrected run), and predict refuses a --control other than
// the checkpoint's.
func TestHardeningTrainPredict(t *testing.T) {
	fix := pertFixture(t)
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	train := func(set string) []string {
		return []string{"train", "--config", "tiny", "--set", set, "--data", fix, "--quiet", "--out", ckpt}
	}
	cliCase{name: "train steps=0", args: train("steps=0"), code: 1, err: []string{"steps=0: want a value > 0"}}.check(t)
	noOutput(t, "train steps=0", ckpt)
	cliCase{name: "corrected train", args: train("steps=2"), code: 0, out: []string{"trained state: 2 steps"}}.check(t)
	pred := filepath.Join(dir, "pred.h5ad")
	cliCase{name: "predict with another control", args: []string{"predict", "--ckpt", ckpt, "--data", fix, "--control", "SGK1", "--out", pred}, code: 1,
		err: []string{`--control "SGK1" differs from the control "control" that checkpoint`}}.check(t)
	noOutput(t, "predict with another control", pred)
	cliCase{name: "predict with the checkpoint's control", args: []string{"predict", "--ckpt", ckpt, "--data", fix, "--ncells", "5", "--out", pred}, code: 0,
		out: []string{"predicted"}}.check(t)
}

// TestHardeningOutputDirectories: every command that writes a directory
// replaces it as a whole: no stale file of an earlier run stays beside
// new ones; a foreign non-empty directory needs --force; an input's
// directory is never replaced.
func TestHardeningOutputDirectories(t *testing.T) {
	if !h5adwrite.Available {
		t.Skip("writing the corpus needs cgo")
	}
	dir := t.TempDir()
	if _, err := h5adcorpus.WriteLabelCorpus(dir); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base.h5ad")
	pos := writeFile(t, dir, "pos.csv", "cell,gene,true_count,true_bin,pred_bin,pred_count\na,g,1,1,1,1\nb,g,0,0,1,2\nc,h,3,2,2,3\n")
	out := filepath.Join(dir, "scores")
	pert := func(extra ...string) []string {
		return append([]string{"score", "pert", "--real", base, "--pred", base, "--out", out}, extra...)
	}
	cliCase{name: "first score pert", args: pert(), code: 0}.check(t)
	baseline := filepath.Join(dir, "baseline_agg.csv")
	b, _ := os.ReadFile(filepath.Join(out, "agg_results.csv"))
	os.WriteFile(baseline, b, 0o644)
	cliCase{name: "score pert with --baseline", args: pert("--baseline", baseline), code: 0}.check(t)
	if _, err := os.Stat(filepath.Join(out, "score.csv")); err != nil {
		t.Fatal("no score.csv with --baseline")
	}
	cliCase{name: "score pert again without --baseline", args: pert(), code: 0}.check(t)
	if _, err := os.Stat(filepath.Join(out, "score.csv")); err == nil {
		t.Error("a stale score.csv stayed beside the new results")
	}

	foreign := filepath.Join(dir, "mine")
	os.MkdirAll(foreign, 0o755)
	writeFile(t, foreign, "thesis.tex", "mine")
	for _, c := range []cliCase{
		{name: "score pert", args: []string{"score", "pert", "--real", base, "--pred", base, "--out", foreign}},
		{name: "score embed", args: []string{"score", "embed", "--embed", embedFixture, "--embed-cols", "X*", "--label-col", "cell_type", "--out", foreign}},
		{name: "score impute", args: []string{"score", "impute", "--positions", pos, "--out", foreign}},
		{name: "impute", args: []string{"impute", "--model", "knn", "--data", base, "--out", foreign}},
		{name: "report", args: []string{"report", dir, "--out", foreign}},
	} {
		c.code = 1
		c.err = []string{"is not empty and holds no earlier", `(1 entries, e.g. "thesis.tex")`, "--force"}
		c.check(t)
		if b, _ := os.ReadFile(filepath.Join(foreign, "thesis.tex")); string(b) != "mine" {
			t.Fatalf("%s: a refused command touched the directory", c.name)
		}
	}
	cliCase{name: "score impute --force", args: []string{"score", "impute", "--positions", pos, "--out", foreign, "--force"}, code: 0}.check(t)
	if _, err := os.Stat(filepath.Join(foreign, "thesis.tex")); err == nil {
		t.Error("--force kept the old file beside the new output")
	}
	for _, c := range []cliCase{
		{name: "score pert into the input's directory", args: []string{"score", "pert", "--real", base, "--pred", base, "--out", dir, "--force"}},
		{name: "score impute into the input's directory", args: []string{"score", "impute", "--positions", pos, "--out", dir, "--force"}},
	} {
		c.code, c.err = 1, []string{"an input of this command: choose another --out"}
		c.check(t)
		if _, err := os.Stat(base); err != nil {
			t.Fatalf("%s: the input was removed", c.name)
		}
	}
	// An output file that is an input would destroy it (data prep's raw
	// counts replaced by their log1p copy; an .h5ad written back loses what
	// cellbench does not model).
	src, _ := os.ReadFile(pertFixture(t))
	in := filepath.Join(dir, "in.h5ad")
	os.WriteFile(in, src, 0o644)
	for _, c := range []cliCase{
		{name: "data prep --out = --in", args: []string{"data", "prep", "--in", in, "--out", in}},
		{name: "embed --out = --data", args: []string{"embed", "--model", "pca", "--data", in, "--out", in}},
		{name: "predict --out = --data", args: []string{"predict", "--ckpt", filepath.Join(dir, "ck"), "--data", in, "--out", in}},
	} {
		c.code, c.err = 1, []string{"is " + in + ", an input of this command: choose another --out"}
		c.check(t)
		if b, _ := os.ReadFile(in); string(b) != string(src) {
			t.Fatalf("%s: the input was changed", c.name)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*partial*"))
	if len(left) > 0 {
		t.Errorf("staging directories left: %v", left)
	}
}

// TestDataListVerifyExitStatus: a changed or missing file fails
// `data list --verify` (it exited 0, so CI could not catch it); the plain
// list still exits 0.
func TestDataListVerifyExitStatus(t *testing.T) {
	src := testdata.Path(t, "fixture_tiny_perturbation_300cells.h5ad")
	dir := t.TempDir()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, filepath.Base(src)), append(b, 0), 0o644) // one byte more
	cliCase{name: "data list --verify", args: []string{"data", "list", "--data-dir", dir, "--verify"}, code: 1,
		out: []string{"CHANGED", "MISSING"},
		err: []string{"local datasets failed verification", "fixture-perturbation (checksum changed)", "tapseq (missing)"}}.check(t)
	cliCase{name: "data list", args: []string{"data", "list", "--data-dir", dir}, code: 0, out: []string{"MISSING"}}.check(t)
	// The shipped data verifies.
	cliCase{name: "data list --verify on the shared data", args: []string{"data", "list", "--data-dir", filepath.Dir(src), "--verify"}, code: 0,
		out: []string{"verified"}}.check(t)
}

// TestLabelCorpusFilesRead: every label-corpus file is a valid AnnData
// file (its defect is in the labels, not the format).
func TestLabelCorpusFilesRead(t *testing.T) {
	if !h5adwrite.Available {
		t.Skip("writing the corpus needs cgo")
	}
	dir := t.TempDir()
	cases, err := h5adcorpus.WriteLabelCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		d, err := h5ad.Read(filepath.Join(dir, c.Name))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}
