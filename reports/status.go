package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/cellbench/cellbench/results"
)

// A report on a run that is not complete (results.RunStatus: failed cells,
// cells not run yet, a shard missing from a merge) says so: a banner under
// the title of leaderboard.md and index.html, and a "Failed cells" section
// with each failed cell's reason. Its tables hold only the done cells, so
// a model whose cells failed has fewer seeds, or no row.

// IncompleteBanner is the banner text of an incomplete run ("" when the
// status is nil or complete).
func IncompleteBanner(s *results.RunStatus) string {
	if s == nil || s.Complete() {
		return ""
	}
	return "Incomplete run — " + strings.TrimPrefix(s.Summary(), "incomplete: ") +
		". Tables and figures show the done cells only; cellbench run --resume completes it."
}

func writeStatusBanner(w io.Writer, s *results.RunStatus) {
	if b := IncompleteBanner(s); b != "" {
		fmt.Fprintf(w, "> **%s**\n\n", b)
	}
}

// failedRows are the failed cells as table rows: task, dataset, model,
// seed, attempts, reason.
func failedRows(s *results.RunStatus) [][]string {
	if s == nil {
		return nil
	}
	var rows [][]string
	for _, f := range s.Failed {
		rows = append(rows, []string{f.Task, f.Dataset, f.Model, fmt.Sprint(f.Seed), fmt.Sprint(max(f.Attempts, 1)), f.Reason})
	}
	return rows
}

var failedHeader = []string{"task", "dataset", "model", "seed", "attempts", "reason"}

func writeFailedMarkdown(w io.Writer, s *results.RunStatus) error {
	rows := failedRows(s)
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n## Failed cells\n\n| %s |\n|%s\n", strings.Join(failedHeader, " | "), strings.Repeat("---|", len(failedHeader)))
	for _, r := range rows {
		for i := range r {
			r[i] = strings.ReplaceAll(r[i], "|", `\|`)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	_, err := fmt.Fprintln(w)
	return err
}

// failedSection is the HTML section of the failed cells (nil when none).
func failedSection(s *results.RunStatus) *Section {
	rows := failedRows(s)
	if len(rows) == 0 {
		return nil
	}
	t := &HTMLTable{Caption: "The latest failure of each cell that is not done; logs of external models are in the run directory's cells/ folder.", Header: failedHeader}
	for _, r := range rows {
		row := make([]TableCell, len(r))
		for i, v := range r {
			row[i] = TableCell{Text: v}
		}
		t.Rows = append(t.Rows, row)
	}
	return &Section{ID: "failed", Heading: fmt.Sprintf("Failed cells (%d)", len(rows)), Table: t}
}
