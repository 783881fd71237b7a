package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/metrics/scib"
)

const embedFixture = "../../testdata/scib/fixture.csv"

func TestScoreEmbedCSV(t *testing.T) {
	out := filepath.Join(t.TempDir(), "scores")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"score", "embed", "--embed", embedFixture, "--embed-cols", "X*",
		"--label-col", "cell_type", "--batch-col", "batch", "--pre-cols", "X*", "--threads", "2", "--out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	f, err := os.Open(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := append([]string{"embedding", "cells", "dims", "preset"}, scib.AllMetrics()...)
	if strings.Join(rows[0], ",") != strings.Join(wantHeader, ",") {
		t.Fatalf("header %v, want %v", rows[0], wantHeader)
	}
	if len(rows) != 2 || rows[1][0] != "fixture" || rows[1][1] != "240" || rows[1][2] != "8" || rows[1][3] != "scib-metrics-0.6" {
		t.Fatalf("rows %v", rows)
	}
	col := map[string]float64{}
	for j, name := range rows[0][4:] {
		v, err := strconv.ParseFloat(rows[1][j+4], 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		col[name] = v
	}
	// silhouette_label = (sklearn silhouette_score + 1)/2 with
	// silhouette_score = 0.1318095816440151 (testdata/scib/reference.json).
	if d := col["silhouette_label"] - (0.1318095816440151+1)/2; d > 1e-9 || d < -1e-9 {
		t.Errorf("silhouette_label = %v", col["silhouette_label"])
	}
	// The pre-integration embedding is the embedding itself: nothing removed.
	if col["pcr_comparison"] != 0 {
		t.Errorf("pcr_comparison = %v, want 0", col["pcr_comparison"])
	}
	var js struct {
		Embeddings []struct {
			Metrics []struct {
				Name   string   `json:"name"`
				Value  *float64 `json:"value"`
				Reason string   `json:"reason"`
			} `json:"metrics"`
		} `json:"embeddings"`
	}
	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Embeddings) != 1 || len(js.Embeddings[0].Metrics) != len(scib.AllMetrics()) {
		t.Fatalf("results.json: %d embeddings", len(js.Embeddings))
	}
	if !strings.Contains(stdout.String(), "silhouette_label") || !strings.Contains(stdout.String(), "preset scib-metrics-0.6: bio = mean(") {
		t.Errorf("stdout lacks the summary table or its preset:\n%s", stdout.String())
	}
	// The default batch mean is over the Benchmarker's set (bras, not silhouette_batch).
	want := (col["bras"] + col["ilisi"] + col["kbet_per_label"] + col["graph_connectivity"] + col["pcr_comparison"]) / 5
	if d := col["batch"] - want; d > 1e-9 || d < -1e-9 {
		t.Errorf("batch = %v, want the mean of the scib-metrics-0.6 members %v", col["batch"], want)
	}
}

// TestScoreEmbedPreset: --preset scib-1 averages silhouette_batch instead of
// bras into batch and says so in results.csv, results.json and on stdout.
func TestScoreEmbedPreset(t *testing.T) {
	out := filepath.Join(t.TempDir(), "scores")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"score", "embed", "--embed", embedFixture, "--embed-cols", "X*", "--preset", "scib-1",
		"--label-col", "cell_type", "--batch-col", "batch", "--metrics", "bras,silhouette_batch,ilisi,kbet_per_label,graph_connectivity,batch", "--out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(out, "results.csv"))
	if rows[0][3] != "preset" || rows[1][3] != "scib-1" {
		t.Fatalf("results.csv preset column: %v", rows)
	}
	v := map[string]float64{}
	for j, name := range rows[0][4:] {
		v[name], _ = strconv.ParseFloat(rows[1][j+4], 64)
	}
	// pcr_comparison is not computed: batch is the mean of the other four.
	want := (v["silhouette_batch"] + v["ilisi"] + v["kbet_per_label"] + v["graph_connectivity"]) / 4
	if d := v["batch"] - want; d > 1e-9 || d < -1e-9 || v["bras"] == v["silhouette_batch"] {
		t.Errorf("scib-1 batch = %v, want %v (bras %v, silhouette_batch %v)", v["batch"], want, v["bras"], v["silhouette_batch"])
	}
	jsb, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if !strings.Contains(string(jsb), `"preset": "scib-1"`) || !strings.Contains(stdout.String(), "preset scib-1: bio = mean(") {
		t.Errorf("preset missing from results.json or stdout:\n%s", stdout.String())
	}
}

