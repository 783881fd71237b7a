package data

import (
	"fmt"
	"sort"
	"strconv"
)

// ColumnKind says how a Column stores its values.
type ColumnKind int

const (
	// Categorical columns hold Codes into Categories; code -1 is missing (NaN in pandas).
	Categorical ColumnKind = iota
	// String columns hold one Go string per row.
	String
	// Float columns hold float64 values (NaN is missing).
	Float
	// Int columns hold int64 values.
	Int
	// Bool columns hold booleans.
	Bool
)

func (k ColumnKind) String() string {
	switch k {
	case Categorical:
		return "categorical"
	case String:
		return "string"
	case Float:
		return "float"
	case Int:
		return "int"
	case Bool:
		return "bool"
	}
	return fmt.Sprintf("ColumnKind(%d)", int(k))
}

// Column is one column of an obs/var data frame. Exactly one of the value
// slices matching Kind is set, with one entry per row.
type Column struct {
	Name       string
	Kind       ColumnKind
	Categories []string // Categorical: the levels, in file order
	Ordered    bool     // Categorical: pandas "ordered" flag
	Codes      []int32  // Categorical: index into Categories, -1 = missing
	Strings    []string
	Floats     []float64
	Ints       []int64
	Bools      []bool
}

// Len returns the number of rows.
func (c *Column) Len() int {
	switch c.Kind {
	case Categorical:
		return len(c.Codes)
	case String:
		return len(c.Strings)
	case Float:
		return len(c.Floats)
	case Int:
		return len(c.Ints)
	case Bool:
		return len(c.Bools)
	}
	return 0
}

// StringAt renders row i as a string: the category or string itself, a
// number formatted with strconv 'g', "true"/"false"; a missing category is "".
func (c *Column) StringAt(i int) string {
	switch c.Kind {
	case Categorical:
		if c.Codes[i] < 0 {
			return ""
		}
		return c.Categories[c.Codes[i]]
	case String:
		return c.Strings[i]
	case Float:
		return strconv.FormatFloat(c.Floats[i], 'g', -1, 64)
	case Int:
		return strconv.FormatInt(c.Ints[i], 10)
	case Bool:
		return strconv.FormatBool(c.Bools[i])
	}
	return ""
}

// Labels returns every row rendered with StringAt.
func (c *Column) Labels() []string {
	out := make([]string, c.Len())
	for i := range out {
		out[i] = c.StringAt(i)
	}
	return out
}

// Subset returns a new column with the given rows, in order.
func (c *Column) Subset(rows []int) *Column {
	out := &Column{Name: c.Name, Kind: c.Kind, Categories: c.Categories, Ordered: c.Ordered}
	switch c.Kind {
	case Categorical:
		out.Codes = make([]int32, len(rows))
		for k, r := range rows {
			out.Codes[k] = c.Codes[r]
		}
	case String:
		out.Strings = make([]string, len(rows))
		for k, r := range rows {
			out.Strings[k] = c.Strings[r]
		}
	case Float:
		out.Floats = make([]float64, len(rows))
		for k, r := range rows {
			out.Floats[k] = c.Floats[r]
		}
	case Int:
		out.Ints = make([]int64, len(rows))
		for k, r := range rows {
			out.Ints[k] = c.Ints[r]
		}
	case Bool:
		out.Bools = make([]bool, len(rows))
		for k, r := range rows {
			out.Bools[k] = c.Bools[r]
		}
	}
	return out
}

// LevelCount is one level of a column with how many rows carry it.
type LevelCount struct {
	Level string
	Count int
}

// Levels returns the distinct values of the column with their counts, most
// frequent first (ties by level name). For a categorical column, unused
// categories are reported with count 0 at the end.
func (c *Column) Levels() []LevelCount {
	counts := map[string]int{}
	for i := 0; i < c.Len(); i++ {
		counts[c.StringAt(i)]++
	}
	out := make([]LevelCount, 0, len(counts))
	for l, n := range counts {
		out = append(out, LevelCount{l, n})
	}
	if c.Kind == Categorical {
		for _, l := range c.Categories {
			if _, ok := counts[l]; !ok {
				out = append(out, LevelCount{l, 0})
			}
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Count != out[b].Count {
			return out[a].Count > out[b].Count
		}
		return out[a].Level < out[b].Level
	})
	return out
}

// NewCategorical builds a categorical column from string labels; categories
// are the distinct labels in order of first appearance.
func NewCategorical(name string, labels []string) *Column {
	c := &Column{Name: name, Kind: Categorical, Codes: make([]int32, len(labels))}
	seen := map[string]int32{}
	for i, l := range labels {
		code, ok := seen[l]
		if !ok {
			code = int32(len(c.Categories))
			seen[l] = code
			c.Categories = append(c.Categories, l)
		}
		c.Codes[i] = code
	}
	return c
}

// Frame is an obs or var data frame: a string index and named columns in file order.
type Frame struct {
	IndexName string
	Index     []string
	Columns   []*Column
}

// Len returns the number of rows (the index length).
func (f *Frame) Len() int { return len(f.Index) }

// Column returns the named column or an error listing the available names
// (quoted with Quote, and naming a near-miss of name when there is one).
func (f *Frame) Column(name string) (*Column, error) {
	for _, c := range f.Columns {
		if c.Name == name {
			return c, nil
		}
	}
	names := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		names[i] = c.Name
	}
	hint := ""
	if near := NewLabels("", names).NearMisses(name); len(near) > 0 {
		hint = "; " + QuoteList(near, 3) + " differs only by case, surrounding spaces or Unicode normalisation"
	}
	return nil, fmt.Errorf("no column %s (have %s%s)", Quote(name), QuoteList(names, 0), hint)
}

// Set adds the column or replaces one of the same name.
func (f *Frame) Set(c *Column) {
	for i, old := range f.Columns {
		if old.Name == c.Name {
			f.Columns[i] = c
			return
		}
	}
	f.Columns = append(f.Columns, c)
}

// Subset returns a new frame with the given rows.
func (f *Frame) Subset(rows []int) Frame {
	out := Frame{IndexName: f.IndexName, Index: make([]string, len(rows))}
	for k, r := range rows {
		out.Index[k] = f.Index[r]
	}
	for _, c := range f.Columns {
		out.Columns = append(out.Columns, c.Subset(rows))
	}
	return out
}
