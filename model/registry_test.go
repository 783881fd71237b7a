package model

import (
	"strings"
	"testing"

	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

// Names are unique, every entry has a table and a constructor, and each
// model implements the interface of every kind it declares (built with its
// default configuration).
func TestRegistryEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range All {
		if seen[e.Name] {
			t.Errorf("model %q registered twice", e.Name)
		}
		seen[e.Name] = true
		if e.Params == nil || e.New == nil || len(e.Kinds) == 0 {
			t.Fatalf("model %q: incomplete entry", e.Name)
		}
		if e.Params.Model != e.Name {
			t.Errorf("model %q: its table is named %q", e.Name, e.Params.Model)
		}
		if (e.Load == nil) != (e.MetaFile == "") {
			t.Errorf("model %q: Load and MetaFile must be set together", e.Name)
		}
		cfg, err := e.Resolve(nil)
		if err != nil {
			t.Fatalf("%s: default config: %v", e.Name, err)
		}
		for _, k := range e.Kinds {
			var err error
			switch k {
			case tasks.KindPerturbation:
				_, err = e.NewPerturbation(cfg, nn.Runtime{})
			case tasks.KindEmbedding:
				_, err = e.NewEmbedder(cfg, nn.Runtime{})
			case tasks.KindInContext:
				_, err = e.NewInContext(cfg, nn.Runtime{})
			case tasks.KindImputation:
				_, err = e.NewImputer(cfg, nn.Runtime{})
			default:
				t.Errorf("%s: unknown kind %q", e.Name, k)
			}
			if err != nil {
				t.Errorf("%s as %s: %v", e.Name, k, err)
			}
		}
	}
}

// Bad names, parameters and kinds are errors that name the problem
// (parameter ranges are each table's Check).
func TestRegistryErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"nope", nil, `unknown model "nope"`},
		{"linear", map[string]string{"pca_dim": "0"}, "pca_dim=0: want a value > 0"},
		{"linear", map[string]string{"ridge": "-1"}, "ridge=-1: want a value ≥ 0"},
		{"linear", map[string]string{"ridge": "x"}, "ridge"},
		{"control", map[string]string{"ridge": "1"}, "control"},
		{"state", map[string]string{"config": "huge"}, `unknown config "huge"`},
	} {
		e, err := Lookup(c.name)
		if err == nil {
			_, err = e.Resolve(c.params)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want one containing %q", c.name, c.params, err, c.want)
		}
	}
	e, _ := Lookup("linear")
	cfg, _ := e.Resolve(nil)
	if _, err := e.NewEmbedder(cfg, nn.Runtime{}); err == nil || !strings.Contains(err.Error(), "does not run embedding tasks") {
		t.Errorf("linear as an embedder: %v", err)
	}
	if _, err := e.LoadCheckpoint("/nonexistent", nn.Runtime{}); err == nil || !strings.Contains(err.Error(), "has no checkpoints") {
		t.Errorf("linear checkpoint: %v", err)
	}
	if got := Names(tasks.KindPerturbation); len(got) < 5 || got[0] != "control" {
		t.Errorf("perturbation models %v", got)
	}
}
