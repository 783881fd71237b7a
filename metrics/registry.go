package metrics

import (
	"fmt"
	"sort"
)

// Direction says which way a metric improves.
type Direction int

const (
	// HigherIsBetter metrics improve upwards (best value usually 1).
	HigherIsBetter Direction = iota
	// LowerIsBetter metrics improve downwards (best value usually 0).
	LowerIsBetter
	// NoDirection metrics are descriptive counts (e.g. de_nsig_real).
	NoDirection
)

func (d Direction) String() string {
	switch d {
	case HigherIsBetter:
		return "higher"
	case LowerIsBetter:
		return "lower"
	}
	return "none"
}

// Kind groups metrics by what they compare.
type Kind int

const (
	// Expression metrics compare pseudobulk expression of predicted and real cells.
	Expression Kind = iota
	// DifferentialExpression metrics compare DE results (Mann–Whitney + BH).
	DifferentialExpression
	// Aggregate metrics exist only across perturbations (pdisc_norm, de_spearman_sig).
	Aggregate
	// BioConservation metrics are scIB bio-conservation metrics of an embedding.
	BioConservation
	// BatchCorrection metrics are scIB batch-correction metrics of an embedding.
	BatchCorrection
	// CellTyping metrics are zero-shot kNN classification scores of an embedding.
	CellTyping
	// Reconstruction metrics score masked-value reconstruction (sCT).
	Reconstruction
)

func (k Kind) String() string {
	return [...]string{"expression", "de", "aggregate", "bio_conservation", "batch_correction", "cell_typing", "reconstruction"}[k]
}

// Info describes one metric: its SPEC-metrics.md name, direction, best
// value, kind, a one-line formula and the source it follows.
type Info struct {
	Name      string
	Direction Direction
	Best      float64 // the ideal value (1 or 0); NaN when NoDirection
	Kind      Kind
	Doc       string // formula, one line
	Source    string // where the definition comes from
}

// Registry is an immutable, ordered set of metric descriptions.
type Registry struct {
	order []string
	byKey map[string]Info
}

// NewRegistry builds a registry; a duplicate or empty name is an error.
func NewRegistry(infos ...[]Info) (*Registry, error) {
	r := &Registry{byKey: map[string]Info{}}
	for _, list := range infos {
		for _, in := range list {
			if in.Name == "" {
				return nil, fmt.Errorf("metrics: metric with empty name")
			}
			if _, dup := r.byKey[in.Name]; dup {
				return nil, fmt.Errorf("metrics: duplicate metric name %q", in.Name)
			}
			r.byKey[in.Name] = in
			r.order = append(r.order, in.Name)
		}
	}
	return r, nil
}

// Lookup returns the metric's description.
func (r *Registry) Lookup(name string) (Info, bool) {
	in, ok := r.byKey[name]
	return in, ok
}

// Names returns every metric name in registration order.
func (r *Registry) Names() []string { return append([]string(nil), r.order...) }

// OfKind returns the names of the metrics of kind k, in registration order.
func (r *Registry) OfKind(k Kind) []string {
	var out []string
	for _, n := range r.order {
		if r.byKey[n].Kind == k {
			out = append(out, n)
		}
	}
	return out
}

// Sorted returns every metric name sorted alphabetically.
func (r *Registry) Sorted() []string {
	out := r.Names()
	sort.Strings(out)
	return out
}

// All is the registry of every metric cellbench computes. Its entries are
// declared per family in registry_*.go files of this package.
var All = mustRegistry()

func mustRegistry() *Registry {
	r, err := NewRegistry(familyInfos()...)
	if err != nil {
		panic(err)
	}
	return r
}

// families lists the per-family declaration functions; each registry_*.go
// file appends its own in an init-free way by being named here.
func familyInfos() [][]Info {
	var out [][]Info
	for _, f := range families {
		out = append(out, f())
	}
	return out
}
