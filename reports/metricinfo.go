package reports

import (
	"strings"

	"github.com/cellbench/cellbench/metrics"
)

// metricUnit returns the unit of a metric's raw value, for axis labels.
// Expression distances are in log1p-normalised expression units (SPEC-
// metrics.md compares log1p values); counts of genes are "genes".
func metricUnit(name string) string {
	switch {
	case name == "mae" || name == "mae_delta" || name == "energy_distance":
		return "log1p expr."
	case name == "mse" || name == "mse_delta":
		return "(log1p expr.)²"
	case name == "mae_counts":
		return "counts"
	case strings.HasPrefix(name, "de_nsig"):
		return "genes"
	case name == "wall_s" || strings.HasSuffix(name, "_s"):
		return "s"
	}
	return "unitless"
}

// metricDirection returns "higher is better", "lower is better" or "" from
// the metric registry.
func metricDirection(name string) string {
	in, ok := metrics.All.Lookup(name)
	if !ok {
		return ""
	}
	switch in.Direction {
	case metrics.HigherIsBetter:
		return "higher is better"
	case metrics.LowerIsBetter:
		return "lower is better"
	}
	return ""
}

// metricKind returns the registry kind of a metric and whether it is known.
func metricKind(name string) (metrics.Kind, bool) {
	in, ok := metrics.All.Lookup(name)
	return in.Kind, ok
}

// axisLabel is "name (unit; higher is better)".
func axisLabel(name string) string { return name + " " + unitLabel(name) }

// unitLabel is "(unit; direction)" of a metric: the y label of a panel
// whose title already names the metric (metric bars). A full axisLabel
// there is longer than the panel is high, which pushes the aligned panels
// of a grid out of line.
func unitLabel(name string) string {
	l := "(" + metricUnit(name)
	if d := metricDirection(name); d != "" {
		l += "; " + d
	}
	return l + ")"
}
