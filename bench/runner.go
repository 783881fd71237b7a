package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// Runner runs a suite's grid (or one shard of it) into a run directory.
type Runner struct {
	Suite *Suite
	// SuiteYAML is the suite file's text, copied to OUT/suite.yaml and
	// digested (SuiteDigest); nil = the parsed suite re-encoded.
	SuiteYAML []byte
	Out       string
	Shard     Shard // zero value = the whole grid
	// Resume continues a run directory: skips cells already done in OUT
	// (by any shard) and retries failed ones. Without it, a run directory
	// that already has done or failed cells is an error; with it, a run
	// directory of another suite (digest) is.
	Resume bool
	// Progress receives one line per cell (stderr); nil = discard.
	Progress io.Writer
	// DataDir is the data directory ("" = data.DefaultDataDir()).
	DataDir string
	// GitSHA is written into every record ("" = detected with git, or "unknown").
	GitSHA string
	// Load defaults to LoadDataset. Evaluate, when set, replaces
	// EvaluatePert for perturbation cells (their artifacts then compute
	// the DE tables themselves).
	Load     func(spec DatasetSpec, dataDir string) (*Prepared, error)
	Evaluate EvalFunc
	// Predictions is a directory written by Export whose files hold the
	// outputs of the suite's external models (made elsewhere): their
	// cells read them instead of running the models' commands, and are
	// validated and scored the same way (external.go).
	Predictions string

	export      *exportState      // set by Export: write inputs, run nothing
	predictions *PredictionsIndex // read from Predictions
}

// RunSummary counts what a run did.
type RunSummary struct {
	Cells, Skipped, Ran, Failed int
	Records                     int
	Seconds                     float64
	// Status measures the whole run directory after the run (all shards).
	Status *results.RunStatus
}

// CellsFailedError is Run's error when cells failed: every other cell ran
// and results.jsonl holds them; --resume retries the failed ones.
type CellsFailedError struct{ Failed []results.FailedCell }

func (e *CellsFailedError) Error() string {
	return fmt.Sprintf("%d cells failed, the others ran (first: %s); fix the cause and rerun with --resume to retry them", len(e.Failed), e.Failed[0])
}

