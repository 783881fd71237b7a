package results

import (
	"encoding/json"
	"io"

	"github.com/cellbench/cellbench/metrics"
)

// AggregatePerturbation is the Perturbation of a record that aggregates
// over all perturbations of its (dataset, split, task, model, seed), or of
// a record whose task has no perturbations (embedding scores).
const AggregatePerturbation = "_agg"

// Record is one tidy result: one metric value of one model on one
// (dataset, split, task, seed), for one context and perturbation, or the
// aggregate over them when Perturbation is AggregatePerturbation. Every
// table and figure is derived from these rows. Value, CILow, CIHigh and
// WallS are encoded as metrics.Value (a number, or "NaN"/"+Inf"/"-Inf");
// a NaN value carries its reason in Warnings.
type Record struct {
	Suite        string  `json:"suite"`
	Dataset      string  `json:"dataset"`
	Split        string  `json:"split"`
	Task         string  `json:"task"`
	Model        string  `json:"model"`
	Seed         uint64  `json:"seed"`
	Context      string  `json:"context"`
	Perturbation string  `json:"perturbation"`
	Metric       string  `json:"metric"`
	Value        float64 `json:"value"`
	N            int     `json:"n"`
	CILow        float64 `json:"ci_low"`
	CIHigh       float64 `json:"ci_high"`
	WallS        float64 `json:"wall_s"`
	PeakMem      int64   `json:"peak_mem"`
	GitSHA       string  `json:"git_sha"`
	Backend      string  `json:"backend"`
	Warnings     string  `json:"warnings,omitempty"`
	// MaskRatio is the fraction of entries (impute-genes) or cells
	// (impute-cells) masked in an imputation record; 0 (omitted) for
	// other tasks. Reports draw MCC against it.
	MaskRatio float64 `json:"mask_ratio,omitempty"`
	// Prompt names the prompt variant of an in-context record: "matched"
	// (cells of the requested perturbation in the prompt context), "none"
	// or "wrong" (cells of another perturbation); which context and cells
	// each seed drew is in the run's split file. "" (omitted) for other
	// tasks and for models that ignore prompts.
	Prompt string `json:"prompt,omitempty"`
}

// ModelVariant is the name tables give the model of a record: model, or
// "model [prompt=P]" for an in-context record with prompt variant P, so
// that the variants of one model are rows of their own.
func ModelVariant(model, prompt string) string {
	if prompt == "" {
		return model
	}
	return model + " [prompt=" + prompt + "]"
}

// recordWire is Record with metrics.Value floats.
type recordWire struct {
	Suite        string        `json:"suite"`
	Dataset      string        `json:"dataset"`
	Split        string        `json:"split"`
	Task         string        `json:"task"`
	Model        string        `json:"model"`
	Seed         uint64        `json:"seed"`
	Context      string        `json:"context"`
	Perturbation string        `json:"perturbation"`
	Metric       string        `json:"metric"`
	Value        metrics.Value `json:"value"`
	N            int           `json:"n"`
	CILow        metrics.Value `json:"ci_low"`
	CIHigh       metrics.Value `json:"ci_high"`
	WallS        metrics.Value `json:"wall_s"`
	PeakMem      int64         `json:"peak_mem"`
	GitSHA       string        `json:"git_sha"`
	Backend      string        `json:"backend"`
	Warnings     string        `json:"warnings,omitempty"`
	MaskRatio    float64       `json:"mask_ratio,omitempty"`
	Prompt       string        `json:"prompt,omitempty"`
}

// MarshalJSON encodes r with its float fields as metrics.Value.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordWire{r.Suite, r.Dataset, r.Split, r.Task, r.Model, r.Seed, r.Context,
		r.Perturbation, r.Metric, metrics.Value(r.Value), r.N, metrics.Value(r.CILow), metrics.Value(r.CIHigh),
		metrics.Value(r.WallS), r.PeakMem, r.GitSHA, r.Backend, r.Warnings, r.MaskRatio, r.Prompt})
}

// UnmarshalJSON decodes what MarshalJSON writes (and null as NaN, as
// older files have it).
func (r *Record) UnmarshalJSON(b []byte) error {
	var w recordWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Record{w.Suite, w.Dataset, w.Split, w.Task, w.Model, w.Seed, w.Context, w.Perturbation,
		w.Metric, float64(w.Value), w.N, float64(w.CILow), float64(w.CIHigh), float64(w.WallS),
		w.PeakMem, w.GitSHA, w.Backend, w.Warnings, w.MaskRatio, w.Prompt}
	return nil
}

// WriteJSONL writes one record per line (JSON Lines).
func WriteJSONL(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	for i := range recs {
		if err := enc.Encode(recs[i]); err != nil {
			return err
		}
	}
	return nil
}
