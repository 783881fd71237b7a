package reports

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/results"
)

// Interval sources of a Cell, as shown in captions.
const (
	// IntervalRecord: the interval carried by the aggregate record itself
	// (CILow, CIHigh written by the runner); used with a single seed.
	IntervalRecord = "record"
	// IntervalBootstrapPerturbations: percentile bootstrap of the mean over
	// the per-perturbation rows (all seeds pooled), resampling rows.
	IntervalBootstrapPerturbations = "bootstrap over perturbations"
	// IntervalBootstrapSeeds: percentile bootstrap of the mean over seeds.
	IntervalBootstrapSeeds = "bootstrap over seeds"
)

// BootstrapResamples and BootstrapLevel define the intervals computed here:
// percentile intervals at 95 % from 2000 resamples, drawn with PCG seeded
// by (BootstrapSeed, hash of the cell's key) so a report is reproducible.
const (
	BootstrapResamples = 2000
	BootstrapLevel     = 0.95
	BootstrapSeed      = 0x5eed
)

// Cell is one (task, dataset, split, model, metric) summary: the value
// shown in tables and bars and its interval.
type Cell struct {
	Task, Dataset, Split, Model, Metric string
	// Value is the mean over seeds of the aggregate value (the "_agg" row,
	// or the mean of per-perturbation rows when no aggregate row exists).
	Value float64
	// Seeds and PerSeed are the seeds and their values, sorted by seed.
	Seeds   []uint64
	PerSeed []float64
	// Low, High: the interval (NaN when none could be formed); Interval
	// names its source (one of the Interval* constants, or "").
	Low, High float64
	Interval  string
	// N is the number of per-perturbation rows behind Value (summed over
	// seeds), or the record's N when only an aggregate row exists.
	N int
	// WallS is the mean over seeds of the records' wall-clock seconds.
	WallS float64
	// Warnings are the distinct warnings of the underlying records.
	Warnings []string
	// MaskRatio is the records' masking ratio (imputation; 0 otherwise).
	MaskRatio float64
}

// isOverallContext reports whether a context label means "all contexts".
func isOverallContext(c string) bool { return c == "" || c == "_all" || c == AggregatePerturbation }

// Summarize reduces records to one Cell per (task, dataset, split, model,
// metric), sorted by task, dataset, split, metric, model. The model of an
// in-context record is its variant (results.ModelVariant: "stack
// [prompt=none]"), so each prompt variant is a model of its own.
func Summarize(rs []results.Record) []Cell {
	type key struct{ Task, Dataset, Split, Model, Metric string }
	groups := map[key][]results.Record{}
	var keys []key
	for _, r := range rs {
		k := key{r.Task, r.Dataset, r.Split, results.ModelVariant(r.Model, r.Prompt), r.Metric}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		if a.Split != b.Split {
			return a.Split < b.Split
		}
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Model < b.Model
	})
	out := make([]Cell, 0, len(keys))
	for _, k := range keys {
		out = append(out, summarizeCell(k.Task, k.Dataset, k.Split, k.Model, k.Metric, groups[k]))
	}
	return out
}

