package app

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/cellbench/cellbench/reports"
	"github.com/cellbench/cellbench/results"
)

// LeaderboardResult is a run's leaderboard as cellbench report writes it.
type LeaderboardResult struct {
	Markdown string   `json:"markdown"` // leaderboard.md
	Records  int      `json:"records"`
	Tasks    []string `json:"tasks"`
	Datasets []string `json:"datasets"`
	Models   []string `json:"models"`
}

// LeaderboardTitle is the title cellbench report gives a leaderboard of
// the run or file name.
func LeaderboardTitle(name string) string { return "Leaderboard — " + name }

// Leaderboard reads a run's results.jsonl (results.ParseJSONL) and writes
// its leaderboard with reports.Leaderboard, titled LeaderboardTitle(f.Name):
// the leaderboard.md that cellbench report writes for the same records and
// title. It errors on a bad line (naming it), on a file without records and
// on records without any leaderboard metric.
func Leaderboard(f File) (*LeaderboardResult, error) {
	recs, err := results.ParseJSONL(f.Bytes, f.Name)
	if err != nil {
		return nil, fmt.Errorf("leaderboard: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("leaderboard: %s: no result records", f.Name)
	}
	var b bytes.Buffer
	if err := reports.Leaderboard(recs, &b, reports.LeaderboardOptions{Title: LeaderboardTitle(f.Name)}); err != nil {
		return nil, fmt.Errorf("leaderboard: %s: %w", f.Name, err)
	}
	out := &LeaderboardResult{Markdown: b.String(), Records: len(recs)}
	for _, r := range recs {
		out.Tasks = appendNew(out.Tasks, r.Task)
		out.Datasets = appendNew(out.Datasets, r.Dataset)
		out.Models = appendNew(out.Models, results.ModelVariant(r.Model, r.Prompt))
	}
	return out, nil
}

func appendNew(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}