// Run executes the cells of the shard that are not done yet, appending
// each finished cell durably to OUT/journal/shard-I-of-N.log, and finally
// rewrites OUT/results.jsonl (the done cells of the suite's grid),
// OUT/status.json and the artifact index from every journal in OUT.
//
// The shard's journal is locked for the run (lock.go): a second writer
// of the same shard is refused with the holder's pid. grid.json records
// the suite's digest and grid before the first cell; --resume into a
// directory of another suite is refused (SuiteDigest).
//
// A cell that fails (a model error or panic, an external command's exit
// status, timeout or invalid output, a dataset that does not load) is
// journalled as a "fail" line with a one-line reason and the run goes on;
// Run then returns *CellsFailedError after writing the results of the
// others. --resume retries failed cells. Only an interruption (ctx) or a
// journal that cannot be written stops the run early.
func (r *Runner) Run(ctx context.Context) (RunSummary, error) {
	var sum RunSummary
	start := time.Now()
	if r.Shard.N == 0 {
		r.Shard = Shard{0, 1}
	}
	if r.Progress == nil {
		r.Progress = io.Discard
	}
	if r.Load == nil {
		r.Load = LoadDataset
	}
	if r.GitSHA == "" {
		r.GitSHA = DetectGitSHA()
	}
	text := suiteYAML(r.Suite, r.SuiteYAML)
	digest, err := SuiteDigest(text)
	if err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	if err := r.prepareExternal(); err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	grid := r.Suite.Grid()
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	owner := fmt.Sprintf("shard-%d-of-%d", r.Shard.I, r.Shard.N)
	lock, err := acquireLock(r.Out, owner)
	if err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	defer lock.release()
	st, err := results.LoadStore(r.Out)
	if err != nil {
		return sum, err
	}
	if st.DamagedLines > 0 {
		fmt.Fprintf(r.Progress, "run: warning: %d unreadable journal lines skipped (first: %s); their cells run again\n", st.DamagedLines, st.Damaged[0])
	}
	if len(st.Order)+len(st.FailOrder) > 0 {
		if !r.Resume {
			return sum, fmt.Errorf("run: %s already has %d finished and %d failed cells: pass --resume to continue it, or choose a new --out", r.Out, len(st.Order), len(st.FailOrder))
		}
		if err := checkSuiteDigest(r.Out, digest, text); err != nil {
			return sum, fmt.Errorf("run: --resume: %w", err)
		}
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(r.Out, "suite.yaml"), func(w io.Writer) error {
		_, err := w.Write(text)
		return err
	}); err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	if err := writeGrid(r.Out, r.Suite.Name, digest, grid); err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	cells := r.Shard.Select(grid)
	sum.Cells = len(cells)
	var todo []Cell
	retries := 0
	for _, c := range cells {
		if _, done := st.Done[c.Key]; done {
			sum.Skipped++
		} else {
			todo = append(todo, c)
			if _, failed := st.Failed[c.Key]; failed {
				retries++
			}
		}
	}
	again := ""
	if retries > 0 {
		again = fmt.Sprintf(" (%d failed before: retrying)", retries)
	}
	fmt.Fprintf(r.Progress, "run %s: shard %s has %d cells, %d already done, %d to run%s\n", r.Suite.Name, r.Shard, len(cells), sum.Skipped, len(todo), again)
	// Opening the journal (under the lock) also cuts a torn last line.
	j, err := OpenJournal(r.Out, owner)
	if err != nil {
		return sum, err
	}
	defer j.Close()
	var failed []results.FailedCell
	if len(todo) > 0 {
		if err := cleanStaging(r.Out, owner); err != nil {
			return sum, fmt.Errorf("run: %w", err)
		}
		datasets := map[string]*Prepared{}
		loadErrs := map[string]error{}
		for k, c := range todo {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			p, err := r.dataset(c.Dataset, datasets, loadErrs)
			t0 := time.Now()
			var recs []results.Record
			var info string
			var art *artifact
			if err == nil {
				recs, info, art, err = r.runCell(ctx, c, p)
			}
			rel := ""
			if err == nil && art != nil {
				rel = artifactRel(c)
				err = commitArtifact(r.Out, rel, owner, art)
			}
			where := fmt.Sprintf("[%d/%d] %s %s %s seed=%d", k+1, len(todo), c.Task.Name, c.Dataset.Name, c.Model.ID(), c.Seed)
			if err != nil {
				if ctx.Err() != nil {
					return sum, ctx.Err()
				}
				fc := results.FailedCell{Task: c.Task.Name, Dataset: c.Dataset.Name, Model: c.Model.ID(), Seed: c.Seed,
					Reason: oneLine(err.Error()), Seconds: time.Since(t0).Seconds()}
				if fi, err := os.Stat(filepath.Join(r.Out, commandDirRel(c))); err == nil && fi.IsDir() && c.Model.External() {
					fc.Dir = filepath.ToSlash(commandDirRel(c))
				}
				if err := j.WriteFail(c.Key, fc); err != nil {
					return sum, err
				}
				failed = append(failed, fc)
				sum.Failed++
				attempt := ""
				if n := st.Failed[c.Key].Attempts; n > 0 {
					attempt = fmt.Sprintf(" (attempt %d)", n+1)
				}
				fmt.Fprintf(r.Progress, "  %s: FAILED after %.1fs%s: %s\n", where, fc.Seconds, attempt, fc.Reason)
				continue
			}
			if err := j.WriteCell(c.Key, recs, rel); err != nil {
				return sum, err
			}
			sum.Ran++
			sum.Records += len(recs)
			fmt.Fprintf(r.Progress, "  %s: %.1fs (%s), %d records\n", where, time.Since(t0).Seconds(), info, len(recs))
		}
	}
	// Materialise the clean results of every journal in OUT: the done
	// cells of this suite's grid.
	status, err := materialise(r.Out, "run")
	if err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	sum.Status = status
	sum.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(r.Progress, "run %s: shard %s done: ran %d cells (%d records), %d failed, skipped %d, %.1fs; %s; results in %s\n",
		r.Suite.Name, r.Shard, sum.Ran, sum.Records, sum.Failed, sum.Skipped, sum.Seconds, status.Summary(), filepath.Join(r.Out, "results.jsonl"))
	if len(failed) > 0 {
		return sum, &CellsFailedError{Failed: failed}
	}
	return sum, nil
}

// runCell runs one cell through its kind's runner; a panic (a model's
// graph code may panic) fails the cell instead of the run. The dataset's
// warnings (labels that differ from the control, a drop label or a kept
// context only by case, spaces or Unicode normalisation: Prepared.Warnings)
// are added to every record of the cell, so that they reach results.jsonl
// and the report, not only stderr.
func (r *Runner) runCell(ctx context.Context, c Cell, p *Prepared) (recs []results.Record, info string, art *artifact, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	recs, info, art, err = runnerOf(c.Task.Name).run(ctx, r, c, p)
	if p != nil && len(p.Warnings) > 0 {
		dw := strings.Join(p.Warnings, "; ")
		for i := range recs {
			if recs[i].Warnings == "" {
				recs[i].Warnings = dw
			} else {
				recs[i].Warnings += "; " + dw
			}
		}
	}
	return recs, info, art, err
}

