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
