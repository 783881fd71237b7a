package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cellbench/cellbench/results"
)

// A run directory's writers lock what they write: each shard process holds
// an exclusive flock(2) on OUT/journal/<shard>.lock for as long as it
// runs, so a second `run` of the same shard into the same directory is
// refused (with the holder's pid) instead of interleaving journal lines.
// Shards of one grid still share a directory (each has its own journal
// and lock). The kernel drops the lock when its holder exits, kill -9
// included, so a lock is never stale; the file's text (pid, host, start)
// only names the holder.

// dirLock is a held lock.
type dirLock struct{ f *os.File }

// lockPath is the lock file of a journal owner ("shard-0-of-1").
func lockPath(out, owner string) string {
	return filepath.Join(out, results.JournalDir, owner+".lock")
}

// acquireLock takes the lock of owner in run directory out, or returns an
// error naming the process that holds it.
func acquireLock(out, owner string) (*dirLock, error) {
	path := lockPath(out, owner)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is being written by another cellbench process (%s, lock %s): wait for it to finish, or choose another --out", out, holder, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	text := fmt.Sprintf("pid %d on %s, %s since %s\n", os.Getpid(), host, owner, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(text), 0)
		f.Sync()
	}
	return &dirLock{f: f}, nil
}

func readHolder(f *os.File) string {
	b := make([]byte, 256)
	n, _ := f.ReadAt(b, 0)
	s := strings.TrimSpace(string(b[:n]))
	if s == "" {
		return "holder unknown"
	}
	return s
}

// release drops the lock (the file stays: removing it could let two
// processes lock two different files of the same name).
func (l *dirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// checkNoWriters returns an error when any journal lock of run directory
// out is held (a run is writing it): merge refuses to write into it.
func checkNoWriters(out string) error {
	locks, _ := filepath.Glob(filepath.Join(out, results.JournalDir, "*.lock"))
	for _, p := range locks {
		owner := strings.TrimSuffix(filepath.Base(p), ".lock")
		l, err := acquireLock(out, owner)
		if err != nil {
			return err
		}
		l.release()
	}
	return nil
}