func summarizeCell(task, dataset, split, model, metric string, rs []results.Record) Cell {
	c := Cell{Task: task, Dataset: dataset, Split: split, Model: model, Metric: metric, Low: math.NaN(), High: math.NaN()}
	bySeed := map[uint64][]results.Record{}
	for _, r := range rs {
		bySeed[r.Seed] = append(bySeed[r.Seed], r)
		if c.MaskRatio == 0 {
			c.MaskRatio = r.MaskRatio
		}
	}
	for s := range bySeed {
		c.Seeds = append(c.Seeds, s)
	}
	sort.Slice(c.Seeds, func(i, j int) bool { return c.Seeds[i] < c.Seeds[j] })
	warn := map[string]bool{}
	var perPert []float64
	var aggRecs []results.Record
	wall := 0.0
	for _, s := range c.Seeds {
		seedRecs := bySeed[s]
		var aggs, perts []results.Record
		for _, r := range seedRecs {
			if r.Warnings != "" && !warn[r.Warnings] {
				warn[r.Warnings] = true
				c.Warnings = append(c.Warnings, r.Warnings)
			}
			if r.Perturbation == AggregatePerturbation {
				aggs = append(aggs, r)
			} else {
				perts = append(perts, r)
			}
		}
		v := math.NaN()
		w := 0.0
		switch {
		case len(aggs) > 0:
			// Prefer the all-contexts aggregate; else the mean over contexts.
			var overall []results.Record
			for _, a := range aggs {
				if isOverallContext(a.Context) {
					overall = append(overall, a)
				}
			}
			if len(overall) == 0 {
				overall = aggs
			}
			v = 0
			for _, a := range overall {
				v += a.Value
				w += a.WallS
				if len(perts) == 0 {
					c.N += a.N
				}
			}
			v /= float64(len(overall))
			w /= float64(len(overall))
			if len(overall) == 1 {
				aggRecs = append(aggRecs, overall[0])
			}
		case len(perts) > 0:
			v = 0
			for _, p := range perts {
				v += p.Value
				w = max(w, p.WallS)
			}
			v /= float64(len(perts))
		}
		for _, p := range perts {
			perPert = append(perPert, p.Value)
		}
		c.N += len(perts)
		c.PerSeed = append(c.PerSeed, v)
		wall += w
	}
	c.Value = mean(c.PerSeed)
	c.WallS = wall / float64(len(c.Seeds))
	seed2 := hashKey(task, dataset, split, model, metric)
	switch {
	case len(c.Seeds) == 1 && len(aggRecs) == 1 && validInterval(aggRecs[0]):
		c.Low, c.High, c.Interval = aggRecs[0].CILow, aggRecs[0].CIHigh, IntervalRecord
	case len(finite(perPert)) >= 2:
		c.Low, c.High = bootstrapMean(finite(perPert), seed2)
		c.Interval = IntervalBootstrapPerturbations
	case len(finite(c.PerSeed)) >= 2:
		c.Low, c.High = bootstrapMean(finite(c.PerSeed), seed2)
		c.Interval = IntervalBootstrapSeeds
	}
	return c
}

// validInterval reports whether a record carries a usable interval.
func validInterval(r results.Record) bool {
	if math.IsNaN(r.CILow) || math.IsNaN(r.CIHigh) || math.IsInf(r.CILow, 0) || math.IsInf(r.CIHigh, 0) {
		return false
	}
	if r.CILow == 0 && r.CIHigh == 0 && r.Value != 0 {
		return false // unset fields
	}
	return r.CILow <= r.CIHigh
}

func finite(xs []float64) []float64 {
	var out []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func hashKey(parts ...string) uint64 {
	// FNV-1a over the joined key: a stable stream id for the bootstrap.
	h := uint64(14695981039346656037)
	for _, b := range []byte(strings.Join(parts, "\x00")) {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

// bootstrapMean returns the BootstrapLevel percentile interval of the mean
// of xs from BootstrapResamples resamples with replacement, drawn with
// PCG(BootstrapSeed, stream). Percentiles use linear interpolation between
// order statistics (numpy's default "linear" method). xs must have ≥ 1
// element.
func bootstrapMean(xs []float64, stream uint64) (lo, hi float64) {
	if len(xs) == 0 {
		panic("reports: bootstrapMean of no values")
	}
	rng := rand.New(rand.NewPCG(BootstrapSeed, stream))
	means := make([]float64, BootstrapResamples)
	n := len(xs)
	for b := range means {
		s := 0.0
		for range n {
			s += xs[rng.IntN(n)]
		}
		means[b] = s / float64(n)
	}
	sort.Float64s(means)
	alpha := (1 - BootstrapLevel) / 2
	return quantileSorted(means, alpha), quantileSorted(means, 1-alpha)
}

// quantileSorted is numpy.quantile(xs, q) (method "linear") of sorted xs.
func quantileSorted(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	i := int(math.Floor(pos))
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := pos - float64(i)
	return xs[i] + f*(xs[i+1]-xs[i])
}
