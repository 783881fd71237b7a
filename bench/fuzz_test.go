package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// suiteFuzzSeeds are suites with one defect each (the YAML part of the
// bad-input corpus) beside the shipped suites.
var suiteFuzzSeeds = []string{
	"name: s\ndatasets:\n  - {name: d, file: f.h5ad, pert_col: p, control: c}\ntasks:\n  - {name: pert-zeroshot, datasets: [d]}\nmodels: [control]\nseeds: [0]\n",
	"name: s\ndatasets:\n  - {name: d, file: f.h5ad, pert_col: p, control: c, target_sum: -1}\ntasks:\n  - {name: pert-zeroshot, datasets: [d]}\nmodels: [control]\nseeds: [0]\n",
	"name: s\ndatasets:\n  - {name: d, file: f.h5ad, pert_col: p, control: c, target_sum: .nan}\ntasks:\n  - {name: pert-zeroshot, datasets: [d]}\nmodels: [control]\nseeds: [0]\n",
	"name: s\ndatasets:\n  - {name: d, file: f.h5ad, pert_col: p, control: c}\ntasks:\n  - {name: pert-fewshot, holdout: a, train_fraction: .nan, datasets: [d]}\nmodels: [control]\nseeds: [0]\neval: {de_fdr: .nan}\n",
	"name: s\ndatasets:\n  - {name: d, file: f.h5ad, pert_col: p, control: c, drop: [x, x]}\ntasks:\n  - {name: pert-zeroshot, datasets: [d]}\nmodels: [control]\nseeds: [0]\n",
	"name: s\ndatasets:\n  - &a {name: d, file: f.h5ad}\n  - *a\ntasks: []\nseeds: [0]\n",
	"name: s\ndatasets:\n  - {name: e, file: x.csv, embed: {cols: 'X*', label_col: l, batch_col: b}}\ntasks:\n  - {name: embed-integration, datasets: [e]}\nseeds: [0]\n",
	"name: s\nmodels:\n  - {name: m, command: [\"{nope}\"]}\n",
	"name: [\n",
	"{",
	"",
}

// FuzzParseSuite feeds arbitrary YAML to the suite parser behind `run`,
// `export` and `merge`. It must never panic; a suite it accepts must expand
// into its grid, have a digest (the canonical form --resume compares), and
// its re-encoding (what a runner given a parsed suite digests and writes
// into the run directory) must parse to the same grid, key for key.
//
// Seeds: suiteFuzzSeeds and every suite of suites/; regression inputs in
// testdata/fuzz/FuzzParseSuite.
//
//	go test -run '^$' -fuzz FuzzParseSuite -fuzztime 1m ./bench
func FuzzParseSuite(f *testing.F) {
	for _, s := range suiteFuzzSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("../suites/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSuite(b)
		if err != nil {
			if s != nil {
				t.Fatalf("suite returned with error %v", err)
			}
			return
		}
		grid := s.Grid()
		for _, c := range grid {
			if c.Key == "" {
				t.Fatalf("cell %d has no key", c.Index)
			}
		}
		if _, err := SuiteDigest(b); err != nil {
			t.Fatalf("accepted suite has no digest: %v", err)
		}
		again, err := ParseSuite(suiteYAML(s, nil))
		if err != nil {
			t.Fatalf("the re-encoded suite does not parse: %v", err)
		}
		g := again.Grid()
		if len(g) != len(grid) {
			t.Fatalf("reparsed grid has %d cells, want %d", len(g), len(grid))
		}
		for i := range g {
			if g[i].Key != grid[i].Key {
				t.Fatalf("reparsed cell %d is %q, want %q", i, g[i].Key, grid[i].Key)
			}
		}
		if strings.TrimSpace(s.Name) == "" {
			t.Fatal("accepted a suite without a name")
		}
	})
}
