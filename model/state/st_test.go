package state

import (
	"archive/zip"
	"bytes"
	"context"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/tasks"
)

// fixture loads the 300-cell perturbench fixture on the log1p scale, or
// skips when the shared data directory is absent.
func fixture(t *testing.T) *data.Dataset {
	t.Helper()
	path := filepath.Join(data.DefaultDataDir(), "fixture_tiny_perturbation_300cells.h5ad")
	d, err := h5ad.Read(path)
	if err != nil {
		t.Skipf("fixture not available: %v", err)
	}
	x, err := data.ToLog1p(d, "auto", data.DefaultTargetSum)
	if err != nil {
		t.Fatal(err)
	}
	d.X, d.Scale = x, data.Log1p
	return d
}

var fixtureSpec = tasks.PertSpec{PertCol: "perturbation", ContextCol: "cell_type", Control: "control", Seed: 3}

// heldOut splits the fixture: A172 × SGK1 is the test group.
func heldOut(t *testing.T, d *data.Dataset) (train *data.Dataset, ctrlA172 *data.CSR, nTest int) {
	perts, _ := d.ObsLabels("perturbation")
	ctxs, _ := d.ObsLabels("cell_type")
	var tr, ctrl []int
	for i := range perts {
		switch {
		case ctxs[i] == "A172" && perts[i] == "SGK1":
			nTest++
		default:
			tr = append(tr, i)
			if ctxs[i] == "A172" && perts[i] == "control" {
				ctrl = append(ctrl, i)
			}
		}
	}
	return d.SubsetCells(tr), d.X.SubsetRows(ctrl), nTest
}

