package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/cellbench/cellbench/bench"
)

func init() {
	register(command{name: "export", summary: "write the input files of a suite's external models (predict elsewhere, then run --predictions)", run: runExport})
}

const exportUsage = `usage: cellbench export SUITE.yaml --out DIR [--data-dir DIR]

Writes, for every cell of the suite's external models (models with a command,
or with a kind and no command), the files the model would be given in the
suite: per (task, dataset, seed) DIR/<task>/<dataset>/seed=<s>/train.h5ad and
requests.h5ad (perturbation and in-context tasks; imputation tasks also
masked.csv) or data.h5ad (embedding tasks), with
DIR/manifest.json (units, fingerprints, where each model's output goes),
DIR/commands.sh (each model's command on each unit) and the splits. Make the
predictions elsewhere (e.g. EXPORT=DIR sh DIR/commands.sh on a GPU node), put
them where the manifest says (DIR/<task>/<dataset>/seed=<s>/<model>.h5ad, or
<model>.csv for embeddings and imputation), then score them exactly as a run
of the models would:

  cellbench run SUITE.yaml --out runs/NAME --predictions DIR

See docs/external-models.md.

Flags:
`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, exportUsage); fs.PrintDefaults() }
	out := fs.String("out", "", "export directory to create (required; must not exist or be empty)")
	dataDir := fs.String("data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("export: want exactly one suite file, got %d arguments", len(pos))
	}
	if *out == "" {
		return fmt.Errorf("export: --out is required")
	}
	text, suite, err := readSuite("export", pos[0])
	if err != nil {
		return err
	}
	m, err := bench.Export(ctx, suite, text, *out, *dataDir, stderr, nil)
	if err != nil {
		return err
	}
	outputs := 0
	for _, u := range m.Units {
		outputs += len(u.Outputs)
	}
	fmt.Fprintf(stdout, "%s: %d units (task × dataset × seed) for %d external-model outputs; manifest.json, commands.sh\n", *out, len(m.Units), outputs)
	return nil
}
