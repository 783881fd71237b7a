package bench

import (
	"context"

	"github.com/cellbench/cellbench/results"
	"github.com/cellbench/cellbench/tasks"
)

// kindRunner runs the cells of the tasks of one kind (tasks.Kind): how
// they are validated, laid out in the grid, named in records and run.
// Grid, Validate and Run dispatch on the task's kind through kindRunners
// and nowhere else.
type kindRunner interface {
	// needsModels reports whether the kind's cells run the suite's models
	// (a suite with such a task must list models).
	needsModels() bool
	// validate checks task t of this kind and the datasets it names.
	validate(s *Suite, t TaskSpec) error
	// cells calls add for each grid cell of task t on dataset d, in grid
	// order (seeds, then models), with the cell's model and the
	// fingerprint of its configuration (part of its key).
	cells(s *Suite, t TaskSpec, d DatasetSpec, add func(m ModelSpec, seed uint64, fp string))
	// split is the Split of the cell's records.
	split(c Cell) string
	// run runs one cell: its records, a one-line summary for the progress
	// log, and its artifact (nil for none).
	run(ctx context.Context, r *Runner, c Cell, p *Prepared) ([]results.Record, string, *artifact, error)
}

// ExternalBackend is the Backend of the records of external models.
const ExternalBackend = "external"

// kindRunners maps every task kind the runner knows to its runner.
var kindRunners = map[tasks.Kind]kindRunner{
	tasks.KindPerturbation: pertRunner{},
	tasks.KindEmbedding:    embedRunner{},
	tasks.KindInContext:    inContextRunner{},
	tasks.KindImputation:   imputeRunner{},
}

// runnerOf returns the runner of a task name (Validate has checked that
// the task and its kind are known).
func runnerOf(task string) kindRunner {
	k, err := tasks.KindOf(task)
	if err != nil {
		panic("bench: " + err.Error())
	}
	r, ok := kindRunners[k]
	if !ok {
		panic("bench: no runner for task kind " + string(k))
	}
	return r
}
