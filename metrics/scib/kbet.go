package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/par"
	"gonum.org/v1/gonum/stat/distuv"
)

// KBETSearch says where kbet_per_label finds each tested cell's neighbours.
type KBETSearch int

const (
	// KBETDiffusion: nearest cells in the diffusion map of the label's
	// connectivity subgraph (scib-metrics 0.6; the default).
	KBETDiffusion KBETSearch = iota
	// KBETEmbedding: exact Euclidean nearest cells of the label in the
	// embedding itself (cellbench's earlier default; cheaper, and free of
	// the diffusion map's component rules for the neighbour search).
	KBETEmbedding
)

// String returns "diffusion" or "embedding".
func (s KBETSearch) String() string {
	switch s {
	case KBETDiffusion:
		return "diffusion"
	case KBETEmbedding:
		return "embedding"
	}
	return fmt.Sprintf("KBETSearch(%d)", int(s))
}

// KBETOptions configures KBETPerLabel.
type KBETOptions struct {
	Alpha  float64    // significance level of the χ² test (0.05)
	Search KBETSearch // neighbour search (KBETDiffusion)
	// DiffusionComps is the requested number of diffusion components (100).
	DiffusionComps int
	Workers        int // goroutines (≤ 0: GOMAXPROCS)
}

// KBETLabel is the kBET outcome of one label.
type KBETLabel struct {
	Label  string
	Cells  int
	K0     int // neighbours per tested cell besides itself (0 when skipped)
	Tested int // cells tested (those in kept components)
	Comps  int // diffusion components used (KBETDiffusion; 0 otherwise)
	// Eigenvalues of the label's diffusion map as DiffusionEmbedding scales
	// them (float32, + 1e-8), decreasing; nil unless KBETDiffusion tested it.
	Eigenvalues []float64
	Score       float64 // acceptance rate, 0 (rule) or NaN (skipped)
	Reason      string  // why the score is NaN or 0 by rule; "" when tested
}

// kbetSizeMax is scib-metrics' upper bound on k0·cells (2³¹ − 1).
const kbetSizeMax = 1<<31 - 1

