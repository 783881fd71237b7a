package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// JournalDir is the folder of a run directory holding its journals.
const JournalDir = "journal"

// JournalLine is one line of a journal (see the package documentation).
type JournalLine struct {
	Kind    string      `json:"k"`
	Cell    string      `json:"cell"`
	Attempt string      `json:"att"`
	R       *Record     `json:"r,omitempty"`
	N       int         `json:"n,omitempty"`
	Art     string      `json:"art,omitempty"`
	Fail    *FailedCell `json:"fail,omitempty"`
}

// FailedCell is a cell whose attempt failed: its identity, the one-line
// reason (a model error, a command's exit status or timeout, an invalid
// output), where its logs are, and how long the attempt took. In a
// journal it is the "fail" line of one attempt; in a Store or RunStatus it
// is the latest failure of a cell that is not done, with Attempts = the
// number of failed attempts.
type FailedCell struct {
	Cell    string  `json:"cell,omitempty"`
	Task    string  `json:"task"`
	Dataset string  `json:"dataset"`
	Model   string  `json:"model"`
	Seed    uint64  `json:"seed"`
	Reason  string  `json:"reason"`
	Dir     string  `json:"dir,omitempty"` // the cell's command directory (logs), relative to the run directory
	Seconds float64 `json:"seconds"`
	// Attempts counts failed attempts (Store and RunStatus only).
	Attempts int `json:"attempts,omitempty"`
}

// String is "task dataset model seed=S: reason".
func (f FailedCell) String() string {
	return fmt.Sprintf("%s %s %s seed=%d: %s", f.Task, f.Dataset, f.Model, f.Seed, f.Reason)
}

// Store is what a set of journals holds: the done cells and their records.
type Store struct {
	// Done maps a cell key to its records (first done attempt wins).
	Done map[string][]Record
	// Order lists done cell keys in the order they were found.
	Order []string
	// Duplicates counts done cells seen more than once (e.g. overlapping
	// shards merged); only the first is kept.
	Duplicates int
	// Unfinished counts cells with records but no done line (ignored).
	Unfinished int
	// Artifacts maps a done cell to its artifact directory (relative to
	// its run directory, Source); cells without artifacts are absent.
	Artifacts map[string]string
	// Source maps a done cell to the run directory its journal is in.
	Source map[string]string
	// Failed maps a cell that is not done to its latest failure (Attempts
	// = its failed attempts); FailOrder lists them in the order found.
	Failed    map[string]FailedCell
	FailOrder []string
	// Damaged lists journal lines that could not be read ("FILE:LINE:
	// why"), e.g. lines torn or interleaved by an older cellbench that
	// did not lock the journal. They are skipped: a cell whose records or
	// done line were damaged counts as not done and reruns on --resume.
	Damaged []string
	// DamagedLines counts them (Damaged keeps the first 20).
	DamagedLines int
}

// Records returns every record of the done cells, in Order.
func (s *Store) Records() []Record {
	var out []Record
	for _, k := range s.Order {
		out = append(out, s.Done[k]...)
	}
	return out
}

// Only returns the part of s whose done and failed cells satisfy keep
// (e.g. the cells of the current grid), in the same order.
func (s *Store) Only(keep func(key string) bool) *Store {
	out := &Store{Done: map[string][]Record{}, Artifacts: map[string]string{}, Source: map[string]string{}, Failed: map[string]FailedCell{},
		Duplicates: s.Duplicates, Unfinished: s.Unfinished, Damaged: s.Damaged, DamagedLines: s.DamagedLines}
	for _, k := range s.Order {
		if keep(k) {
			out.Order = append(out.Order, k)
			out.Done[k] = s.Done[k]
			out.Source[k] = s.Source[k]
			if a, ok := s.Artifacts[k]; ok {
				out.Artifacts[k] = a
			}
		}
	}
	for _, k := range s.FailOrder {
		if keep(k) {
			out.FailOrder = append(out.FailOrder, k)
			out.Failed[k] = s.Failed[k]
		}
	}
	return out
}