// dataset returns the prepared dataset of spec, loading it once; a load
// error is remembered and fails every cell of the dataset.
func (r *Runner) dataset(spec DatasetSpec, cache map[string]*Prepared, errs map[string]error) (*Prepared, error) {
	if p, ok := cache[spec.Name]; ok {
		return p, nil
	}
	if err, ok := errs[spec.Name]; ok {
		return nil, err
	}
	t0 := time.Now()
	spec.keepCells = r.Suite.externalEmbedsOn(spec.Name)
	p, err := r.Load(spec, r.DataDir)
	if err != nil {
		errs[spec.Name] = err
		return nil, err
	}
	cache[spec.Name] = p
	var what []string
	if p.Data != nil {
		what = append(what, fmt.Sprintf("%d cells × %d genes", p.Data.NCells(), p.Data.NGenes()))
	}
	if e := p.Embedding; e != nil {
		what = append(what, fmt.Sprintf("embedding %s %d cells × %d dims", e.Name, e.X.Rows, e.X.Cols))
	}
	fmt.Fprintf(r.Progress, "  loaded %s: %s (%.1fs)\n", spec.Name, strings.Join(what, "; "), time.Since(t0).Seconds())
	for _, w := range p.Warnings {
		fmt.Fprintf(r.Progress, "  warning: %s\n", w)
	}
	return p, nil
}

// oneLine collapses a message to one line of at most 1000 bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return s
}

// writeGrid writes OUT/grid.json (the suite's name, digest and every cell
// of its grid) atomically.
func writeGrid(out, suite, digest string, grid []Cell) error {
	g := results.Grid{Suite: suite, Digest: digest}
	for _, c := range grid {
		g.Cells = append(g.Cells, results.GridCell{Index: c.Index, Key: c.Key, Task: c.Task.Name, Dataset: c.Dataset.Name, Model: c.Model.ID(), Seed: c.Seed})
	}
	return writeJSON(filepath.Join(out, results.GridFile), g)
}

func writeJSON(path string, v any) error {
	return fsutil.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(v)
	})
}

// materialise rewrites OUT/results.jsonl, the artifact index and
// OUT/status.json from every journal in OUT, keeping the done cells of the
// grid in grid.json (all done cells when there is none).
func materialise(out, writer string) (*results.RunStatus, error) {
	st, err := results.LoadStore(out)
	if err != nil {
		return nil, err
	}
	g, err := results.ReadGrid(out)
	if err != nil {
		return nil, err
	}
	status := results.NewRunStatus(st, g)
	status.WrittenBy = writer
	kept := st
	if g != nil {
		keys := make(map[string]bool, len(g.Cells))
		for _, c := range g.Cells {
			keys[c.Key] = true
		}
		kept = st.Only(func(k string) bool { return keys[k] })
	}
	if err := WriteResults(out, kept.Records()); err != nil {
		return nil, err
	}
	if err := writeArtifactIndex(out, kept); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(out, results.StatusFile), status); err != nil {
		return nil, err
	}
	return status, nil
}

// artifactMeta is the identity part of a cell's artifact meta.json.
func (r *Runner) artifactMeta(c Cell) results.ArtifactMeta {
	return results.ArtifactMeta{Cell: c.Key, Suite: r.Suite.Name, Task: c.Task.Name, Dataset: c.Dataset.Name,
		Split: c.SplitName(), Model: c.Model.ID(), Seed: c.Seed}
}

// splitFile is what OUT/splits/<dataset>/<task>/seed-<s>.json holds.
type splitFile struct {
	Dataset    string        `json:"dataset"`
	Split      string        `json:"split"`
	Task       string        `json:"task"`
	Seed       uint64        `json:"seed"`
	Holdout    string        `json:"holdout"`
	TrainPerts []string      `json:"train_perturbations"`
	TestPerts  []string      `json:"test_perturbations"`
	TestGroups []tasks.Group `json:"test_groups"`
	TrainCells []string      `json:"train_cells"`
	TestCells  []string      `json:"test_cells"`
}

func (r *Runner) writeSplit(c Cell, s *tasks.Split, p *Prepared) error {
	sf := splitFile{Dataset: c.Dataset.Name, Split: c.SplitName(), Task: c.Task.Name, Seed: c.Seed, Holdout: s.Holdout,
		TrainPerts: s.TrainPerturbations, TestPerts: s.TestPerturbations, TestGroups: s.TestGroups}
	for _, i := range s.Train {
		sf.TrainCells = append(sf.TrainCells, p.Data.Obs.Index[i])
	}
	for _, i := range s.Test {
		sf.TestCells = append(sf.TestCells, p.Data.Obs.Index[i])
	}
	return r.writeSplitFile(c, sf)
}

// writeSplitFile writes a cell's split description v (indented JSON) to
// OUT/splits/<dataset>/<task>/seed-<s>.json.
func (r *Runner) writeSplitFile(c Cell, v any) error {
	path := filepath.Join(r.Out, "splits", fileSafe(c.Dataset.Name), fileSafe(c.Task.Name), fmt.Sprintf("seed-%d.json", c.Seed))
	return fsutil.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(v)
	})
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

var nan = func() float64 { var z float64; return z / z }()

// peakRSS is the process's peak resident set size in bytes (Linux
// getrusage ru_maxrss is in KiB); 0 when unavailable.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024
}

// DetectGitSHA returns `git rev-parse HEAD` of the working directory (with
// "-dirty" when tracked files differ), or "unknown".
func DetectGitSHA() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	sha := strings.TrimSpace(string(out))
	if err := exec.Command("git", "diff", "--quiet", "HEAD", "--").Run(); err != nil {
		sha += "-dirty"
	}
	return sha
}
