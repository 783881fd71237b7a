package results

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The one spelling of non-finite values: numbers when finite, "NaN",
// "+Inf", "-Inf" strings otherwise; null (older files) reads as NaN.
func TestRecordJSONRoundTrip(t *testing.T) {
	recs := []Record{
		{Suite: "s", Task: "pert-fewshot", Model: "m", Metric: "mae", Value: 0.25, CILow: math.NaN(), CIHigh: math.Inf(1), WallS: 1.5},
		{Suite: "s", Task: "impute-genes", Model: "m", Metric: "mcc", Value: math.Inf(-1), MaskRatio: 0.15, Warnings: "w"},
		{Suite: "s", Task: "incontext", Model: "stack", Metric: "pdisc_norm", Value: math.NaN(), Prompt: "none"},
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, recs); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{`"ci_low":"NaN"`, `"ci_high":"+Inf"`, `"value":"-Inf"`, `"mask_ratio":0.15`, `"prompt":"none"`, `"value":0.25`} {
		if !strings.Contains(text, want) {
			t.Errorf("encoding lacks %s:\n%s", want, text)
		}
	}
	if strings.Count(text, "mask_ratio") != 1 || strings.Count(text, "prompt") != 1 {
		t.Errorf("kind-specific fields must be omitted when empty:\n%s", text)
	}
	path := filepath.Join(t.TempDir(), "results.jsonl")
	if err := os.WriteFile(path, []byte(text+"\n"+`{"suite":"old","value":null,"ci_low":null,"ci_high":null,"wall_s":null}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSONL(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("read %d records, want 4", len(got))
	}
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	for i, r := range recs {
		g := got[i]
		if !same(g.Value, r.Value) || !same(g.CILow, r.CILow) || !same(g.CIHigh, r.CIHigh) || g.MaskRatio != r.MaskRatio || g.Prompt != r.Prompt || g.Warnings != r.Warnings {
			t.Errorf("record %d: read %+v, wrote %+v", i, g, r)
		}
	}
	if !math.IsNaN(got[3].Value) {
		t.Errorf("null must read as NaN, got %v", got[3].Value)
	}
}

func TestReadJSONLRejectsBadValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(path, []byte(`{"suite":"s","value":"nope"}`+"\n"), 0o644)
	if _, err := ReadJSONL(path); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Fatalf("want an error naming line 1, got %v", err)
	}
}

// A journal's records count only with their done line; a torn last line
// and an unfinished attempt are ignored.
func TestLoadStoreDoneLinesOnly(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, JournalDir), 0o755)
	lines := `{"k":"r","cell":"a","att":"1","r":{"suite":"s","metric":"m","value":1}}
{"k":"done","cell":"a","att":"1","n":1}
{"k":"r","cell":"b","att":"1","r":{"suite":"s","metric":"m","value":2}}
{"k":"r","cell":"c","att":"2","r":{"suite":"s","metric":"m","val`
	os.WriteFile(filepath.Join(dir, JournalDir, "shard-0-of-1.log"), []byte(lines), 0o644)
	st, err := LoadStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Order) != 1 || st.Order[0] != "a" || st.Unfinished != 1 {
		t.Fatalf("done %v, unfinished %d; want [a], 1", st.Order, st.Unfinished)
	}
	recs, err := LoadRun(dir)
	if err != nil || len(recs) != 1 || recs[0].Value != 1 {
		t.Fatalf("LoadRun: %v %v", recs, err)
	}
}

// RunStatus measures journals against the grid: done, failed (latest
// reason, attempts), not run; a merged directory's status.json and an old
// results.jsonl-only directory are read too.
func TestRunStatus(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, JournalDir), 0o755)
	lines := `{"k":"r","cell":"a","att":"1","r":{"suite":"s","task":"t","model":"m1","metric":"x","value":1}}
{"k":"done","cell":"a","att":"1","n":1}
{"k":"fail","cell":"b","att":"1","fail":{"task":"t","dataset":"d","model":"m2","seed":0,"reason":"first","seconds":1}}
{"k":"fail","cell":"b","att":"2","fail":{"task":"t","dataset":"d","model":"m2","seed":0,"reason":"second","seconds":1}}
{"k":"fail","cell":"c","att":"1","fail":{"task":"t","dataset":"d","model":"m3","seed":0,"reason":"gone","seconds":1}}
{"k":"r","cell":"c","att":"2","r":{"suite":"s","task":"t","model":"m3","metric":"x","value":3}}
{"k":"done","cell":"c","att":"2","n":1}
{"k":"r","cell":"old","att":"1","r":{"suite":"s","metric":"x","value":9}}
{"k":"done","cell":"old","att":"1","n":1}
`
	os.WriteFile(filepath.Join(dir, JournalDir, "shard-0-of-1.log"), []byte(lines), 0o644)
	grid := `{"suite":"s","digest":"abc","cells":[{"index":0,"key":"a","task":"t","dataset":"d","model":"m1","seed":0},` +
		`{"index":1,"key":"b","task":"t","dataset":"d","model":"m2","seed":0},{"index":2,"key":"c","task":"t","dataset":"d","model":"m3","seed":0},` +
		`{"index":3,"key":"e","task":"t","dataset":"d","model":"m4","seed":1}]}`
	os.WriteFile(filepath.Join(dir, GridFile), []byte(grid), 0o644)
	s, err := LoadRunStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.GridCells != 4 || s.Done != 2 || s.NotRun != 1 || s.Outside != 1 || len(s.Failed) != 1 || s.Failed[0].Reason != "second" || s.Failed[0].Attempts != 2 || s.Complete() {
		t.Fatalf("status %+v", s)
	}
	if got, want := s.Summary(), "incomplete: 2 of 4 cells of the grid done, 1 failed, 1 not run (e.g. t d m4 seed=1)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	// A merged directory: status.json only.
	merged := t.TempDir()
	os.WriteFile(filepath.Join(merged, StatusFile), []byte(`{"grid_cells":4,"done":4,"not_run":0,"written_by":"merge"}`), 0o644)
	if s, err := LoadRunStatus(merged); err != nil || !s.Complete() || s.Summary() != "all 4 cells of the grid are done" {
		t.Errorf("merged status %+v, %v", s, err)
	}
	// An old run: results.jsonl only; the grid is unknown.
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "results.jsonl"), []byte(`{"task":"t","model":"m","seed":0,"metric":"x","value":1}`+"\n"+`{"task":"t","model":"m","seed":0,"metric":"y","value":1}`+"\n"), 0o644)
	if s, err := LoadRunStatus(old); err != nil || s.Done != 1 || !s.Complete() || !strings.Contains(s.Summary(), "grid size unknown") {
		t.Errorf("old status %+v, %v", s, err)
	}
}
