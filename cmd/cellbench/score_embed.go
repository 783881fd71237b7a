package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/metrics/scib"
	"github.com/cellbench/cellbench/tasks"
)

func init() {
	register(command{name: "score embed", summary: "score embeddings with the scIB integration metrics (scib-metrics 0.6 Benchmarker) and zero-shot kNN cell typing", run: runScoreEmbed})
}

const scoreEmbedUsage = `usage: cellbench score embed (--data D.h5ad --embed-key X_emb | --data D.h5ad --pca 50 |
                             --embed E.csv --embed-cols 'X*') --label-col cell_type --batch-col batch --out DIR

Scores one or several cell embeddings with the scIB metrics of SPEC-metrics.md
(scib-metrics 0.6 definitions, exact 90-NN shared by all metrics) and zero-shot
kNN cell typing. Writes into DIR:
  results.csv   one row per embedding: embedding, cells, dims, preset, then one
                column per metric (SPEC names); NaN where a metric is undefined
  results.json  the same with the reason for every NaN (or clipped) value,
                per-label kBET, isolated labels, timings and the options used

--preset picks the metrics averaged into bio and batch (total = 0.6·bio +
0.4·batch): scib-metrics-0.6 (default; scib-metrics' Benchmarker: batch =
bras, ilisi, kbet_per_label, graph_connectivity, pcr_comparison) or scib-1
(silhouette_batch instead of bras, the older scIB set). Every metric is
computed and reported either way.

Embeddings: --embed-key names obsm entries of --data (comma-separated);
--pca N adds "pca<N>", the unintegrated PCA of the log1p highly variable genes
of --data, which is also the pre-integration embedding for pcr_comparison;
--embed reads CSV files (repeat the flag) whose columns matching the glob
--embed-cols form the embedding (label and batch columns come from the same
CSV). --pre-cols picks the CSV columns of a pre-integration embedding.

Examples:
  cellbench score embed --embed ../shared/data/embedding_scpop_sceiad_retina.csv \
      --embed-cols 'scviDim_*' --label-col CellType_predict --batch-col batch --out out/retina
  cellbench score embed --data pbmc-symphony --pca 50 \
      --label-col cell_type --batch-col donor --out out/pbmc

Flags:
`

func runScoreEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("score embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scoreEmbedUsage); fs.PrintDefaults() }
	dataPath := fs.String("data", "", "AnnData file or registry dataset name (for --embed-key / --pca)")
	embedKeys := fs.String("embed-key", "", "comma-separated obsm keys of --data to score")
	pcaComps := fs.Int("pca", 0, "also score the unintegrated PCA with this many components (needs --data)")
	nHVG := fs.Int("hvg", 2000, "highly variable genes for --pca (seurat flavour; all genes if fewer)")
	scale := fs.String("scale", "auto", "scale of X for --pca: auto|counts|log1p")
	targetSum := fs.Float64("target-sum", data.DefaultTargetSum, "library size for --scale counts (0 = median)")
	var embedFiles multiFlag
	fs.Var(&embedFiles, "embed", "embedding CSV file or registry name (repeatable)")
	embedCols := fs.String("embed-cols", "", "glob over the CSV column names selecting the embedding (required with --embed)")
	preCols := fs.String("pre-cols", "", "glob over the CSV column names selecting a pre-integration embedding for pcr_comparison")
	labelCol := fs.String("label-col", "cell_type", "obs/CSV column with the cell-type label")
	batchCol := fs.String("batch-col", "batch", "obs/CSV column with the batch")
	dropMissing := fs.Bool("drop-missing", false, `drop cells whose label or batch is missing ("", "NA", "NaN", "nan") instead of failing`)
	metricList := fs.String("metrics", "", "comma-separated metric names to compute (default: all)")
	preset := fs.String("preset", string(scib.PresetScibMetrics), "metric sets of the bio and batch means: scib-metrics-0.6 or scib-1")
	bioLouvain := fs.Bool("bio-louvain", false, "include nmi_louvain/ari_louvain in the bio mean")
	louvainImpl := fs.String("louvain", "fast", "Louvain implementation: fast (compressed rows) or gonum (graph/community.Modularize)")
	k := fs.Int("k", 90, "neighbours per cell incl. itself (15 and 50 are its prefixes)")
	seed := fs.Uint64("seed", 0, "seed of k-means++, Louvain and PCA")
	threads := fs.Int("threads", 0, "goroutines (0 = all cores)")
	out := fs.String("out", "", "output directory (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("score embed: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return fmt.Errorf("score embed: --out is required")
	}
	if *dataPath == "" && (*embedKeys != "" || *pcaComps != 0) {
		return fmt.Errorf("score embed: --embed-key and --pca need --data")
	}
	if *dataPath == "" && len(embedFiles) == 0 {
		return fmt.Errorf("score embed: give --data (with --embed-key and/or --pca) or --embed")
	}
	if *dataPath != "" && *embedKeys == "" && *pcaComps == 0 {
		return fmt.Errorf("score embed: --data needs --embed-key and/or --pca")
	}
	if len(embedFiles) > 0 && *embedCols == "" {
		return fmt.Errorf("score embed: --embed needs --embed-cols (a glob over the CSV's column names, e.g. 'X*')")
	}
	if *pcaComps < 0 {
		return fmt.Errorf("score embed: --pca %d must be positive", *pcaComps)
	}
	if *k < 2 {
		return fmt.Errorf("score embed: --k %d must be at least 2", *k)
	}
	if *louvainImpl != "fast" && *louvainImpl != "gonum" {
		return fmt.Errorf("score embed: --louvain %q: want fast or gonum", *louvainImpl)
	}
	p, err := scib.ParsePreset(*preset)
	if err != nil {
		return fmt.Errorf("score embed: --preset: %w", err)
	}
	opt := scib.DefaultOptions()
	opt.K, opt.Seed, opt.Workers = *k, *seed, *threads
	opt.Preset = p
	opt.BioIncludesLouvain = *bioLouvain
	opt.GonumLouvain = *louvainImpl == "gonum"
	if *metricList != "" {
		for _, m := range strings.Split(*metricList, ",") {
			opt.Metrics = append(opt.Metrics, strings.TrimSpace(m))
		}
	}

	eopt := tasks.EmbeddingOptions{LabelCol: *labelCol, BatchCol: *batchCol, DropMissing: *dropMissing,
		PCA: *pcaComps, HVG: *nHVG, Scale: *scale, TargetSum: *targetSum, Seed: *seed}
	if *embedKeys != "" {
		for _, k := range strings.Split(*embedKeys, ",") {
			eopt.ObsmKeys = append(eopt.ObsmKeys, strings.TrimSpace(k))
		}
	}
	var inputs []tasks.EmbeddingInput
	if *dataPath != "" {
		path, err := data.NewRegistry("").Resolve(*dataPath)
		if err != nil {
			return fmt.Errorf("score embed: %w", err)
		}
		d, err := h5ad.Read(path)
		if err != nil {
			return fmt.Errorf("score embed: %w", err)
		}
		in, err := tasks.DatasetEmbeddings(d, eopt)
		if err != nil {
			return fmt.Errorf("score embed: %w", err)
		}
		inputs = append(inputs, in...)
	}
	for _, f := range embedFiles {
		in, err := tasks.LoadCSVEmbedding(f, *embedCols, *preCols, eopt)
		if err != nil {
			return fmt.Errorf("score embed: %w", err)
		}
		inputs = append(inputs, in)
	}
	names := map[string]bool{}
	for _, in := range inputs {
		if names[in.Name] {
			return fmt.Errorf("score embed: two embeddings are named %q (rename a CSV file)", in.Name)
		}
		names[in.Name] = true
	}

	type embedResult struct {
		Name              string            `json:"embedding"`
		Cells             int               `json:"cells"`
		Dims              int               `json:"dims"`
		Labels            int               `json:"labels"`
		Batches           int               `json:"batches"`
		Neighbours        int               `json:"neighbours"`
		DroppedCells      int               `json:"dropped_cells"`
		Values            []jsonValue       `json:"metrics"`
		IsolatedLabels    []string          `json:"isolated_labels,omitempty"`
		LouvainResolution *float64          `json:"louvain_resolution,omitempty"`
		KMeansIterations  int               `json:"kmeans_iterations,omitempty"`
		KBET              []jsonKBET        `json:"kbet_per_label_detail,omitempty"`
		Seconds           map[string]string `json:"seconds"`
		WallSeconds       float64           `json:"wall_seconds"`
	}
	var results []embedResult
	var reports []*scib.Report
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		o := opt
		o.Pre = in.Pre
		t0 := time.Now()
		rep, err := scib.Benchmark(in.X, in.Labels, in.Batches, o)
		if err != nil {
			return fmt.Errorf("score embed: %s: %w", in.Name, err)
		}
		r := embedResult{Name: in.Name, Cells: rep.Cells, Dims: rep.Dims, Labels: rep.Labels, Batches: rep.Batches,
			Neighbours: rep.K, DroppedCells: in.Dropped, IsolatedLabels: rep.IsolatedLabels,
			KMeansIterations: rep.KMeansIterations, Seconds: map[string]string{}, WallSeconds: time.Since(t0).Seconds()}
		for _, v := range rep.Values {
			r.Values = append(r.Values, toJSONValue(v))
		}
		if !math.IsNaN(rep.LouvainResolution) {
			res := rep.LouvainResolution
			r.LouvainResolution = &res
		}
		for _, kb := range rep.KBET {
			r.KBET = append(r.KBET, jsonKBET{Label: kb.Label, Cells: kb.Cells, K0: kb.K0, Score: metrics.Value(kb.Score), Reason: kb.Reason})
		}
		for step, s := range rep.Seconds {
			r.Seconds[step] = strconv.FormatFloat(s, 'f', 3, 64)
		}
		results = append(results, r)
		reports = append(reports, rep)
	}

	od, err := fsutil.NewOutDir(*out)
	if err != nil {
		return fmt.Errorf("score embed: %w", err)
	}
	defer od.Abort()
	metricNames := scib.AllMetrics()
	if opt.Metrics != nil {
		var keep []string
		for _, m := range metricNames {
			for _, w := range opt.Metrics {
				if m == w {
					keep = append(keep, m)
				}
			}
		}
		metricNames = keep
	}
	if err := od.Write("results.csv", func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(append([]string{"embedding", "cells", "dims", "preset"}, metricNames...)); err != nil {
			return err
		}
		for i, rep := range reports {
			row := []string{results[i].Name, strconv.Itoa(rep.Cells), strconv.Itoa(rep.Dims), string(rep.Preset)}
			for _, m := range metricNames {
				v, ok := rep.Get(m)
				if !ok {
					row = append(row, "NaN")
					continue
				}
				row = append(row, metrics.FormatValue(v.Value))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}); err != nil {
		return fmt.Errorf("score embed: %w", err)
	}
	options := map[string]any{"preset": opt.Preset, "kbet_neighbours": opt.KBETSearch.String(), "diffusion_comps": opt.DiffusionComps,
		"leiden_resolutions": opt.LeidenResolutions, "k": opt.K, "seed": opt.Seed, "label_col": *labelCol, "batch_col": *batchCol,
		"louvain": *louvainImpl, "louvain_resolutions": opt.Resolutions, "bio_includes_louvain": opt.BioIncludesLouvain,
		"kbet_alpha": opt.KBETAlpha, "typing_k": opt.TypingK, "kmeans_max_iter": opt.KMeansIter, "kmeans_tol": opt.KMeansTol,
		"metrics": metricNames, "data": *dataPath, "embed_key": *embedKeys, "pca": *pcaComps, "hvg": *nHVG, "scale": *scale,
		"embed": []string(embedFiles), "embed_cols": *embedCols, "pre_cols": *preCols, "drop_missing": *dropMissing,
		"threads": *threads}
	if err := od.Write("results.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(map[string]any{"tool": "cellbench score embed", "preset": opt.Preset, "definitions": "SPEC-metrics.md (scib-metrics 0.6); deviations in metrics/scib/doc.go",
			"options": options, "embeddings": results})
	}); err != nil {
		return fmt.Errorf("score embed: %w", err)
	}
	if err := od.Commit(); err != nil {
		return fmt.Errorf("score embed: %w", err)
	}
	// Summary on stdout: metrics as rows, embeddings as columns.
	bio, batch, _ := opt.Preset.Members()
	fmt.Fprintf(stdout, "preset %s: bio = mean(%s), batch = mean(%s), total = 0.6·bio + 0.4·batch\n",
		opt.Preset, strings.Join(bio, ", "), strings.Join(batch, ", "))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "metric")
	for _, r := range results {
		fmt.Fprintf(tw, "\t%s", r.Name)
	}
	fmt.Fprintln(tw)
	for _, m := range metricNames {
		fmt.Fprint(tw, m)
		for _, rep := range reports {
			v, _ := rep.Get(m)
			fmt.Fprintf(tw, "\t%.4f", v.Value)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(*out, "results.csv"), filepath.Join(*out, "results.json"))
	return nil
}

// jsonValue is a metric value for JSON (metrics.Value: NaN is "NaN"), with
// the reason of a NaN.
type jsonValue struct {
	Name   string        `json:"name"`
	Value  metrics.Value `json:"value"`
	Reason string        `json:"reason,omitempty"`
}

type jsonKBET struct {
	Label  string        `json:"label"`
	Cells  int           `json:"cells"`
	K0     int           `json:"k0,omitempty"`
	Score  metrics.Value `json:"score"`
	Reason string        `json:"reason,omitempty"`
}

func toJSONValue(v scib.Value) jsonValue {
	return jsonValue{Name: v.Name, Value: metrics.Value(v.Value), Reason: v.Reason}
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
