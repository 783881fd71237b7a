package reports

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/metrics/de"
	"github.com/cellbench/cellbench/results"
)

// writeFigureForInspection writes f as PNG and SVG under $REPORTS_FIGDIR when
// set (to look at figures while developing), and checks both encode.
func checkFigure(t *testing.T, f *Figure) {
	t.Helper()
	pngBytes, err := f.PNG()
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("%s: PNG does not decode: %v", f.Name, err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
		t.Errorf("%s: PNG is %v, too small", f.Name, b)
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(svg), []byte("<?xml")) && !bytes.Contains(svg[:min(200, len(svg))], []byte("<svg")) {
		t.Errorf("%s: SVG does not start like SVG: %.80q", f.Name, svg)
	}
	for _, want := range []string{"seed"} {
		if !strings.Contains(strings.ToLower(f.Caption), want) {
			t.Errorf("%s: caption does not mention %q: %q", f.Name, want, f.Caption)
		}
	}
	if dir := os.Getenv("REPORTS_FIGDIR"); dir != "" {
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, f.Name+".png"), pngBytes, 0o644)
		os.WriteFile(filepath.Join(dir, f.Name+".svg"), svg, 0o644)
	}
}

func TestMetricBarsFigures(t *testing.T) {
	figs := NewMetricBarsFigures(synthRecords(), MetricBarsOptions{})
	if len(figs) != 1 {
		t.Fatalf("got %d figures, want 1 (one task/dataset/split)", len(figs))
	}
	f := figs[0]
	if f.Name != "bars_pert-fewshot_fixture_tiny_perturbation_fewshot-k562" {
		t.Errorf("name = %q", f.Name)
	}
	for _, want := range []string{"fixture_tiny_perturbation", "fewshot-k562", "seeds 0, 1", "bootstrap over perturbations"} {
		if !strings.Contains(f.Caption, want) {
			t.Errorf("caption lacks %q: %s", want, f.Caption)
		}
	}
	checkFigure(t, f)
}

// A metric whose mean over seeds is NaN (one seed NaN) but whose finite
// per-perturbation values would give a bootstrap interval is drawn without
// a whisker: with no other interval, the caption says none was formed.
func TestMetricBarsNaNMeanHasNoWhisker(t *testing.T) {
	var rs []results.Record
	for seed := range uint64(2) {
		for k, p := range []string{"A", "B", "C"} {
			v := 0.1 * float64(k+1)
			if seed == 1 {
				v = math.NaN()
			}
			rs = append(rs, results.Record{Task: "pert-fewshot", Dataset: "d", Split: "s", Model: "m", Seed: seed,
				Perturbation: p, Metric: "pearson_delta", Value: v})
		}
	}
	figs := NewMetricBarsFigures(rs, MetricBarsOptions{})
	if len(figs) != 1 || !strings.Contains(figs[0].Caption, "no interval could be formed") {
		t.Fatalf("caption: %q", figs[0].Caption)
	}
	checkFigure(t, figs[0])
}

func TestDiscriminationMatrix(t *testing.T) {
	// Hand-computed: 3 perturbations over genes g0..g2. Row A's prediction
	// equals real B, so r_A = 1 (B nearer than A); the others match exactly.
	// Gene "A" is named by perturbation A and must be skipped in row A.
	in := Discrimination{
		Perturbations: []string{"A", "B", "C"},
		Genes:         []string{"A", "g1", "g2"},
		PredDelta:     [][]float64{{100, 1, 0}, {0, 1, 0}, {0, 0, 1}},
		RealDelta:     [][]float64{{0, 0, 0}, {0, 1, 0}, {0, 0, 1}},
	}
	dist, score, err := DiscriminationMatrix(in)
	if err != nil {
		t.Fatal(err)
	}
	wantDist := [][]float64{{1, 0, 2}, {1, 0, 2}, {1, 2, 0}} // L1, gene A skipped in row A only
	wantScore := []float64{1 - 1.0/3, 1, 1}
	for i := range wantDist {
		for j := range wantDist[i] {
			if dist[i][j] != wantDist[i][j] {
				t.Errorf("dist[%d][%d] = %v, want %v", i, j, dist[i][j], wantDist[i][j])
			}
		}
		if math.Abs(score[i]-wantScore[i]) > 1e-12 {
			t.Errorf("score[%d] = %v, want %v", i, score[i], wantScore[i])
		}
	}
	if _, _, err := DiscriminationMatrix(Discrimination{Perturbations: []string{"A", "B"}, Genes: []string{"x"},
		PredDelta: [][]float64{{1}, {1}}, RealDelta: [][]float64{{1}, {1}}, Distance: "manhattan"}); err == nil {
		t.Error("unknown distance: no error")
	}
}

