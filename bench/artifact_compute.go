package bench

import (
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// artifact is a cell's artifact before it is written.
type artifact struct {
	meta  results.ArtifactMeta
	files []artifactFile
}

type artifactFile struct {
	name  string
	write func(w io.Writer) error
}

// artifactRel is a cell's artifact directory relative to the run directory.
func artifactRel(c Cell) string {
	return filepath.Join(results.ArtifactDir, fileSafe(c.Task.Name), fileSafe(c.Dataset.Name), fileSafe(c.Model.ID()), fmt.Sprintf("seed=%d", c.Seed))
}

// newPertArtifact builds a perturbation cell's artifact from its evaluation
// sets and, when it has DE tables, the metrics/pert report (else the DE is
// computed here with the same options).
func newPertArtifact(meta results.ArtifactMeta, out *tasks.PertOutput, spec tasks.PertSpec, ev EvalSpec, rep *pert.Report) (*artifact, error) {
	real, pred, err := pertInputs(out, spec)
	if err != nil {
		return nil, err
	}
	if rep == nil || rep.RealDE == nil {
		opts := pertOptions(out, spec, ev)
		opts.Metrics = []string{metrics.DENSigReal}
		opts.Profile = ""
		if rep, err = pert.Evaluate(real, pred, opts); err != nil {
			return nil, fmt.Errorf("artifact DE: %w", err)
		}
	}
	o := rep.Options
	genes := out.Real.Genes()
	pm := &results.PertArtifactMeta{PertCol: spec.PertCol, ContextCol: spec.ContextCol, Control: spec.Control,
		GenesTotal: len(genes), DEFDR: o.DEFDR, DEMinLFC: o.DEMinLFC, LFCEpsilon: o.LFCEpsilon, ControlRef: o.ControlRef.String()}

	// Groups with counts and real significant genes, from the DE tables.
	type gk struct{ ctx, p string }
	nsig := map[gk]int{}
	deIdx := map[gk]int{}
	for i, g := range rep.RealDE {
		n := 0
		for j := range g.FDR {
			if g.FDR[j] < o.DEFDR && math.Abs(g.LFC[j]) >= o.DEMinLFC {
				n++
			}
		}
		nsig[gk{g.Context, g.Target}] = n
		deIdx[gk{g.Context, g.Target}] = i
	}
	rows := func(in pert.Input) map[gk][]int {
		m := map[gk][]int{}
		for i, p := range in.Perts {
			c := ""
			if in.Contexts != nil {
				c = in.Contexts[i]
			}
			m[gk{c, p}] = append(m[gk{c, p}], i)
		}
		return m
	}
	rr, pr := rows(real), rows(pred)
	var groups []results.ArtifactGroup
	for k := range rr {
		if k.p == spec.Control || len(pr[k]) == 0 {
			continue
		}
		if _, ok := deIdx[k]; !ok {
			continue // not evaluated (no DE table: e.g. a context without controls)
		}
		groups = append(groups, results.ArtifactGroup{Context: k.ctx, Perturbation: k.p, NReal: len(rr[k]), NPred: len(pr[k]), NRealSig: nsig[k]})
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("artifact: no test group has real and predicted cells")
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].Context != groups[j].Context {
			return groups[i].Context < groups[j].Context
		}
		return groups[i].Perturbation < groups[j].Perturbation
	})
	// Stored groups: all, or the results.MaxArtifactGroups with most real DE genes.
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return groups[order[a]].NRealSig > groups[order[b]].NRealSig })
	pm.GroupRule = "all test groups"
	if len(order) > results.MaxArtifactGroups {
		order = order[:results.MaxArtifactGroups]
		pm.GroupRule = fmt.Sprintf("the %d of %d test groups with the most real significant DE genes", results.MaxArtifactGroups, len(groups))
	}
	for _, i := range order {
		groups[i].Stored = true
	}
	pm.Groups = groups

	// Deltas per context over all genes (the report's pert.ContextDeltas,
	// the same numbers the metrics used), then the gene cap.
	byCtx := map[string]*pert.ContextDeltas{}
	for i := range rep.Deltas {
		byCtx[rep.Deltas[i].Context] = &rep.Deltas[i]
	}
	var deltas []results.DeltaTable
	for _, g := range groups {
		if !g.Stored {
			continue
		}
		cd := byCtx[g.Context]
		i := -1
		if cd != nil {
			i = slices.Index(cd.Perturbations, g.Perturbation)
		}
		if i < 0 {
			return nil, fmt.Errorf("artifact: no deltas for test group (%q, %q)", g.Context, g.Perturbation)
		}
		if len(deltas) == 0 || deltas[len(deltas)-1].Context != g.Context {
			deltas = append(deltas, results.DeltaTable{Context: g.Context})
		}
		d := &deltas[len(deltas)-1]
		d.Perturbations = append(d.Perturbations, g.Perturbation)
		d.Real = append(d.Real, slices.Clone(cd.Real[i]))
		d.Pred = append(d.Pred, slices.Clone(cd.Pred[i]))
	}
	keep := make([]int, len(genes))
	for j := range keep {
		keep[j] = j
	}
	pm.GeneRule = "all genes"
	if len(genes) > results.MaxArtifactGenes {
		score := make([]float64, len(genes))
		for _, d := range deltas {
			for _, row := range d.Real {
				for j, v := range row {
					score[j] = math.Max(score[j], math.Abs(v))
				}
			}
		}
		sort.SliceStable(keep, func(a, b int) bool { return score[keep[a]] > score[keep[b]] })
		keep = keep[:results.MaxArtifactGenes]
		slices.Sort(keep)
		pm.GeneRule = fmt.Sprintf("the %d of %d genes with the largest real |pseudobulk delta| over the stored groups", results.MaxArtifactGenes, len(genes))
	}
	sub := func(v []float64) []float64 {
		out := make([]float64, len(keep))
		for k, j := range keep {
			out[k] = v[j]
		}
		return out
	}
	for _, j := range keep {
		pm.Genes = append(pm.Genes, genes[j])
	}
	for k := range deltas {
		for i := range deltas[k].Real {
			deltas[k].Real[i] = sub(deltas[k].Real[i])
			deltas[k].Pred[i] = sub(deltas[k].Pred[i])
		}
	}
	var tables []results.DETable
	for _, g := range groups {
		if !g.Stored {
			continue
		}
		i := deIdx[gk{g.Context, g.Perturbation}]
		r, p := rep.RealDE[i], rep.PredDE[i]
		tables = append(tables, results.DETable{Context: g.Context, Perturbation: g.Perturbation,
			RealLFC: sub(r.LFC), RealFDR: sub(r.FDR), PredLFC: sub(p.LFC), PredFDR: sub(p.FDR)})
	}
	meta.Kind = results.ArtifactPert
	meta.Pert = pm
	a := &artifact{meta: meta}
	a.files = append(a.files, artifactFile{"de.csv.gz", gzipCSV(func(cw *csv.Writer) error {
		if err := cw.Write([]string{"context", "perturbation", "gene", "real_lfc", "real_fdr", "pred_lfc", "pred_fdr"}); err != nil {
			return err
		}
		for _, t := range tables {
			for j, g := range pm.Genes {
				if err := cw.Write([]string{t.Context, t.Perturbation, g, fmtFloat(t.RealLFC[j]), fmtFloat(t.RealFDR[j]),
					fmtFloat(t.PredLFC[j]), fmtFloat(t.PredFDR[j])}); err != nil {
					return err
				}
			}
		}
		return nil
	})})
	a.files = append(a.files, artifactFile{"deltas.csv.gz", gzipCSV(func(cw *csv.Writer) error {
		if err := cw.Write(append([]string{"context", "perturbation", "side"}, pm.Genes...)); err != nil {
			return err
		}
		row := make([]string, 3+len(pm.Genes))
		for _, d := range deltas {
			for i, p := range d.Perturbations {
				for _, side := range []string{"real", "pred"} {
					v := d.Real[i]
					if side == "pred" {
						v = d.Pred[i]
					}
					row[0], row[1], row[2] = d.Context, p, side
					for j, x := range v {
						row[3+j] = fmtFloat(x)
					}
					if err := cw.Write(row); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})})
	return a, nil
}

// newEmbedArtifact builds an embedding cell's artifact: the 2-D PCA of
// every cell, of which at most results.MaxArtifactCells (seeded subsample) are kept.
func newEmbedArtifact(meta results.ArtifactMeta, in *tasks.EmbeddingInput, labelCol, batchCol string) (*artifact, error) {
	scores, explained, err := scib.PCA2(in.X)
	if err != nil {
		return nil, fmt.Errorf("artifact: embedding %s: %w", in.Name, err)
	}
	idx := make([]int, in.X.Rows)
	for i := range idx {
		idx[i] = i
	}
	if len(idx) > results.MaxArtifactCells {
		h := fnv.New64a()
		h.Write([]byte("embed-2d"))
		rng := rand.New(rand.NewPCG(meta.Seed, h.Sum64()))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:results.MaxArtifactCells]
		slices.Sort(idx)
	}
	meta.Kind = results.ArtifactEmbed
	meta.Embed = &results.EmbedArtifactMeta{Embedding: in.Name, LabelCol: labelCol, BatchCol: batchCol, Cells: in.X.Rows, Dims: in.X.Cols,
		Dropped: in.Dropped, Shown: len(idx), Explained: explained}
	a := &artifact{meta: meta}
	a.files = append(a.files, artifactFile{"embedding2d.csv.gz", gzipCSV(func(cw *csv.Writer) error {
		if err := cw.Write([]string{"pc1", "pc2", "label", "batch"}); err != nil {
			return err
		}
		for _, i := range idx {
			if err := cw.Write([]string{fmtFloat(scores[i][0]), fmtFloat(scores[i][1]), in.Labels[i], in.Batches[i]}); err != nil {
				return err
			}
		}
		return nil
	})})
	return a, nil
}

// fmtFloat writes a value with 7 significant digits (float32 precision;
// NaN and ±Inf as strconv spells them).
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 7, 64) }

// gzipCSV returns a writer of a gzip-compressed CSV (deterministic: no
// name or time in the gzip header).
func gzipCSV(rows func(cw *csv.Writer) error) func(w io.Writer) error {
	return func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		cw := csv.NewWriter(zw)
		if err := rows(cw); err != nil {
			return err
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		return zw.Close()
	}
}
