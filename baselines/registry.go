package baselines

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/cellbench/cellbench/tasks"
)

// Names lists the perturbation baselines New knows, in leaderboard order.
var Names = []string{"control", "perturbation-mean", "context-mean", "linear"}

// New returns an unfitted perturbation baseline by name. params are the
// model's hyperparameters as strings (from a suite file or -set): linear
// takes "pca_dim" (int > 0, default 10) and "ridge" (float ≥ 0, default
// 0.1); the other baselines take none. An unknown name or parameter, or a
// bad value, is an error.
func New(name string, params map[string]string) (tasks.PerturbationModel, error) {
	allowed := map[string][]string{"linear": {"pca_dim", "ridge"}}
	for k := range params {
		ok := false
		for _, a := range allowed[name] {
			ok = ok || a == k
		}
		if !ok {
			keys := append([]string(nil), allowed[name]...)
			sort.Strings(keys)
			return nil, fmt.Errorf("model %s: unknown parameter %q (known: %v)", name, k, keys)
		}
	}
	switch name {
	case "control":
		return NewControl(), nil
	case "perturbation-mean":
		return NewPerturbationMean(), nil
	case "context-mean":
		return NewContextMean(), nil
	case "linear":
		dim, ridge := DefaultLinearPCADim, DefaultLinearRidge
		if v, ok := params["pca_dim"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("model linear: pca_dim %q: want an integer > 0", v)
			}
			dim = n
		}
		if v, ok := params["ridge"]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f != f {
				return nil, fmt.Errorf("model linear: ridge %q: want a number ≥ 0", v)
			}
			ridge = f
		}
		return NewLinear(dim, ridge), nil
	}
	return nil, fmt.Errorf("unknown baseline %q (known: %v)", name, Names)
}