func fitPredict(t *testing.T, cfg hparams.Config, dir string) (*ST, []float64, *data.CSR) {
	t.Helper()
	d := fixture(t)
	train, ctrl, n := heldOut(t, d)
	m := New(cfg)
	m.CheckpointDir = dir
	if err := m.Fit(context.Background(), train, fixtureSpec); err != nil {
		t.Fatal(err)
	}
	preds, err := m.Predict(context.Background(), []tasks.PredictRequest{
		{Context: "A172", Perturbation: "SGK1", Controls: ctrl, NCells: n},
		{Context: "A172", Perturbation: "SGK1+MAPK1", Controls: ctrl, NCells: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, m.History().Losses(), preds[0]
}

// The tiny config trains on the fixture, predicts valid log1p cells, and
// is deterministic: same seed → identical loss curve and predictions.
func TestTinyFitPredictDeterministic(t *testing.T) {
	cfg, err := Params.Resolve("tiny", "")
	if err != nil {
		t.Fatal(err)
	}
	m, lossA, predA := fitPredict(t, cfg, "")
	if predA.Rows != 30 || predA.Cols != 200 {
		t.Fatalf("prediction %d×%d, want 30×200", predA.Rows, predA.Cols)
	}
	if err := predA.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, v := range predA.Data {
		if v < 0 || math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("invalid predicted value %v", v)
		}
	}
	notes := m.Notes()
	if !slices.ContainsFunc(notes, func(s string) bool { return s != "" }) {
		t.Fatalf("unseen combination SGK1+MAPK1 left no note: %v", notes)
	}
	if len(lossA) != cfg.Int("steps") {
		t.Fatalf("%d loss records, want %d", len(lossA), cfg.Int("steps"))
	}
	_, lossB, predB := fitPredict(t, cfg, "")
	if !slices.Equal(lossA, lossB) {
		t.Fatalf("same seed, different loss curves:\n%v\n%v", lossA, lossB)
	}
	if !slices.Equal(predA.Data, predB.Data) || !slices.Equal(predA.Indices, predB.Indices) {
		t.Fatal("same seed, different predictions")
	}
}

// Training into a directory then Load gives the same predictions, in gene
// space with whole-group sets and in an 8-d PCA embedding space.
func TestSaveLoad(t *testing.T) {
	for _, set := range []string{"steps=10;cell_set_len=0", "steps=10;embed_dim=8"} {
		t.Run(set, func(t *testing.T) { testSaveLoad(t, set) })
	}
}

func testSaveLoad(t *testing.T, set string) {
	cfg, _ := Params.Resolve("tiny", set)
	dir := t.TempDir()
	_, _, pred := fitPredict(t, cfg, dir)
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := fixture(t)
	_, ctrl, n := heldOut(t, d)
	got, err := m.Predict(context.Background(), []tasks.PredictRequest{{Context: "A172", Perturbation: "SGK1", Controls: ctrl, NCells: n}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pred.Data, got[0].Data) {
		t.Fatal("loaded model predicts differently")
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("Load of an empty directory succeeded")
	}
}

func TestBadConfig(t *testing.T) {
	d := fixture(t)
	for _, set := range []string{"heads=3", "norm=batch", "loss=mse", "batch_col=nosuch", "embed_dim=-1", "embed_dim=201"} {
		cfg, err := Params.Resolve("tiny", set)
		if err != nil {
			t.Fatal(err)
		}
		if err := New(cfg).Fit(context.Background(), d, fixtureSpec); err == nil {
			t.Errorf("-set %s: Fit succeeded", set)
		}
	}
	counts := *d
	counts.Scale = data.Counts
	cfg, _ := Params.Resolve("tiny", "")
	if err := New(cfg).Fit(context.Background(), &counts, fixtureSpec); err == nil {
		t.Error("Fit on counts succeeded")
	}
}

// Every named config resolves and builds a valid architecture; resuming a
// checkpoint directory with another configuration is refused.
func TestNamedConfigsAndResumeGuard(t *testing.T) {
	for _, name := range Params.NamedConfigs() {
		cfg, err := Params.Resolve(name, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := archFrom(cfg, 2000, 10).validate(); err != nil {
			t.Errorf("config %s: %v", name, err)
		}
	}
	d := fixture(t)
	dir := t.TempDir()
	cfg, _ := Params.Resolve("tiny", "steps=3")
	m := New(cfg)
	m.CheckpointDir = dir
	if err := m.checkResumeConfig(dir, d.Genes(), fixtureSpec); err != nil {
		t.Fatal(err)
	}
	if err := m.checkResumeConfig(dir, d.Genes(), fixtureSpec); err != nil {
		t.Fatalf("same config refused: %v", err)
	}
	// A saved step (nn.CheckStart replaces a start file with none beside it).
	if err := os.WriteFile(filepath.Join(dir, "history.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	other, _ := Params.Resolve("tiny", "steps=4")
	m2 := New(other)
	m2.CheckpointDir = dir
	err := m2.Fit(context.Background(), d, fixtureSpec)
	if err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Fatalf("resume with another config: %v", err)
	}
}

// LoadFS reads the same model from a zip of the checkpoint directory and
// from files in memory (how the browser gets it) as Load from the
// directory; a truncated or missing weights file is an error, not a panic.
func TestLoadFS(t *testing.T) {
	cfg, _ := Params.Resolve("tiny", "steps=5")
	dir := t.TempDir()
	_, _, want := fitPredict(t, cfg, dir)
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
		w, _ := zw.Create(e.Name())
		w.Write(b)
	}
	zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
	if err != nil {
		t.Fatal(err)
	}
	mem := func(edit func(name string, b []byte) []byte) fstest.MapFS {
		m := fstest.MapFS{}
		for n, b := range files {
			if b = edit(n, b); b != nil {
				m[n] = &fstest.MapFile{Data: b}
			}
		}
		return m
	}
	d := fixture(t)
	_, ctrl, n := heldOut(t, d)
	for name, fsys := range map[string]fs.FS{"zip": zr, "memory": mem(func(_ string, b []byte) []byte { return b })} {
		m, err := LoadFS(fsys, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := m.Predict(context.Background(), []tasks.PredictRequest{{Context: "A172", Perturbation: "SGK1", Controls: ctrl, NCells: n}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(want.Data, got[0].Data) {
			t.Fatalf("%s: the model loaded from an fs.FS predicts differently", name)
		}
	}
	for what, edit := range map[string]func(string, []byte) []byte{
		"truncated weights": func(n string, b []byte) []byte {
			if strings.HasSuffix(n, ".bin") {
				return b[:len(b)/2]
			}
			return b
		},
		"empty weights": func(n string, b []byte) []byte {
			if strings.HasSuffix(n, ".bin") {
				return []byte{}
			}
			return b
		},
		"no weights": func(n string, b []byte) []byte {
			if strings.HasSuffix(n, ".bin") {
				return nil
			}
			return b
		},
		"no meta": func(n string, b []byte) []byte {
			if n == MetaFile {
				return nil
			}
			return b
		},
	} {
		if _, err := LoadFS(mem(edit), "ckpt"); err == nil {
			t.Errorf("%s: LoadFS succeeded", what)
		} else if !strings.HasPrefix(err.Error(), "state: ckpt") {
			t.Errorf("%s: error %q does not name the checkpoint", what, err)
		}
	}
}
