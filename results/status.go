package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// GridFile (in a run directory) is the grid manifest: the suite's
	// name, its canonical digest and every cell of its grid, all shards
	// included (Grid). The runner writes it before the first cell; it is
	// what "how much of the run is there" is measured against.
	GridFile = "grid.json"
	// StatusFile (in a run directory) is the RunStatus of results.jsonl,
	// written with it at the end of a run and by merge.
	StatusFile = "status.json"
)

// GridCell is one cell of a suite's grid.
type GridCell struct {
	Index   int    `json:"index"`
	Key     string `json:"key"`
	Task    string `json:"task"`
	Dataset string `json:"dataset"`
	Model   string `json:"model"`
	Seed    uint64 `json:"seed"`
}

// String is "task dataset model seed=S".
func (c GridCell) String() string {
	return fmt.Sprintf("%s %s %s seed=%d", c.Task, c.Dataset, c.Model, c.Seed)
}

// Grid is the content of GridFile.
type Grid struct {
	Suite string `json:"suite"`
	// Digest is the suite's canonical digest (bench.SuiteDigest): a run
	// directory holds the cells of one suite configuration only.
	Digest string     `json:"digest"`
	Cells  []GridCell `json:"cells"`
}

// ReadGrid reads dir/grid.json; it returns nil and no error when the
// directory has none (a run written before grid manifests existed).
func ReadGrid(dir string) (*Grid, error) {
	b, err := os.ReadFile(filepath.Join(dir, GridFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var g Grid
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, GridFile), err)
	}
	return &g, nil
}

// RunStatus says how much of a run's grid its results hold: done cells,
// failed cells (with their reasons), cells not run yet (unfinished, in a
// shard that is missing, or not reached). A report on a run that is not
// Complete is marked incomplete.
type RunStatus struct {
	Suite  string `json:"suite,omitempty"`
	Digest string `json:"digest,omitempty"`
	// GridCells is the size of the suite's grid (all shards); 0 when
	// unknown (no grid.json: a run written before grid manifests).
	GridCells int `json:"grid_cells"`
	// Done counts the grid's done cells (all done cells when GridCells is 0).
	Done int `json:"done"`
	// Failed lists the cells whose latest attempt failed, in grid order.
	Failed []FailedCell `json:"failed,omitempty"`
	// NotRun counts grid cells neither done nor failed; NotRunExamples
	// names the first five.
	NotRun         int      `json:"not_run"`
	NotRunExamples []string `json:"not_run_examples,omitempty"`
	// Unfinished counts attempts with records but no done line (a killed
	// process); their cells are among NotRun.
	Unfinished int `json:"unfinished,omitempty"`
	// Outside counts done cells of journals that are not in the grid (left
	// out of results.jsonl).
	Outside int `json:"outside_grid,omitempty"`
	// DamagedLines counts unreadable journal lines (Store.Damaged).
	DamagedLines int `json:"damaged_lines,omitempty"`
	// WrittenBy is "run" or "merge" (in status.json).
	WrittenBy string `json:"written_by,omitempty"`
}

// NewRunStatus measures a store against its grid (nil: unknown grid).
func NewRunStatus(st *Store, g *Grid) *RunStatus {
	s := &RunStatus{Unfinished: st.Unfinished, DamagedLines: st.DamagedLines}
	if g == nil {
		s.Done = len(st.Order)
		for _, k := range st.FailOrder {
			s.Failed = append(s.Failed, st.Failed[k])
		}
		return s
	}
	s.Suite, s.Digest, s.GridCells = g.Suite, g.Digest, len(g.Cells)
	inGrid := make(map[string]bool, len(g.Cells))
	for _, c := range g.Cells {
		inGrid[c.Key] = true
		if _, ok := st.Done[c.Key]; ok {
			s.Done++
		} else if f, ok := st.Failed[c.Key]; ok {
			s.Failed = append(s.Failed, f)
		} else {
			s.NotRun++
			if len(s.NotRunExamples) < 5 {
				s.NotRunExamples = append(s.NotRunExamples, c.String())
			}
		}
	}
	for _, k := range st.Order {
		if !inGrid[k] {
			s.Outside++
		}
	}
	return s
}

// Complete reports whether every cell of the grid is done (with an
// unknown grid: no failed or unfinished cell).
func (s *RunStatus) Complete() bool {
	if s.GridCells > 0 {
		return s.Done == s.GridCells
	}
	return len(s.Failed) == 0 && s.Unfinished == 0
}

// Summary is one line: "all 72 cells of the grid are done" or
// "incomplete: 40 of 72 cells of the grid done, 2 failed, 30 not run
// (e.g. …)".
func (s *RunStatus) Summary() string {
	if s.GridCells == 0 {
		msg := fmt.Sprintf("%d cells done (grid size unknown: no %s)", s.Done, GridFile)
		if len(s.Failed) > 0 || s.Unfinished > 0 {
			msg = "incomplete: " + msg + fmt.Sprintf(", %d failed, %d unfinished", len(s.Failed), s.Unfinished)
		}
		return msg
	}
	if s.Complete() {
		return fmt.Sprintf("all %d cells of the grid are done", s.GridCells)
	}
	msg := fmt.Sprintf("incomplete: %d of %d cells of the grid done, %d failed, %d not run", s.Done, s.GridCells, len(s.Failed), s.NotRun)
	if len(s.NotRunExamples) > 0 {
		msg += " (e.g. " + strings.Join(s.NotRunExamples, "; ") + ")"
	}
	return msg
}

// LoadRunStatus measures a run directory: from its journals and grid.json
// when it has journals, else from its status.json (a merged directory),
// else (an older run with only results.jsonl) an unknown grid with the
// number of distinct cells in results.jsonl counted as done.
func LoadRunStatus(dir string) (*RunStatus, error) {
	st, err := LoadStore(dir)
	if err != nil {
		return nil, err
	}
	files, _ := filepath.Glob(filepath.Join(dir, JournalDir, "*.log"))
	if len(files) > 0 {
		g, err := ReadGrid(dir)
		if err != nil {
			return nil, err
		}
		return NewRunStatus(st, g), nil
	}
	b, err := os.ReadFile(filepath.Join(dir, StatusFile))
	if err == nil {
		var s RunStatus
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StatusFile), err)
		}
		return &s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	recs, err := ReadJSONL(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("run %s: no journal, no %s and %w", dir, StatusFile, err)
	}
	cells := map[string]bool{}
	for _, r := range recs {
		cells[fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%d", r.Task, r.Dataset, r.Split, r.Model, r.Seed)] = true
	}
	return &RunStatus{Done: len(cells)}, nil
}
