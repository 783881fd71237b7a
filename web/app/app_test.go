package app

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/model/state"
	"github.com/cellbench/cellbench/tasks"
)

const fixtureName = "fixture_tiny_perturbation_300cells.h5ad"

// fixture returns the shared 300-cell perturbation fixture's path and
// bytes, or skips when the data folder is absent.
func fixture(t *testing.T) (string, File) {
	t.Helper()
	path := filepath.Join(data.DefaultDataDir(), fixtureName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("fixture not available: %v", err)
	}
	return path, File{Name: fixtureName, Bytes: b}
}

func fixtureOptions() ScoreOptions {
	o := DefaultScoreOptions()
	o.PertCol, o.ContextCol, o.Control, o.Profile = "perturbation", "cell_type", "control", "full"
	return o
}

// The fixture's obs columns and label counts, read without X. Reference:
// SOURCES.md (k562 + A172 × control, SGK1, MAPK1, MAP2K3, MAP4K3 × 30
// cells each: 60 cells per label).
func TestInspect(t *testing.T) {
	_, f := fixture(t)
	info, err := Inspect(f)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cells != 300 || info.Genes != 200 {
		t.Fatalf("shape %d × %d, want 300 × 200", info.Cells, info.Genes)
	}
	var pertCol *ColumnInfo
	for i := range info.Columns {
		if info.Columns[i].Name == "perturbation" {
			pertCol = &info.Columns[i]
		}
	}
	if pertCol == nil || pertCol.NLabels != 5 {
		t.Fatalf("perturbation column %+v, want 5 labels", pertCol)
	}
	for i, l := range pertCol.Labels {
		if pertCol.Counts[i] != 60 {
			t.Errorf("label %s: %d cells, want 60", l, pertCol.Counts[i])
		}
	}
}

