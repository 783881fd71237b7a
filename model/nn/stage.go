package nn

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// InitStage makes store's variables start from the model variables of the
// latest checkpoint in dir: every variable outside the optimizer scope
// ("/optimizers/…", "/AdamOptimizer/…"), the trainer's metrics, the
// global step and the random-number state is offered to store as
// its initial value (a gmodel.Loader consulted before the store's own
// loader, e.g. a resume checkpoint). Optimizer slots and the step counter
// start fresh. It errors when dir holds no checkpoint or no model
// variable. A variable whose shape differs is a GoMLX error at graph
// building (the model must match).
//
// aliases let variables the checkpoint lacks start from one it holds (see
// InitAlias): a teacher copy starting as the student.
func InitStage(store *gmodel.Store, dir string, aliases ...InitAlias) error {
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("init from %s: %w", dir, err)
	}
	tmp := gmodel.NewStore()
	h, err := LoadCheckpointFS(tmp, os.DirFS(dir))
	if err != nil {
		return fmt.Errorf("init from %s: %w", dir, err)
	}
	vars := map[string]*tensors.Tensor{}
	for key, t := range h.LoadedVariables() {
		path, ok := strings.CutPrefix(key, "var:") // the handler's key of a variable
		if ok && isModelVariable(path) {
			vars[path] = t
		}
	}
	if len(vars) == 0 {
		return fmt.Errorf("init from %s: no model variables in its latest checkpoint (is it a trained model directory?)", filepath.Clean(dir))
	}
	store.SetLoader(&stageLoader{vars: vars, next: store.Loader(), aliases: aliases})
	return nil
}

// InitAlias maps the variables under path prefix From to the checkpoint's
// variables under To (both full paths ending in the scope separator, e.g.
// From "/teacher/", To "/").
type InitAlias struct{ From, To string }

// isModelVariable reports whether a variable path holds model weights:
// not optimizer state (the optimizers and Adam scopes), not the trainer's
// metrics, the global step or the random-number state.
func isModelVariable(path string) bool {
	sep := gmodel.ScopeSeparator
	for _, scope := range []string{optimizer.Scope, optimizer.AdamDefaultScope, "metrics"} {
		if strings.HasPrefix(path, sep+scope+sep) {
			return false
		}
	}
	_, name := gmodel.SplitPath(path)
	return name != optimizer.GlobalStepVariableName && !strings.HasPrefix(name, "#")
}

// stageLoader offers a previous stage's weights, then defers to next.
type stageLoader struct {
	vars    map[string]*tensors.Tensor
	next    gmodel.Loader
	used    map[string]bool
	aliases []InitAlias
}

func (l *stageLoader) LoadVariable(store *gmodel.Store, fullPath string) (*tensors.Tensor, bool) {
	if l.next != nil {
		if t, ok := l.next.LoadVariable(store, fullPath); ok {
			return t, true
		}
	}
	key := fullPath
	t, ok := l.vars[key]
	for _, a := range l.aliases {
		if ok {
			break
		}
		if rest, found := strings.CutPrefix(fullPath, a.From); found {
			key = a.To + rest
			if t, ok = l.vars[key]; ok {
				// A copy: two variables must never share (and donate) one buffer.
				c, err := t.LocalClone()
				if err != nil {
					return nil, false
				}
				t = c
			}
		}
	}
	if ok {
		if l.used == nil {
			l.used = map[string]bool{}
		}
		l.used[key] = true
	}
	return t, ok
}

func (l *stageLoader) DeleteVariable(store *gmodel.Store, fullPath string) error {
	delete(l.vars, fullPath)
	if l.next != nil {
		return l.next.DeleteVariable(store, fullPath)
	}
	return nil
}

// InitReport says, after graph building, which of a stage's initial
// variables were used and which were not (e.g. a pre-training head the
// new stage does not have); ok is false when the store was not seeded by
// InitStage.
func InitReport(store *gmodel.Store) (used, unused []string, ok bool) {
	l, isStage := store.Loader().(*stageLoader)
	if !isStage {
		return nil, nil, false
	}
	for p := range l.vars {
		if l.used[p] {
			used = append(used, p)
		} else {
			unused = append(unused, p)
		}
	}
	slices.Sort(used)
	slices.Sort(unused)
	return used, unused, true
}
