// Package par is cellbench's one parallel-for: work over an index range
// handed out dynamically to a bounded number of goroutines. Results must
// not depend on which goroutine ran which index (write to per-index
// slots, or to per-worker scratch indexed by the worker argument, then
// combine in a fixed order).
package par

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Workers returns w if positive, else GOMAXPROCS.
func Workers(w int) int {
	if w > 0 {
		return w
	}
	return runtime.GOMAXPROCS(0)
}

// Range calls fn(worker, lo, hi) on contiguous chunks [lo, hi) of [0, n),
// chunk indices at a time, handed out dynamically to Workers(workers)
// goroutines, and waits for all of them. Each worker index in [0,
// Workers(workers)) is used by one goroutine only, so fn may keep
// per-worker scratch indexed by it. With one worker (or n ≤ chunk) it runs
// in the calling goroutine, in order. A panic of fn in a worker goroutine
// stops the hand-out of work and is raised again in the calling goroutine
// as a *WorkerPanic once every worker has returned, so a caller's recover
// sees it.
func Range(n, workers, chunk int, fn func(worker, lo, hi int)) {
	workers = Workers(workers)
	if chunk < 1 {
		chunk = 1
	}
	if workers == 1 || n <= chunk {
		for lo := 0; lo < n; lo += chunk {
			fn(0, lo, min(n, lo+chunk))
		}
		return
	}
	workers = min(workers, (n+chunk-1)/chunk)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[WorkerPanic]
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					failed.CompareAndSwap(nil, &WorkerPanic{Value: v, Site: callerSite()})
					next.Store(int64(n)) // hand out no more work
				}
			}()
			for {
				lo := int(next.Add(int64(chunk)) - int64(chunk))
				if lo >= n {
					return
				}
				fn(w, lo, min(n, lo+chunk))
			}
		}(w)
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		panic(p)
	}
}

// WorkerPanic is what Range panics with, in the calling goroutine, when fn
// panicked in a worker goroutine: a panic there would end the process
// before any recover of the caller could see it (cellbench's commands and
// the suite runner recover panics into errors). Site is the file:line
// where the worker panicked.
type WorkerPanic struct {
	Value any
	Site  string
}

func (p *WorkerPanic) Error() string {
	return fmt.Sprintf("%v (in a parallel worker at %s)", p.Value, p.Site)
}

// callerSite returns file:line of the innermost frame outside the Go
// runtime and this function's deferred caller.
func callerSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") {
			return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

// ForWorker calls fn(worker, i) for every i in [0, n), one index at a
// time (see Range).
func ForWorker(n, workers int, fn func(worker, i int)) {
	Range(n, workers, 1, func(w, lo, _ int) { fn(w, lo) })
}

// For calls fn(i) for every i in [0, n) on up to Workers(workers)
// goroutines (see Range).
func For(n, workers int, fn func(i int)) {
	Range(n, workers, 1, func(_, lo, _ int) { fn(lo) })
}
