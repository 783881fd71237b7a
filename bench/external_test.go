package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/tasks"
)

// The validation of external models' outputs, on files made by code: each
// defect a program can write is refused with a reason naming the file and
// the problem; a good file is split into the requests' groups whatever the
// order of its rows.
func TestReadPertOutputValidation(t *testing.T) {
	dir := t.TempDir()
	genes := []string{"g0", "g1", "g2", "g3"}
	spec := tasks.PertSpec{PertCol: "perturbation", ContextCol: "cell_type", Control: "control"}
	reqs := []tasks.PredictRequest{{Context: "A", Perturbation: "p1", NCells: 3}, {Context: "A", Perturbation: "p2", NCells: 2}}
	// build writes a prediction: rows of (context, perturbation, value of
	// every gene), genes as given.
	type row struct {
		ctx, pert string
		v         float32
	}
	build := func(name string, rows []row, gs []string, noContext bool) string {
		var dense []float32
		var ctxs, perts, index []string
		for i, r := range rows {
			for range gs {
				dense = append(dense, r.v)
			}
			ctxs, perts = append(ctxs, r.ctx), append(perts, r.pert)
			index = append(index, "c"+string(rune('a'+i)))
		}
		obs := data.Frame{Index: index}
		obs.Set(data.NewCategorical("perturbation", perts))
		if !noContext {
			obs.Set(data.NewCategorical("cell_type", ctxs))
		}
		d := &data.Dataset{X: data.NewCSRFromDense(len(rows), len(gs), dense), Obs: obs, Var: data.Frame{Index: gs}}
		p := filepath.Join(dir, name+".h5ad")
		if err := h5ad.WriteUnvalidated(p, d); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := []row{{"A", "p2", 0.5}, {"A", "p1", 0.1}, {"A", "p1", 0.2}, {"A", "p2", 0.6}, {"A", "p1", 0.3}}
	nan := float32(math.NaN())
	for _, c := range []struct {
		name string
		path string
		want string // "" = valid
	}{
		{"valid, rows in any order", build("good", good, genes, false), ""},
		{"gene order", build("order", good, []string{"g1", "g0", "g2", "g3"}, false), `genes are in another order than in {train} (position 0 is "g1", {train} has "g0")`},
		{"gene set", build("set", good, []string{"g0", "g1", "g2", "x"}, false), "genes differ from {train}: gene sets differ: 1 missing (g3), 1 extra (x)"},
		{"fewer genes", build("fewer", good, genes[:3], false), "genes differ from {train}"},
		{"counts", build("counts", []row{{"A", "p2", 5}, {"A", "p1", 1}, {"A", "p1", 2}, {"A", "p2", 6}, {"A", "p1", 3}}, genes, false), "values look like raw counts (every value an integer, max 6)"},
		{"negative", build("negative", []row{{"A", "p2", -0.5}, {"A", "p1", 1}, {"A", "p1", 2}, {"A", "p2", 6}, {"A", "p1", 3}}, genes, false), "not log1p: negative value -0.5"},
		{"NaN", build("nan", []row{{"A", "p2", nan}, {"A", "p1", 0.1}, {"A", "p1", 0.2}, {"A", "p2", 0.6}, {"A", "p1", 0.3}}, genes, false), "non-finite value NaN"},
		{"no context column", build("noctx", good, genes, true), `obs: no column "cell_type" (have [perturbation])`},
		{"missing group", build("missing", good[1:3:3], genes, false), `missing group ("A", "p2"): no cells (2 requested)`},
		{"miscounted group", build("count", good[:4], genes, false), `group ("A", "p1") has 2 cells, 3 requested`},
		{"group not requested", build("extra", append(append([]row{}, good...), row{"B", "p1", 0.4}), genes, false), `group ("B", "p1") was not requested (1 cells)`},
		{"no file", filepath.Join(dir, "absent.h5ad"), "no such file (the model wrote no output)"},
		{"not an .h5ad", func() string { p := filepath.Join(dir, "text.h5ad"); os.WriteFile(p, []byte("hello"), 0o644); return p }(), "output out.h5ad: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			preds, err := readPertOutput(c.path, "out.h5ad", genes, spec, reqs)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if preds[0].Rows != 3 || preds[1].Rows != 2 || preds[0].At(0, 0) != 0.1 || preds[0].At(2, 3) != 0.3 || preds[1].At(1, 2) != 0.6 {
					t.Errorf("groups split wrongly: %+v", preds)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error saying %q", c.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "output out.h5ad: ") || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") || strings.Contains(msg, dir) {
				t.Errorf("error %q: want one line naming out.h5ad (not its absolute path) and saying %q", msg, c.want)
			}
		})
	}
}

func TestReadEmbedOutputValidation(t *testing.T) {
	dir := t.TempDir()
	cells := []string{"a", "b", "c"}
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	h5 := func(name string, obsm map[string]*data.Dense, index []string) string {
		p := filepath.Join(dir, name)
		d := &data.Dataset{X: data.NewCSRFromDense(len(index), 1, make([]float32, len(index))), Obs: data.Frame{Index: index}, Var: data.Frame{Index: []string{"g"}}, Obsm: obsm}
		if err := h5ad.Write(p, d); err != nil {
			t.Fatal(err)
		}
		return p
	}
	emb := &data.Dense{Rows: 3, Cols: 2, Data: []float64{3, 3.5, 1, 1.5, 2, 2.5}}
	for _, c := range []struct{ name, path, want string }{
		{"pandas CSV, rows in any order", file("ok.csv", ",0,1\nc,3,3.5\na,1,1.5\nb,2,2.5\n"), ""},
		{"h5ad obsm X_emb", h5("ok.h5ad", map[string]*data.Dense{"X_emb": emb}, []string{"c", "a", "b"}), ""},
		{"h5ad without X_emb", h5("noemb.h5ad", map[string]*data.Dense{"X_pca": emb}, []string{"c", "a", "b"}), `no obsm["X_emb"]`},
		{"missing cell", file("missing.csv", "cell,d\na,1\nb,2\n"), `1 of the 3 cells of {data} are missing (first: "c")`},
		{"unknown cell", file("extra.csv", "cell,d\na,1\nb,2\nc,3\nz,4\n"), `cell "z" is not in {data}`},
		{"duplicate cell", file("dup.csv", "cell,d\na,1\na,2\nb,2\nc,3\n"), `cell "a" is given twice`},
		{"NaN", file("nan.csv", "cell,d\na,1\nb,nan\nc,3\n"), `non-finite value NaN at cell "b", dimension 0`},
		{"not a number", file("na.csv", "cell,d\na,1\nb,NA\nc,3\n"), `line 3, column "d": "NA" is not a number`},
		{"no dimension", file("nodim.csv", "cell\na\nb\nc\n"), "want a cell-name column and at least one dimension"},
		{"ragged", file("ragged.csv", "cell,d,e\na,1,2\nb,2\nc,3,4\n"), "wrong number of fields"},
		{"no rows", file("empty.csv", "cell,d\n"), "no rows"},
		{"no file", filepath.Join(dir, "absent.csv"), "no such file (the model wrote no output)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, err := readEmbedOutput(c.path, "out.csv", cells)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if x.Rows != 3 || x.Cols != 2 || x.Row(0)[0] != 1 || x.Row(2)[1] != 3.5 {
					t.Errorf("embedding not aligned to {data}: %+v", x)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "output out.csv: ") {
				t.Errorf("error %v, want one naming out.csv and saying %q", err, c.want)
			}
		})
	}
}
