package scib

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/cellbench/cellbench/data"
)

// Metric names, as in SPEC-metrics.md and the metrics registry.
const (
	SilhouetteLabelName     = "silhouette_label"
	IsolatedLabelsName      = "isolated_labels"
	NMIKMeansName           = "nmi_kmeans"
	ARIKMeansName           = "ari_kmeans"
	NMILouvainName          = "nmi_louvain"
	ARILouvainName          = "ari_louvain"
	NMILeidenName           = "nmi_leiden"
	ARILeidenName           = "ari_leiden"
	CLISIName               = "clisi"
	SilhouetteBatchName     = "silhouette_batch"
	BRASName                = "bras"
	ILISIName               = "ilisi"
	KBETName                = "kbet_per_label"
	GraphConnectivityName   = "graph_connectivity"
	PCRComparisonName       = "pcr_comparison"
	BioName                 = "bio"
	BatchName               = "batch"
	TotalName               = "total"
	KNNAccuracyName         = "knn_accuracy"
	KNNBalancedAccuracyName = "knn_balanced_accuracy"
)

// BioMetrics are the bio-conservation metrics, BatchMetrics the
// batch-correction metrics and TypingMetrics the zero-shot cell-typing
// metrics, in output order. Which of them the bio and batch means use is
// set by the Preset (Preset.Members), not by these lists.
var (
	BioMetrics    = []string{IsolatedLabelsName, NMIKMeansName, ARIKMeansName, NMILeidenName, ARILeidenName, NMILouvainName, ARILouvainName, SilhouetteLabelName, CLISIName}
	BatchMetrics  = []string{BRASName, SilhouetteBatchName, ILISIName, KBETName, GraphConnectivityName, PCRComparisonName}
	TypingMetrics = []string{KNNAccuracyName, KNNBalancedAccuracyName}
	Aggregates    = []string{BioName, BatchName, TotalName}
)

// AllMetrics returns every metric name Benchmark can report, in output
// order: bio, batch, aggregates, cell typing.
func AllMetrics() []string {
	return slices.Concat(BioMetrics, BatchMetrics, Aggregates, TypingMetrics)
}

// Options configures Benchmark. The zero value is not valid: start from
// DefaultOptions.
type Options struct {
	K           int       // neighbours per cell incl. self (90); 15 and 50 are its prefixes
	Seed        uint64    // k-means++ and Louvain seed (PCG(seed, seed))
	Workers     int       // goroutines (≤ 0: GOMAXPROCS)
	Resolutions []float64 // Louvain sweep (0.1…2.0)
	KBETAlpha   float64   // 0.05
	// Preset picks the members of the bio and batch means
	// (PresetScibMetrics, the default, or PresetScib1).
	Preset Preset
	// KBETSearch is where kbet_per_label finds neighbours (KBETDiffusion,
	// as scib-metrics, or KBETEmbedding).
	KBETSearch KBETSearch
	// DiffusionComps is kbet_per_label's requested number of diffusion
	// components (100, scib-metrics' diffusion_n_comps).
	DiffusionComps int
	TypingK        int     // neighbours voting in zero-shot cell typing (5)
	KMeansIter     int     // 300
	KMeansTol      float64 // 1e-4 (relative to mean feature variance)
	// Pre is the pre-integration embedding (e.g. unintegrated PCA) for
	// pcr_comparison; nil makes pcr_comparison NaN with a reason.
	Pre *data.Dense
	// Metrics restricts the computation to these names (nil = all). The
	// aggregates are computed over whichever of their members were computed.
	Metrics []string
	// LeidenResolutions is the Leiden sweep (0.2, 0.4, …, 2.0).
	LeidenResolutions []float64
	// BioIncludesLeiden adds nmi_leiden and ari_leiden to the bio mean
	// (scib-metrics' BioConservation(nmi_ari_cluster_labels_leiden=True)).
	// BioIncludesLouvain does the same for nmi_louvain and ari_louvain (the
	// scib 1.x clustering). By default the bio mean is over the preset's
	// bio set (k-means NMI/ARI only, as the Benchmarker's default).
	BioIncludesLeiden  bool
	BioIncludesLouvain bool
	// GonumLouvain runs gonum's community.Modularize instead of this
	// package's Louvain (same objective; ~50× slower).
	GonumLouvain bool
}

// DefaultOptions returns scib-metrics 0.6 Benchmarker defaults (see
// doc.go): preset scib-metrics-0.6, kBET on diffusion-map neighbours with
// 100 components.
func DefaultOptions() Options {
	return Options{K: 90, Seed: 0, Resolutions: DefaultResolutions(), LeidenResolutions: LeidenResolutions(), KBETAlpha: 0.05,
		Preset: PresetScibMetrics, KBETSearch: KBETDiffusion, DiffusionComps: 100,
		TypingK: 5, KMeansIter: 300, KMeansTol: 1e-4}
}

