package nn

import (
	"fmt"
	"slices"
)

// DefaultSetBuckets are the padded set sizes used when sets of varying size
// are batched: every set is padded up to the smallest bucket that holds it,
// so the graph is compiled for at most len(buckets) shapes.
var DefaultSetBuckets = []int{1, 8, 16, 32, 64, 128, 256, 512}

// BucketSize returns the smallest bucket ≥ n (buckets sorted ascending), or
// n rounded up to a multiple of the largest bucket when n exceeds them all.
// It panics on n < 1 or empty buckets.
func BucketSize(n int, buckets []int) int {
	if n < 1 || len(buckets) == 0 {
		panic(fmt.Sprintf("model: BucketSize(%d, %v)", n, buckets))
	}
	for _, b := range buckets {
		if b >= n {
			return b
		}
	}
	last := buckets[len(buckets)-1]
	return (n + last - 1) / last * last
}

// PaddedSet is one set of row indices padded to a fixed size: Rows[i] for
// i < N are real, the rest repeat Rows[0] and have Mask false.
type PaddedSet struct {
	Rows []int
	Mask []bool
	N    int
}

// PadSet pads rows (non-empty) to size (≥ len(rows)) by repeating rows[0]
// with mask false.
func PadSet(rows []int, size int) PaddedSet {
	if len(rows) == 0 || size < len(rows) {
		panic(fmt.Sprintf("model: PadSet: %d rows into size %d", len(rows), size))
	}
	p := PaddedSet{Rows: make([]int, size), Mask: make([]bool, size), N: len(rows)}
	copy(p.Rows, rows)
	for i := range size {
		if i < len(rows) {
			p.Mask[i] = true
		} else {
			p.Rows[i] = rows[0]
		}
	}
	return p
}

// ChunkSets splits rows into consecutive chunks of at most size and pads
// each chunk to BucketSize(len(chunk), buckets) — STATE's "chunk a group
// into sets of cell_set_len; the remainder is a smaller set" (but padded
// with a mask instead of resampled, so no cell is counted twice).
func ChunkSets(rows []int, size int, buckets []int) []PaddedSet {
	if size < 1 {
		panic("model: ChunkSets: size < 1")
	}
	var out []PaddedSet
	for start := 0; start < len(rows); start += size {
		chunk := rows[start:min(start+size, len(rows))]
		out = append(out, PadSet(chunk, BucketSize(len(chunk), buckets)))
	}
	return out
}

// GroupBySize groups set indices by their padded size (ascending sizes), so
// a batch holds sets of one shape.
func GroupBySize(sets []PaddedSet) (sizes []int, bySize map[int][]int) {
	bySize = map[int][]int{}
	for i, s := range sets {
		bySize[len(s.Rows)] = append(bySize[len(s.Rows)], i)
	}
	for k := range bySize {
		sizes = append(sizes, k)
	}
	slices.Sort(sizes)
	return sizes, bySize
}
