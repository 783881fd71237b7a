package reports

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/metrics/de"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/results"
)

// ArtifactOptions choose what ExtrasFromArtifacts draws.
type ArtifactOptions struct {
	// Perturbation names the perturbation of the LFC scatters; "" picks,
	// per (task, dataset, split), the stored test group with the most real
	// significant DE genes (the caption says so).
	Perturbation string
	// Model is the perturbation model drawn; "" picks, per (task,
	// dataset, split), the leaderboard's rank-1 model (mean rank over the
	// leaderboard metrics present) among those with artifacts.
	Model string
	// Seed is the seed drawn (HasSeed true); otherwise the smallest seed
	// with artifacts of the chosen model.
	Seed    uint64
	HasSeed bool
}

// ExtrasFromArtifacts loads the artifacts of a run (results.LoadArtifacts)
// and returns the inputs of the figures records cannot give, each tagged
// with its (task, dataset, split) so Build puts it in that section:
//
//   - per (task, dataset, split) of perturbation cells: the LFC scatter of
//     one perturbation and the discrimination heat map of each context with
//     ≥ 2 stored perturbations, for the chosen model and seed;
//   - per embedding cell of the chosen seed: its 2-D PCA by label and batch.
//
// Notes say what could not be drawn and why (a stale artifact, one
// perturbation in a context). It errors when an artifact cannot be read, or
// when opts name a model, seed or perturbation that no artifact has.
func ExtrasFromArtifacts(records []results.Record, refs []results.ArtifactRef, opts ArtifactOptions) (Extras, []string, error) {
	var ex Extras
	var notes []string
	type ref struct {
		meta *results.ArtifactMeta
		dir  string
	}
	pertGroups := map[groupKey][]ref{}
	embedGroups := map[groupKey][]ref{}
	var pertOrder, embedOrder []groupKey
	for _, r := range refs {
		m, err := results.ReadArtifactMeta(r.Dir, r.Cell)
		if err != nil {
			if strings.Contains(err.Error(), "(stale)") {
				notes = append(notes, err.Error())
				continue
			}
			return ex, nil, fmt.Errorf("report: %w", err)
		}
		k := groupKey{m.Task, m.Dataset, m.Split}
		switch m.Kind {
		case results.ArtifactPert:
			if _, ok := pertGroups[k]; !ok {
				pertOrder = append(pertOrder, k)
			}
			pertGroups[k] = append(pertGroups[k], ref{m, r.Dir})
		case results.ArtifactEmbed:
			if _, ok := embedGroups[k]; !ok {
				embedOrder = append(embedOrder, k)
			}
			embedGroups[k] = append(embedGroups[k], ref{m, r.Dir})
		}
	}
	cells := Summarize(records)
	// Groups with records but no artifacts (e.g. cells run by an older
	// cellbench, or a custom evaluation) cannot have these figures.
	// Cell typing (celltype-zeroshot) and imputation cells never write
	// artifacts: their groups need no note.
	noArtifacts := map[groupKey]bool{}
	for _, c := range cells {
		k := groupKey{c.Task, c.Dataset, c.Split}
		if _, ok := noArtifacts[k]; !ok {
			noArtifacts[k] = true
		}
		if !slices.Contains(scib.TypingMetrics, c.Metric) && c.MaskRatio == 0 {
			noArtifacts[k] = false
		}
	}
	seenGroup := map[groupKey]bool{}
	for _, c := range cells {
		k := groupKey{c.Task, c.Dataset, c.Split}
		if seenGroup[k] || noArtifacts[k] {
			continue
		}
		seenGroup[k] = true
		if _, ok := pertGroups[k]; ok {
			continue
		}
		if _, ok := embedGroups[k]; ok {
			continue
		}
		if len(refs) > 0 {
			notes = append(notes, fmt.Sprintf("%s: no artifacts (cells run before artifacts were written?): no LFC scatter, heat map or embedding scatter; re-run into a new --out to draw them", k))
		}
	}
	usedModel, usedSeed, usedPert := opts.Model == "", !opts.HasSeed, opts.Perturbation == ""
	for _, k := range pertOrder {
		refs := pertGroups[k]
		var models []string
		for _, r := range refs {
			if !slices.Contains(models, r.meta.Model) {
				models = append(models, r.meta.Model)
			}
		}
		sort.Strings(models)
		model, why := opts.Model, "chosen with --model"
		if model == "" {
			model, why = bestModel(cells, k, models)
		} else if !slices.Contains(models, model) {
			notes = append(notes, fmt.Sprintf("%s: no artifacts of model %q (models: %s)", k, model, strings.Join(models, ", ")))
			continue
		}
		usedModel = true
		var chosen *ref
		for i, r := range refs {
			if r.meta.Model != model || (opts.HasSeed && r.meta.Seed != opts.Seed) {
				continue
			}
			if chosen == nil || r.meta.Seed < chosen.meta.Seed {
				chosen = &refs[i]
			}
		}
		if chosen == nil {
			notes = append(notes, fmt.Sprintf("%s: model %s has no artifact of seed %d", k, model, opts.Seed))
			continue
		}
		usedSeed = true
		a, err := results.ReadPertArtifact(chosen.dir, chosen.meta.Cell)
		if err != nil {
			return ex, nil, fmt.Errorf("report: %w", err)
		}
		pm := a.Meta.Pert
		seeds := []uint64{a.Meta.Seed}
		seedWhy := "first seed"
		if opts.HasSeed {
			seedWhy = "chosen with --seed"
		}
		choice := fmt.Sprintf("Model %s (%s), seed %d (%s) of the run's artifacts.", model, why, a.Meta.Seed, seedWhy)
		if pm.GeneRule != "all genes" {
			choice += " Genes: " + pm.GeneRule + "."
		}
		if pm.GroupRule != "all test groups" {
			choice += " Groups: " + pm.GroupRule + "."
		}

		// LFC scatter of one stored group.
		stored := map[[2]string]results.ArtifactGroup{}
		for _, g := range pm.Groups {
			if g.Stored {
				stored[[2]string{g.Context, g.Perturbation}] = g
			}
		}
		// The group with the most real significant genes; ties (e.g. none
		// significant) go to the larger real effect, Σ|real delta|.
		effect := map[[2]string]float64{}
		for _, d := range a.Deltas {
			for i, p := range d.Perturbations {
				s := 0.0
				for _, v := range d.Real[i] {
					s += math.Abs(v)
				}
				effect[[2]string{d.Context, p}] = s
			}
		}
		better := func(i, j int) bool { // is group i preferred to group j?
			ki := [2]string{a.DE[i].Context, a.DE[i].Perturbation}
			kj := [2]string{a.DE[j].Context, a.DE[j].Perturbation}
			if stored[ki].NRealSig != stored[kj].NRealSig {
				return stored[ki].NRealSig > stored[kj].NRealSig
			}
			return effect[ki] > effect[kj]
		}
		best := -1
		for i, t := range a.DE {
			if opts.Perturbation != "" && t.Perturbation != opts.Perturbation {
				continue
			}
			if best < 0 || better(i, best) {
				best = i
			}
		}
		if best < 0 {
			var have []string
			for _, t := range a.DE {
				have = append(have, t.Perturbation)
			}
			notes = append(notes, fmt.Sprintf("%s: perturbation %q is not a stored test perturbation (have %s)", k, opts.Perturbation, strings.Join(uniqueStrings(have), ", ")))
		} else {
			usedPert = true
			t := a.DE[best]
			g := stored[[2]string{t.Context, t.Perturbation}]
			pwhy := "chosen with --perturbation"
			if opts.Perturbation == "" {
				pwhy = fmt.Sprintf("the test perturbation with the most real significant DE genes (%d of %d genes; ties broken by the largest Σ|real pseudobulk delta|)", g.NRealSig, pm.GenesTotal)
			}
			ex.LFC = append(ex.LFC, LFCScatter{Task: k.Task, Perturbation: t.Perturbation, Context: t.Context, Genes: pm.Genes,
				Real: de.Result{Target: t.Perturbation, NTarget: g.NReal, LFC: t.RealLFC, FDR: t.RealFDR},
				Pred: de.Result{Target: t.Perturbation, NTarget: g.NPred, LFC: t.PredLFC, FDR: t.PredFDR},
				FDR:  pm.DEFDR, MinAbsLFC: pm.DEMinLFC, Dataset: k.Dataset, Split: k.Split, Model: model, Seeds: seeds,
				Note: fmt.Sprintf("Perturbation %s: %s. %s", t.Perturbation, pwhy, choice)})
		}
		// Discrimination heat map per context.
		for _, d := range a.Deltas {
			if len(d.Perturbations) < 2 {
				ctx := ""
				if d.Context != "" {
					ctx = " in context " + d.Context
				}
				notes = append(notes, fmt.Sprintf("%s: no discrimination heat map%s: it needs ≥ 2 test perturbations, the split has %d", k, ctx, len(d.Perturbations)))
				continue
			}
			ex.Discrimination = append(ex.Discrimination, Discrimination{Task: k.Task, Perturbations: d.Perturbations, Genes: pm.Genes,
				PredDelta: d.Pred, RealDelta: d.Real, Distance: "l1", Dataset: k.Dataset, Split: k.Split, Model: model,
				Context: d.Context, Seeds: seeds, Note: choice})
		}
	}
	for _, k := range embedOrder {
		refs := embedGroups[k]
		byModel := map[string]ref{}
		var models []string
		for _, r := range refs {
			if opts.HasSeed && r.meta.Seed != opts.Seed {
				continue
			}
			cur, ok := byModel[r.meta.Model]
			if !ok {
				models = append(models, r.meta.Model)
			}
			if !ok || r.meta.Seed < cur.meta.Seed {
				byModel[r.meta.Model] = r
			}
		}
		sort.Strings(models)
		if len(models) > 0 {
			usedSeed = true
		}
		for _, model := range models {
			r := byModel[model]
			a, err := results.ReadEmbedArtifact(r.dir, r.meta.Cell)
			if err != nil {
				return ex, nil, fmt.Errorf("report: %w", err)
			}
			em := a.Meta.Embed
			note := fmt.Sprintf("PCA of all %d cells × %d dims; drawn: %d cells", em.Cells, em.Dims, em.Shown)
			if em.Shown < em.Cells {
				note += fmt.Sprintf(" (a seeded subsample, PCG(seed %d))", a.Meta.Seed)
			}
			if em.Dropped > 0 {
				note += fmt.Sprintf("; %d cells with a missing %s or %s were dropped before scoring", em.Dropped, em.LabelCol, em.BatchCol)
			}
			ex.Embeddings = append(ex.Embeddings, Embedding{Task: k.Task, Name: model, Scores: a.PC, Explained: em.Explained,
				Cells: em.Cells, Dims: em.Dims, Labels: a.Labels, Batches: a.Batches, LabelName: em.LabelCol, BatchName: em.BatchCol,
				Dataset: k.Dataset, Split: k.Split, Seeds: []uint64{a.Meta.Seed}, Note: note + "."})
		}
	}
	switch {
	case !usedModel:
		return ex, nil, fmt.Errorf("report: --model %q has no artifacts in this run", opts.Model)
	case !usedSeed:
		return ex, nil, fmt.Errorf("report: --seed %d has no artifacts in this run", opts.Seed)
	case !usedPert:
		return ex, nil, fmt.Errorf("report: --perturbation %q is not a stored test perturbation of any task in this run", opts.Perturbation)
	}
	return ex, notes, nil
}

