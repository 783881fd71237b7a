package nn

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// A teacher copy of a model (self-distillation, e.g. STACK's in-context
// post-training) is the same graph-building function called a second time
// under a scope such as "/teacher": its variables mirror the student's
// paths with the prefix replaced. FreezeVariables makes them
// non-trainable, InitAlias (TrainOptions.InitAliases) starts them from the
// same checkpoint variables as the student, and UpdateEMA moves them
// toward the student inside the training graph.

// FreezeVariables marks every variable of store whose path starts with
// prefix (e.g. "/teacher/") as not trainable, so the optimizer neither
// computes its gradient nor updates it. Call it from the model function,
// after building the variables and before the optimizer builds the
// gradients. It returns the number of variables frozen.
func FreezeVariables(store *gmodel.Store, prefix string) int {
	n := 0
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Path(), prefix) && v.Trainable {
			v.SetTrainable(false)
			n++
		}
	}
	return n
}

// UpdateEMA adds to the training graph g an exponential-moving-average
// update of every variable under teacherPrefix toward the variable of the
// same path under studentPrefix:
//
//	t ← decay·t + (1 − decay)·s    at steps where step mod every = 0
//
// where step is the global step before this update and s the student's
// value before this step's optimizer update (STACK updates in
// on_before_optimizer_step, so the same). every ≤ 0 never updates (a
// frozen teacher). A teacher variable without a student counterpart, or
// with another shape, panics (programmer error). It returns the number of
// teacher variables updated.
func UpdateEMA(store *gmodel.Store, g *Graph, teacherPrefix, studentPrefix string, decay float64, every int) int {
	if every <= 0 {
		return 0
	}
	if !(decay >= 0 && decay <= 1) {
		panic(fmt.Sprintf("model: UpdateEMA: decay %g outside [0,1]", decay))
	}
	step := optimizer.GetGlobalStepVar(store).NodeValue(g)
	due := Equal(ModScalar(step, int64(every)), ZerosLike(step))
	n := 0
	var teachers []*gmodel.Variable
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Path(), teacherPrefix) {
			teachers = append(teachers, v)
		}
	}
	for _, t := range teachers {
		sp := studentPrefix + strings.TrimPrefix(t.Path(), teacherPrefix)
		s := store.GetVariable(sp)
		if s == nil || !s.Shape().Equal(t.Shape()) {
			panic(fmt.Sprintf("model: UpdateEMA: teacher variable %s has no student %s of shape %s", t.Path(), sp, t.Shape()))
		}
		if !t.DType().IsFloat() {
			continue
		}
		tv, sv := t.NodeValue(g), s.NodeValue(g)
		ema := Add(MulScalar(tv, decay), MulScalar(sv, 1-decay))
		t.SetNodeValue(Where(BroadcastToShape(due, tv.Shape()), ema, tv))
		n++
	}
	return n
}

// termsScope is where LogTerm keeps the loss terms: under the optimizer
// scope, so they are never model variables (InitStage skips them).
const termsScope = "loss_terms"

// LogTerm records a scalar of the training graph — a component of the loss
// — so that Train copies its value after every step into
// StepRecord.Terms[name] (and history.json). value must be a scalar.
func LogTerm(scope *gmodel.Scope, name string, value *Node) {
	if !value.Shape().IsScalar() {
		panic(fmt.Sprintf("model: LogTerm %q: want a scalar, got %s", name, value.Shape()))
	}
	scope.Store().RootScope().At(optimizer.Scope).At(termsScope).VariableWithValue(name, float32(0)).
		SetTrainable(false).SetNodeValue(ConvertDType(value, dtypes.Float32))
}

// readTerms returns the LogTerm values of the last step (nil when none).
func readTerms(store *gmodel.Store) map[string]float64 {
	prefix := gmodel.ScopeSeparator + optimizer.Scope + gmodel.ScopeSeparator + termsScope + gmodel.ScopeSeparator
	var out map[string]float64
	for v := range store.IterVariables() {
		name, ok := strings.CutPrefix(v.Path(), prefix)
		if !ok {
			continue
		}
		t, err := v.Value()
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]float64{}
		}
		out[name] = scalarFloat(t)
	}
	return out
}
