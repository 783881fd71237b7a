package reports

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/bench"
)

// AggregatePerturbation is the Perturbation value of a record that
// aggregates over all perturbations (bench.Result's convention).
const AggregatePerturbation = "_agg"

// ReadRecords reads bench.Result records from a run directory (every *.jsonl
// file in it, recursively, in lexical path order) or from one .jsonl/.json
// file. A .json file may hold one array of records. A malformed line is an
// error naming the file and line; an empty run is an error.
func ReadRecords(path string) ([]bench.Result, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	var files []string
	if st.IsDir() {
		err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != path && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // staging directories of unfinished writes
			}
			if !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("records: %s: %w", path, err)
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("records: %s: no .jsonl result files in the run directory", path)
		}
	} else {
		files = []string{path}
	}
	var out []bench.Result
	for _, f := range files {
		rs, err := readRecordFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("records: %s: no result records", path)
	}
	return out, nil
}

func readRecordFile(path string) ([]bench.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".json") {
		var rs []bench.Result
		if err := json.NewDecoder(f).Decode(&rs); err != nil {
			return nil, fmt.Errorf("records: %s: %w", path, err)
		}
		return rs, nil
	}
	return DecodeRecords(f, path)
}

// DecodeRecords reads JSON Lines records from r; name is used in errors.
// Blank lines are skipped. Values may be JSON numbers or the strings
// "NaN", "+Inf", "-Inf" (how NaN travels through JSON).
func DecodeRecords(r io.Reader, name string) ([]bench.Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	var out []bench.Result
	line := 0
	for sc.Scan() {
		line++
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var rec bench.Result
		if err := json.Unmarshal([]byte(b), &rec); err != nil {
			return nil, fmt.Errorf("records: %s:%d: %w", name, line, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("records: %s: %w", name, err)
	}
	return out, nil
}

// groupKey identifies one (task, dataset, split) experiment.
type groupKey struct{ Task, Dataset, Split string }

func (k groupKey) String() string { return k.Task + " / " + k.Dataset + " / " + k.Split }

// distinct returns the sorted distinct values of f over rs.
func distinct(rs []bench.Result, f func(bench.Result) string) []string {
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
func seedList(rs []bench.Result) string {
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
func filter(rs []bench.Result, keep func(bench.Result) bool) []bench.Result {
	var out []bench.Result
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
