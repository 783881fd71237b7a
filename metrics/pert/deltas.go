package pert

import (
	"fmt"
	"math"
	"strings"

	"github.com/cellbench/cellbench/internal/par"
)

// ContextDeltas are the pseudobulk means and deltas of one context of an
// evaluation (SPEC-metrics.md): for each non-control perturbation t,
// μ_R(t), μ_P(t) (mean log1p over its cells, Pseudobulk) and
//
//	δ_R(t) = μ_R(t) − μ_R(ctrl)
//	δ_P(t) = μ_P(t) − c,  c = μ_P(ctrl) (ControlPred) or μ_R(ctrl) (ControlReal)
//
// over every gene. This is the one computation of deltas in cellbench:
// the metrics, the run artifacts and the report figures all read it.
type ContextDeltas struct {
	Context       string   // "" when the evaluation has one context
	Perturbations []string // sorted, without the control
	NReal, NPred  []int    // cells per perturbation on each side
	MeanReal      [][]float64
	MeanPred      [][]float64
	Real, Pred    [][]float64 // δ_R, δ_P: [perturbation][gene]
}

// Deltas groups real and pred exactly as Evaluate does (same checks, same
// errors: equal contexts and perturbations on both sides, the control in
// real and, with ControlPred, in pred) and returns the deltas of every
// context in context order. Only opts.Control, opts.ControlRef and
// opts.Threads are used.
func Deltas(real, pred Input, opts Options) ([]ContextDeltas, error) {
	pl, err := pairInputs(real, pred, opts)
	if err != nil {
		return nil, err
	}
	out := make([]ContextDeltas, len(pl.contexts))
	for k := range pl.contexts {
		out[k] = contextDeltas(real, pred, &pl.contexts[k], opts)
	}
	return out, nil
}

// pairInputs validates and groups both sides concurrently (a full pass
// over each matrix) and matches them.
func pairInputs(real, pred Input, opts Options) (*plan, error) {
	if real.X == nil || pred.X == nil {
		return nil, fmt.Errorf("pert: missing expression matrix")
	}
	if real.X.Cols != pred.X.Cols {
		return nil, fmt.Errorf("gene counts differ: real has %d genes, pred %d", real.X.Cols, pred.X.Cols)
	}
	if (real.Contexts == nil) != (pred.Contexts == nil) {
		return nil, fmt.Errorf("context labels given for only one side")
	}
	var ps map[string]*sideContext
	var perr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		ps, perr = groupSide(pred, "pred", opts.Control)
	}()
	rs, err := groupSide(real, "real", opts.Control)
	<-done
	if err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	return matchSides(rs, ps, opts.Control, opts.ControlRef == ControlPred, real.Contexts != nil)
}

// contextDeltas computes one planned context's means and deltas.
func contextDeltas(real, pred Input, pc *planContext, opts Options) ContextDeltas {
	n := len(pc.perts)
	cd := ContextDeltas{Context: pc.name, Perturbations: pc.perts, NReal: make([]int, n), NPred: make([]int, n),
		Real: make([][]float64, n), Pred: make([][]float64, n)}
	cd.MeanReal = pseudobulks(real.X, pc.realRows, opts.Threads)
	cd.MeanPred = pseudobulks(pred.X, pc.predRows, opts.Threads)
	ctrlR := Pseudobulk(real.X, pc.realCtrl)
	ctrlP := ctrlR
	if opts.ControlRef == ControlPred {
		ctrlP = Pseudobulk(pred.X, pc.predCtrl)
	}
	for i := range pc.perts {
		cd.NReal[i], cd.NPred[i] = len(pc.realRows[i]), len(pc.predRows[i])
		cd.Real[i] = sub(cd.MeanReal[i], ctrlR)
		cd.Pred[i] = sub(cd.MeanPred[i], ctrlP)
	}
	return cd
}

// Distance is a discrimination distance between two delta vectors.
type Distance int

const (
	// L1 is Σ|a−b| (sklearn "manhattan"; discrimination_score_l1, PDisc).
	L1 Distance = iota
	// L2 is the Euclidean distance (discrimination_score_l2).
	L2
	// Cosine is 1 − a·b/(‖a‖‖b‖) clipped to [0, 2]; a zero vector has
	// cosine similarity 0, so its distance to anything is 1, as
	// sklearn.metrics.pairwise.cosine_distances (discrimination_score_cosine).
	Cosine
)

// String is "l1", "l2" or "cosine".
func (d Distance) String() string { return [...]string{"l1", "l2", "cosine"}[d] }

// ParseDistance parses "l1", "l2" or "cosine" ("" is l1).
func ParseDistance(s string) (Distance, error) {
	switch s {
	case "", "l1":
		return L1, nil
	case "l2":
		return L2, nil
	case "cosine":
		return Cosine, nil
	}
	return 0, fmt.Errorf("unknown distance %q (l1, l2 or cosine)", s)
}

