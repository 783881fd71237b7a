package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
)

func init() {
	register(command{name: "data list", summary: "list the datasets the registry knows, with their status", run: runDataList})
	register(command{name: "data info", summary: "inspect a dataset (name or .h5ad file) without loading X whole", run: runDataInfo})
	register(command{name: "data fetch", summary: "resolve a dataset by name, verifying its checksum (upstream-only datasets cannot be fetched here)", run: runDataFetch})
}

func runDataList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("data list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
	verify := fs.Bool("verify", false, "check each local file's SHA-256 against the registry; exit status 1 when a file is missing or changed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("data list: unexpected argument %q", fs.Arg(0))
	}
	r := data.NewRegistry(*dir)
	fmt.Fprintf(stdout, "data directory: %s\n\n", r.Dir)
	fmt.Fprintf(stdout, "%-28s %-10s %-20s %s\n", "NAME", "STATUS", "SHAPE", "DESCRIPTION")
	var failed []string // --verify: datasets that are missing or changed
	for _, e := range r.Entries() {
		status := "upstream"
		if e.Local() {
			status = "present"
			if _, err := r.Path(e.Name); err != nil {
				status = "MISSING"
				failed = append(failed, e.Name+" (missing)")
			} else if *verify {
				if err := r.Verify(e.Name); err != nil {
					status = "CHANGED"
					failed = append(failed, e.Name+" (checksum changed)")
				} else {
					status = "verified"
				}
			}
		}
		fmt.Fprintf(stdout, "%-28s %-10s %-20s %s\n", e.Name, status, e.Shape, e.Description)
		if !e.Local() {
			fmt.Fprintf(stdout, "%-28s %-10s %-20s not available here; source: %s; get it from: %s\n", "", "", "", e.Source, e.Upstream)
		}
	}
	if *verify && len(failed) > 0 {
		return fmt.Errorf("data list --verify: %d local datasets failed verification: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// infoBlockRows is how many cells data info reads at a time while scanning X.
const infoBlockRows = 20000

func runDataInfo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("data info", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
	maxLevels := fs.Int("levels", 12, "show at most this many levels per obs column")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("data info: want exactly one dataset name or .h5ad file")
	}
	r := data.NewRegistry(*dir)
	path, err := r.Resolve(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("data info: %w", err)
	}
	if strings.HasSuffix(path, ".csv") {
		return fmt.Errorf("data info: %s is an embedding CSV; inspect it with 'cellbench score embed --embed %s'", path, path)
	}
	rd, err := h5ad.Open(path)
	if err != nil {
		return fmt.Errorf("data info: %w", err)
	}
	defer rd.Close()
	m := rd.Meta
	fmt.Fprintf(stdout, "file:      %s\n", path)
	fmt.Fprintf(stdout, "shape:     %d cells × %d genes\n", m.NCells, m.NGenes)
	total := float64(m.NCells) * float64(m.NGenes)
	density := 0.0
	if total > 0 {
		density = float64(m.NNZ) / total
	}
	fmt.Fprintf(stdout, "X:         %s %s, %d stored values (%.2f%% of entries)\n", m.XEncoding, m.XDtype, m.NNZ, 100*density)

	// Scan X in row blocks: exact zeros, scale verdict, without holding X.
	var sc data.ScaleScanner
	var nonzero int64
	var scaleErr error
	for start := 0; start < m.NCells && scaleErr == nil; start += infoBlockRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+infoBlockRows, m.NCells)
		block, err := rd.ReadRows("", start, end)
		if err != nil {
			return fmt.Errorf("data info: %w", err)
		}
		for _, v := range block.Data {
			if v != 0 {
				nonzero++
			}
		}
		scaleErr = sc.Add(block, start)
	}
	if total > 0 {
		fmt.Fprintf(stdout, "sparsity:  %.2f%% zeros\n", 100*(1-float64(nonzero)/total))
	}
	rep, err := sc.Verdict()
	if scaleErr != nil {
		err = scaleErr
	}
	if err != nil {
		fmt.Fprintf(stdout, "scale:     REFUSED — %v\n", err)
	} else {
		fmt.Fprintf(stdout, "scale:     %s (values %g … %g; %d integer cells, %d fractional cells, %d empty cells)\n",
			rep.Scale, rep.Min, rep.Max, rep.IntegerCells, rep.FractionalCells, rep.EmptyCells)
	}
	fmt.Fprintf(stdout, "genes:     %s\n", preview(m.Var.Index, 8))
	if len(m.Layers) > 0 {
		fmt.Fprintf(stdout, "layers:    %s\n", strings.Join(m.Layers, ", "))
	}
	if len(m.Obsm) > 0 {
		fmt.Fprintf(stdout, "obsm:      %s\n", strings.Join(m.Obsm, ", "))
	}
	if m.HasRaw {
		fmt.Fprintf(stdout, "raw:       present\n")
	}
	if len(m.Skipped) > 0 {
		fmt.Fprintf(stdout, "not read:  %s (not modelled by cellbench)\n", strings.Join(m.Skipped, ", "))
	}
	fmt.Fprintf(stdout, "\nobs columns (%d):\n", len(m.Obs.Columns))
	for _, c := range m.Obs.Columns {
		describeColumn(stdout, c, *maxLevels)
	}
	if len(m.Var.Columns) > 0 {
		fmt.Fprintf(stdout, "\nvar columns (%d):\n", len(m.Var.Columns))
		for _, c := range m.Var.Columns {
			describeColumn(stdout, c, 0)
		}
	}
	return nil
}

func describeColumn(w io.Writer, c *data.Column, maxLevels int) {
	switch c.Kind {
	case data.Float, data.Int:
		lo, hi, nan := numericRange(c)
		extra := ""
		if nan > 0 {
			extra = fmt.Sprintf(", %d missing", nan)
		}
		fmt.Fprintf(w, "  %-22s %-11s range %g … %g%s\n", c.Name, c.Kind, lo, hi, extra)
		return
	}
	levels := c.Levels()
	fmt.Fprintf(w, "  %-22s %-11s %d levels", c.Name, c.Kind, len(levels))
	if maxLevels <= 0 {
		fmt.Fprintln(w)
		return
	}
	var parts []string
	for i, l := range levels {
		if i == maxLevels {
			parts = append(parts, fmt.Sprintf("… %d more", len(levels)-maxLevels))
			break
		}
		name := l.Level
		if name == "" {
			name = "<missing>"
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", name, l.Count))
	}
	fmt.Fprintf(w, ": %s\n", strings.Join(parts, ", "))
}

func numericRange(c *data.Column) (lo, hi float64, missing int) {
	first := true
	for i := 0; i < c.Len(); i++ {
		var v float64
		if c.Kind == data.Int {
			v = float64(c.Ints[i])
		} else {
			v = c.Floats[i]
			if v != v {
				missing++
				continue
			}
		}
		if first || v < lo {
			lo = v
		}
		if first || v > hi {
			hi = v
		}
		first = false
	}
	return lo, hi, missing
}

func preview(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(", … (%d in all)", len(s))
}

// runDataFetch resolves NAME to its local file and verifies its SHA-256.
// This machine reaches no data host, so an upstream-only dataset is an
// error that says where a user with a network gets it.
func runDataFetch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("data fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "", "data directory (default $CELLBENCH_DATA or ../shared/data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("data fetch: want exactly one dataset name")
	}
	r := data.NewRegistry(*dir)
	if err := r.Verify(fs.Arg(0)); err != nil {
		return fmt.Errorf("data fetch: %w", err)
	}
	p, _ := r.Path(fs.Arg(0))
	fmt.Fprintln(stdout, p)
	return nil
}
