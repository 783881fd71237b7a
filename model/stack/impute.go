package stack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cellbench/cellbench/baselines"
	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Imputer is STACK as a tasks.Imputer (the model's own Fit is the
// in-context post-training of a PerturbationModel, so imputation gets
// this view of the same model: Model.ForKind). Imputation is STACK's
// pre-training objective at inference — masked genes reconstructed by the
// NB decoder from the rest of the set (§2.1) — with a zero-shot
// checkpoint:
//
//   - Fit: with a checkpoint (loaded, or trained by FitEmbed) nothing is
//     trained; without one the model is first pre-trained on the task's
//     training cells (FitEmbed's objective, one sample; reported by
//     Notes: not zero-shot). Fit then fits the fallback (below) on the
//     training cells.
//   - Impute: sets are the spec's Bags (each bag is one set, padded with
//     a key mask to max(set_size, the largest bag)), or, without Bags, the
//     embedding's sets (embedSets, one sample). The input is the cells'
//     observed counts over the gene universe (genes aligned by upper-cased
//     name, newGeneMap), the masked entries 0 — pre-training's masking (0
//     in log1p space, no indicator, maskedLog1p). The decoder gives each
//     cell's fractions p_g = softmax over the universe genes the dataset
//     measures (its "present" genes, as in pre-training).
//   - Library size: pre-training scales p by the cell's library before
//     masking (observed_lib_size = features.sum(-1) over the universe,
//     computed before apply_mask; stack-reference.md §1.1, §2.1), which
//     imputation does not know. It is estimated from what is known: the
//     observed sum U = Σ_{present g not masked} x_g is the library times
//     the predicted unmasked fraction, so L̂ = U / Σ_{present g not
//     masked} p_g (the observed sum rescaled by the model's own predicted
//     masked fraction; L̂ = U for an unmasked cell). A cell with every
//     present gene masked (impute-cells) has no U: it takes the median L̂
//     of its set's other cells that are not fully masked, else the median
//     library of the training cells.
//   - Answer: Log1p = log1p(p_g·L̂) at every masked position of a gene the
//     checkpoint knows (the task bins it with the true cell's edges, like
//     knn). Positions of a panel gene the checkpoint's universe lacks (or
//     whose upper-cased name a later panel column shares) cannot be
//     predicted by STACK: they get the most-frequent-bin baseline
//     (baselines.ModeImputer, fitted on the same training cells) as their
//     Probs, and Notes says how many genes and which fraction of the
//     masked positions that concerns.
type Imputer struct {
	*Model
	mode    *baselines.ModeImputer
	trainLb float64 // median training library over present genes
	genes   int     // panel genes Fit saw
}

// ForKind returns the value of m that implements kind k's interface
// (model.Adapter): the Imputer view for imputation, m itself otherwise.
func (m *Model) ForKind(k tasks.Kind) any {
	if k == tasks.KindImputation {
		return &Imputer{Model: m}
	}
	return m
}

// Fit implements tasks.Imputer.
func (im *Imputer) Fit(ctx context.Context, train *data.Dataset, spec tasks.ImputeSpec) error {
	if train == nil || train.X == nil || train.X.Rows == 0 {
		return errors.New("stack: no training cells")
	}
	if err := checkCounts(train); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	if im.store == nil {
		im.Note("stack: no pre-trained checkpoint: pre-trained on the task's %d training cells (not zero-shot)", train.X.Rows)
		if err := im.fitPretrain(ctx, []*data.Dataset{train}, []string{""}, spec.Seed, false); err != nil {
			return err
		}
	}
	im.mode = baselines.NewModeImputer()
	if err := im.mode.Fit(ctx, train, spec); err != nil {
		return fmt.Errorf("stack: fallback: %w", err)
	}
	gm := newGeneMap(im.meta.Genes, train.Var.Index)
	libs := make([]float64, train.X.Rows)
	for i := range libs {
		idx, val := train.X.Row(i)
		for k, j := range idx {
			if gm.col[j] >= 0 {
				libs[i] += float64(val[k])
			}
		}
	}
	im.trainLb = median(libs)
	im.genes = train.X.Cols
	return nil
}

// median returns the median of x (the mean of the middle two when even;
// NaN when empty); x is reordered.
func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	slices.Sort(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}

// libEstimate is the library size of one cell from its predicted
// fractions p (over the universe), its observed counts obs (universe
// index → count, masked entries excluded) and its present, unmasked
// universe genes: L̂ = Σ obs / Σ_{g ∈ unmasked} p_g; ok is false when no
// present gene is unmasked (the cell is fully masked) or the model gives
// them no mass.
func libEstimate(p []float32, unmasked []int32, observedSum float64) (float64, bool) {
	var mass float64
	for _, u := range unmasked {
		mass += float64(p[u])
	}
	if len(unmasked) == 0 || !(mass > 0) {
		return 0, false
	}
	return observedSum / mass, true
}

// Impute implements tasks.Imputer.
func (im *Imputer) Impute(ctx context.Context, d *data.Dataset, masked []tasks.Position, spec tasks.ImputeSpec) (tasks.Imputation, error) {
	if im.store == nil || im.mode == nil {
		return tasks.Imputation{}, errors.New("stack: Impute before Fit")
	}
	if d == nil || d.X == nil || d.X.Cols != im.genes {
		return tasks.Imputation{}, fmt.Errorf("stack: fitted on %d genes, asked to impute another panel", im.genes)
	}
	n, G := d.X.Rows, d.X.Cols
	maskedOf := make([][]int, n) // row → masked columns
	for k, p := range masked {
		if p.Cell < 0 || p.Cell >= n || p.Gene < 0 || p.Gene >= G {
			return tasks.Imputation{}, fmt.Errorf("stack: masked position %d (%d, %d) outside %d×%d", k, p.Cell, p.Gene, n, G)
		}
		maskedOf[p.Cell] = append(maskedOf[p.Cell], p.Gene)
	}
	gm := newGeneMap(im.meta.Genes, d.Var.Index)
	a := im.arch()
	sets, err := imputeSets(d, spec.Bags, a.setSize, spec.Seed)
	if err != nil {
		return tasks.Imputation{}, fmt.Errorf("stack: %w", err)
	}
	frac, err := im.reconFractions(ctx, d, gm, sets, maskedOf)
	if err != nil {
		return tasks.Imputation{}, err
	}
	// library estimates, set by set
	U := len(im.meta.Genes)
	lib := make([]float64, n)
	isMasked := make([]bool, G)
	for _, set := range sets {
		var known []float64
		var missing []int
		for i, r := range set.Rows {
			if !set.Mask[i] {
				continue
			}
			for _, g := range maskedOf[r] {
				isMasked[g] = true
			}
			var unmasked []int32
			for j, u := range gm.col {
				if u >= 0 && !isMasked[j] {
					unmasked = append(unmasked, u)
				}
			}
			var sum float64
			idx, val := d.X.Row(r)
			for k, j := range idx {
				if gm.col[j] >= 0 && !isMasked[j] {
					sum += float64(val[k])
				}
			}
			for _, g := range maskedOf[r] {
				isMasked[g] = false
			}
			if l, ok := libEstimate(frac[r*U:(r+1)*U], unmasked, sum); ok {
				lib[r] = l
				known = append(known, l)
			} else {
				missing = append(missing, r)
			}
		}
		fill := median(known)
		if math.IsNaN(fill) {
			fill = im.trainLb
		}
		for _, r := range missing {
			lib[r] = fill
		}
	}
	out := tasks.Imputation{Log1p: make([]float64, len(masked))}
	var fallback int
	for k, p := range masked {
		u := gm.col[p.Gene]
		if u < 0 {
			if out.Probs == nil {
				out.Probs = make([][]float32, len(masked))
			}
			fallback++
			continue
		}
		out.Log1p[k] = math.Log1p(float64(frac[p.Cell*U+int(u)]) * lib[p.Cell])
	}
	if fallback > 0 {
		fb, err := im.mode.Impute(ctx, d, masked, spec)
		if err != nil {
			return tasks.Imputation{}, fmt.Errorf("stack: fallback: %w", err)
		}
		for k, p := range masked {
			if gm.col[p.Gene] < 0 {
				out.Probs[k] = fb.Probs[k]
			}
		}
		im.Note("stack: %d of the %d panel genes are not in the checkpoint's gene universe (%d genes; names matched upper-cased, %d duplicate names); their masked positions get the most-frequent-bin baseline (mode, fitted on the training cells): STACK predicted %d of %d masked positions (%.1f%%)",
			G-gm.nPresent(), G, U, gm.Duplicates, len(masked)-fallback, len(masked), 100*float64(len(masked)-fallback)/float64(len(masked)))
	}
	return out, nil
}

// imputeSets returns the sets Impute runs: one per bag (padded to
// max(setSize, the largest bag)), or without bags the embedding's sets of
// setSize cells (embedSets, all rows one sample). Bags must hold each row
// at most once.
func imputeSets(d *data.Dataset, bags [][]int, setSize int, seed uint64) ([]nn.PaddedSet, error) {
	if len(bags) == 0 {
		return embedSets(d, "", setSize, seed)
	}
	width := setSize
	seen := make([]bool, d.X.Rows)
	for b, bag := range bags {
		if len(bag) == 0 {
			return nil, fmt.Errorf("bag %d is empty", b)
		}
		for _, r := range bag {
			if r < 0 || r >= len(seen) || seen[r] {
				return nil, fmt.Errorf("bag %d: row %d outside the %d cells or in two bags", b, r, len(seen))
			}
			seen[r] = true
		}
		width = max(width, len(bag))
	}
	sets := make([]nn.PaddedSet, len(bags))
	for b, bag := range bags {
		sets[b] = nn.PadSet(bag, width)
	}
	return sets, nil
}

// reconFractions runs reconGraph on the sets (batches of batch_size sets)
// and returns every real cell's fractions over the universe, row-major
// (row r at [r·U, (r+1)·U)); rows in no set stay 0. The masked entries
// of maskedOf (row → columns) are 0 in the input.
func (im *Imputer) reconFractions(ctx context.Context, d *data.Dataset, gm geneMap, sets []nn.PaddedSet, maskedOf [][]int) ([]float32, error) {
	a := im.arch()
	if im.reconExec == nil {
		backend, err := im.getBackend()
		if err != nil {
			return nil, err
		}
		im.reconExec, err = gmodel.NewExec(backend, im.store, func(scope *gmodel.Scope, counts, cells, genes *Node) *Node {
			return a.reconGraph(scope, counts, cells, genes)
		})
		if err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
	}
	B, G := a.batch, a.genes
	S := 0
	for _, s := range sets {
		S = max(S, len(s.Rows))
	}
	out := make([]float32, d.X.Rows*G)
	genes := make([]bool, B*G)
	for b := range B {
		copy(genes[b*G:(b+1)*G], gm.present)
	}
	for start := 0; start < len(sets); start += B {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := sets[start:min(start+B, len(sets))]
		counts, cells := packSets(gm, d.X, chunk, B, S, G, maskedOf)
		res, err := im.reconExec.Call1(counts, cells, tensors.FromFlatDataAndDimensions(genes, B, G))
		if err != nil {
			return nil, fmt.Errorf("stack: impute: %w", err)
		}
		flat := tensors.MustCopyFlatData[float32](res)
		_ = res.FinalizeAll()
		for b, set := range chunk {
			for i, r := range set.Rows {
				if set.Mask[i] {
					copy(out[r*G:(r+1)*G], flat[(b*S+i)*G:(b*S+i+1)*G])
				}
			}
		}
	}
	return out, nil
}