// bestModel returns the leaderboard's rank-1 model of group k among models
// (mean rank over the DefaultLeaderboardMetrics present, ties by name) and
// a phrase saying so; the first model when no leaderboard metric is there.
func bestModel(cells []Cell, k groupKey, models []string) (string, string) {
	val := map[[2]string]float64{}
	present := map[string]bool{}
	for _, c := range cells {
		if c.Task == k.Task && c.Dataset == k.Dataset && c.Split == k.Split {
			val[[2]string{c.Model, c.Metric}] = c.Value
			present[c.Metric] = true
		}
	}
	var by []string
	for _, m := range DefaultLeaderboardMetrics {
		if in, ok := metrics.All.Lookup(m); ok && present[m] && in.Direction != metrics.NoDirection {
			by = append(by, m)
		}
	}
	if len(by) == 0 {
		return models[0], "first model with artifacts; no leaderboard metric in the records"
	}
	rank := rankModels(models, by, func(model, metric string) (float64, bool) {
		v, ok := val[[2]string{model, metric}]
		return v, ok
	})
	best := models[0]
	for _, m := range models[1:] {
		if rank[m] < rank[best] || (math.IsNaN(rank[best]) && !math.IsNaN(rank[m])) {
			best = m
		}
	}
	return best, fmt.Sprintf("rank 1 on the leaderboard: mean rank %.2f over %s", rank[best], strings.Join(by, ", "))
}