// DiscriminationMatrix returns D[t][q] = d(δ_P(t), δ_R(q)) for every pair
// of perturbations, with the genes named in perturbation t (split on "+")
// left out of every distance of row t (cell-eval's exclude_target_gene),
// and the score of each t, 1 − r_t/N with r_t = #{q ≠ t : D[t][q] <
// D[t][t]} and N = len(perts): SPEC-metrics.md discrimination_score_<d>.
// dP and dR are [perturbation][gene] over genes. It panics on mismatched
// shapes (programmer error). Evaluate's scores are computed by this
// function, so a heat map drawn from D shows the scores' own distances.
func DiscriminationMatrix(dP, dR [][]float64, perts, genes []string, d Distance, threads int) (dist [][]float64, score []float64) {
	var kinds [3]bool
	kinds[d] = true
	all := discriminationDistances(dP, dR, discriminationSegments(perts, genes), kinds, threads)
	dist = all[d]
	score = make([]float64, len(perts))
	for t, r := range ranksFrom(dist) {
		score[t] = 1 - float64(r)/float64(len(perts))
	}
	return dist, score
}

// discriminationSegments are, per perturbation, the gene ranges kept in
// its row of distances.
func discriminationSegments(perts, genes []string) [][][2]int {
	geneIndex := make(map[string]int, len(genes))
	for j, g := range genes {
		geneIndex[g] = j
	}
	segs := make([][][2]int, len(perts))
	for i, t := range perts {
		segs[i] = keepSegments(t, geneIndex, len(genes))
	}
	return segs
}

// keepSegments returns the gene ranges [lo, hi) that remain after removing
// the genes named in the perturbation label (split on "+"), as cell-eval's
// exclude_target_gene does for the discrimination score.
func keepSegments(pert string, geneIndex map[string]int, nGenes int) [][2]int {
	excluded := map[int]bool{}
	for _, part := range strings.Split(pert, "+") {
		if j, ok := geneIndex[part]; ok {
			excluded[j] = true
		}
	}
	var segs [][2]int
	lo := 0
	for j := 0; j <= nGenes; j++ {
		if j == nGenes || excluded[j] {
			if j > lo {
				segs = append(segs, [2]int{lo, j})
			}
			lo = j + 1
		}
	}
	return segs
}

// ranksFrom returns r_t = #{q ≠ t : D[t][q] < D[t][t]} for every row.
func ranksFrom(dist [][]float64) []int {
	r := make([]int, len(dist))
	for t, row := range dist {
		self := row[t]
		for q, d := range row {
			if q != t && d < self {
				r[t]++
			}
		}
	}
	return r
}

// discriminationDistances returns, for each distance kind requested
// (index = Distance), the matrix D[t][q] = d(δP[t], δR[q]) over the genes
// kept by segs[t]. L1 and L2 share one pass over the genes.
func discriminationDistances(dP, dR [][]float64, segs [][][2]int, kinds [3]bool, threads int) [3][][]float64 {
	n := len(dP)
	if len(dR) != n || len(segs) != n {
		panic(fmt.Sprintf("pert: discrimination of %d predicted deltas, %d real deltas, %d segment lists", n, len(dR), len(segs)))
	}
	for t := range n {
		if len(dP[t]) != len(dR[t]) || len(dP[t]) != len(dP[0]) {
			panic(fmt.Sprintf("pert: discrimination deltas of unequal length at perturbation %d", t))
		}
	}
	var dist [3][][]float64
	for k := range kinds {
		if kinds[k] {
			dist[k] = make([][]float64, n)
		}
	}
	par.For(n, threads, func(t int) {
		for k := range kinds {
			if kinds[k] {
				dist[k][t] = make([]float64, n)
			}
		}
		a := dP[t]
		for q := 0; q < n; q++ {
			b := dR[q]
			l1, l2, dot, na, nb := 0.0, 0.0, 0.0, 0.0, 0.0
			for _, s := range segs[t] {
				as, bs := a[s[0]:s[1]], b[s[0]:s[1]]
				bs = bs[:len(as)]
				switch {
				case kinds[L1] && kinds[L2]:
					for j, x := range as {
						d := x - bs[j]
						l1 += math.Abs(d)
						l2 += d * d
					}
				case kinds[L1]:
					l1 += l1Dist(as, bs)
				case kinds[L2]:
					for j, x := range as {
						d := x - bs[j]
						l2 += d * d
					}
				}
				if kinds[Cosine] {
					for j, x := range as {
						y := bs[j]
						dot += x * y
						na += x * x
						nb += y * y
					}
				}
			}
			if kinds[L1] {
				dist[L1][t][q] = l1
			}
			if kinds[L2] {
				dist[L2][t][q] = math.Sqrt(l2)
			}
			if kinds[Cosine] {
				sim := 0.0
				if na > 0 && nb > 0 {
					sim = dot / (math.Sqrt(na) * math.Sqrt(nb))
				}
				dist[Cosine][t][q] = math.Min(math.Max(1-sim, 0), 2)
			}
		}
	})
	return dist
}
