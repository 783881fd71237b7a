package scib

import (
	"fmt"
	"math"

	"github.com/cellbench/cellbench/data"
	"gonum.org/v1/gonum/stat/distuv"
)

// KBETLabel is the kBET outcome of one label.
type KBETLabel struct {
	Label  string
	Cells  int
	K0     int
	Score  float64 // acceptance rate, 0 (rule) or NaN (skipped)
	Reason string  // why the score is NaN or 0 by rule; "" when tested
}

// KBETPerLabel is SPEC `kbet_per_label` (higher is better, in [0, 1]),
// following scib-metrics 0.6 kbet_per_label except for the neighbour search
// inside a label (see below). For each label:
//
//   - fewer than 10 cells, or a single batch: NaN (skipped);
//   - k0 = min(70, max(10, ⌊mean cells per batch / 4⌋));
//   - the label's cells are split into connected components of conn (the
//     fuzzy 50-NN connectivities restricted to the label); if there is more
//     than one, only cells in components of ≥ 3·k0 cells are kept, and the
//     label scores 0 when they are fewer than 75 % of its cells;
//   - among the kept cells, each cell's k0 nearest other kept cells
//     (exact Euclidean on the embedding x; k0 is capped at kept − 1);
//   - χ² statistic of the neighbours' batch counts against k0 × the batch
//     frequencies of the kept cells, dof = batches − 1; p = χ² survival;
//   - score = fraction of cells with p ≥ α (the acceptance rate); a kept set
//     with a single batch scores 0 (scib-metrics' ValueError path).
//
// The result is the mean over labels that are not NaN; NaN when every label
// is skipped. scib-metrics searches neighbours in a 100-component diffusion
// map of the label's connectivity subgraph instead of the embedding, so
// values differ from it (documented in doc.go).
func KBETPerLabel(x *data.Dense, conn *Graph, labels, batches Codes, alpha float64, workers int) (float64, []KBETLabel) {
	var per []KBETLabel
	var scores []float64
	for l, cells := range labels.members() {
		r := KBETLabel{Label: labels.Names[l], Cells: len(cells)}
		b := batches.subset(cells)
		if len(cells) < 10 {
			r.Score, r.Reason = math.NaN(), "fewer than 10 cells"
			per = append(per, r)
			continue
		}
		if len(b.Names) == 1 {
			r.Score, r.Reason = math.NaN(), "single batch"
			per = append(per, r)
			continue
		}
		meanPerBatch := float64(len(cells)) / float64(len(b.Names))
		k0 := min(70, max(10, int(math.Floor(meanPerBatch/4))))
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
				per = append(per, r)
				scores = append(scores, 0)
				continue
			}
		}
		kb := batches.subset(kept)
		if len(kb.Names) == 1 {
			r.Score, r.Reason = 0, "kept components hold a single batch"
			per = append(per, r)
			scores = append(scores, 0)
			continue
		}
		k := min(k0, len(kept)-1)
		sub := subsetRows(x, kept)
		nb := ExactKNN(sub, k+1, workers)
		r.Score = kbetAcceptance(nb, kb, alpha)
		per = append(per, r)
		scores = append(scores, r.Score)
	}
	return mean(scores), per
}

// kbetAcceptance is scib-metrics' kbet on a neighbour table whose first
// column is the cell itself (skipped): the fraction of cells whose χ² test
// of neighbour batch counts against the overall batch frequencies of c has
// p ≥ alpha.
func kbetAcceptance(nb *Neighbors, c Codes, alpha float64) float64 {
	B := len(c.Names)
	k := nb.K - 1
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
		for _, j := range idx[1:] {
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
