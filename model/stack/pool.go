package stack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/gomlx/gomlx/core/tensors"
)

// poolDataset is one pre-training dataset mapped onto the gene universe.
type poolDataset struct {
	name    string
	x       *data.CSR // raw counts over the dataset's genes
	genes   geneMap
	samples [][]int // rows of each eligible sample (≥ min cells)
	cum     []int   // cumulative cell counts of samples (sampling ∝ size)
	dropped int     // samples left out (fewer cells than a set)
}

// PoolInfo describes a pre-training dataset in a checkpoint's meta file.
type PoolInfo struct {
	Name            string `json:"name"`
	SampleCol       string `json:"sample_col"`
	Cells           int    `json:"cells"`
	Genes           int    `json:"genes"`
	GenesInUniverse int    `json:"genes_in_universe"`
	Samples         int    `json:"samples"`
	SamplesDropped  int    `json:"samples_dropped"`
}

// newPoolDataset groups d's cells by sampleCol ("" = one sample) and keeps
// the samples with at least minCells cells, in sorted sample order.
func newPoolDataset(d *data.Dataset, sampleCol string, universe []string, minCells int) (*poolDataset, PoolInfo, error) {
	p := &poolDataset{name: datasetName(d), x: d.X, genes: newGeneMap(universe, d.Var.Index)}
	info := PoolInfo{Name: p.name, SampleCol: sampleCol, Cells: d.X.Rows, Genes: d.X.Cols, GenesInUniverse: p.genes.nPresent()}
	groups, err := sampleGroups(d, sampleCol)
	if err != nil {
		return nil, info, err
	}
	total := 0
	for _, rows := range groups {
		if len(rows) < minCells {
			p.dropped++
			continue
		}
		p.samples = append(p.samples, rows)
		total += len(rows)
		p.cum = append(p.cum, total)
	}
	info.Samples, info.SamplesDropped = len(p.samples), p.dropped
	return p, info, nil
}

// sampleGroups returns the rows of each value of sampleCol (sorted by
// value; "" = all rows in one group). Cells with a missing value form
// their own group.
func sampleGroups(d *data.Dataset, sampleCol string) ([][]int, error) {
	if sampleCol == "" {
		rows := make([]int, d.X.Rows)
		for i := range rows {
			rows[i] = i
		}
		return [][]int{rows}, nil
	}
	labels, err := d.ObsLabels(sampleCol)
	if err != nil {
		return nil, err
	}
	by := map[string][]int{}
	for i, l := range labels {
		by[l] = append(by[l], i)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]int, len(keys))
	for i, k := range keys {
		out[i] = by[k]
	}
	return out, nil
}

// pickSample returns the rows of a sample drawn with probability ∝ its size.
func (p *poolDataset) pickSample(rng *rand.Rand) []int {
	r := rng.IntN(p.cum[len(p.cum)-1])
	i := sort.SearchInts(p.cum, r+1)
	return p.samples[i]
}

// pretrainBatcher draws the batch of a step from PCG(seed, step): for each
// of the B sets a dataset (uniformly), one of its samples (∝ cells), S
// distinct cells of it, and a masked gene subset of the dataset's present
// genes of size ⌊n·r⌋, r ~ U(mask_rate_min, mask_rate_max) (one subset
// for all cells of the set); then K distinct positions, P unit directions
// and B·K·D standard-normal prior samples for the SW term.
type pretrainBatcher struct {
	a                arch
	pool             []*poolDataset
	seed             uint64
	maskMin, maskMax float64
}

