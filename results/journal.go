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
	Kind    string  `json:"k"`
	Cell    string  `json:"cell"`
	Attempt string  `json:"att"`
	R       *Record `json:"r,omitempty"`
	N       int     `json:"n,omitempty"`
	Art     string  `json:"art,omitempty"`
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
}

// Records returns every record of the done cells, in Order.
func (s *Store) Records() []Record {
	var out []Record
	for _, k := range s.Order {
		out = append(out, s.Done[k]...)
	}
	return out
}

// LoadStore reads every journal of the run directories dirs. A line that
// does not parse is an error naming the file and line, except a torn final
// line (no newline), which is ignored.
func LoadStore(dirs ...string) (*Store, error) {
	st := &Store{Done: map[string][]Record{}, Artifacts: map[string]string{}, Source: map[string]string{}}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, JournalDir, "*.log"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			if err := st.readJournal(f, dir); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

func (st *Store) readJournal(path, runDir string) error {
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
			return fmt.Errorf("journal %s:%d: %w", path, line, err)
		}
		k := attemptKey{jl.Cell, jl.Attempt}
		switch jl.Kind {
		case "r":
			if jl.R == nil {
				return fmt.Errorf("journal %s:%d: record line without a record", path, line)
			}
			pending[k] = append(pending[k], *jl.R)
		case "done":
			recs := pending[k]
			delete(pending, k)
			if len(recs) != jl.N {
				return fmt.Errorf("journal %s:%d: cell %s done with %d records, %d found", path, line, jl.Cell, jl.N, len(recs))
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
			return fmt.Errorf("journal %s:%d: unknown line kind %q", path, line, jl.Kind)
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
	var out []Record
	for i, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
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