// Value is one metric value; Reason says why it is NaN (or was clipped,
// or which members an aggregate skipped) and is empty otherwise.
type Value struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Reason string  `json:"reason,omitempty"`
}

// Report is what Benchmark returns.
type Report struct {
	Preset                       Preset // which members the bio and batch means use
	Cells, Dims, Labels, Batches int
	K                            int // neighbours used (≤ Options.K when cells are few)
	Values                       []Value
	Seconds                      map[string]float64 // wall time per step
	IsolatedLabels               []string           // labels scored by isolated_labels
	LouvainResolution            float64            // resolution of the best Louvain NMI
	LeidenResolution             float64            // resolution of the best Leiden NMI
	KMeansIterations             int
	KBET                         []KBETLabel
}

// Get returns the value of a metric and whether it was computed.
func (r *Report) Get(name string) (Value, bool) {
	for _, v := range r.Values {
		if v.Name == name {
			return v, true
		}
	}
	return Value{}, false
}

// Benchmark scores one embedding x (cells × dims) with the scIB metrics,
// aggregates and zero-shot cell typing, given per-cell labels (cell types)
// and batches. Metrics are computed as SPEC-metrics.md and the functions of
// this package define them, sharing one exact 90-NN table.
//
// It returns an error (never a silent number) when lengths disagree, x has
// no cells or columns or a non-finite value, a label or batch is empty, or
// a requested metric name is unknown. Metrics that are undefined for the
// input (one label, one batch, no pre-integration embedding, ...) are NaN
// with the reason in Value.Reason.
func Benchmark(x *data.Dense, labels, batches []string, opt Options) (*Report, error) {
	if err := checkInput(x, labels, batches, opt.Pre); err != nil {
		return nil, err
	}
	bioSet, batchSet, err := opt.Preset.Members()
	if err != nil {
		return nil, err
	}
	if opt.BioIncludesLeiden {
		bioSet = append(bioSet, NMILeidenName, ARILeidenName)
	}
	if opt.BioIncludesLouvain {
		bioSet = append(bioSet, NMILouvainName, ARILouvainName)
	}
	if opt.KBETSearch != KBETDiffusion && opt.KBETSearch != KBETEmbedding {
		return nil, fmt.Errorf("unknown kBET neighbour search %v", opt.KBETSearch)
	}
	if opt.KBETSearch == KBETDiffusion && opt.DiffusionComps < 1 {
		return nil, fmt.Errorf("kBET diffusion components %d: want at least 1", opt.DiffusionComps)
	}
	want := map[string]bool{}
	if opt.Metrics == nil {
		for _, m := range AllMetrics() {
			want[m] = true
		}
	} else {
		known := AllMetrics()
		for _, m := range opt.Metrics {
			if !slices.Contains(known, m) {
				return nil, fmt.Errorf("unknown metric %q (known: %s)", m, strings.Join(known, ", "))
			}
			want[m] = true
		}
	}
	if (want[NMILeidenName] || want[ARILeidenName]) && len(opt.LeidenResolutions) == 0 {
		return nil, fmt.Errorf("no Leiden resolutions given")
	}
	if (want[NMILouvainName] || want[ARILouvainName]) && len(opt.Resolutions) == 0 {
		return nil, fmt.Errorf("no Louvain resolutions given")
	}
	n := x.Rows
	lab, bat := Encode(labels), Encode(batches)
	rep := &Report{Preset: opt.Preset, Cells: n, Dims: x.Cols, Labels: len(lab.Names), Batches: len(bat.Names),
		Seconds: map[string]float64{}, LouvainResolution: math.NaN(), LeidenResolution: math.NaN()}
	vals := map[string]Value{}
	set := func(name string, v float64, reason string) {
		vals[name] = Value{Name: name, Value: v, Reason: reason}
	}
	timed := func(step string, fn func()) {
		t := time.Now()
		fn()
		rep.Seconds[step] += time.Since(t).Seconds()
	}
	k := min(opt.K, n)
	rep.K = k
	kNote := ""
	if k < opt.K {
		kNote = fmt.Sprintf("only %d cells: %d neighbours used instead of %d", n, k, opt.K)
	}
	needKNN := want[CLISIName] || want[ILISIName] || want[KBETName] || want[GraphConnectivityName] ||
		want[NMILouvainName] || want[ARILouvainName] || want[NMILeidenName] || want[ARILeidenName] || want[KNNAccuracyName] || want[KNNBalancedAccuracyName]
	var nb *Neighbors
	if needKNN {
		timed("knn", func() { nb = ExactKNN(x, k, opt.Workers) })
	}
	oneLabel := len(lab.Names) < 2
	oneBatch := len(bat.Names) < 2

	// Silhouette over labels: silhouette_label and isolated_labels.
	if want[SilhouetteLabelName] || want[IsolatedLabelsName] {
		if oneLabel {
			for _, m := range []string{SilhouetteLabelName, IsolatedLabelsName} {
				set(m, math.NaN(), "only one label: silhouette needs at least 2")
			}
		} else {
			var w []float64
			timed("silhouette_label", func() { w = SilhouetteSamples(x, lab, opt.Workers) })
			set(SilhouetteLabelName, SilhouetteLabel(w), "")
			iso, names := IsolatedLabels(w, lab, bat)
			rep.IsolatedLabels = names
			set(IsolatedLabelsName, iso, "")
		}
	}
	if want[SilhouetteBatchName] {
		timed("silhouette_batch", func() {
			v, why := SilhouetteBatch(x, lab, bat, opt.Workers)
			set(SilhouetteBatchName, v, why)
		})
	}
	if want[BRASName] {
		timed("bras", func() {
			v, why := BRAS(x, lab, bat, opt.Workers)
			set(BRASName, v, why)
		})
	}
	if want[NMIKMeansName] || want[ARIKMeansName] {
		timed("kmeans", func() {
			rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed))
			init := KMeansPlusPlusInit(x, len(lab.Names), rng)
			km := KMeans(x, init, opt.KMeansIter, opt.KMeansTol, opt.Workers)
			rep.KMeansIterations = km.Iter
			cl := encodeInts(km.Labels)
			set(NMIKMeansName, NMI(lab, cl), "")
			set(ARIKMeansName, ARI(lab, cl), "")
		})
	}
	var conn15 *Graph // fuzzy 15-NN connectivities, shared by Leiden and Louvain
	graph15 := func() *Graph {
		if conn15 == nil {
			timed("connectivities15", func() { conn15 = FuzzyConnectivities(nb.First(min(15, k)), opt.Workers) })
		}
		return conn15
	}
	if want[NMILeidenName] || want[ARILeidenName] {
		g := graph15()
		timed("leiden", func() {
			nmi, ari, res := LeidenSweep(g, lab, opt.LeidenResolutions, opt.Seed, opt.Workers)
			rep.LeidenResolution = res
			note := fmt.Sprintf("best NMI at resolution %.1f", res)
			set(NMILeidenName, nmi, note)
			set(ARILeidenName, ari, note)
		})
	}
	if want[NMILouvainName] || want[ARILouvainName] {
		g := graph15()
		timed("louvain", func() {
			nmi, ari, res := LouvainSweep(g, lab, opt.Resolutions, opt.Seed, opt.Workers, opt.GonumLouvain)
			rep.LouvainResolution = res
			note := fmt.Sprintf("best NMI at resolution %.1f", res)
			set(NMILouvainName, nmi, note)
			set(ARILouvainName, ari, note)
		})
	}
	if want[CLISIName] || want[ILISIName] {
		timed("lisi", func() {
			// One β calibration per cell serves both groupings.
			var groupings []Codes
			if want[CLISIName] {
				groupings = append(groupings, lab)
			}
			if want[ILISIName] {
				groupings = append(groupings, bat)
			}
			l := LISIs(nb, groupings, 0, opt.Workers)
			if want[CLISIName] {
				v, why := CLISI(l[0], len(lab.Names))
				set(CLISIName, v, joinReasons(why, kNote))
			}
			if want[ILISIName] {
				v, why := ILISI(l[len(l)-1], len(bat.Names))
				set(ILISIName, v, joinReasons(why, kNote))
			}
		})
	}
	if want[KBETName] {
		timed("kbet", func() {
			conn := FuzzyConnectivities(nb.First(min(50, k)), opt.Workers)
			v, per := KBETPerLabel(x, conn, lab, bat, KBETOptions{Alpha: opt.KBETAlpha, Search: opt.KBETSearch,
				DiffusionComps: opt.DiffusionComps, Workers: opt.Workers})
			rep.KBET = per
			why := ""
			if math.IsNaN(v) {
				why = "every label skipped (fewer than 10 cells or a single batch)"
			} else if skipped := countNaN(per); skipped > 0 {
				why = fmt.Sprintf("mean over %d of %d labels (%d skipped: <10 cells or one batch)", len(per)-skipped, len(per), skipped)
			}
			if opt.KBETSearch == KBETEmbedding {
				why = joinReasons(why, "neighbours searched in the embedding, not the diffusion map")
			}
			if k < 50 {
				why = joinReasons(why, fmt.Sprintf("only %d cells: %d-NN connectivities instead of 50-NN", n, k))
			}
			set(KBETName, v, why)
		})
	}
	if want[GraphConnectivityName] {
		timed("graph_connectivity", func() {
			set(GraphConnectivityName, GraphConnectivity(nb.First(min(15, k)), lab), "")
		})
	}
	if want[PCRComparisonName] {
		if opt.Pre == nil {
			set(PCRComparisonName, math.NaN(), "no pre-integration embedding given")
		} else {
			timed("pcr_comparison", func() {
				v, why := PCRComparison(opt.Pre, x, bat)
				set(PCRComparisonName, v, why)
			})
		}
	}
	if want[KNNAccuracyName] || want[KNNBalancedAccuracyName] {
		timed("knn_typing", func() {
			if k < opt.TypingK+1 {
				set(KNNAccuracyName, math.NaN(), "fewer cells than TypingK+1")
				set(KNNBalancedAccuracyName, math.NaN(), "fewer cells than TypingK+1")
				return
			}
			a, b := KNNCellTyping(nb, lab, opt.TypingK)
			set(KNNAccuracyName, a, "")
			set(KNNBalancedAccuracyName, b, "")
		})
	}

	if want[BioName] || want[TotalName] {
		v, why := aggregate(vals, bioSet)
		set(BioName, v, why)
	}
	if want[BatchName] || want[TotalName] {
		if oneBatch {
			set(BatchName, math.NaN(), "only one batch: batch correction is undefined")
		} else {
			v, why := aggregate(vals, batchSet)
			set(BatchName, v, why)
		}
	}
	if want[TotalName] {
		b, c := vals[BioName], vals[BatchName]
		if math.IsNaN(b.Value) || math.IsNaN(c.Value) {
			set(TotalName, math.NaN(), "bio or batch is NaN")
		} else {
			set(TotalName, 0.6*b.Value+0.4*c.Value, "")
		}
	}
	for _, m := range AllMetrics() {
		if v, ok := vals[m]; ok && want[m] {
			rep.Values = append(rep.Values, v)
		}
	}
	return rep, nil
}

