package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
)

// The STACK command path on the 300-cell fixtures, tiny config: pre-train
// on the two fixtures → embed to CSV (read back by score embed) and to
// .h5ad (obsm X_stack) → in-context post-training from the pre-trained
// checkpoint (split pert-fewshot:A172) → predict --prompt/--query → score pert
// reads the prediction directly. Also the one-line errors of bad flags.
// The whole path must stay well under 2 minutes on 2 cores (CI budget).
func TestStackCommandsTiny(t *testing.T) {
	t0 := time.Now()
	dir := sharedDataDir(t)
	tmp := t.TempDir()
	pre := filepath.Join(tmp, "pre")
	fixP := filepath.Join(dir, "fixture_tiny_perturbation_300cells.h5ad")
	fixI := filepath.Join(dir, "fixture_tiny_integration_300cells.h5ad")
	cli := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, &out, &errb)
		return out.String(), errb.String(), err
	}
	if _, se, err := cli("train", "--model", "stack", "--config", "tiny", "--quiet", "--data", fixP+","+fixI,
		"--sample-col", "cell_type,donor", "--out", pre); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, se)
	}
	embCSV := filepath.Join(tmp, "emb.csv")
	if _, se, err := cli("embed", "--model", "stack", "--ckpt", pre, "--data", fixI, "--sample-col", "donor", "--out", embCSV); err != nil {
		t.Fatalf("embed: %v\n%s", err, se)
	}
	f, err := os.Open(embCSV)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// tiny: 4 tokens × 8 = 32 dims; cell_id + 2 categorical obs columns.
	if len(rows) != 301 || rows[0][0] != "cell_id" || rows[0][len(rows[0])-1] != "stack_32" {
		t.Fatalf("embedding CSV: %d rows, header %v", len(rows), rows[0])
	}
	if _, se, err := cli("score", "embed", "--embed", embCSV, "--embed-cols", "stack_*", "--label-col", "cell_type",
		"--batch-col", "donor", "--metrics", "knn_accuracy", "--out", filepath.Join(tmp, "scib")); err != nil {
		t.Fatalf("score embed of the STACK CSV: %v\n%s", err, se)
	}
	embH5 := filepath.Join(tmp, "emb.h5ad")
	if _, se, err := cli("embed", "--model", "stack", "--ckpt", pre, "--data", fixI, "--out", embH5); err != nil {
		t.Fatalf("embed h5ad: %v\n%s", err, se)
	}
	d, err := h5ad.Read(embH5)
	if err != nil {
		t.Fatal(err)
	}
	if e := d.Obsm["X_stack"]; e == nil || e.Rows != 300 || e.Cols != 32 {
		t.Fatalf("obsm X_stack: %+v", d.Obsm)
	}

	ic := filepath.Join(tmp, "ic")
	_, se, err := cli("train", "--model", "stack", "--stage", "incontext", "--init", pre, "--quiet", "--data", fixP,
		"--split", "pert-fewshot:A172", "-set", "ic_steps=10", "--out", ic)
	if err != nil {
		t.Fatalf("incontext: %v\n%s", err, se)
	}
	// Prompt: k562 SGK1; query: A172 controls; real: A172 controls + SGK1.
	full, err := h5ad.Read(fixP)
	if err != nil {
		t.Fatal(err)
	}
	perts, _ := full.ObsLabels("perturbation")
	ctxs, _ := full.ObsLabels("cell_type")
	var pr, qr, rr []int
	for i := range perts {
		switch {
		case ctxs[i] == "k562" && perts[i] == "SGK1":
			pr = append(pr, i)
		case ctxs[i] == "A172" && perts[i] == "control":
			qr = append(qr, i)
			rr = append(rr, i)
		case ctxs[i] == "A172" && perts[i] == "SGK1":
			rr = append(rr, i)
		}
	}
	write := func(name string, rows []int) string {
		p := filepath.Join(tmp, name)
		if err := h5ad.Write(p, full.SubsetCells(rows)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	prompt, query, real := write("prompt.h5ad", pr), write("query.h5ad", qr), write("real.h5ad", rr)
	alien := full.SubsetCells(qr)
	alien.Var.Index = append([]string(nil), alien.Var.Index...)
	for j := range alien.Var.Index {
		alien.Var.Index[j] = "NOT-A-GENE-" + alien.Var.Index[j]
	}
	alienPath := filepath.Join(tmp, "alien.h5ad")
	if err := h5ad.Write(alienPath, alien); err != nil {
		t.Fatal(err)
	}
	pred := filepath.Join(tmp, "pred.h5ad")
	so, se, err := cli("predict", "--model", "stack", "--ckpt", ic, "--prompt", prompt, "--query", query, "--steps", "2", "--out", pred)
	if err != nil {
		t.Fatalf("predict: %v\n%s", err, se)
	}
	if !strings.Contains(se, "0 of its 200 genes unknown") || !strings.Contains(so, `predicted 30 cells of "SGK1"`) {
		t.Fatalf("predict output:\n%s\n%s", so, se)
	}
	pd, err := h5ad.Read(pred)
	if err != nil {
		t.Fatal(err)
	}
	if pd.NCells() != 60 || pd.NGenes() != 200 || pd.Scale == data.Counts {
		t.Fatalf("prediction %d×%d scale %v", pd.NCells(), pd.NGenes(), pd.Scale)
	}
	if _, se, err := cli("score", "pert", "--real", real, "--pred", pred, "--pert-col", "perturbation", "--control", "control",
		"--profile", "minimal", "--out", filepath.Join(tmp, "score")); err != nil {
		t.Fatalf("score pert of the STACK prediction: %v\n%s", err, se)
	}

	// Bad input: one-line errors, nothing written.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"embed", "--model", "stack", "--data", fixI, "--out", filepath.Join(tmp, "x.csv")}, "needs --ckpt"},
		{[]string{"embed", "--model", "stack", "--ckpt", pre, "--data", fixI, "--out", filepath.Join(tmp, "x.txt")}, "must end in .csv or .h5ad"},
		{[]string{"embed", "--model", "linear", "--data", fixI, "--out", filepath.Join(tmp, "x.csv")}, "not an embedding model"},
		{[]string{"embed", "--model", "stack", "--ckpt", pre, "--data", fixI, "--sample-col", "nope", "--out", filepath.Join(tmp, "x.csv")}, `no column "nope"`},
		{[]string{"train", "--model", "stack", "--stage", "incontext", "--init", pre, "--config", "tiny", "--data", fixP, "--out", filepath.Join(tmp, "x")}, "--config does not apply"},
		{[]string{"train", "--model", "stack", "--stage", "incontext", "--init", pre, "-set", "n_layers=3", "--data", fixP, "--out", filepath.Join(tmp, "x")}, "architecture of a post-training stage"},
		{[]string{"train", "--model", "stack", "--stage", "finetune", "--data", fixP, "--out", filepath.Join(tmp, "x")}, "want pretrain or incontext"},
		{[]string{"predict", "--model", "stack", "--ckpt", pre, "--prompt", prompt, "--query", query, "--out", filepath.Join(tmp, "x.h5ad")}, "is a pretrain checkpoint"},
		{[]string{"predict", "--model", "stack", "--ckpt", ic, "--prompt", prompt, "--out", filepath.Join(tmp, "x.h5ad")}, "go together"},
		{[]string{"predict", "--model", "stack", "--ckpt", ic, "--prompt", prompt, "--query", alienPath, "--out", filepath.Join(tmp, "x.h5ad")}, "query: stack: the cells share no gene"},
	} {
		_, _, err := cli(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line containing %q", tc.args, err, tc.want)
		}
	}
	for _, p := range []string{"x.csv", "x.txt", "x.h5ad"} {
		if _, err := os.Stat(filepath.Join(tmp, p)); err == nil {
			t.Errorf("%s was written by a failing command", p)
		}
	}
	t.Logf("STACK command path: %.1fs", time.Since(t0).Seconds())
}
