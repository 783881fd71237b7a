package scib

import "sort"

// Codes is a categorical encoding of per-cell strings: Names are the
// distinct values sorted (as pandas.Categorical orders them), Code[i] the
// index of cell i's value in Names, Count[c] the number of cells of Names[c].
type Codes struct {
	Names []string
	Code  []int
	Count []int
}

// Encode encodes values as sorted categorical codes.
func Encode(values []string) Codes {
	set := map[string]int{}
	for _, v := range values {
		set[v] = 0
	}
	names := make([]string, 0, len(set))
	for v := range set {
		names = append(names, v)
	}
	sort.Strings(names)
	for i, v := range names {
		set[v] = i
	}
	c := Codes{Names: names, Code: make([]int, len(values)), Count: make([]int, len(names))}
	for i, v := range values {
		k := set[v]
		c.Code[i] = k
		c.Count[k]++
	}
	return c
}

// encodeInts builds Codes from integer labels in [0, m) (e.g. cluster ids),
// naming each level by its number; unused levels are dropped.
func encodeInts(labels []int) Codes {
	maxL := -1
	for _, l := range labels {
		maxL = max(maxL, l)
	}
	remap := make([]int, maxL+1)
	for i := range remap {
		remap[i] = -1
	}
	for _, l := range labels {
		remap[l] = 0
	}
	c := Codes{Code: make([]int, len(labels))}
	for l := range remap {
		if remap[l] == 0 {
			remap[l] = len(c.Names)
			c.Names = append(c.Names, itoa(l))
			c.Count = append(c.Count, 0)
		}
	}
	for i, l := range labels {
		c.Code[i] = remap[l]
		c.Count[remap[l]]++
	}
	return c
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	p := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		p--
		b[p] = '-'
	}
	return string(b[p:])
}

// members returns, for each level, the cell indices carrying it (ascending).
func (c Codes) members() [][]int {
	out := make([][]int, len(c.Names))
	for l, n := range c.Count {
		out[l] = make([]int, 0, n)
	}
	for i, l := range c.Code {
		out[l] = append(out[l], i)
	}
	return out
}

// subset returns the codes of the given cells, re-encoded over the levels
// they use.
func (c Codes) subset(cells []int) Codes {
	vals := make([]string, len(cells))
	for k, i := range cells {
		vals[k] = c.Names[c.Code[i]]
	}
	return Encode(vals)
}
