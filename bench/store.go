package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/results"
)

// The journal writer of a run directory (the layout and the readers are in
// package results). A run directory OUT:
//
//	OUT/journal/shard-I-of-N.log   append-only journals, one per shard process
//	OUT/results.jsonl              done records only, rewritten atomically at the end of a run / by merge
//	OUT/splits/…                   the splits, one JSON file per (dataset, task, seed)
//	OUT/artifacts/…                per-cell figure inputs (artifacts.go)
//
// A journal line is one JSON object: {"k":"r","cell":KEY,"att":A,"r":RESULT}
// for a record, {"k":"done","cell":KEY,"att":A,"n":COUNT,"art":DIR} for the
// end of a cell (DIR, relative to OUT, is the cell's artifact directory,
// complete before the line is written; absent when it has none),
// {"k":"fail","cell":KEY,"att":A,"fail":{task, dataset, model, seed,
// reason, dir, seconds}} for a failed attempt. A cell's records are
// written in one write and fsync'd, then its done line is written and
// fsync'd, so a kill -9 at any point leaves either a done cell with all
// its records or an unfinished one. Records count only when a done line
// of the same cell and attempt follows them (an attempt is one process's
// try at a cell); a torn last line is cut off on reopen. The file is
// opened O_APPEND by the one process holding the shard's lock (lock.go),
// so every write lands whole at the end of the file. Journals are named
// .log so readers of *.jsonl do not mistake them for clean results.

// Journal appends finished cells to one journal file.
type Journal struct {
	f       *os.File
	Path    string
	attempt string
}

// OpenJournal opens (creating) OUT/journal/<name>.log for appending (the
// caller holds the lock of name, see acquireLock). A torn final line (no
// newline: the process died mid-write) is truncated away first, so new
// lines never merge with it.
func OpenJournal(out, name string) (*Journal, error) {
	dir := filepath.Join(out, results.JournalDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	path := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := truncateTornLine(f); err != nil {
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
func (j *Journal) WriteCell(key string, recs []results.Record, art string) error {
	var buf bytes.Buffer
	for i := range recs {
		b, err := json.Marshal(results.JournalLine{Kind: "r", Cell: key, Attempt: j.attempt, R: &recs[i]})
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
	b, _ := json.Marshal(results.JournalLine{Kind: "done", Cell: key, Attempt: j.attempt, N: len(recs), Art: filepath.ToSlash(art)})
	return j.appendSync(append(b, '\n'))
}

// WriteFail durably appends a failed attempt at a cell (one line, fsync).
func (j *Journal) WriteFail(key string, fc results.FailedCell) error {
	b, err := json.Marshal(results.JournalLine{Kind: "fail", Cell: key, Attempt: j.attempt, Fail: &fc})
	if err != nil {
		return fmt.Errorf("journal: encode failure: %w", err)
	}
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

// WriteResults writes the done records to OUT/results.jsonl atomically
// (one results.Record per line, results.WriteJSONL).
func WriteResults(out string, recs []results.Record) error {
	return fsutil.WriteFileAtomic(filepath.Join(out, "results.jsonl"), func(w io.Writer) error {
		return results.WriteJSONL(w, recs)
	})
}
