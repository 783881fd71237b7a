package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/results"
)

// Baseline is a committed regression baseline (bench/baseline/NAME.json):
// expected metric values with tolerances, and wall-clock budgets. Build one
// from a trusted run with NewBaseline; check a run against it with Compare.
type Baseline struct {
	// Suite and Source say what the values came from (free text).
	Suite  string `json:"suite"`
	Source string `json:"source"`
	// Defaults apply to entries that leave a field at zero.
	Defaults BaselineDefaults `json:"defaults"`
	Metrics  []BaselineMetric `json:"metrics"`
	Timings  []BaselineTiming `json:"timings"`
}

// BaselineDefaults are the tolerances used when an entry sets none.
type BaselineDefaults struct {
	// A metric regresses when it moves the wrong way by more than
	// AbsTol + RelTol·|baseline value|.
	AbsTol float64 `json:"abs_tol"`
	RelTol float64 `json:"rel_tol"`
	// A timing regresses when run/baseline > BudgetRatio and the run is
	// also more than FloorS seconds slower (tiny timings are noise).
	BudgetRatio float64 `json:"budget_ratio"`
	FloorS      float64 `json:"floor_s"`
}

// BaselineMetric is one expected value: the mean over seeds of the
// aggregate of (task, dataset, split, model, metric), as Summarize gives.
type BaselineMetric struct {
	Task    string  `json:"task"`
	Dataset string  `json:"dataset"`
	Split   string  `json:"split"`
	Model   string  `json:"model"`
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	// Direction is "higher", "lower" or "none" (a change either way beyond
	// tolerance fails); empty means the metric registry's direction.
	Direction string  `json:"direction,omitempty"`
	AbsTol    float64 `json:"abs_tol,omitempty"`
	RelTol    float64 `json:"rel_tol,omitempty"`
}

// BaselineTiming is a wall-clock budget for one (task, dataset, model):
// the sum over its (split, seed) cells of the cell's wall seconds.
type BaselineTiming struct {
	Task        string  `json:"task"`
	Dataset     string  `json:"dataset"`
	Model       string  `json:"model"`
	WallS       float64 `json:"wall_s"`
	BudgetRatio float64 `json:"budget_ratio,omitempty"`
}

// DefaultBaselineDefaults: 0.02 absolute + 5 % relative on metrics; a 3×
// slowdown budget that must also exceed 5 s (2-core shared CI machines).
var DefaultBaselineDefaults = BaselineDefaults{AbsTol: 0.02, RelTol: 0.05, BudgetRatio: 3, FloorS: 5}

// ReadBaseline reads and validates a baseline file.
func ReadBaseline(path string) (*Baseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var bl Baseline
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bl); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	if len(bl.Metrics) == 0 && len(bl.Timings) == 0 {
		return nil, fmt.Errorf("baseline %s: no metrics and no timings", path)
	}
	if bl.Defaults.BudgetRatio == 0 {
		bl.Defaults.BudgetRatio = DefaultBaselineDefaults.BudgetRatio
	}
	for i, m := range bl.Metrics {
		if m.Direction != "" && m.Direction != "higher" && m.Direction != "lower" && m.Direction != "none" {
			return nil, fmt.Errorf("baseline %s: metric %d (%s/%s/%s): direction %q is not higher, lower or none", path, i, m.Task, m.Model, m.Metric, m.Direction)
		}
		if m.AbsTol < 0 || m.RelTol < 0 {
			return nil, fmt.Errorf("baseline %s: metric %d (%s/%s/%s): negative tolerance", path, i, m.Task, m.Model, m.Metric)
		}
	}
	return &bl, nil
}

// WriteBaseline writes bl as indented JSON (NaN values are not allowed in
// a baseline: NewBaseline leaves NaN metrics out).
func WriteBaseline(w io.Writer, bl *Baseline) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(bl)
}

// timingKey groups records for timing budgets.
type timingKey struct{ Task, Dataset, Model string }

