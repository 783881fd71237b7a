package bench

import (
	"sort"

	"github.com/cellbench/cellbench/baselines"
	"github.com/cellbench/cellbench/tasks"
)

// ModelFactory builds an unfitted model from its suite parameters.
type ModelFactory func(params map[string]string) (tasks.PerturbationModel, error)

type modelEntry struct {
	backend string // "cpu" for pure-Go numerics, "go"/"xla" for GoMLX models
	factory ModelFactory
}

// modelRegistry holds every model a suite can name. Add a model here (one
// line) when its package lands; the backend is written into each record.
var modelRegistry = map[string]modelEntry{}

func init() {
	for _, name := range baselines.Names {
		name := name
		modelRegistry[name] = modelEntry{backend: "cpu", factory: func(p map[string]string) (tasks.PerturbationModel, error) {
			return baselines.New(name, p)
		}}
	}
}

// RegisterModel adds a model under name (for models outside this package
// and for tests). It panics on a duplicate name (programmer error).
func RegisterModel(name, backend string, f ModelFactory) {
	if _, dup := modelRegistry[name]; dup {
		panic("bench: duplicate model " + name)
	}
	modelRegistry[name] = modelEntry{backend: backend, factory: f}
}

// ModelNames lists the registered models, sorted.
func ModelNames() []string {
	out := make([]string, 0, len(modelRegistry))
	for n := range modelRegistry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
