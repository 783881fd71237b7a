package pert

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/par"
	"github.com/cellbench/cellbench/metrics"
)

// vccSizeInput builds a Virtual-Cell-Challenge-sized input by resampling
// real cells of the perturbench k562 data (log1p as shipped, 500 genes):
//
//   - genes: 36 tiles of the 500 real genes, each tile an independent
//     random permutation of the columns (18,000 genes);
//   - controls: nCtrl cells drawn with replacement from the 100 k562
//     control cells; perturbation p (of nPert) draws cellsPer cells with
//     replacement from real perturbation p mod 33;
//   - every drawn cell gets a library-size jitter f ~ U(0.8, 1.25):
//     v' = log1p(expm1(v)·f), so that resampled cells are not identical
//     copies (real cells of a deep experiment rarely tie);
//   - perturbation labels are "P000"…; the gene names "G00000"….
//
// The matrix is built directly as CSR (never densified). seed selects the
// resample, so real and pred are two different resamples of the same cells.
func vccSizeInput(tb testing.TB, nPert, cellsPer, nCtrl, tiles int, seed uint64) (Input, []string) {
	d := readReal(tb, "upstream/perturbench_devel_as_shipped.h5ad")
	perts, _ := d.ObsLabels("perturbation")
	cells, _ := d.ObsLabels("cell_type")
	byPert := map[string][]int{}
	var names []string
	for i, p := range perts {
		if cells[i] != "k562" {
			continue
		}
		if _, ok := byPert[p]; !ok && p != "control" {
			names = append(names, p)
		}
		byPert[p] = append(byPert[p], i)
	}
	slices.Sort(names)
	src := d.X
	g0 := src.Cols
	rng := rand.New(rand.NewPCG(seed, 42))
	// column maps per tile: source column c → output column t·g0 + inv[t][c]
	inv := make([][]int32, tiles)
	permRng := rand.New(rand.NewPCG(7, 7)) // same gene layout for real and pred
	for t := range inv {
		p := permRng.Perm(g0)
		inv[t] = make([]int32, g0)
		for k, c := range p {
			inv[t][c] = int32(k)
		}
	}
	var rows []int
	var labels []string
	var jitter []float64
	draw := func(from []int, n int, label string) {
		for i := 0; i < n; i++ {
			rows = append(rows, from[rng.IntN(len(from))])
			labels = append(labels, label)
			jitter = append(jitter, 0.8+0.45*rng.Float64())
		}
	}
	draw(byPert["control"], nCtrl, "control")
	for p := 0; p < nPert; p++ {
		draw(byPert[names[p%len(names)]], cellsPer, fmt.Sprintf("P%03d", p))
	}
	n := len(rows)
	x := &data.CSR{Rows: n, Cols: g0 * tiles, Indptr: make([]int64, n+1)}
	for i, r := range rows {
		x.Indptr[i+1] = x.Indptr[i] + (src.Indptr[r+1]-src.Indptr[r])*int64(tiles)
	}
	x.Indices = make([]int32, x.Indptr[n])
	x.Data = make([]float32, x.Indptr[n])
	par.For(runtime.GOMAXPROCS(0), 0, func(w int) {
		type e struct {
			j int32
			v float32
		}
		var buf []e
		for i := w; i < n; i += runtime.GOMAXPROCS(0) {
			idx, val := src.Row(rows[i])
			jv := make([]float32, len(val))
			for k, v := range val {
				jv[k] = float32(math.Log1p(math.Expm1(float64(v)) * jitter[i]))
			}
			p := x.Indptr[i]
			for t := 0; t < tiles; t++ {
				buf = buf[:0]
				for k, c := range idx {
					buf = append(buf, e{int32(t*g0) + inv[t][c], jv[k]})
				}
				slices.SortFunc(buf, func(a, b e) int { return int(a.j - b.j) })
				for _, en := range buf {
					x.Indices[p], x.Data[p] = en.j, en.v
					p++
				}
			}
		}
	})
	genes := make([]string, x.Cols)
	for j := range genes {
		genes[j] = fmt.Sprintf("G%05d", j)
	}
	return Input{X: x, Perts: labels}, genes
}