// runTimings sums, per (task, dataset, model), the largest WallS of each
// (split, seed) cell.
func runTimings(rs []results.Record) map[timingKey]float64 {
	type cellKey struct {
		timingKey
		Split string
		Seed  uint64
	}
	cell := map[cellKey]float64{}
	for _, r := range rs {
		k := cellKey{timingKey{r.Task, r.Dataset, r.Model}, r.Split, r.Seed}
		if isFinite(r.WallS) {
			cell[k] = math.Max(cell[k], r.WallS)
		}
	}
	out := map[timingKey]float64{}
	for k, v := range cell {
		out[k.timingKey] += v
	}
	return out
}

// NewBaseline builds a baseline from a trusted run: every finite summary
// cell becomes a metric entry (tolerances from defaults), every (task,
// dataset, model) a timing entry.
func NewBaseline(rs []results.Record, suite, source string, defaults BaselineDefaults) *Baseline {
	bl := &Baseline{Suite: suite, Source: source, Defaults: defaults}
	for _, c := range Summarize(rs) {
		if !isFinite(c.Value) {
			continue
		}
		bl.Metrics = append(bl.Metrics, BaselineMetric{Task: c.Task, Dataset: c.Dataset, Split: c.Split,
			Model: c.Model, Metric: c.Metric, Value: c.Value})
	}
	t := runTimings(rs)
	for k, v := range t {
		if v > 0 {
			bl.Timings = append(bl.Timings, BaselineTiming{Task: k.Task, Dataset: k.Dataset, Model: k.Model, WallS: roundSig(v, 3)})
		}
	}
	sort.Slice(bl.Timings, func(i, j int) bool {
		a, b := bl.Timings[i], bl.Timings[j]
		return a.Task+"\x00"+a.Dataset+"\x00"+a.Model < b.Task+"\x00"+b.Dataset+"\x00"+b.Model
	})
	return bl
}

// KeepOverrides carries what a person set by hand in old — each metric
// entry's Direction, AbsTol and RelTol and each timing's BudgetRatio —
// onto the entries of bl with the same key (task, dataset, split, model,
// metric; task, dataset, model for timings), so that refreshing a
// baseline's values (`compare --write-baseline` over an existing file)
// keeps its per-entry tolerances. Entries of old that bl lacks are
// dropped, and bl's new entries get the defaults. It returns how many
// metric and timing entries kept an override.
func (bl *Baseline) KeepOverrides(old *Baseline) (metrics, timings int) {
	type mkey struct{ Task, Dataset, Split, Model, Metric string }
	om := make(map[mkey]BaselineMetric)
	for _, m := range old.Metrics {
		if m.Direction != "" || m.AbsTol != 0 || m.RelTol != 0 {
			om[mkey{m.Task, m.Dataset, m.Split, m.Model, m.Metric}] = m
		}
	}
	for i, m := range bl.Metrics {
		if o, ok := om[mkey{m.Task, m.Dataset, m.Split, m.Model, m.Metric}]; ok {
			bl.Metrics[i].Direction, bl.Metrics[i].AbsTol, bl.Metrics[i].RelTol = o.Direction, o.AbsTol, o.RelTol
			metrics++
		}
	}
	ot := make(map[timingKey]float64)
	for _, t := range old.Timings {
		if t.BudgetRatio != 0 {
			ot[timingKey{t.Task, t.Dataset, t.Model}] = t.BudgetRatio
		}
	}
	for i, t := range bl.Timings {
		if r, ok := ot[timingKey{t.Task, t.Dataset, t.Model}]; ok {
			bl.Timings[i].BudgetRatio = r
			timings++
		}
	}
	return metrics, timings
}

func roundSig(v float64, digits int) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// Comparison statuses.
const (
	StatusRegressed = "regressed"
	StatusImproved  = "improved"
	StatusSame      = "same"
	StatusMissing   = "missing" // in the baseline, not in the run: a regression
	StatusNew       = "new"     // in the run, not in the baseline: informational
	StatusSlower    = "slower"  // timing beyond budget: a regression
)

// MetricComparison is one baseline metric checked against the run.
type MetricComparison struct {
	BaselineMetric
	Run       float64 // NaN when missing
	Delta     float64 // Run − Value
	Tolerance float64
	Status    string
	// Reason says why a missing metric is missing when a cell of its
	// (task, dataset, model) failed (AddStatus).
	Reason string
}

