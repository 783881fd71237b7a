package par

import (
	"strings"
	"sync/atomic"
	"testing"
)

// Every index is visited exactly once, whatever the worker count and chunk,
// and a worker index is never used by two goroutines at once.
func TestRangeVisitsEachIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, workers, chunk int }{
		{0, 4, 1}, {1, 4, 1}, {7, 1, 3}, {100, 3, 1}, {100, 8, 7}, {1000, 0, 16}, {5, 16, 2},
	} {
		seen := make([]atomic.Int32, tc.n)
		busy := make([]atomic.Int32, Workers(tc.workers))
		Range(tc.n, tc.workers, tc.chunk, func(w, lo, hi int) {
			if busy[w].Add(1) != 1 {
				t.Errorf("%+v: worker %d used by two goroutines", tc, w)
			}
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
			busy[w].Add(-1)
		})
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("%+v: index %d visited %d times", tc, i, c)
			}
		}
	}
}

func TestForAndForWorker(t *testing.T) {
	out := make([]int, 50)
	For(50, 4, func(i int) { out[i] = i * i })
	for i, v := range out {
		if v != i*i {
			t.Fatalf("For: out[%d] = %d", i, v)
		}
	}
	var sum atomic.Int64
	ForWorker(50, 3, func(w, i int) {
		if w < 0 || w >= 3 {
			t.Errorf("worker %d out of range", w)
		}
		sum.Add(int64(i))
	})
	if sum.Load() != 49*50/2 {
		t.Fatalf("ForWorker sum %d", sum.Load())
	}
}

// TestRangeWorkerPanicReachesCaller: a panic in a worker goroutine is
// raised again in the caller (where a command's recover can turn it into
// an error) instead of ending the process.
func TestRangeWorkerPanicReachesCaller(t *testing.T) {
	defer func() {
		v := recover()
		p, ok := v.(*WorkerPanic)
		if !ok {
			t.Fatalf("recovered %T %v, want *WorkerPanic", v, v)
		}
		if p.Value != "boom at 700" || !strings.Contains(p.Error(), "par_test.go:") {
			t.Errorf("panic %q (value %v)", p.Error(), p.Value)
		}
	}()
	Range(1000, 4, 10, func(_, lo, hi int) {
		if lo <= 700 && 700 < hi {
			panic("boom at 700")
		}
	})
	t.Fatal("Range returned normally")
}
