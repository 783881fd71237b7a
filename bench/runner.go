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
	// SuiteYAML is the suite file's text, copied to OUT/suite.yaml.
	SuiteYAML []byte
	Out       string
	Shard     Shard // zero value = the whole grid
	// Resume skips cells already done in OUT (by any shard). Without it, a
	// run directory that already has done cells is an error.
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
}

// RunSummary counts what a run did.
type RunSummary struct {
	Cells, Skipped, Ran int
	Records             int
	Seconds             float64
}

// Run executes the cells of the shard that are not done yet, appending
// each finished cell durably to OUT/journal/shard-I-of-N.log, and finally
// rewrites OUT/results.jsonl from every journal in OUT. A cell that fails
// (bad data for a task, model error) stops the run with an error naming
// the cell; finished cells stay done.
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
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	st, err := results.LoadStore(r.Out)
	if err != nil {
		return sum, err
	}
	if len(st.Order) > 0 && !r.Resume {
		return sum, fmt.Errorf("run: %s already has %d finished cells: pass --resume to continue it, or choose a new --out", r.Out, len(st.Order))
	}
	if len(r.SuiteYAML) > 0 {
		if err := fsutil.WriteFileAtomic(filepath.Join(r.Out, "suite.yaml"), func(w io.Writer) error {
			_, err := w.Write(r.SuiteYAML)
			return err
		}); err != nil {
			return sum, fmt.Errorf("run: %w", err)
		}
	}
	cells := r.Shard.Select(r.Suite.Grid())
	sum.Cells = len(cells)
	var todo []Cell
	for _, c := range cells {
		if _, done := st.Done[c.Key]; done {
			sum.Skipped++
		} else {
			todo = append(todo, c)
		}
	}
	fmt.Fprintf(r.Progress, "run %s: shard %s has %d cells, %d already done, %d to run\n", r.Suite.Name, r.Shard, len(cells), sum.Skipped, len(todo))
	if len(todo) > 0 {
		owner := fmt.Sprintf("shard-%d-of-%d", r.Shard.I, r.Shard.N)
		if err := cleanStaging(r.Out, owner); err != nil {
			return sum, fmt.Errorf("run: %w", err)
		}
		j, err := OpenJournal(r.Out, owner)
		if err != nil {
			return sum, err
		}
		defer j.Close()
		datasets := map[string]*Prepared{}
		for k, c := range todo {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			p, ok := datasets[c.Dataset.Name]
			if !ok {
				t0 := time.Now()
				if p, err = r.Load(c.Dataset, r.DataDir); err != nil {
					return sum, err
				}
				datasets[c.Dataset.Name] = p
				var what []string
				if p.Data != nil {
					what = append(what, fmt.Sprintf("%d cells × %d genes", p.Data.NCells(), p.Data.NGenes()))
				}
				if e := p.Embedding; e != nil {
					what = append(what, fmt.Sprintf("embedding %s %d cells × %d dims", e.Name, e.X.Rows, e.X.Cols))
				}
				fmt.Fprintf(r.Progress, "  loaded %s: %s (%.1fs)\n", c.Dataset.Name, strings.Join(what, "; "), time.Since(t0).Seconds())
			}
			t0 := time.Now()
			var recs []results.Record
			var info string
			var art *artifact
			recs, info, art, err = runnerOf(c.Task.Name).run(ctx, r, c, p)
			if err != nil {
				return sum, fmt.Errorf("cell %s %s %s seed=%d: %w", c.Task.Name, c.Dataset.Name, c.Model.ID(), c.Seed, err)
			}
			rel := ""
			if art != nil {
				rel = artifactRel(c)
				if err := commitArtifact(r.Out, rel, owner, art); err != nil {
					return sum, fmt.Errorf("cell %s %s %s seed=%d: %w", c.Task.Name, c.Dataset.Name, c.Model.ID(), c.Seed, err)
				}
			}
			if err := j.WriteCell(c.Key, recs, rel); err != nil {
				return sum, err
			}
			sum.Ran++
			sum.Records += len(recs)
			fmt.Fprintf(r.Progress, "  [%d/%d] %s %s %s seed=%d: %.1fs (%s), %d records\n", k+1, len(todo), c.Task.Name, c.Dataset.Name, c.Model.ID(), c.Seed, time.Since(t0).Seconds(), info, len(recs))
		}
	}
	// Materialise the clean results of every journal in OUT.
	st, err = results.LoadStore(r.Out)
	if err != nil {
		return sum, err
	}
	if err := WriteResults(r.Out, st.Records()); err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	if err := writeArtifactIndex(r.Out, st); err != nil {
		return sum, fmt.Errorf("run: %w", err)
	}
	sum.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(r.Progress, "run %s: shard %s done: ran %d cells (%d records), skipped %d, %.1fs; %d finished cells in %s\n",
		r.Suite.Name, r.Shard, sum.Ran, sum.Records, sum.Skipped, sum.Seconds, len(st.Order), filepath.Join(r.Out, "results.jsonl"))
	return sum, nil
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
