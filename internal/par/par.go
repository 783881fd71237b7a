// Package par is cellbench's one parallel-for: work over an index range
// handed out dynamically to a bounded number of goroutines. Results must
// not depend on which goroutine ran which index (write to per-index
// slots, or to per-worker scratch indexed by the worker argument, then
// combine in a fixed order).
package par

import (
	"runtime"
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
// in the calling goroutine, in order.
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
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
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