// KBETPerLabel is SPEC `kbet_per_label` (higher is better, in [0, 1]) as
// scib-metrics 0.6 computes it (metrics/_kbet.py kbet_per_label and kbet,
// utils/_diffusion_nn.py). conn is the fuzzy 50-NN connectivity graph of
// all cells (FuzzyConnectivities of the 50-NN table, the Benchmarker's
// "50_neighbor_res"). Labels are taken in sorted order; for each:
//
//   - fewer than 10 cells, or a single batch: NaN (skipped);
//   - k0 = min(70, max(10, ⌊mean cells per batch / 4⌋)), lowered to
//     ⌊(2³¹ − 1)/cells⌋ if k0·cells ≥ 2³¹ − 1;
//   - the label's cells are split into connected components of conn
//     restricted to the label; with more than one, only cells in components
//     of ≥ 3·k0 cells are kept, and the label scores 0 when they are fewer
//     than 75 % of its cells;
//   - KBETDiffusion: the kept cells' diffusion map (DiffusionEmbedding of
//     conn restricted to them) with c components, where c is the running
//     minimum of DiffusionComps and (kept − 1) over this and every earlier
//     label that reached this step — scib-metrics assigns
//     diffusion_n_comps = min(diffusion_n_comps, n − 1) inside its loop
//     over labels, so a small label lowers c for every later one; this is
//     reproduced. A diffusion map that fails scores 0 (scib-metrics'
//     ValueError path). KBETEmbedding: the embedding x itself;
//   - each kept cell's k0 + 1 nearest kept cells, itself included (exact
//     Euclidean kNN; scib-metrics asks pynndescent for k0 + 1 neighbours
//     and keeps self), capped at the number of kept cells;
//   - χ² statistic of those neighbours' batch counts against (k0 + 1) × the
//     batch frequencies of the kept cells, dof = batches − 1;
//     p = 1 − F_χ²(stat); score = fraction of cells with p ≥ α (the
//     acceptance rate); kept cells of a single batch score 0 (dof 0: every
//     p is 0 or NaN in scib-metrics).
//
// The result is the mean over labels that are not NaN (numpy nanmean); NaN
// when every label is skipped.
//
// Differences from scib-metrics, all below float32 resolution or at exact
// ties: neighbours are exact (scib-metrics: pynndescent, approximate);
// connectivities and the eigensolver run in float64 (umap-learn computes
// the fuzzy set in float32; the diffusion map is rounded to float32 here
// as there); eigenpairs come from thick-restart Lanczos or a dense solver
// instead of ARPACK. The embedding option's earlier form (k0 neighbours,
// self excluded) is not kept: both searches use scib-metrics' test.
func KBETPerLabel(x *data.Dense, conn *Graph, labels, batches Codes, opt KBETOptions) (float64, []KBETLabel) {
	per := make([]KBETLabel, len(labels.Names))
	type job struct {
		label int
		kept  []int
	}
	var jobs []job
	nComps := opt.DiffusionComps
	for l, cells := range labels.members() {
		r := &per[l]
		*r = KBETLabel{Label: labels.Names[l], Cells: len(cells)}
		b := batches.subset(cells)
		if len(cells) < 10 || len(b.Names) == 1 {
			r.Score, r.Reason = math.NaN(), "fewer than 10 cells"
			if len(cells) >= 10 {
				r.Reason = "single batch"
			}
			continue
		}
		meanPerBatch := float64(len(cells)) / float64(len(b.Names))
		k0 := min(70, max(10, int(math.Floor(meanPerBatch/4))))
		if k0*len(cells) >= kbetSizeMax {
			k0 = kbetSizeMax / len(cells)
		}
		r.K0 = k0
		comp, count := conn.components(cells)
		kept := cells
		if count > 1 {
			size := make([]int, count)
			for _, c := range comp {
				size[c]++
			}
			kept = nil
			for p, c := range comp {
				if size[c] >= 3*k0 {
					kept = append(kept, cells[p])
				}
			}
			if float64(len(kept))/float64(len(cells)) < 0.75 {
				r.Score, r.Reason = 0, fmt.Sprintf("only %d of %d cells in connected components of ≥ 3·k0 = %d cells", len(kept), len(cells), 3*k0)
				continue
			}
		}
		r.Tested = len(kept)
		if opt.Search == KBETDiffusion {
			nComps = min(nComps, len(kept)-1)
			r.Comps = nComps
		}
		jobs = append(jobs, job{l, kept})
	}
	workers := par.Workers(opt.Workers)
	par.Range(len(jobs), workers, 1, func(_, lo, hi int) {
		for _, jb := range jobs[lo:hi] {
			r := &per[jb.label]
			kb := batches.subset(jb.kept)
			if len(kb.Names) == 1 {
				r.Score, r.Reason = 0, "kept components hold a single batch"
				continue
			}
			var space *data.Dense
			if opt.Search == KBETDiffusion {
				dm, err := DiffusionEmbedding(conn.induced(jb.kept), r.Comps)
				if err != nil {
					r.Score, r.Reason = 0, "diffusion map failed: "+err.Error()
					continue
				}
				space, r.Eigenvalues = dm.Embedding, dm.Eigenvalues
			} else {
				space = subsetRows(x, jb.kept)
			}
			k := min(r.K0+1, len(jb.kept))
			if k < r.K0+1 {
				r.Reason = fmt.Sprintf("only %d cells: %d neighbours (self included) instead of k0 + 1 = %d", len(jb.kept), k, r.K0+1)
			}
			r.Score = kbetAcceptance(ExactKNN(space, k, 1), kb, opt.Alpha)
		}
	})
	var scores []float64
	for _, r := range per {
		if !math.IsNaN(r.Score) {
			scores = append(scores, r.Score)
		}
	}
	return mean(scores), per
}

// kbetAcceptance is scib-metrics' kbet on a neighbour table (every column,
// the cell itself included, counts): the fraction of cells whose χ² test of
// neighbour batch counts against nb.K × the batch frequencies of c has
// p ≥ alpha. c must have at least 2 batches.
func kbetAcceptance(nb *Neighbors, c Codes, alpha float64) float64 {
	B := len(c.Names)
	k := nb.K
	freq := make([]float64, B)
	for b, n := range c.Count {
		freq[b] = float64(n) / float64(len(c.Code))
	}
	chi := distuv.ChiSquared{K: float64(B - 1)}
	obs := make([]float64, B)
	accepted := 0
	for i := 0; i < nb.N; i++ {
		idx, _ := nb.Row(i)
		clear(obs)
		for _, j := range idx {
			obs[c.Code[j]]++
		}
		var stat float64
		for b := range obs {
			e := freq[b] * float64(k)
			t := obs[b] - e
			stat += t * t / e
		}
		if chi.Survival(stat) >= alpha {
			accepted++
		}
	}
	return float64(accepted) / float64(nb.N)
}
