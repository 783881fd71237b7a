package reports

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/results"
)

// AggregatePerturbation is the Perturbation value of a record that
// aggregates over all perturbations (results.Record's convention).
const AggregatePerturbation = "_agg"

// ReadRecords reads results.Record records from a run directory (its
// journals, else its results.jsonl, as results.LoadRun does) or from one
// .jsonl file. An empty run is an error.
func ReadRecords(path string) ([]results.Record, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	var out []results.Record
	if st.IsDir() {
		out, err = results.LoadRun(path)
	} else {
		out, err = results.ReadJSONL(path)
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("records: %s: no result records", path)
	}
	return out, nil
}

// groupKey identifies one (task, dataset, split) experiment.
type groupKey struct{ Task, Dataset, Split string }

func (k groupKey) String() string { return k.Task + " / " + k.Dataset + " / " + k.Split }

// distinct returns the sorted distinct values of f over rs.
func distinct(rs []results.Record, f func(results.Record) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		v := f(r)
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// seedList formats the distinct seeds of rs ("0, 1, 2").
func seedList(rs []results.Record) string {
	seen := map[uint64]bool{}
	var s []uint64
	for _, r := range rs {
		if !seen[r.Seed] {
			seen[r.Seed] = true
			s = append(s, r.Seed)
		}
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(parts, ", ")
}

// filter returns the records for which keep is true.
func filter(rs []results.Record, keep func(results.Record) bool) []results.Record {
	var out []results.Record
	for _, r := range rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// formatValue prints a metric value with 4 significant digits, "NaN" for NaN.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e5 || math.Abs(v) < 1e-3:
		return strconv.FormatFloat(v, 'e', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func sortStrings(s []string) { sort.Strings(s) }

// Record is results.Record, the tidy record every report is built from.
type Record = results.Record
