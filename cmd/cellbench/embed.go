package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

func init() {
	register(command{name: "embed", summary: "embed the cells of a dataset with an embedding model (stack checkpoint, pca) into a CSV or .h5ad", run: runEmbed})
}

const embedUsage = `usage: cellbench embed --model stack --ckpt CKPT --data D --out FILE.csv|FILE.h5ad [flags]
       cellbench embed --model pca [-set n_comps=50;hvg=2000] --data D --out FILE.csv|FILE.h5ad

Embeds every cell of --data (a registry name or .h5ad path). FILE.csv holds
cell_id, the dataset's categorical obs columns, then MODEL_1 … MODEL_D — read
it with: cellbench score embed --embed FILE.csv --embed-cols 'MODEL_*' …
FILE.h5ad is the input AnnData with obsm["X_MODEL"] added. The output is
written to a temporary file and renamed into place.

STACK embeds cells in sets of the checkpoint's set_size drawn within one
value of --sample-col (default: the registry's batch role of --data, else
the whole dataset); a cell's embedding depends on its set's cells, never on
their order or on the row order of the file (the sets are cut from a
seeded hash order of the cell names).

Flags:
`

func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, embedUsage); fs.PrintDefaults() }
	modelName := fs.String("model", "", "embedding model: "+strings.Join(model.Names(tasks.KindEmbedding), ", ")+" (required)")
	ckpt := fs.String("ckpt", "", "checkpoint directory (models trained with cellbench train)")
	dataName := fs.String("data", "", "dataset: registry name or .h5ad path (required)")
	out := fs.String("out", "", "output FILE.csv or FILE.h5ad (required)")
	sampleCol := fs.String("sample-col", "", "obs column whose values bound the cell sets (default: the registry's batch role of --data, else none)")
	set := fs.String("set", "", `hyperparameters of a model without checkpoint ("key=value;…")`)
	seed := fs.Uint64("seed", 0, "seed of the set order (stack) or the PCA")
	dataDir := fs.String("data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelName == "" || *dataName == "" || *out == "" {
		return fmt.Errorf("embed: --model, --data and --out are required")
	}
	ext := strings.ToLower(filepath.Ext(*out))
	if ext != ".csv" && ext != ".h5ad" {
		return fmt.Errorf("embed: --out %q must end in .csv or .h5ad", *out)
	}
	entry, err := model.Lookup(*modelName)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if !entry.Has(tasks.KindEmbedding) {
		return fmt.Errorf("embed: model %s is not an embedding model (embedding models: %s)", entry.Name, strings.Join(model.Names(tasks.KindEmbedding), ", "))
	}
	var m tasks.Embedder
	switch {
	case entry.Load != nil && *ckpt == "":
		return fmt.Errorf("embed: model %s needs --ckpt (a directory written by cellbench train --model %s)", entry.Name, entry.Name)
	case entry.Load == nil && *ckpt != "":
		return fmt.Errorf("embed: model %s has no checkpoints; drop --ckpt", entry.Name)
	case entry.Load != nil:
		if *set != "" {
			return fmt.Errorf("embed: -set does not apply to a checkpoint (its configuration is stored in it)")
		}
		backend, err := nn.NewBackend()
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		loaded, err := entry.LoadCheckpoint(*ckpt, nn.Runtime{Backend: backend})
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		m = loaded.(tasks.Embedder)
	default:
		cfg, err := entry.Params.Resolve("", *set)
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if m, err = entry.NewEmbedder(cfg, nn.Runtime{}); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	}
	reg := data.NewRegistry(*dataDir)
	path, err := reg.Resolve(*dataName)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	col := *sampleCol
	if col == "" {
		if e, ok := reg.Lookup(*dataName); ok {
			col = e.Labels["batch"]
		}
	}
	if err := fsutil.CheckOutFile(*out, path); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if col != "" { // before reading X
		meta, err := h5ad.ReadMeta(path)
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if _, err := meta.Obs.Column(col); err != nil {
			return fmt.Errorf("embed: --sample-col: %s: obs: %w", path, err)
		}
	}
	d, err := h5ad.Read(path)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	fmt.Fprintf(stderr, "embed: %s on %s (%d cells × %d genes), sets within %s\n", entry.Name, *dataName, d.NCells(), d.NGenes(), orWhole(col))
	emb, err := m.Embed(ctx, d, tasks.EmbedSpec{SampleCol: col, Seed: *seed})
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if n, ok := m.(tasks.Noter); ok {
		for _, note := range n.Notes() {
			fmt.Fprintln(stderr, "note:", note)
		}
	}
	prefix := entry.Name
	if ext == ".csv" {
		err = writeEmbeddingCSV(*out, d, emb, prefix)
	} else {
		if d.Obsm == nil {
			d.Obsm = map[string]*data.Dense{}
		}
		d.Obsm["X_"+prefix] = emb
		err = writeH5adAtomic(*out, d)
	}
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	fmt.Fprintf(stdout, "embedded %d cells × %d dims → %s\n", emb.Rows, emb.Cols, *out)
	return nil
}

// writeEmbeddingCSV writes cell_id, d's categorical obs columns and the
// embedding columns PREFIX_1 … PREFIX_D (metrics.FormatValue), atomically.
func writeEmbeddingCSV(path string, d *data.Dataset, emb *data.Dense, prefix string) error {
	var cols []*data.Column
	for _, c := range d.Obs.Columns {
		if c.Kind == data.Categorical {
			cols = append(cols, c)
		}
	}
	return fsutil.WriteFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		header := []string{"cell_id"}
		for _, c := range cols {
			header = append(header, c.Name)
		}
		for k := range emb.Cols {
			header = append(header, prefix+"_"+strconv.Itoa(k+1))
		}
		if err := cw.Write(header); err != nil {
			return err
		}
		row := make([]string, len(header))
		for i := range emb.Rows {
			row[0] = d.Obs.Index[i]
			for j, c := range cols {
				row[1+j] = c.StringAt(i)
			}
			for k, v := range emb.Row(i) {
				row[1+len(cols)+k] = metrics.FormatValue(v)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}