// Score on bytes (pure-Go reader) writes the results.csv that the command's
// path — h5ad.Read (libhdf5 in cgo builds), pert.InputFromDataset,
// pert.Evaluate — writes for the same files and options. The prediction is
// a copy of the real cells with the perturbation labels of two
// perturbations swapped (a real file, deliberately wrong).
func TestScoreEqualsCommandPath(t *testing.T) {
	path, f := fixture(t)
	d, err := h5ad.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	o := fixtureOptions()
	var want bytes.Buffer
	{
		opts, err := o.evalOptions()
		if err != nil {
			t.Fatal(err)
		}
		realIn, genes, err := pert.InputFromDataset(d, "real", o.columns(), nil)
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := h5ad.Read(path)
		predIn, _, err := pert.InputFromDataset(d2, "pred", o.columns(), genes)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range predIn.Perts {
			switch p {
			case "SGK1":
				predIn.Perts[i] = "MAPK1"
			case "MAPK1":
				predIn.Perts[i] = "SGK1"
			}
		}
		opts.Genes = genes
		rep, err := pert.Evaluate(realIn, predIn, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteResultsCSV(&want); err != nil {
			t.Fatal(err)
		}
	}
	var s Session
	rd, err := h5ad.ReadBytes(f.Bytes, f.Name)
	if err != nil {
		t.Fatal(err)
	}
	pd, _ := h5ad.ReadBytes(f.Bytes, f.Name)
	col, err := pd.Obs.Column("perturbation")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range col.Categories {
		switch c {
		case "SGK1":
			col.Categories[i] = "MAPK1"
		case "MAPK1":
			col.Categories[i] = "SGK1"
		}
	}
	got, err := s.scoreDatasets(OfScore, rd, pd, f.Name, "swapped", o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResultsCSV != want.String() {
		t.Fatalf("results.csv differs from the command path:\n%s\nwant\n%s", got.ResultsCSV, want.String())
	}
	// The swapped labels must be seen: SGK1 is not discriminated.
	if !strings.Contains(got.ResultsCSV, "SGK1,A172") {
		t.Fatalf("no SGK1 row:\n%s", got.ResultsCSV)
	}
	for _, kind := range []string{"discrimination", "lfc"} {
		fig, err := s.Figure(FigureRequest{Kind: kind})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !bytes.HasPrefix(fig.PNG, []byte("\x89PNG")) || !strings.HasPrefix(fig.SVG, "<?xml") {
			t.Fatalf("%s: not a PNG and an SVG", kind)
		}
	}
	if _, err := s.Figure(FigureRequest{Kind: "pie"}); err == nil {
		t.Fatal("unknown figure kind accepted")
	}
	if _, err := s.Figure(FigureRequest{Of: OfPredict}); err == nil {
		t.Fatal("figure of an evaluation that never ran")
	}
}

// Bad input is a one-line error naming the problem, never a panic.
func TestScoreBadInput(t *testing.T) {
	_, f := fixture(t)
	notHDF5 := File{Name: "notes.h5ad", Bytes: []byte("hello, not HDF5\n")}
	truncated := File{Name: "cut.h5ad", Bytes: f.Bytes[:len(f.Bytes)/2]}
	for _, tc := range []struct {
		name       string
		real, pred File
		edit       func(*ScoreOptions)
		want       string
	}{
		{"not HDF5", f, notHDF5, nil, "pred: notes.h5ad: not an HDF5 file"},
		{"truncated", truncated, f, nil, "real: cut.h5ad"},
		{"empty", File{Name: "empty.h5ad"}, f, nil, "real: empty.h5ad"},
		{"missing column", f, f, func(o *ScoreOptions) { o.PertCol = "guide" }, `"guide"`},
		{"missing control", f, f, func(o *ScoreOptions) { o.Control = "DMSO" }, `"DMSO"`},
		{"unknown profile", f, f, func(o *ScoreOptions) { o.Profile = "everything" }, `unknown profile "everything"`},
		{"bad scale", f, f, func(o *ScoreOptions) { o.Scale = "raw" }, "raw"},
		{"bad control reference", f, f, func(o *ScoreOptions) { o.ControlRef = "both" }, "both"},
		{"log1p claimed for counts", f, f, func(o *ScoreOptions) { o.Scale = "log1p" }, "looks like counts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fixtureOptions()
			if tc.edit != nil {
				tc.edit(&o)
			}
			var s Session
			_, err := s.Score(tc.real, tc.pred, o, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestExamplesVerify(t *testing.T) {
	_, f := fixture(t)
	found := false
	for _, e := range Examples() {
		found = found || (e.Name == "fixture-perturbation" && e.File == fixtureName && e.Control == "control")
		if e.PertCol == "" || e.Control == "" {
			t.Errorf("example %s has no perturbation column or control", e.Name)
		}
	}
	if !found {
		t.Fatal("fixture-perturbation is not an example")
	}
	if err := Verify("fixture-perturbation", f.Bytes); err != nil {
		t.Fatal(err)
	}
	if err := Verify("fixture-perturbation", f.Bytes[1:]); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("a different file passed: %v", err)
	}
	if err := Verify("nope", nil); err == nil {
		t.Fatal("unknown example accepted")
	}
}

func TestLeaderboardBadInput(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"", "no result records"},
		{"\n\n", "no result records"},
		{`{"model": "x"` + "\n", "r.jsonl:1"},
		{`{"model":"x","task":"t","dataset":"d","metric":"not_a_leaderboard_metric","value":1}` + "\n", "leaderboard"},
	} {
		_, err := Leaderboard(File{Name: "r.jsonl", Bytes: []byte(tc.body)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.body, err, tc.want)
		}
	}
}

// trainTiny trains the tiny ST on the whole fixture into a directory, as
// cellbench train --config tiny does (a fraction of a second).
func trainTiny(t *testing.T) string {
	t.Helper()
	path, _ := fixture(t)
	d, err := h5ad.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	x, err := data.ToLog1p(d, "auto", data.DefaultTargetSum)
	if err != nil {
		t.Fatal(err)
	}
	d.X, d.Scale = x, data.Log1p
	cfg, err := state.Params.Resolve("tiny", "steps=5")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e, _ := model.Lookup("state")
	m, err := e.NewPerturbation(cfg, nn.Runtime{CheckpointDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	spec := tasks.PertSpec{PertCol: "perturbation", ContextCol: "cell_type", Control: "control"}
	if err := m.Fit(context.Background(), d, spec); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Predict on a checkpoint given as a folder's files or as a zip predicts
// what the model loaded from its directory predicts (cellbench predict's
// path: LoadCheckpoint, tasks.PredictRequests, tasks.PredictionDataset),
// and scores it against the real cells.
func TestPredictCheckpointFS(t *testing.T) {
	_, f := fixture(t)
	dir := trainTiny(t)
	entries, _ := os.ReadDir(dir)
	var files []File
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: "mymodel/" + e.Name(), Bytes: b})
		w, _ := zw.Create("mymodel/" + e.Name())
		w.Write(b)
	}
	zw.Close()

	// The command's path.
	entry, _ := model.Lookup("state")
	loaded, err := entry.LoadCheckpoint(dir, nn.Runtime{})
	if err != nil {
		t.Fatal(err)
	}
	m := loaded.(checkpointedPerturbation)
	d, _ := h5ad.ReadBytes(f.Bytes, f.Name)
	prepared, err := prepareDataset(d, f.Name, m.Spec(), "auto")
	if err != nil {
		t.Fatal(err)
	}
	split := &tasks.Split{Task: "none"}
	for i := range prepared.NCells() {
		split.Train = append(split.Train, i)
	}
	reqs, err := tasks.PredictRequests(prepared, m.Spec(), split, 20)
	if err != nil {
		t.Fatal(err)
	}
	preds, err := m.Predict(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	predD, err := tasks.PredictionDataset(prepared, m.Spec(), reqs, preds)
	if err != nil {
		t.Fatal(err)
	}
	var ref Session
	want, err := ref.scoreDatasets(OfScore, d, predD, f.Name, "ref", ScoreOptions{PertCol: "perturbation", ContextCol: "cell_type",
		Control: "control", Scale: "auto", TargetSum: data.DefaultTargetSum, ControlRef: "real", Profile: "vcc"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	for name, given := range map[string][]File{"folder": files, "zip": {{Name: "mymodel.zip", Bytes: zipped.Bytes()}}} {
		fsys, label, err := CheckpointFS(given, state.MetaFile)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var s Session
		var stages []string
		res, err := s.Predict(context.Background(), fsys, label, f, PredictOptions{NCells: 20},
			func(stage string, done, total int) { stages = append(stages, stage) })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Groups != 8 || res.Cells != 160 {
			t.Fatalf("%s: %d groups, %d cells; want 8 × 20", name, res.Groups, res.Cells)
		}
		if res.Score.ResultsCSV != want.ResultsCSV {
			t.Fatalf("%s: results.csv differs from the directory-loaded model's:\n%s\nwant\n%s", name, res.Score.ResultsCSV, want.ResultsCSV)
		}
		if len(stages) < 8 {
			t.Fatalf("%s: %d progress reports, want one per group: %v", name, len(stages), stages)
		}
		if _, err := s.Figure(FigureRequest{Of: OfPredict}); err != nil {
			t.Fatalf("%s: figure: %v", name, err)
		}
	}
}

func TestModels(t *testing.T) {
	ms := Models()
	if len(ms) == 0 || ms[0].Name != "state" || ms[0].MetaFile != state.MetaFile {
		t.Fatalf("models %+v: want state first", ms)
	}
}

func TestPredictBadInput(t *testing.T) {
	_, f := fixture(t)
	dir := trainTiny(t)
	var files []File
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		files = append(files, File{Name: e.Name(), Bytes: b})
	}
	if _, _, err := CheckpointFS(nil, state.MetaFile); err == nil {
		t.Error("no files accepted")
	}
	if _, _, err := CheckpointFS([]File{{Name: "m.zip", Bytes: []byte("PK not a zip")}}, state.MetaFile); err == nil {
		t.Error("a damaged zip accepted")
	}
	var noMeta, nested []File
	for _, f := range files {
		if f.Name != state.MetaFile {
			noMeta = append(noMeta, f)
		}
		nested = append(nested, File{Name: "top/a/" + f.Name, Bytes: f.Bytes}, File{Name: "top/b/" + f.Name, Bytes: f.Bytes})
	}
	if _, _, err := CheckpointFS(noMeta, state.MetaFile); err == nil {
		t.Error("a folder without the meta file accepted")
	}
	if _, _, err := CheckpointFS(nested, state.MetaFile); err == nil || !strings.Contains(err.Error(), "found 2") {
		t.Errorf("two checkpoints in one folder: %v", err)
	}
	fsys, label, err := CheckpointFS(files, state.MetaFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ds   File
		opts PredictOptions
		want string
	}{
		{"not a model", f, PredictOptions{Model: "nope"}, `unknown model "nope"`},
		{"no checkpoints", f, PredictOptions{Model: "control"}, "no checkpoints"},
		{"not HDF5", File{Name: "x.h5ad", Bytes: []byte("x")}, PredictOptions{}, "x.h5ad: not an HDF5 file"},
		{"other genes", otherGenes(t), PredictOptions{PertCol: "perturbation", ContextCol: new(""), Control: "non-targeting"}, "gene sets differ"},
		{"no control", f, PredictOptions{Control: "DMSO"}, `control label "DMSO" not found`},
	} {
		var s Session
		_, err := s.Predict(context.Background(), fsys, label, tc.ds, tc.opts, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.name, err, tc.want)
		}
	}
}

// otherGenes is a real file whose genes are not the fixture's: TAP-seq's
// 72-gene panel (perturbation column and control present).
func otherGenes(t *testing.T) File {
	path := filepath.Join(data.DefaultDataDir(), "tapseq_schraivogel2020_crispat.h5ad")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("tapseq not available: %v", err)
	}
	return File{Name: "tapseq.h5ad", Bytes: b}
}
