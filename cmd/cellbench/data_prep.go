package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/fsutil"
)

func init() {
	register(command{name: "data prep", summary: "check an .h5ad strictly and write its log1p-normalised copy (optionally some cells, HVGs / another file's gene order)", run: runDataPrep})
}

// whereFlags is the repeatable --where COL=VALUE flag of data prep
// (checked by conds after parsing, so that a malformed one is a one-line
// error like every other bad input).
type whereFlags []string

type whereCond struct{ col, value string }

func (w *whereFlags) String() string { return strings.Join(*w, " ") }

func (w *whereFlags) Set(v string) error { *w = append(*w, v); return nil }

// conds splits each --where at its first "=".
func (w whereFlags) conds() ([]whereCond, error) {
	out := make([]whereCond, len(w))
	for i, v := range w {
		col, value, ok := strings.Cut(v, "=")
		if !ok || col == "" {
			return nil, fmt.Errorf("--where %q: want COL=VALUE", v)
		}
		out[i] = whereCond{col, value}
	}
	return out, nil
}

// runDataPrep is cellbench's counterpart of cell-eval prep: it reads IN,
// applies the strict scale contract (counts → normalise-total + log1p;
// log1p kept; anything else refused), optionally keeps only the cells whose
// obs columns equal the --where values (exact labels: a value no cell
// carries is an error naming near-misses; several --where must all hold;
// this is how the prompt and query files of `cellbench predict --prompt
// --query` are cut from one dataset), optionally keeps the top-N highly
// variable genes (of the kept cells) or reorders genes to match a
// reference file, and writes OUT as float32 CSR log1p. Each cell is
// normalised on its own (target sum 1e4 unless --target-sum 0 = the
// median of the kept cells). OUT appears only when everything succeeded.
func runDataPrep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("data prep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "input .h5ad (file or registry name)")
	out := fs.String("out", "", "output .h5ad")
	scale := fs.String("scale", "auto", "scale of X: auto, counts or log1p")
	targetSum := fs.Float64("target-sum", data.DefaultTargetSum, "library size to normalise counts to (0 = median)")
	hvg := fs.Int("hvg", 0, "keep the N most variable genes (scanpy seurat flavour); 0 keeps all")
	genesFrom := fs.String("genes-from", "", "reorder genes to the order of this .h5ad (the gene sets must be equal)")
	obsCols := fs.String("obs-cols", "", "comma-separated obs columns to keep (default all); an unknown name is an error")
	var whereArgs whereFlags
	fs.Var(&whereArgs, "where", "keep only the cells whose obs column COL is VALUE: --where COL=VALUE (repeatable: all must hold)")
	quiet := fs.Bool("q", false, "no progress on stderr")
	dir := fs.String("data-dir", "", "data directory for registry names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("data prep: --in and --out are required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("data prep: unexpected argument %q", fs.Arg(0))
	}
	if *hvg < 0 {
		return fmt.Errorf("data prep: --hvg %d must be ≥ 0", *hvg)
	}
	where, err := whereArgs.conds()
	if err != nil {
		return fmt.Errorf("data prep: %w", err)
	}
	if err := checkScaleFlags(*scale, *targetSum); err != nil {
		return fmt.Errorf("data prep: %w", err)
	}
	path, err := data.NewRegistry(*dir).Resolve(*in)
	if err != nil {
		return fmt.Errorf("data prep: %w", err)
	}
	if err := fsutil.CheckOutFile(*out, path, *genesFrom); err != nil {
		return fmt.Errorf("data prep: %w", err)
	}
	// What the flags name, from the metadata, before reading X.
	meta, err := h5ad.ReadMeta(path)
	if err != nil {
		return fmt.Errorf("data prep: %w", err)
	}
	var keepCols []string
	if *obsCols != "" {
		for _, name := range strings.Split(*obsCols, ",") {
			name = strings.TrimSpace(name)
			if _, err := meta.Obs.Column(name); err != nil {
				return fmt.Errorf("data prep: --obs-cols: %s: obs: %w", path, err)
			}
			keepCols = append(keepCols, name)
		}
	}
	for _, w := range where {
		c, err := meta.Obs.Column(w.col)
		if err != nil {
			return fmt.Errorf("data prep: --where: %s: obs: %w", path, err)
		}
		if err := data.NewLabels(w.col, c.Labels()).Require("--where value", w.value); err != nil {
			return fmt.Errorf("data prep: %s: %w", path, err)
		}
	}
	var refGenes []string
	if *genesFrom != "" {
		ref, err := h5ad.ReadMeta(*genesFrom)
		if err != nil {
			return fmt.Errorf("data prep: --genes-from: %w", err)
		}
		if _, err := data.AlignGenes(ref.Var.Index, meta.Var.Index); err != nil {
			return fmt.Errorf("data prep: genes differ from %s: %s: %w", *genesFrom, path, err)
		}
		refGenes = ref.Var.Index
	}
	if *hvg > meta.NGenes {
		return fmt.Errorf("data prep: --hvg %d: %s has only %d genes", *hvg, path, meta.NGenes)
	}
	d, err := h5ad.Read(path)
	if err != nil {
		return fmt.Errorf("data prep: %w", err)
	}
	logf(stderr, *quiet, "data prep: read %s (%d cells × %d genes)", path, d.NCells(), d.NGenes())
	if len(where) > 0 {
		keep := make([]bool, d.NCells())
		for i := range keep {
			keep[i] = true
		}
		for _, w := range where {
			labels, err := d.ObsLabels(w.col)
			if err != nil {
				return fmt.Errorf("data prep: %w", err)
			}
			for i, l := range labels {
				keep[i] = keep[i] && l == w.value
			}
		}
		var rows []int
		for i, k := range keep {
			if k {
				rows = append(rows, i)
			}
		}
		if len(rows) == 0 {
			return fmt.Errorf("data prep: %s: no cell satisfies every --where (each value occurs, but not together)", path)
		}
		d = d.SubsetCells(rows)
		logf(stderr, *quiet, "data prep: kept %d cells (--where)", len(rows))
	}
	x, err := data.ToLog1p(d, *scale, *targetSum)
	if err != nil {
		return fmt.Errorf("data prep: %w", err)
	}
	logf(stderr, *quiet, "data prep: scale %s → log1p", d.Scale)
	d.X, d.Scale = x, data.Log1p
	d.Layers, d.Raw = nil, nil
	if keepCols != nil {
		var keep []*data.Column
		for _, name := range keepCols {
			c, err := d.Obs.Column(name)
			if err != nil {
				return fmt.Errorf("data prep: %s: obs: %w", path, err)
			}
			keep = append(keep, c)
		}
		d.Obs.Columns = keep
	}
	if refGenes != nil {
		if d, err = data.ReorderGenes(d, refGenes); err != nil {
			return fmt.Errorf("data prep: genes differ from %s: %w", *genesFrom, err)
		}
	}
	if *hvg > 0 {
		res, err := data.HighlyVariableGenes(d.X, *hvg)
		if err != nil {
			return fmt.Errorf("data prep: %s: %w", path, err)
		}
		d.X = d.X.SubsetCols(res.Selected)
		d.Var = d.Var.Subset(res.Selected)
		logf(stderr, *quiet, "data prep: kept %d highly variable genes", len(res.Selected))
	}
	if err := h5ad.Write(*out, d); err != nil {
		return fmt.Errorf("data prep: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d cells × %d genes, log1p\n", *out, d.NCells(), d.NGenes())
	return nil
}

// checkScaleFlags checks the --scale and --target-sum flags every command
// that normalises expression shares, before any file is read: an unknown
// scale or an unusable target sum is the caller's error, never the file's.
func checkScaleFlags(scale string, targetSum float64) error {
	if _, err := data.ParseScale(scale); err != nil {
		return fmt.Errorf("--scale: %w", err)
	}
	if err := data.CheckTargetSum(targetSum); err != nil {
		return fmt.Errorf("--target-sum: %w", err)
	}
	return nil
}

// logf prints one progress line on stderr unless quiet.
func logf(w io.Writer, quiet bool, format string, args ...any) {
	if !quiet {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
