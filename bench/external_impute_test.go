package bench

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/testdata"
	"github.com/cellbench/cellbench/metrics/recon"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// extImputeSuite runs both imputation tasks on real registry data (a
// single-cell and a spatial dataset, a 64-gene panel, two levels of gene
// masking, one of cell masking) with the built-in mode and, after it, the
// models block given.
const extImputeSuite = `
name: ext-impute
datasets:
  - {name: pbmc3k-sct, file: pbmc3k-sct}
  - {name: spatial-mob, file: spatial-mob, coords: [x, y]}
tasks:
  - {name: impute-genes, max_genes: 64, mask_ratios: [0.15, 0.8], datasets: [pbmc3k-sct, spatial-mob]}
  - {name: impute-cells, max_genes: 64, mask_ratios: [0.2], datasets: [spatial-mob]}
models:
  - mode
%s
seeds: [0]
`

// extImputeFaultSuite is one imputation cell per model (impute-genes on
// pbmc3k-sct) for the faulty outputs.
const extImputeFaultSuite = `
name: ext-impute-faults
datasets:
  - {name: pbmc3k-sct, file: pbmc3k-sct}
tasks:
  - {name: impute-genes, max_genes: 64, mask_ratios: [0.15, 0.8], datasets: [pbmc3k-sct]}
models:
  - mode
%s
seeds: [0]
`

// impPython is Debian's python3 for the tests that run python imputation
// models on registry data (extPython).
func impPython(t *testing.T) string {
	return extPython(t, "pbmc3k_sctransform_283cells.h5ad", "spatial_mouse_olfactory_bulb_st.h5ad")
}

// modePeer is the models entry of bench/peers/mode_impute_model.py.
func modePeer(t *testing.T, py, name string) string {
	peer, err := filepath.Abs(filepath.Join("peers", "mode_impute_model.py"))
	if err != nil {
		t.Fatal(err)
	}
	return kindCommandModel(tasks.KindImputation, name, py, peer, "--train", "{train}", "--masked", "{masked}", "--out", "{out}")
}

// impRecordKey is a record's identity within a model's records.
func impRecordKey(r results.Record) string {
	return fmt.Sprintf("%s|%s|%s|%d|%g|%s", r.Task, r.Dataset, r.Split, r.Seed, r.MaskRatio, r.Metric)
}

// checkSameImpute checks that got (a model's records) equal want (another
// model's) within tol (checkSameRecords, keyed by impRecordKey).
func checkSameImpute(t *testing.T, got, want []results.Record, backend string, tol float64) {
	t.Helper()
	checkSameRecords(t, got, want, impRecordKey, backend, tol)
}