// LoadStore reads every journal of the run directories dirs. A torn final
// line (no newline) is ignored; a line in the middle that does not parse
// is skipped and listed in Damaged (its cell is then not done, unless
// another attempt finished it). Only a journal that cannot be read is an
// error.
func LoadStore(dirs ...string) (*Store, error) {
	st := &Store{Done: map[string][]Record{}, Artifacts: map[string]string{}, Source: map[string]string{}, Failed: map[string]FailedCell{}}
	fails := map[string]FailedCell{}
	var failOrder []string
	attempts := map[string]int{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, JournalDir, "*.log"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			if err := st.readJournal(f, dir, func(key string, fc FailedCell) {
				if _, seen := fails[key]; !seen {
					failOrder = append(failOrder, key)
				}
				attempts[key]++
				fc.Cell = key
				fails[key] = fc
			}); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range failOrder {
		if _, done := st.Done[k]; done {
			continue
		}
		fc := fails[k]
		fc.Attempts = attempts[k]
		st.Failed[k] = fc
		st.FailOrder = append(st.FailOrder, k)
	}
	return st, nil
}

// maxDamaged caps Store.Damaged (DamagedLines has the count).
const maxDamaged = 20

func (st *Store) damaged(path string, line int, why string) {
	st.DamagedLines++
	if len(st.Damaged) < maxDamaged {
		st.Damaged = append(st.Damaged, fmt.Sprintf("%s:%d: %s", path, line, why))
	}
}

func (st *Store) readJournal(path, runDir string, fail func(string, FailedCell)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i < len(b)-1 {
		b = b[:i+1] // torn final line
	}
	type attemptKey struct{ cell, att string }
	pending := map[attemptKey][]Record{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<16), 1<<28)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var jl JournalLine
		if err := json.Unmarshal(sc.Bytes(), &jl); err != nil {
			st.damaged(path, line, err.Error())
			continue
		}
		k := attemptKey{jl.Cell, jl.Attempt}
		switch jl.Kind {
		case "r":
			if jl.R == nil {
				st.damaged(path, line, "record line without a record")
				continue
			}
			pending[k] = append(pending[k], *jl.R)
		case "fail":
			delete(pending, k)
			if jl.Fail == nil {
				st.damaged(path, line, "fail line without its reason")
				continue
			}
			fail(jl.Cell, *jl.Fail)
		case "done":
			recs := pending[k]
			delete(pending, k)
			if len(recs) != jl.N {
				st.damaged(path, line, fmt.Sprintf("cell %s done with %d records, %d found (the cell is not done)", jl.Cell, jl.N, len(recs)))
				continue
			}
			if _, dup := st.Done[jl.Cell]; dup {
				st.Duplicates++
				continue
			}
			st.Done[jl.Cell] = recs
			st.Order = append(st.Order, jl.Cell)
			st.Source[jl.Cell] = runDir
			if jl.Art != "" {
				st.Artifacts[jl.Cell] = filepath.FromSlash(jl.Art)
			}
		default:
			st.damaged(path, line, fmt.Sprintf("unknown line kind %q", jl.Kind))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	st.Unfinished += len(pending)
	return nil
}

// ReadJSONL reads a results.jsonl file (one Record per line, as WriteJSONL
// writes it); blank lines are skipped; a bad line is an error naming it.
func ReadJSONL(path string) ([]Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseJSONL(b, path)
}

// ParseJSONL is ReadJSONL for the bytes of a results.jsonl already in
// memory (the browser build gets files as bytes); name labels errors.
func ParseJSONL(b []byte, name string) ([]Record, error) {
	var out []Record
	for i, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// LoadRun returns the records of a run directory: from its journals when
// it has any (done cells only), else from its results.jsonl.
func LoadRun(dir string) ([]Record, error) {
	st, err := LoadStore(dir)
	if err != nil {
		return nil, err
	}
	if len(st.Order) > 0 {
		return st.Records(), nil
	}
	recs, err := ReadJSONL(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("run %s: no finished cells in journal/ and %w", dir, err)
	}
	return recs, nil
}