func TestScoreEmbedNaNReason(t *testing.T) {
	// Without a pre-integration embedding, pcr_comparison is NaN in the CSV
	// and "NaN" with a reason in the JSON; batch says which member it skipped.
	out := filepath.Join(t.TempDir(), "scores")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"score", "embed", "--embed", embedFixture, "--embed-cols", "X*",
		"--label-col", "cell_type", "--batch-col", "batch", "--metrics", "pcr_comparison,graph_connectivity,batch", "--out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	csvb, _ := os.ReadFile(filepath.Join(out, "results.csv"))
	if !strings.Contains(string(csvb), "embedding,cells,dims,preset,graph_connectivity,pcr_comparison,batch\nfixture,240,8,scib-metrics-0.6,") || !strings.Contains(string(csvb), ",NaN,") {
		t.Errorf("results.csv:\n%s", csvb)
	}
	jsb, _ := os.ReadFile(filepath.Join(out, "results.json"))
	for _, want := range []string{`"name": "pcr_comparison",`, `"value": "NaN",`, `"reason": "no pre-integration embedding given"`, "NaN members skipped: pcr_comparison"} {
		if !strings.Contains(string(jsb), want) {
			t.Errorf("results.json lacks %q", want)
		}
	}
}

func TestScoreEmbedBadInput(t *testing.T) {
	dir := t.TempDir()
	withNaN := filepath.Join(dir, "nan.csv")
	os.WriteFile(withNaN, []byte("cell,cell_type,batch,X1,X2\na,t1,b1,1,2\nb,t1,b2,NaN,2\nc,t2,b1,0,1\n"), 0o644)
	withNA := filepath.Join(dir, "na.csv")
	os.WriteFile(withNA, []byte("cell,cell_type,batch,X1,X2\na,t1,b1,1,2\nb,NA,b2,3,2\nc,t2,b1,0,1\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--embed", embedFixture, "--embed-cols", "X*", "--label-col", "celltype", "--out", "O"}, `unknown column "celltype"`},
		{[]string{"--embed", embedFixture, "--label-col", "cell_type", "--out", "O"}, "--embed needs --embed-cols"},
		{[]string{"--embed", embedFixture, "--embed-cols", "PC*", "--label-col", "cell_type", "--out", "O"}, `no column matches --embed-cols "PC*"`},
		{[]string{"--embed", withNaN, "--embed-cols", "X*", "--label-col", "cell_type", "--out", "O"}, `row 2, column "X1": "NaN" is not a finite number`},
		{[]string{"--embed", withNA, "--embed-cols", "X*", "--label-col", "cell_type", "--out", "O"}, "1 cells have a missing cell_type"},
		{[]string{"--embed", embedFixture, "--embed-cols", "X*", "--label-col", "cell_type", "--metrics", "asw", "--out", "O"}, `unknown metric "asw"`},
		{[]string{"--embed-key", "X_emb", "--out", "O"}, "--embed-key and --pca need --data"},
		{[]string{"--embed", embedFixture, "--embed-cols", "X*", "--label-col", "cell_type", "--preset", "scib-2", "--out", "O"}, `unknown scIB preset "scib-2"`},
		{[]string{"--embed", embedFixture, "--embed-cols", "X*"}, "--out is required"},
	}
	for _, c := range cases {
		out := filepath.Join(dir, "out")
		args := append([]string{"score", "embed"}, c.args...)
		for i, a := range args {
			if a == "O" {
				args[i] = out
			}
		}
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: output directory created despite the error", c.args)
		}
	}
}

// TestScoreEmbedRealData scores the two shared real embeddings and the
// unintegrated PCA of the pancreas data; the Harmony cell-lines PCs and
// the human/mouse pancreas PCA are known un-integrated cases, so their
// batch mixing (iLISI, kBET) must come out poor.
func TestScoreEmbedRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("real data")
	}
	dir := testdata.Dir(t)
	cases := []struct {
		args     []string
		poorMix  bool
		minKNNAc float64
	}{
		{[]string{"--embed", filepath.Join(dir, "embedding_harmony_cell_lines.csv"), "--embed-cols", "X*", "--pre-cols", "X*", "--label-col", "cell_type", "--batch-col", "dataset"}, true, 0.95},
		{[]string{"--data", filepath.Join(dir, "pancreas_baron_cider_human_mouse.h5ad"), "--pca", "50", "--label-col", "Group", "--batch-col", "Batch"}, true, 0.9},
	}
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "o")
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), append(append([]string{"score", "embed"}, c.args...), "--out", out), &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(filepath.Join(out, "results.csv"))
		rows, _ := csv.NewReader(f).ReadAll()
		f.Close()
		v := map[string]float64{}
		for j, name := range rows[0][4:] {
			v[name], _ = strconv.ParseFloat(rows[1][j+4], 64)
		}
		t.Logf("%s:\n%s", rows[1][0], stdout.String())
		if c.poorMix && !(v["ilisi"] < 0.15 && v["kbet_per_label"] < 0.3) {
			t.Errorf("%s: ilisi %v, kbet %v: an un-integrated embedding must score poorly", rows[1][0], v["ilisi"], v["kbet_per_label"])
		}
		if !(v["knn_accuracy"] >= c.minKNNAc) {
			t.Errorf("%s: knn_accuracy %v < %v", rows[1][0], v["knn_accuracy"], c.minKNNAc)
		}
	}
}
