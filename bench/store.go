package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cellbench/cellbench/internal/fsutil"
)

// The results store of a run directory OUT:
//
//	OUT/journal/shard-I-of-N.log   append-only journals, one per shard process
//	OUT/results.jsonl              done records only, rewritten atomically at the end of a run / by merge
//	OUT/splits/…                   the splits, one JSON file per (dataset, task, seed)
//	OUT/artifacts/…                per-cell figure inputs (artifacts.go)
//
// A journal line is one JSON object: {"k":"r","cell":KEY,"att":A,"r":RESULT}
// for a record, {"k":"done","cell":KEY,"att":A,"n":COUNT,"art":DIR} for the
// end of a cell (DIR, relative to OUT, is the cell's artifact directory,
// complete before the line is written; absent when it has none). A cell's records are written in one write and fsync'd, then its
// done line is written and fsync'd, so a kill -9 at any point leaves either
// a done cell with all its records or an unfinished one. Records count only
// when a done line of the same cell and attempt follows them (an attempt is
// one process's try at a cell); a torn last line is cut off on reopen.
// Journals are named .log so readers of *.jsonl do not mistake them for
// clean results.

const journalDir = "journal"

type journalLine struct {
	Kind    string  `json:"k"`
	Cell    string  `json:"cell"`
	Attempt string  `json:"att"`
	R       *Result `json:"r,omitempty"`
	N       int     `json:"n,omitempty"`
	Art     string  `json:"art,omitempty"`
}

// Journal appends finished cells to one journal file.
type Journal struct {
	f       *os.File
	Path    string
	attempt string
}

// OpenJournal opens (creating) OUT/journal/<name>.log for appending. A torn
// final line (no newline: the process died mid-write) is truncated away
// first, so new lines never merge with it.
func OpenJournal(out, name string) (*Journal, error) {
	dir := filepath.Join(out, journalDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	path := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := truncateTornLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	att := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(os.Getpid())
	return &Journal{f: f, Path: path, attempt: att}, nil
}

// truncateTornLine cuts f after its last newline.
func truncateTornLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	buf := make([]byte, 1)
	if _, err := f.ReadAt(buf, size-1); err != nil {
		return err
	}
	if buf[0] == '\n' {
		return nil
	}
	// Scan backwards for the last newline.
	const chunk = 64 << 10
	end := size
	for end > 0 {
		start := max(0, end-chunk)
		b := make([]byte, end-start)
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return truncSync(f, start+int64(i)+1)
		}
		end = start
	}
	return truncSync(f, 0)
}

func truncSync(f *os.File, n int64) error {
	if err := f.Truncate(n); err != nil {
		return err
	}
	return f.Sync()
}

// WriteCell durably appends a finished cell: its records (one write, then
// fsync), then its done line (write, fsync) naming its artifact directory
// art (relative to the run directory; "" for none), which the caller has
// completed before.
func (j *Journal) WriteCell(key string, recs []Result, art string) error {
	var buf bytes.Buffer
	for i := range recs {
		b, err := json.Marshal(journalLine{Kind: "r", Cell: key, Attempt: j.attempt, R: &recs[i]})
		if err != nil {
			return fmt.Errorf("journal: encode record: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := j.appendSync(buf.Bytes()); err != nil {
		return err
	}
	if crashHook != nil {
		crashHook()
	}
	b, _ := json.Marshal(journalLine{Kind: "done", Cell: key, Attempt: j.attempt, N: len(recs), Art: filepath.ToSlash(art)})
	return j.appendSync(append(b, '\n'))
}

// crashHook, when set (tests), runs between a cell's records and its done line.
var crashHook func()

func (j *Journal) appendSync(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("journal %s: %w", j.Path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", j.Path, err)
	}
	return nil
}

// Close closes the journal file.
func (j *Journal) Close() error { return j.f.Close() }

// Store is what a set of journals holds: the done cells and their records.
type Store struct {
	// Done maps a cell key to its records (first done attempt wins).
	Done map[string][]Result
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
func (s *Store) Records() []Result {
	var out []Result
	for _, k := range s.Order {
		out = append(out, s.Done[k]...)
	}
	return out
}

// LoadStore reads every journal of the run directories dirs. A line that
// does not parse is an error naming the file and line, except a torn final
// line (no newline), which is ignored.
func LoadStore(dirs ...string) (*Store, error) {
	st := &Store{Done: map[string][]Result{}, Artifacts: map[string]string{}, Source: map[string]string{}}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, journalDir, "*.log"))
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
	pending := map[attemptKey][]Result{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<16), 1<<28)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var jl journalLine
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

// WriteResults writes the done records to OUT/results.jsonl atomically
// (one bench.Result per line).
func WriteResults(out string, recs []Result) error {
	return fsutil.WriteFileAtomic(filepath.Join(out, "results.jsonl"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for i := range recs {
			if err := enc.Encode(recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadResults reads OUT/results.jsonl (as written by WriteResults).
func ReadResults(path string) ([]Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Result
	for i, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// LoadRun returns the records of a run directory: from its journals when
// it has any (done cells only), else from its results.jsonl.
func LoadRun(dir string) ([]Result, error) {
	st, err := LoadStore(dir)
	if err != nil {
		return nil, err
	}
	if len(st.Order) > 0 {
		return st.Records(), nil
	}
	recs, err := ReadResults(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("run %s: no finished cells in journal/ and %w", dir, err)
	}
	return recs, nil
}