// aggregate is the mean of the members that were computed and are not NaN
// (pandas' skipna mean, as scib-metrics' get_results); the reason lists
// NaN members. NaN when no member has a value.
func aggregate(vals map[string]Value, members []string) (float64, string) {
	var got []float64
	var nan, missing []string
	for _, m := range members {
		v, ok := vals[m]
		switch {
		case !ok:
			missing = append(missing, m)
		case math.IsNaN(v.Value):
			nan = append(nan, m)
		default:
			got = append(got, v.Value)
		}
	}
	var why []string
	if len(nan) > 0 {
		why = append(why, "NaN members skipped: "+strings.Join(nan, ", "))
	}
	if len(missing) > 0 {
		why = append(why, "not computed: "+strings.Join(missing, ", "))
	}
	if len(got) == 0 {
		return math.NaN(), "no member has a value; " + strings.Join(why, "; ")
	}
	if len(why) > 0 {
		return mean(got), fmt.Sprintf("mean of %d of %d metrics; %s", len(got), len(members), strings.Join(why, "; "))
	}
	return mean(got), ""
}

func countNaN(per []KBETLabel) int {
	c := 0
	for _, p := range per {
		if math.IsNaN(p.Score) {
			c++
		}
	}
	return c
}

func joinReasons(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// checkInput returns the first problem with the inputs of Benchmark.
func checkInput(x *data.Dense, labels, batches []string, pre *data.Dense) error {
	if x == nil || x.Rows == 0 {
		return fmt.Errorf("embedding has no cells")
	}
	if x.Cols == 0 {
		return fmt.Errorf("embedding has no columns")
	}
	if len(x.Data) != x.Rows*x.Cols {
		return fmt.Errorf("embedding data has %d values, want %d×%d", len(x.Data), x.Rows, x.Cols)
	}
	if err := checkFinite(x, "embedding"); err != nil {
		return err
	}
	if len(labels) != x.Rows {
		return fmt.Errorf("%d labels for %d cells", len(labels), x.Rows)
	}
	if len(batches) != x.Rows {
		return fmt.Errorf("%d batches for %d cells", len(batches), x.Rows)
	}
	for i, l := range labels {
		if l == "" {
			return fmt.Errorf("cell %d has an empty label", i)
		}
	}
	for i, b := range batches {
		if b == "" {
			return fmt.Errorf("cell %d has an empty batch", i)
		}
	}
	if x.Rows < 3 {
		return fmt.Errorf("only %d cells: need at least 3", x.Rows)
	}
	if pre != nil {
		if pre.Rows != x.Rows {
			return fmt.Errorf("pre-integration embedding has %d cells, embedding has %d", pre.Rows, x.Rows)
		}
		if err := checkFinite(pre, "pre-integration embedding"); err != nil {
			return err
		}
	}
	return nil
}

func checkFinite(x *data.Dense, what string) error {
	for p, v := range x.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: non-finite value %v at cell %d, column %d", what, v, p/x.Cols, p%x.Cols)
		}
	}
	return nil
}