// TimingComparison is one timing budget checked against the run.
type TimingComparison struct {
	BaselineTiming
	Run    float64
	Ratio  float64
	Status string
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Run, BaselinePath string
	Metrics           []MetricComparison
	Timings           []TimingComparison
	New               []Cell // run cells with no baseline entry
	// Status is the run's completeness (AddStatus; nil when unknown).
	Status *results.RunStatus
}

// AddStatus attaches a run's status: missing metrics of a (task, dataset,
// model) with a failed cell get that cell's reason, and the markdown lists
// the failed cells and says when the run is incomplete.
func (c *Comparison) AddStatus(s *results.RunStatus) {
	c.Status = s
	if s == nil {
		return
	}
	reason := map[[3]string]string{}
	for _, f := range s.Failed {
		k := [3]string{f.Task, f.Dataset, f.Model}
		if _, ok := reason[k]; !ok {
			reason[k] = fmt.Sprintf("cell failed (seed %d): %s", f.Seed, f.Reason)
		}
	}
	for i := range c.Metrics {
		m := &c.Metrics[i]
		if m.Status == StatusMissing {
			m.Reason = reason[[3]string{m.Task, m.Dataset, m.Model}]
		}
	}
}

// Failed reports whether any metric regressed (or went missing) or any
// timing exceeded its budget.
func (c *Comparison) Failed() bool { return c.Regressions() > 0 || c.Slowdowns() > 0 }

// Regressions counts regressed and missing metrics.
func (c *Comparison) Regressions() int {
	n := 0
	for _, m := range c.Metrics {
		if m.Status == StatusRegressed || m.Status == StatusMissing {
			n++
		}
	}
	return n
}

// Slowdowns counts timings beyond budget.
func (c *Comparison) Slowdowns() int {
	n := 0
	for _, t := range c.Timings {
		if t.Status == StatusSlower {
			n++
		}
	}
	return n
}

// Compare checks a run's records against a baseline. A metric regresses
// when it moves against its direction by more than its tolerance
// (AbsTol + RelTol·|baseline|), or either way for direction "none", or
// becomes NaN, or is missing from the run; it improves when it moves the
// right way by more than the tolerance. A timing regresses when run /
// baseline > BudgetRatio and run − baseline > FloorS.
func Compare(rs []results.Record, bl *Baseline) *Comparison {
	cmp := &Comparison{}
	cells := map[[5]string]Cell{}
	for _, c := range Summarize(rs) {
		cells[[5]string{c.Task, c.Dataset, c.Split, c.Model, c.Metric}] = c
	}
	used := map[[5]string]bool{}
	for _, m := range bl.Metrics {
		k := [5]string{m.Task, m.Dataset, m.Split, m.Model, m.Metric}
		mc := MetricComparison{BaselineMetric: m, Run: math.NaN(), Delta: math.NaN()}
		abs, rel := m.AbsTol, m.RelTol
		if abs == 0 && rel == 0 {
			abs, rel = bl.Defaults.AbsTol, bl.Defaults.RelTol
		}
		mc.Tolerance = abs + rel*math.Abs(m.Value)
		dir := m.Direction
		if dir == "" {
			dir = "none"
			if in, ok := metrics.All.Lookup(m.Metric); ok {
				switch in.Direction {
				case metrics.HigherIsBetter:
					dir = "higher"
				case metrics.LowerIsBetter:
					dir = "lower"
				}
			}
		}
		mc.Direction = dir
		c, ok := cells[k]
		switch {
		case !ok:
			mc.Status = StatusMissing
		case !isFinite(c.Value):
			mc.Run = c.Value
			mc.Status = StatusRegressed
		default:
			used[k] = true
			mc.Run = c.Value
			mc.Delta = c.Value - m.Value
			better := mc.Delta
			if dir == "lower" {
				better = -mc.Delta
			}
			switch {
			case dir == "none" && math.Abs(mc.Delta) > mc.Tolerance:
				mc.Status = StatusRegressed
			case dir != "none" && better < -mc.Tolerance:
				mc.Status = StatusRegressed
			case dir != "none" && better > mc.Tolerance:
				mc.Status = StatusImproved
			default:
				mc.Status = StatusSame
			}
		}
		cmp.Metrics = append(cmp.Metrics, mc)
	}
	for k, c := range cells {
		if !used[k] && isFinite(c.Value) {
			found := false
			for _, m := range bl.Metrics {
				if [5]string{m.Task, m.Dataset, m.Split, m.Model, m.Metric} == k {
					found = true
					break
				}
			}
			if !found {
				cmp.New = append(cmp.New, c)
			}
		}
	}
	sort.Slice(cmp.New, func(i, j int) bool {
		a, b := cmp.New[i], cmp.New[j]
		return a.Task+a.Dataset+a.Split+a.Model+a.Metric < b.Task+b.Dataset+b.Split+b.Model+b.Metric
	})
	rt := runTimings(rs)
	for _, t := range bl.Timings {
		tc := TimingComparison{BaselineTiming: t, Run: math.NaN(), Ratio: math.NaN(), Status: StatusMissing}
		if tc.BudgetRatio == 0 {
			tc.BudgetRatio = bl.Defaults.BudgetRatio
		}
		if v, ok := rt[timingKey{t.Task, t.Dataset, t.Model}]; ok {
			tc.Run = v
			if t.WallS > 0 {
				tc.Ratio = v / t.WallS
			}
			tc.Status = StatusSame
			if tc.Ratio > tc.BudgetRatio && v-t.WallS > bl.Defaults.FloorS {
				tc.Status = StatusSlower
			} else if tc.Ratio < 1/tc.BudgetRatio && t.WallS-v > bl.Defaults.FloorS {
				tc.Status = StatusImproved
			}
		}
		cmp.Timings = append(cmp.Timings, tc)
	}
	return cmp
}

