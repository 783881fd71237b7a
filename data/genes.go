package data

import (
	"fmt"
)

// AlignGenes returns perm such that other[perm[j]] == ref[j] for every j,
// so that columns of a matrix over other can be reordered to ref's order
// with SubsetCols(perm). It errors when the two sets differ, listing (up to
// 10 of) the missing and extra genes, or when either list has duplicates.
func AlignGenes(ref, other []string) ([]int, error) {
	pos := make(map[string]int, len(other))
	for j, g := range other {
		if k, dup := pos[g]; dup {
			return nil, fmt.Errorf("duplicate gene %s at indices %d and %d", Quote(g), k, j)
		}
		pos[g] = j
	}
	perm := make([]int, len(ref))
	var missing []string
	seen := make(map[string]bool, len(ref))
	for j, g := range ref {
		if seen[g] {
			return nil, fmt.Errorf("duplicate gene %s in reference", Quote(g))
		}
		seen[g] = true
		k, ok := pos[g]
		if !ok {
			missing = append(missing, g)
			continue
		}
		perm[j] = k
	}
	var extra []string
	for _, g := range other {
		if !seen[g] {
			extra = append(extra, g)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		return nil, fmt.Errorf("gene sets differ: %d missing (%s), %d extra (%s)",
			len(missing), QuoteList(missing, 10), len(extra), QuoteList(extra, 10))
	}
	return perm, nil
}

// FirstOrderDifference returns the first index where a and b differ, or -1
// when they are equal (same length and order).
func FirstOrderDifference(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// ReorderGenes returns d with its genes put in the order of ref (X, layers
// and var are permuted). It errors like AlignGenes when the sets differ.
func ReorderGenes(d *Dataset, ref []string) (*Dataset, error) {
	if FirstOrderDifference(ref, d.Var.Index) < 0 {
		return d, nil
	}
	perm, err := AlignGenes(ref, d.Var.Index)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name(), err)
	}
	out := *d
	out.X = d.X.SubsetCols(perm)
	if len(d.Layers) > 0 {
		out.Layers = map[string]*CSR{}
		for k, l := range d.Layers {
			out.Layers[k] = l.SubsetCols(perm)
		}
	}
	out.Var = d.Var.Subset(perm)
	return &out, nil
}
