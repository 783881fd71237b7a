package scib

import (
	"runtime"
	"sync"
)

// workerCount returns the number of goroutines to use: w if positive,
// otherwise GOMAXPROCS.
func workerCount(w int) int {
	if w > 0 {
		return w
	}
	return runtime.GOMAXPROCS(0)
}

// parallelRange calls fn(worker, lo, hi) on contiguous chunks of [0, n)
// handed out dynamically (chunk rows at a time) to workers goroutines, and
// waits for all of them. Each worker index in [0, workers) is used by one
// goroutine only, so fn may keep per-worker scratch indexed by it.
func parallelRange(n, workers, chunk int, fn func(worker, lo, hi int)) {
	if workers < 1 {
		workers = 1
	}
	if chunk < 1 {
		chunk = 1
	}
	if workers == 1 || n <= chunk {
		for lo := 0; lo < n; lo += chunk {
			fn(0, lo, min(n, lo+chunk))
		}
		return
	}
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				mu.Lock()
				lo := next
				next += chunk
				mu.Unlock()
				if lo >= n {
					return
				}
				fn(w, lo, min(n, lo+chunk))
			}
		}(w)
	}
	wg.Wait()
}
