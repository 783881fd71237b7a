package scib

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
)

// csvFuzzSeeds are embedding CSVs with one defect each (the CSV part of
// the bad-input corpus) and good ones, as seeds of FuzzReadEmbeddingCSV.
var csvFuzzSeeds = []struct{ name, text, glob string }{
	{"good", "cell,cell_type,batch,X1,X2\nc0,a,b0,1,2\nc1,b,b1,3,4.5\n", "X*"},
	{"bom", "\ufeffcell,cell_type,batch,X1\nc0,a,b0,1\n", "X*"},
	{"duplicate label column", "cell,cell_type,batch,X1,cell_type\nc0,a,b0,1,WRONG\n", "X*"},
	{"duplicate embedding column", "cell,cell_type,batch,X1,X1\nc0,a,b0,1,2\n", "X*"},
	{"NA value", "cell,cell_type,batch,X1\nc0,a,b0,NA\n", "X*"},
	{"huge value", "cell,cell_type,batch,X1\nc0,a,b0,1e200\nc1,a,b0,1\n", "X*"},
	{"overflowing value", "cell,cell_type,batch,X1\nc0,a,b0,1e400\n", "X*"},
	{"ragged", "cell,cell_type,batch,X1\nc0,a,b0\n", "X*"},
	{"quoted newline", "cell,cell_type,batch,X1\n\"c\n0\",a,b0,1\n", "X*"},
	{"no rows", "cell,cell_type,batch,X1\n", "X*"},
	{"empty", "", "X*"},
	{"bad glob", "cell,cell_type,batch,X1\nc0,a,b0,1\n", "["},
	{"missing label", "cell,cell_type,batch,X1\nc0,,b0,1\n", "X*"},
}

// FuzzReadEmbeddingCSV feeds arbitrary text and globs to the embedding
// CSV reader behind `score embed --embed` and embedding datasets. It must
// never panic, and what it returns without error must be consistent: a
// rows × matched-columns matrix of finite numbers, matched columns unique
// and matching the glob, and each kept column with one value per row.
// Errors must be one line (they end up in one-line command errors).
//
// Seeds: csvFuzzSeeds and the shared fixture testdata/scib/fixture.csv;
// regression inputs in testdata/fuzz/FuzzReadEmbeddingCSV.
//
//	go test -run '^$' -fuzz FuzzReadEmbeddingCSV -fuzztime 1m ./metrics/scib
func FuzzReadEmbeddingCSV(f *testing.F) {
	for _, s := range csvFuzzSeeds {
		f.Add([]byte(s.text), s.glob)
	}
	if b, err := os.ReadFile("../../testdata/scib/fixture.csv"); err == nil {
		f.Add(b[:min(len(b), 4000)], "X*")
	}
	keep := []string{"cell_type", "batch"}
	f.Fuzz(func(t *testing.T, b []byte, glob string) {
		e, err := readEmbeddingCSV(bytes.NewReader(b), "fuzz.csv", glob, keep)
		if err != nil {
			if e != nil {
				t.Fatalf("result returned with error %v", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		x := e.X
		if x.Rows < 1 || x.Cols != len(e.EmbedCols) || len(x.Data) != x.Rows*x.Cols {
			t.Fatalf("matrix %d×%d with %d values for %d columns", x.Rows, x.Cols, len(x.Data), len(e.EmbedCols))
		}
		for _, v := range x.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite value %v returned", v)
			}
		}
		seen := map[string]bool{}
		for _, c := range e.EmbedCols {
			if seen[c] {
				t.Fatalf("column %q matched twice", c)
			}
			seen[c] = true
		}
		for _, k := range keep {
			if len(e.Columns[k]) != x.Rows {
				t.Fatalf("kept column %q has %d values for %d rows", k, len(e.Columns[k]), x.Rows)
			}
		}
	})
}

// TestEmbeddingCSVSeeds pins what the reader says about each defect of
// csvFuzzSeeds (the seeds double as the CSV part of the bad-input corpus).
func TestEmbeddingCSVSeeds(t *testing.T) {
	want := map[string]string{
		"good":                       "",
		"bom":                        "",
		"duplicate label column":     `column "cell_type" appears twice (columns 2 and 5)`,
		"duplicate embedding column": `column "X1" appears twice (columns 4 and 5)`,
		"NA value":                   `row 1, column "X1": "NA" is not a finite number`,
		"huge value":                 "", // finite: Benchmark refuses its range
		"overflowing value":          `"1e400" is not a finite number`,
		"ragged":                     "wrong number of fields",
		"quoted newline":             "",
		"no rows":                    "no data rows",
		"empty":                      "empty file",
		"bad glob":                   "bad --embed-cols glob",
		"missing label":              "", // tasks.LoadCSVEmbedding refuses missing labels
	}
	for _, s := range csvFuzzSeeds {
		_, err := readEmbeddingCSV(strings.NewReader(s.text), "seed.csv", s.glob, []string{"cell_type", "batch"})
		w := want[s.name]
		switch {
		case w == "" && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case w != "" && (err == nil || !strings.Contains(err.Error(), w)):
			t.Errorf("%s: err = %v, want it to contain %q", s.name, err, w)
		}
	}
}