// statusRank orders table rows: failures first.
func statusRank(s string) int {
	switch s {
	case StatusRegressed, StatusMissing, StatusSlower:
		return 0
	case StatusImproved:
		return 1
	}
	return 2
}

var statusMark = map[string]string{
	StatusRegressed: "❌ regressed", StatusMissing: "❌ missing", StatusSlower: "❌ slower",
	StatusImproved: "✅ improved", StatusSame: "= same", StatusNew: "➕ new",
}

// WriteMarkdown writes the comparison as GitHub-flavoured markdown, fit for
// a CI log or a pull-request comment: a one-line verdict, the regressions
// and improvements with baseline, run, delta and tolerance, the unchanged
// metrics folded in a <details> block, then the timings.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	reg, slow := c.Regressions(), c.Slowdowns()
	var improved, same int
	for _, m := range c.Metrics {
		switch m.Status {
		case StatusImproved:
			improved++
		case StatusSame:
			same++
		}
	}
	fmt.Fprintf(&b, "## cellbench compare: `%s` vs `%s`\n\n", c.Run, c.BaselinePath)
	verdict := "**PASS**"
	if c.Failed() {
		verdict = "**FAIL**"
	}
	fmt.Fprintf(&b, "%s — %d metrics: %d regressed, %d improved, %d same; %d timings: %d beyond budget; %d new metrics not in the baseline.\n\n",
		verdict, len(c.Metrics), reg, improved, same, len(c.Timings), slow, len(c.New))
	if banner := IncompleteBanner(c.Status); banner != "" {
		fmt.Fprintf(&b, "> **%s**\n\n", banner)
	}
	if c.Status != nil && len(c.Status.Failed) > 0 {
		var fb strings.Builder
		writeFailedMarkdown(&fb, c.Status)
		b.WriteString(strings.TrimPrefix(strings.Replace(fb.String(), "## Failed cells", "### Failed cells", 1), "\n"))
		b.WriteString("\n")
	}
	ms := append([]MetricComparison(nil), c.Metrics...)
	sort.SliceStable(ms, func(i, j int) bool { return statusRank(ms[i].Status) < statusRank(ms[j].Status) })
	header := "| status | task | dataset | split | model | metric | better | baseline | run | Δ (run − baseline) | tolerance |\n|---|---|---|---|---|---|---|---:|---:|---:|---:|\n"
	row := func(m MetricComparison) string {
		mark := statusMark[m.Status]
		if m.Reason != "" {
			mark += " (cell failed)"
		}
		return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | ±%s |\n", mark, m.Task, m.Dataset, m.Split,
			m.Model, m.Metric, m.Direction, formatValue(m.Value), formatValue(m.Run), signed(m.Delta), formatValue(m.Tolerance))
	}
	var changed, unchanged []MetricComparison
	for _, m := range ms {
		if m.Status == StatusSame {
			unchanged = append(unchanged, m)
		} else {
			changed = append(changed, m)
		}
	}
	if len(changed) > 0 {
		b.WriteString("### Metrics that changed beyond tolerance\n\n" + header)
		for _, m := range changed {
			b.WriteString(row(m))
		}
		b.WriteString("\n")
	}
	if len(unchanged) > 0 {
		fmt.Fprintf(&b, "<details><summary>%d metrics within tolerance</summary>\n\n%s", len(unchanged), header)
		for _, m := range unchanged {
			b.WriteString(row(m))
		}
		b.WriteString("\n</details>\n\n")
	}
	if len(c.Timings) > 0 {
		ts := append([]TimingComparison(nil), c.Timings...)
		sort.SliceStable(ts, func(i, j int) bool { return statusRank(ts[i].Status) < statusRank(ts[j].Status) })
		b.WriteString("### Timings (sum of cell wall-clock seconds per task, dataset, model)\n\n" +
			"| status | task | dataset | model | baseline s | run s | ratio | budget ratio |\n|---|---|---|---|---:|---:|---:|---:|\n")
		for _, t := range ts {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", statusMark[t.Status], t.Task, t.Dataset, t.Model,
				formatValue(t.WallS), formatValue(t.Run), formatValue(t.Ratio), formatValue(t.BudgetRatio))
		}
		b.WriteString("\n")
	}
	if len(c.New) > 0 {
		fmt.Fprintf(&b, "<details><summary>%d new metrics (not in the baseline, not checked)</summary>\n\n| task | dataset | split | model | metric | run |\n|---|---|---|---|---|---:|\n", len(c.New))
		for _, n := range c.New {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", n.Task, n.Dataset, n.Split, n.Model, n.Metric, formatValue(n.Value))
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func signed(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	if v > 0 {
		return "+" + formatValue(v)
	}
	return formatValue(v)
}

// FailureSummary is a one-line description of the failures, for the
// command's error message: the count and the worst regressions.
func (c *Comparison) FailureSummary() string {
	var parts []string
	ms := append([]MetricComparison(nil), c.Metrics...)
	sort.SliceStable(ms, func(i, j int) bool {
		// Largest excess over tolerance first; missing metrics last.
		return excess(ms[i]) > excess(ms[j])
	})
	for _, m := range ms {
		if len(parts) == 3 {
			break
		}
		switch m.Status {
		case StatusRegressed:
			parts = append(parts, fmt.Sprintf("%s %s/%s/%s %s → %s (tolerance ±%s)", m.Metric, m.Task, m.Dataset, m.Model,
				formatValue(m.Value), formatValue(m.Run), formatValue(m.Tolerance)))
		case StatusMissing:
			if m.Reason != "" {
				parts = append(parts, fmt.Sprintf("%s %s/%s/%s missing: %s", m.Metric, m.Task, m.Dataset, m.Model, m.Reason))
			} else {
				parts = append(parts, fmt.Sprintf("%s %s/%s/%s missing from the run", m.Metric, m.Task, m.Dataset, m.Model))
			}
		}
	}
	for _, t := range c.Timings {
		if t.Status == StatusSlower && len(parts) < 5 {
			parts = append(parts, fmt.Sprintf("%s/%s/%s took %ss vs %ss (%.1f× > budget %.1f×)", t.Task, t.Dataset, t.Model,
				formatValue(t.Run), formatValue(t.WallS), t.Ratio, t.BudgetRatio))
		}
	}
	return fmt.Sprintf("%d metric regressions beyond tolerance, %d slowdowns beyond budget: %s", c.Regressions(), c.Slowdowns(), strings.Join(parts, "; "))
}

func excess(m MetricComparison) float64 {
	if m.Status == StatusMissing {
		return -1
	}
	if m.Status != StatusRegressed {
		return -2
	}
	if math.IsNaN(m.Delta) {
		return 0 // NaN runs: after the finite regressions (which exceed 0)
	}
	return math.Abs(m.Delta) - m.Tolerance
}