// procStatus returns VmRSS and VmHWM (peak RSS) of this process in MiB.
func procStatus() (rss, hwm float64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return math.NaN(), math.NaN()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb float64
		line := sc.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%g", &kb)
			rss = kb / 1024
		}
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Sscanf(strings.TrimPrefix(line, "VmHWM:"), "%g", &kb)
			hwm = kb / 1024
		}
	}
	return
}

// BenchmarkEvaluateVCCSize scores a VCC-sized prediction (300 perturbations
// × ~1,000 cells, 40,000 controls, 18,000 genes; real and pred are two
// resamples, see vccSizeInput) with the vcc profile and with every metric
// except energy_distance. It needs ~10 GB and runs only when
// CELLBENCH_BENCH_VCC=1 (bench/reports/score-pert.md). It reports peak RSS
// (VmHWM) after building the inputs and after scoring.
func BenchmarkEvaluateVCCSize(b *testing.B) {
	if os.Getenv("CELLBENCH_BENCH_VCC") != "1" {
		b.Skip("set CELLBENCH_BENCH_VCC=1 (needs ~10 GB, minutes)")
	}
	t0 := time.Now()
	real, genes := vccSizeInput(b, 300, 1000, 40000, 36, 1)
	pred, _ := vccSizeInput(b, 300, 1000, 40000, 36, 2)
	runtime.GC()
	rss, hwm := procStatus()
	b.Logf("inputs: real %d×%d nnz %d (%.2f%%), pred nnz %d; built in %.1fs; RSS %.0f MiB, peak %.0f MiB",
		real.X.Rows, real.X.Cols, real.X.NNZ(), 100*float64(real.X.NNZ())/float64(real.X.Rows)/float64(real.X.Cols),
		pred.X.NNZ(), time.Since(t0).Seconds(), rss, hwm)
	var noEnergy []string
	for _, m := range AllMetrics() {
		if m != metrics.EnergyDistance {
			noEnergy = append(noEnergy, m)
		}
	}
	for _, cfg := range []struct {
		name    string
		metrics []string
	}{{"profile=vcc", Profiles["vcc"]}, {"profile=full-minus-energy", noEnergy}} {
		b.Run(cfg.name, func(b *testing.B) {
			o := DefaultOptions()
			o.Genes, o.Control, o.Metrics = genes, "control", cfg.metrics
			for i := 0; i < b.N; i++ {
				t, c0 := time.Now(), cpuSeconds()
				rep, err := Evaluate(real, pred, o)
				if err != nil {
					b.Fatal(err)
				}
				_, hwm := procStatus()
				s, _ := rep.Aggregate(metrics.DiscriminationL1)
				b.Logf("%s: %d rows, wall %.1fs, CPU %.1fs, peak RSS so far %.0f MiB, discrimination_score_l1 mean %.4f",
					cfg.name, len(rep.Rows), time.Since(t).Seconds(), cpuSeconds()-c0, hwm, s.Mean)
				runtime.GC()
			}
		})
	}
}

// BenchmarkEvaluateVCCFifth is BenchmarkEvaluateVCCSize at one fifth of the
// cells (200 per perturbation, 8,000 controls; still 300 × 18,000), for
// profiling; vcc profile. Runs only when CELLBENCH_BENCH_VCC=1.
func BenchmarkEvaluateVCCFifth(b *testing.B) {
	if os.Getenv("CELLBENCH_BENCH_VCC") != "1" {
		b.Skip("set CELLBENCH_BENCH_VCC=1")
	}
	real, genes := vccSizeInput(b, 300, 200, 8000, 36, 1)
	pred, _ := vccSizeInput(b, 300, 200, 8000, 36, 2)
	o := DefaultOptions()
	o.Genes, o.Control, o.Metrics = genes, "control", Profiles["vcc"]
	b.ResetTimer()
	c0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		if _, err := Evaluate(real, pred, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op")
}

// cpuSeconds is the user+system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
