// Package archtest checks the dependency direction of the tree (README,
// "Layout"; ../shared/DESIGN.md): no package imports upward, reports reads
// results and never the runner, metrics never imports GoMLX.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/cellbench/cellbench"

// layer ranks the packages: a package may import only packages of a
// strictly lower rank, or of its own rank when listed in sameRank.
func layer(pkg string) int {
	switch {
	case pkg == "internal/h5adwrite" || pkg == "internal/h5adcorpus":
		return 2 // beside data/h5ad: they write and break .h5ad files
	case strings.HasPrefix(pkg, "internal/"):
		return 0
	case pkg == "data/h5ad":
		return 2
	case pkg == "data" || strings.HasPrefix(pkg, "data/"):
		return 1
	case pkg == "model/hparams":
		return 1
	case pkg == "metrics" || strings.HasPrefix(pkg, "metrics/"):
		return 2
	case pkg == "results":
		return 3
	case pkg == "model/nn":
		return 3
	case pkg == "tasks":
		return 4
	case pkg == "reports":
		return 4
	case pkg == "baselines":
		return 5
	case strings.HasPrefix(pkg, "model/"):
		return 6
	case pkg == "model":
		return 7
	case pkg == "bench":
		return 8
	case pkg == "web/app":
		return 8 // the browser page's work: beside the runner, never importing it
	case strings.HasPrefix(pkg, "cmd/") || strings.HasPrefix(pkg, "web"):
		return 9
	}
	return -1
}

// sameRank lists the imports allowed within one rank.
var sameRank = map[[2]string]bool{
	{"data/h5ad", "internal/h5adwrite"}:           true,
	{"internal/h5adcorpus", "internal/h5adwrite"}: true,
	{"metrics/pert", "metrics"}:                   true,
	{"metrics/pert", "metrics/de"}:                true,
	{"metrics/scib", "metrics"}:                   true,
	{"metrics/de", "metrics"}:                     true,
}

// forbidden external import prefixes per package prefix.
var forbidden = map[string][]string{
	"metrics":       {"github.com/gomlx/"},
	"data":          {"github.com/gomlx/"},
	"results":       {"github.com/gomlx/"},
	"reports":       {"github.com/gomlx/"},
	"tasks":         {"github.com/gomlx/"},
	"baselines":     {"github.com/gomlx/"},
	"model/hparams": {"github.com/gomlx/"},
}

func TestNoUpwardImports(t *testing.T) {
	root := "../.."
	imports := map[string][]string{} // package → its non-test imports
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			imports[pkg] = append(imports[pkg], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < 10 {
		t.Fatalf("found only %d packages: wrong root?", len(imports))
	}
	pkgs := make([]string, 0, len(imports))
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		lp := layer(pkg)
		if lp < 0 {
			t.Errorf("package %s has no layer: add it to layer()", pkg)
			continue
		}
		seen := map[string]bool{}
		for _, im := range imports[pkg] {
			if seen[im] {
				continue
			}
			seen[im] = true
			for prefix, bad := range forbidden {
				if pkg == prefix || strings.HasPrefix(pkg, prefix+"/") {
					for _, b := range bad {
						if strings.HasPrefix(im, b) {
							t.Errorf("%s imports %s (forbidden below the model layer)", pkg, im)
						}
					}
				}
			}
			own, ok := strings.CutPrefix(im, module+"/")
			if !ok {
				continue
			}
			li := layer(own)
			// metrics/* may import the metric registry (package metrics).
			if li < lp || sameRank[[2]string{pkg, own}] || strings.HasPrefix(pkg, "metrics/") && own == "metrics" {
				continue
			}
			t.Errorf("%s (layer %d) imports %s (layer %d): upward or sideways import", pkg, lp, own, li)
		}
	}
}