// TestExternalImputeModel: bench/peers/mode_impute_model.py and
// knn_impute_model.py, the numpy mode and knn baselines run as external
// imputation models, give the built-in mode's and knn's records on
// pbmc3k-sct and spatial-mob (both tasks, every level and metric), in the
// same form (MaskRatio, split, N, warnings; Backend "external").
// Tolerances: mode 0 — both bin with the same float64 operations
// (linspace edges = lo + i·step) and round the same float64 frequencies to
// float32 (the peer writes them with 17 digits); knn 1e-9 — numpy's SVD
// and cellbench's subspace iteration (run to convergence) differ by
// rounding, so the neighbours are the same unless two are tied that
// closely, and the predicted counts differ by rounding only; measured:
// both identical.
func TestExternalImputeModel(t *testing.T) {
	py := impPython(t)
	dir := t.TempDir()
	knnPeer, err := filepath.Abs(filepath.Join("peers", "knn_impute_model.py"))
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(extImputeSuite, modePeer(t, py, "mode-py")+"  - knn\n"+
		kindCommandModel(tasks.KindImputation, "knn-py", py, knnPeer, "--train", "{train}", "--requests", "{requests}", "--masked", "{masked}", "--out", "{out}"))
	by, err := runExtIC(t, text, filepath.Join(dir, "run"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(by["mode"]) != 3*(2+2+1) || len(by["knn"]) != 15 {
		t.Fatalf("mode, knn: %d, %d records, want 15 each", len(by["mode"]), len(by["knn"]))
	}
	checkSameImpute(t, by["mode-py"], by["mode"], ExternalBackend, 0)
	checkSameImpute(t, by["knn-py"], by["knn"], ExternalBackend, 1e-9)
	// The inputs are removed once the cell is done; out.csv and the logs stay.
	cell := filepath.Join(dir, "run", "cells", "impute-genes", "pbmc3k-sct", "mode-py", "seed=0")
	for name, want := range map[string]bool{"train.h5ad": false, "requests.h5ad": false, "masked.csv": false, "out.csv": true, "command.json": true} {
		if _, err := os.Stat(filepath.Join(cell, name)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", name, err == nil, want)
		}
	}
}

// TestExternalImputeFaults: an output with a missing position, a
// duplicated position, a NaN or probabilities not summing to 1 fails only
// its own cell with a one-line reason naming the file and the row, and
// --resume (fault gone) retries exactly those cells, which then give the
// built-in's records.
func TestExternalImputeFaults(t *testing.T) {
	py := impPython(t)
	dir := t.TempDir()
	peer, _ := filepath.Abs(filepath.Join("peers", "mode_impute_model.py"))
	// A faulty model is the peer whose output is then damaged while the
	// file FAULT exists (deleted before --resume).
	fault := filepath.Join(dir, "FAULT")
	os.WriteFile(fault, nil, 0o644)
	faulty := func(name, damage string) string {
		return faultyCommand(t, dir, fault, tasks.KindImputation, name, "{masked}",
			fmt.Sprintf("%q %q --train \"$1\" --masked \"$2\" --out \"$3\"", py, peer), py,
			"import sys, numpy as np, pandas as pd\nd = pd.read_csv(sys.argv[1], dtype={'cell': str, 'gene': str})\n"+damage+
				"\nd.to_csv(sys.argv[1], index=False, na_rep='NaN', float_format='%.17g')")
	}
	cases := []struct{ model, damage, reason string }{
		{"missing-position", "d = d.iloc[1:]", "1 of the "},
		{"duplicate-position", "d = pd.concat([d, d.iloc[[3]]])", "is given twice"},
		{"nan", "d.loc[2, 'p0'] = np.nan", "line 4, column p0: non-finite value NaN at position (level 0, cell "},
		{"prob-sum", "d.loc[0, 'p1'] += 0.5", "line 2: probabilities at position (level 0, cell "},
	}
	models := ""
	for _, c := range cases {
		models += faulty(c.model, c.damage)
	}
	text := fmt.Sprintf(extImputeFaultSuite, models)
	out := filepath.Join(dir, "run")
	by, err := runExtIC(t, text, out, "", false)
	var failed *CellsFailedError
	if !errors.As(err, &failed) || len(failed.Failed) != len(cases) {
		t.Fatalf("run: %v; want %d failed cells", err, len(cases))
	}
	if len(by["mode"]) != 6 {
		t.Errorf("the built-in mode's cell: %d records, want 6", len(by["mode"]))
	}
	for _, f := range failed.Failed {
		var want string
		for _, c := range cases {
			if c.model == f.Model {
				want = c.reason
			}
		}
		file := fmt.Sprintf("cells/impute-genes/pbmc3k-sct/%s/seed=0/out.csv", f.Model)
		if want == "" || !strings.Contains(f.Reason, want) || !strings.Contains(f.Reason, "output "+file+": ") || strings.Contains(f.Reason, "\n") {
			t.Errorf("%s: reason %q; want one line naming %s and saying %q", f.Model, f.Reason, file, want)
		}
	}
	os.Remove(fault)
	by2, err := runExtIC(t, text, out, "", true)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	for _, c := range cases {
		checkSameImpute(t, by2[c.model], by2["mode"], ExternalBackend, 0)
	}
}

// TestExternalImputeExportRoundTrip: `cellbench export` writes the
// imputation units ({train}, {requests}, {masked}) — {requests} holds the
// test cells with every masked entry removed and every other entry as in
// the data, {train} the training cells —, the exported commands.sh
// writes the outputs, and a --predictions run gives the command run's
// records exactly.
func TestExternalImputeExportRoundTrip(t *testing.T) {
	py := impPython(t)
	dir := t.TempDir()
	text := fmt.Sprintf(extImputeSuite, modePeer(t, py, "mode-py"))
	direct, s, exp, m := runAndExport(t, text, dir)
	if len(m.Units) != 3 {
		t.Fatalf("%d units, want 3", len(m.Units))
	}
	for _, u := range m.Units {
		if u.Kind != string(tasks.KindImputation) || u.Inputs["masked"] != u.Dir+"/masked.csv" || u.Outputs["mode-py"].Out != u.Dir+"/mode-py.csv" {
			t.Fatalf("unit %+v", u)
		}
		checkImputeNoLeak(t, s, exp, u)
	}
	predictionsRoundTrip(t, text, dir, exp, 3, direct, "mode-py", "mode")
}

// checkImputeNoLeak rebuilds the unit's task (tasks.NewImputeSetup on the
// registry file) and checks the exported files against it: {train} holds
// the training cells' counts; {requests} holds, per level, each test cell
// with its masked entries 0 (and some of those were not 0 in the data, so
// the check can fail) and every other entry as in the data; {masked}
// lists the level's masked positions in the task's order.
func checkImputeNoLeak(t *testing.T, s *Suite, exp string, u ExportUnit) {
	t.Helper()
	setup := imputeSetupOf(t, s, u.Task, u.Dataset, u.Seed)
	read := func(name string) *data.Dataset {
		x, err := h5ad.Read(filepath.Join(exp, filepath.FromSlash(u.Inputs[name])))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	train, req := read("train"), read("requests")
	want := setup.TrainData()
	if strings.Join(train.Obs.Index, ",") != strings.Join(want.Obs.Index, ",") || strings.Join(train.Genes(), ",") != strings.Join(setup.Data.Genes(), ",") {
		t.Fatalf("%s: {train} cells or genes differ from the split's training cells and panel", u.Dir)
	}
	for i := 0; i < train.X.Rows; i++ {
		for j := 0; j < train.X.Cols; j++ {
			if train.X.At(i, j) != want.X.At(i, j) {
				t.Fatalf("%s: {train} entry (%d, %d) is %g, the data's %g", u.Dir, i, j, train.X.At(i, j), want.X.At(i, j))
			}
		}
	}
	f, err := os.Open(filepath.Join(exp, filepath.FromSlash(u.Inputs["masked"])))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 || strings.Join(rows[0], ",") != "level,cell,gene" {
		t.Fatalf("%s: masked.csv: %v, header %v", u.Dir, err, rows[:min(1, len(rows))])
	}
	rows = rows[1:]
	levels, _ := req.ObsLabels(RequestLevelCol)
	cells, _ := req.ObsLabels(RequestCellCol)
	nTest := len(setup.Test)
	if req.NCells() != nTest*len(setup.Config.MaskRatios) || len(req.Genes()) != setup.Data.NGenes() {
		t.Fatalf("%s: {requests} is %d × %d, want %d levels × %d test cells × %d genes", u.Dir, req.NCells(), len(req.Genes()), len(setup.Config.MaskRatios), nTest, setup.Data.NGenes())
	}
	hidden := 0
	for l, r := range setup.Config.MaskRatios {
		mk := setup.Mask(r)
		masked := map[[2]int]bool{}
		for k, p := range mk.Positions {
			masked[[2]int{p.Cell, p.Gene}] = true
			row := rows[0]
			rows = rows[1:]
			if row[0] != strconv.Itoa(l) || row[1] != setup.Data.Obs.Index[setup.Test[p.Cell]] || row[2] != setup.Data.Var.Index[p.Gene] {
				t.Fatalf("%s: masked.csv row %d of level %d is %v, want the task's position %v", u.Dir, k, l, row, p)
			}
		}
		for k, c := range setup.Test {
			i := l*nTest + k
			if levels[i] != strconv.Itoa(l) || cells[i] != setup.Data.Obs.Index[c] {
				t.Fatalf("%s: requests row %d is level %s cell %s, want %d %s", u.Dir, i, levels[i], cells[i], l, setup.Data.Obs.Index[c])
			}
			for g := 0; g < setup.Data.NGenes(); g++ {
				got, truth := req.X.At(i, g), setup.Data.X.At(c, g)
				switch {
				case masked[[2]int{k, g}] && got != 0:
					t.Fatalf("%s: level %d, cell %d, gene %d is masked but {requests} has %g", u.Dir, l, k, g, got)
				case masked[[2]int{k, g}] && truth != 0:
					hidden++
				case !masked[[2]int{k, g}] && got != truth:
					t.Fatalf("%s: level %d, cell %d, gene %d: {requests} has %g, the data %g", u.Dir, l, k, g, got, truth)
				}
			}
		}
	}
	if len(rows) != 0 || hidden == 0 {
		t.Fatalf("%s: %d extra masked.csv rows; %d masked non-zero entries (want > 0)", u.Dir, len(rows), hidden)
	}
}

// imputeSetupOf rebuilds the imputation task of suite s on a dataset and
// seed from the registry file, as the runner does.
func imputeSetupOf(t *testing.T, s *Suite, task, dataset string, seed uint64) *tasks.ImputeSetup {
	t.Helper()
	ds := s.dataset(dataset)
	var spec TaskSpec
	for _, tk := range s.Tasks {
		if tk.Name == task {
			spec = tk
		}
	}
	path, err := data.NewRegistry(testdata.Dir(t)).Resolve(ds.File)
	if err != nil {
		t.Fatal(err)
	}
	d, err := h5ad.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	setup, err := tasks.NewImputeSetup(d, ds.Coords, spec.TaskConfig, recon.DefaultBins, seed)
	if err != nil {
		t.Fatal(err)
	}
	return setup
}

// TestDocsImputeTemplate runs the minimal imputation model of
// docs/external-models.md — a masked entry is the mean count of its gene
// over the cell's bag's entries that are not masked at that level (0 when
// every one is) — and checks its records against that rule computed here
// on the task rebuilt from the registry file (tasks.ImputeSetup: bags,
// masks, Score). Tolerance 1e-12: both sum the same float64 counts in
// the same order; measured: identical.
func TestDocsImputeTemplate(t *testing.T) {
	py := impPython(t)
	dir, script := docsTemplate(t, "Imputation models")
	text := fmt.Sprintf(extImputeSuite, kindCommandModel(tasks.KindImputation, "template", py, script, "{train}", "{requests}", "{masked}", "{out}"))
	by, err := runExtIC(t, text, filepath.Join(dir, "run"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSuite([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]results.Record{}
	for _, r := range by["template"] {
		got[impRecordKey(r)] = r
	}
	n := 0
	for _, c := range [][2]string{{"impute-genes", "pbmc3k-sct"}, {"impute-genes", "spatial-mob"}, {"impute-cells", "spatial-mob"}} {
		setup := imputeSetupOf(t, s, c[0], c[1], 0)
		for _, ratio := range setup.Config.MaskRatios {
			m := setup.Mask(ratio)
			masked := map[[2]int]bool{}
			for _, p := range m.Positions {
				masked[[2]int{p.Cell, p.Gene}] = true
			}
			bagOf := map[int][]int{}
			for _, bag := range setup.Bags {
				for _, k := range bag {
					bagOf[k] = bag
				}
			}
			imp := tasks.Imputation{Log1p: make([]float64, len(m.Positions))}
			for i, p := range m.Positions {
				var sum, cnt float64
				for _, k := range bagOf[p.Cell] {
					if !masked[[2]int{k, p.Gene}] {
						sum += float64(setup.Data.X.At(setup.Test[k], p.Gene))
						cnt++
					}
				}
				if cnt > 0 {
					imp.Log1p[i] = math.Log1p(sum / cnt)
				}
			}
			_, sc, err := setup.Score(m, imp)
			if err != nil {
				t.Fatal(err)
			}
			split := fmt.Sprintf("holdout=%s,test=0.25,bag=50,genes=hvg64,mask=%g", setup.Holdout, ratio)
			for metric, want := range map[string]float64{recon.NameMCC: sc.MCC, recon.NameMCCExpressed: sc.MCCExpressed, recon.NameMAECounts: sc.MAECounts} {
				r, ok := got[fmt.Sprintf("%s|%s|%s|0|%g|%s", c[0], c[1], split, ratio, metric)]
				n++
				if !ok || !(math.Abs(r.Value-want) <= 1e-12 || math.IsNaN(r.Value) && math.IsNaN(want)) || r.Backend != ExternalBackend {
					t.Errorf("%s %s mask %g %s: template %v (found %v), want %v", c[0], c[1], ratio, metric, r.Value, ok, want)
				}
			}
		}
	}
	if n != len(by["template"]) || n != 15 {
		t.Errorf("checked %d records, the template has %d", n, len(by["template"]))
	}
}

// TestExternalImputeValidation: declarations an external imputation
// model cannot have are refused by the suite's validation.
func TestExternalImputeValidation(t *testing.T) {
	for _, c := range []struct{ models, want string }{
		{"  - name: m\n    kind: imputation\n    command: [x, \"{data}\"]\n", "{data} is not an input of imputation models"},
		{"  - name: m\n    kind: imputation\n    command: [x, \"{masked}\"]\n    train_on: [pbmc-symphony]\n", "checkpoint and train_on apply to registry imputation models, not external ones"},
		{"  - name: m\n    kind: perturbation\n    command: [x, \"{masked}\"]\n", "{masked} is not an input of perturbation models"},
		{"  - name: m\n    kind: imputation\n    command: [x, \"{train}\", \"{requests}\", \"{masked}\", \"{out}\"]\n", ""},
	} {
		_, err := ParseSuite([]byte(fmt.Sprintf(extImputeSuite, c.models)))
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want))) {
			t.Errorf("%q: error %v, want %q", c.models, err, c.want)
		}
	}
}

// TestReadImputeOutputValidation: the checks of an imputation {out}, on
// files made by code: two levels of one test cell (c0) over genes g0, g1.
func TestReadImputeOutputValidation(t *testing.T) {
	dir := t.TempDir()
	genes := []string{"g0", "g1"}
	cells := &data.Dataset{Obs: data.Frame{Index: []string{"c0"}}}
	levels := []tasks.ImputeRequest{
		{Ratio: 0.5, Data: cells, Masked: []tasks.Position{{Cell: 0, Gene: 1}}},
		{Ratio: 1, Data: cells, Masked: []tasks.Position{{Cell: 0, Gene: 0}, {Cell: 0, Gene: 1}}},
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	probs := "level,cell,gene,p0,p1,p2,p3,p4\n"
	for _, c := range []struct {
		name, text, want string
		check            func([]tasks.Imputation) bool
	}{
		{"log1p, rows in any order", "level,cell,gene,log1p\n1,c0,g1,0.5\n0,c0,g1,1.5\n1,c0,g0,0\n", "",
			func(imp []tasks.Imputation) bool {
				return imp[0].Log1p[0] == 1.5 && imp[1].Log1p[0] == 0 && imp[1].Log1p[1] == 0.5 && imp[0].Probs == nil
			}},
		{"count becomes log1p", "gene,cell,level,count\ng1,c0,0,3\ng0,c0,1,0\ng1,c0,1,1\n", "",
			func(imp []tasks.Imputation) bool {
				return imp[0].Log1p[0] == math.Log1p(3) && imp[1].Log1p[1] == math.Ln2
			}},
		{"probabilities", probs + "0,c0,g1,0.5,0.5,0,0,0\n1,c0,g0,1,0,0,0,0\n1,c0,g1,0,0,0,0.2,0.8\n", "",
			func(imp []tasks.Imputation) bool {
				return imp[0].Probs[0][1] == 0.5 && imp[1].Probs[1][4] == 0.8 && imp[1].Log1p == nil
			}},
		{"missing position", "level,cell,gene,log1p\n0,c0,g1,1\n1,c0,g1,1\n", "1 of the 3 requested positions are missing (first: level 1, cell \"c0\", gene \"g0\")", nil},
		{"duplicate position", "level,cell,gene,log1p\n0,c0,g1,1\n1,c0,g0,1\n0,c0,g1,1\n", "line 4: position (level 0, cell \"c0\", gene \"g1\") is given twice", nil},
		{"position not requested", "level,cell,gene,log1p\n0,c0,g0,1\n", "line 2: position (level 0, cell \"c0\", gene \"g0\") was not requested", nil},
		{"level out of range", "level,cell,gene,log1p\n2,c0,g0,1\n", "line 2: position (level 2, cell", nil},
		{"level not an integer", "level,cell,gene,log1p\n0.5,c0,g0,1\n", `line 2: level "0.5" is not an integer`, nil},
		{"NaN", "level,cell,gene,log1p\n0,c0,g1,NaN\n", "line 2, column log1p: non-finite value NaN", nil},
		{"Inf", "level,cell,gene,count\n0,c0,g1,+Inf\n", "line 2, column count: non-finite value +Inf", nil},
		{"not a number", "level,cell,gene,log1p\n0,c0,g1,x\n", "line 2, column log1p: ", nil},
		{"negative value", "level,cell,gene,log1p\n0,c0,g1,-0.1\n", "line 2, column log1p: negative value -0.1", nil},
		{"negative probability", probs + "0,c0,g1,1.1,-0.1,0,0,0\n", "line 2, column p1: negative value -0.1", nil},
		{"probabilities not summing to 1", probs + "0,c0,g1,0.5,0.4,0,0,0\n", "line 2: probabilities at position (level 0, cell \"c0\", gene \"g1\") sum to 0.9", nil},
		{"two value forms", "level,cell,gene,log1p,count\n", "give one of log1p, count or p0…p4, not several", nil},
		{"no value column", "level,cell,gene\n", "no value column", nil},
		{"missing probability column", "level,cell,gene,p0,p1,p2,p3\n", `missing column "p4"`, nil},
		{"missing cell column", "level,gene,log1p\n", `missing column "cell"`, nil},
		{"unknown column", "level,cell,gene,log1p,score\n", `unknown column "score"`, nil},
		{"short row", "level,cell,gene,log1p\n0,c0\n", "wrong number of fields", nil},
		{"empty file", "", "no header row", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			imp, err := readImputeOutput(write("o.csv", c.text), "out.csv", 5, genes, levels)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !c.check(imp) {
					t.Errorf("read %+v", imp)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "output out.csv: ") || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), dir) {
				t.Errorf("error %v; want one line naming out.csv and saying %q", err, c.want)
			}
		})
	}
	if _, err := readImputeOutput(filepath.Join(dir, "absent.csv"), "out.csv", 5, genes, levels); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("absent file: %v", err)
	}
}