func (pb *pretrainBatcher) batch(step int64) ([]*tensors.Tensor, []*tensors.Tensor, error) {
	a := pb.a
	B, S, G, D := a.batch, a.setSize, a.genes, a.dim()
	K, P := a.swCells, a.swProj
	rng := rand.New(rand.NewPCG(pb.seed, uint64(step)^0x57ac4b17))
	counts := make([]float32, B*S*G)
	cells := make([]bool, B*S)
	genes := make([]bool, B*G)
	masked := make([]bool, B*G)
	for b := range B {
		d := pb.pool[rng.IntN(len(pb.pool))]
		rows := sampleWithout(d.pickSample(rng), S, rng)
		for i, r := range rows {
			d.genes.denseRow(counts[(b*S+i)*G:(b*S+i+1)*G], d.x, r)
			cells[b*S+i] = true
		}
		copy(genes[b*G:(b+1)*G], d.genes.present)
		rate := pb.maskMin + (pb.maskMax-pb.maskMin)*rng.Float64()
		n := int(float64(d.genes.nPresent()) * rate)
		for _, u := range sampleWithout(d.genes.presentIdx, n, rng) {
			masked[b*G+int(u)] = true
		}
	}
	idx, proj, prior := swInputs(rng, B, S, K, D, P)
	in := []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(counts, B, S, G),
		tensors.FromFlatDataAndDimensions(logFactorials(counts), B, S, G),
		tensors.FromFlatDataAndDimensions(cells, B, S),
		tensors.FromFlatDataAndDimensions(genes, B, G),
		tensors.FromFlatDataAndDimensions(masked, B, G),
		idx, proj, prior,
	}
	return in, nil, nil
}

// logFactorials returns ln(c!) of every count (0 for zeros).
func logFactorials(counts []float32) []float32 {
	out := make([]float32, len(counts))
	for i, c := range counts {
		if c != 0 {
			lg, _ := math.Lgamma(float64(c) + 1)
			out[i] = float32(lg)
		}
	}
	return out
}

// swInputs draws the sliced-Wasserstein inputs: K distinct positions of S
// (shared by the batch, as the release), P Gaussian directions normalised
// to unit length [D,P], and prior samples N(0, I) [B,K,D].
func swInputs(rng *rand.Rand, B, S, K, D, P int) (idx, proj, prior *tensors.Tensor) {
	all := make([]int, S)
	for i := range all {
		all[i] = i
	}
	pos := sampleWithout(all, K, rng)
	pi := make([]int32, K)
	for i, v := range pos {
		pi[i] = int32(v)
	}
	dirs := make([]float32, D*P)
	for p := range P {
		norm := 0.0
		v := make([]float64, D)
		for d := range D {
			v[d] = rng.NormFloat64()
			norm += v[d] * v[d]
		}
		norm = math.Sqrt(norm)
		for d := range D {
			dirs[d*P+p] = float32(v[d] / norm)
		}
	}
	pr := make([]float32, B*K*D)
	for i := range pr {
		pr[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(pi, K), tensors.FromFlatDataAndDimensions(dirs, D, P),
		tensors.FromFlatDataAndDimensions(pr, B, K, D)
}

// sampleWithout draws k of rows without replacement (partial Fisher–Yates
// on a copy); k ≥ len(rows) returns a shuffled copy of all.
func sampleWithout[T any](rows []T, k int, rng *rand.Rand) []T {
	c := slices.Clone(rows)
	k = min(k, len(c))
	for i := range k {
		j := i + rng.IntN(len(c)-i)
		c[i], c[j] = c[j], c[i]
	}
	return c[:k]
}

// checkCounts verifies that d holds raw counts (data.DetectScale), the
// only scale STACK pre-trains and embeds on.
func checkCounts(d *data.Dataset) error {
	if d.X == nil || d.X.Rows == 0 {
		return fmt.Errorf("%s: no cells", datasetName(d))
	}
	if d.Scale == data.Log1p {
		return fmt.Errorf("%s: X is log1p-normalised; STACK reads raw counts (its input is log1p(counts) and its NB decoder scores counts)", datasetName(d))
	}
	rep, err := data.DetectScale(d.X)
	if err != nil {
		return fmt.Errorf("%s: %w", datasetName(d), err)
	}
	if rep.Scale != data.Counts {
		return fmt.Errorf("%s: X holds non-integer values (max %g): STACK reads raw counts, not log1p", datasetName(d), rep.Max)
	}
	return nil
}

var _ nn.Batcher = (&pretrainBatcher{}).batch