// synthDeltas makes real deltas for n perturbations over g genes and
// predictions = real + noise (PCG(3, 4)), so most rows rank their true match first.
func synthDeltas(n, g int, noise float64) Discrimination {
	rng := rand.New(rand.NewPCG(3, 4))
	in := Discrimination{Dataset: "synthetic", Split: "test", Model: "noisy-oracle", Seeds: []uint64{0}}
	for j := range g {
		in.Genes = append(in.Genes, fmt.Sprintf("G%d", j))
	}
	for i := range n {
		in.Perturbations = append(in.Perturbations, fmt.Sprintf("G%d", i))
		real := make([]float64, g)
		pred := make([]float64, g)
		for j := range g {
			real[j] = rng.NormFloat64() * 0.3
			pred[j] = real[j] + noise*rng.NormFloat64()
		}
		in.RealDelta = append(in.RealDelta, real)
		in.PredDelta = append(in.PredDelta, pred)
	}
	return in
}

func TestDiscriminationFigure(t *testing.T) {
	f, err := NewDiscriminationFigure(synthDeltas(12, 50, 0.35))
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f)
}

func TestLFCScatterFigure(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := 200
	in := LFCScatter{Perturbation: "SGK1", Dataset: "synthetic", Split: "test", Model: "noisy-oracle", Seeds: []uint64{0, 1}}
	in.Real = de.Result{Target: "SGK1", NTarget: 30, LFC: make([]float64, g), FDR: make([]float64, g)}
	in.Pred = de.Result{Target: "SGK1", NTarget: 30, LFC: make([]float64, g), FDR: make([]float64, g)}
	for j := range g {
		in.Genes = append(in.Genes, fmt.Sprintf("G%d", j))
		in.Real.LFC[j] = rng.NormFloat64() * 0.5
		if j < 20 {
			in.Real.LFC[j] *= 5
			in.Real.FDR[j] = 0.001
		} else {
			in.Real.FDR[j] = 0.5
		}
		in.Pred.LFC[j] = 0.7*in.Real.LFC[j] + 0.3*rng.NormFloat64()
	}
	f, err := NewLFCScatterFigure(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Caption, "n = 20") {
		t.Errorf("caption does not count 20 significant genes: %s", f.Caption)
	}
	checkFigure(t, f)
	in.Pred.Target = "MAPK1"
	if _, err := NewLFCScatterFigure(in); err == nil {
		t.Error("mismatched targets: no error")
	}
}

func TestScibTable(t *testing.T) {
	tabs := NewScibTables(synthScibRecords())
	if len(tabs) != 1 {
		t.Fatalf("got %d tables, want 1", len(tabs))
	}
	tab := tabs[0]
	// Hand-computed from synthScibRecords: harmony bio = mean(0.58, 0.62,
	// 0.75, 0.6, 0.97) = 0.704, batch = mean(0.9, 0.4, 0.5, 0.93, 0.7) =
	// 0.686, total = 0.6·0.704 + 0.4·0.686 = 0.6968.
	if tab.Models[0] != "harmony" {
		t.Errorf("first row %q, want harmony (higher total)", tab.Models[0])
	}
	for _, c := range []struct {
		col  string
		want float64
	}{{"bio", 0.704}, {"batch", 0.686}, {"total", 0.6968}} {
		if got := tab.Value["harmony"][c.col]; math.Abs(got-c.want) > 1e-12 {
			t.Errorf("harmony %s = %v, want %v", c.col, got, c.want)
		}
	}
	f := NewScibTableFigure(tab)
	checkFigure(t, f)
}

func TestMCCCurveFigures(t *testing.T) {
	figs := NewMCCCurveFigures(synthImputeRecords())
	if len(figs) != 1 {
		t.Fatalf("got %d figures, want 1", len(figs))
	}
	checkFigure(t, figs[0])
	if len(NewMCCCurveFigures(synthRecords())) != 0 {
		t.Error("figure drawn from records without masking ratios")
	}
}
