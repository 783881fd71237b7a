package bench

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/tasks"
)

// Cell is one unit of work of a suite: one model on one (task, dataset)
// with one seed. Its Key identifies it across runs: it includes a
// fingerprint of the dataset, task, model and evaluation settings, so a
// changed suite never reuses a stale result on --resume.
type Cell struct {
	Index   int // position in the full grid (0-based)
	Task    TaskSpec
	Dataset DatasetSpec
	Model   ModelSpec
	Seed    uint64
	Key     string
}

// SplitName is the record's Split, as the runner of the cell's task kind
// names it: the task's split parameters without the seed for a
// perturbation task (records of different seeds of one split group
// together), the label and batch columns for an embedding task
// ("label=cell_type,batch=donor").
func (c Cell) SplitName() string { return runnerOf(c.Task.Name).split(c) }

// SplitName describes a task configuration: "holdout=k562,train=0.3".
func SplitName(t tasks.TaskConfig) string {
	t = t.WithDefaults()
	holdout := t.Holdout
	if holdout == "" {
		holdout = "by-seed"
		if t.Name == tasks.PertCombo {
			holdout = "all"
		}
	}
	parts := []string{"holdout=" + holdout}
	switch t.Name {
	case tasks.PertFewShot:
		parts = append(parts, "train="+strconv.FormatFloat(t.TrainFraction, 'g', -1, 64))
	case tasks.PertCombo:
		parts = append(parts, "test="+strconv.FormatFloat(t.TestFraction, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

// Grid lists every cell in a fixed order: tasks in suite order, then each
// task's datasets, then the cells its kind's runner lays out (seeds, then
// models; an embedding task has one cell per (dataset, seed) whose Model is
// the dataset's embedding).
func (s *Suite) Grid() []Cell {
	var out []Cell
	for _, t := range s.Tasks {
		kr := runnerOf(t.Name)
		for _, dn := range t.Datasets {
			d := s.dataset(dn)
			kr.cells(s, t, d, func(m ModelSpec, seed uint64, fp string) {
				key := fmt.Sprintf("%s|%s|%s|seed=%d|%s", t.Name, d.Name, m.ID(), seed, fp)
				out = append(out, Cell{Index: len(out), Task: t, Dataset: d, Model: m, Seed: seed, Key: key})
			})
		}
	}
	return out
}

// Shard selects 1/N of a grid: the cells whose index ≡ I (mod N).
type Shard struct{ I, N int }

// ParseShard parses "i/n" with 0 ≤ i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 ≤ i < n (e.g. 0/4)", s)
	}
	return Shard{i, n}, nil
}

// String is "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// Select returns the cells of the shard, in grid order. Round-robin on the
// grid index spreads every task and model over the shards.
func (s Shard) Select(grid []Cell) []Cell {
	var out []Cell
	for _, c := range grid {
		if c.Index%s.N == s.I {
			out = append(out, c)
		}
	}
	return out
}
