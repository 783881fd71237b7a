package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// jsonFloat is a float64 whose JSON form is a number when finite and the
// string "NaN", "+Inf" or "-Inf" otherwise (encoding/json cannot encode
// non-finite numbers; NaN is a legitimate "undefined" metric value).
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "+Inf", "Inf":
			*f = jsonFloat(math.Inf(1))
		case "-Inf":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("bench: float value %q is neither a number nor NaN/+Inf/-Inf", s)
		}
		return nil
	}
	if string(b) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("bench: float value %s: %w", b, err)
	}
	*f = jsonFloat(v)
	return nil
}

// resultWire is Result with non-finite-safe floats.
type resultWire struct {
	Suite        string    `json:"suite"`
	Dataset      string    `json:"dataset"`
	Split        string    `json:"split"`
	Task         string    `json:"task"`
	Model        string    `json:"model"`
	Seed         uint64    `json:"seed"`
	Context      string    `json:"context"`
	Perturbation string    `json:"perturbation"`
	Metric       string    `json:"metric"`
	Value        jsonFloat `json:"value"`
	N            int       `json:"n"`
	CILow        jsonFloat `json:"ci_low"`
	CIHigh       jsonFloat `json:"ci_high"`
	WallS        jsonFloat `json:"wall_s"`
	PeakMem      int64     `json:"peak_mem"`
	GitSHA       string    `json:"git_sha"`
	Backend      string    `json:"backend"`
	Warnings     string    `json:"warnings,omitempty"`
}

// MarshalJSON encodes r with its float fields as numbers, or as the
// strings "NaN", "+Inf", "-Inf" when not finite.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultWire{r.Suite, r.Dataset, r.Split, r.Task, r.Model, r.Seed, r.Context,
		r.Perturbation, r.Metric, jsonFloat(r.Value), r.N, jsonFloat(r.CILow), jsonFloat(r.CIHigh),
		jsonFloat(r.WallS), r.PeakMem, r.GitSHA, r.Backend, r.Warnings})
}

// UnmarshalJSON decodes what MarshalJSON writes; float fields also accept
// null (read as NaN).
func (r *Result) UnmarshalJSON(b []byte) error {
	var w resultWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Result{w.Suite, w.Dataset, w.Split, w.Task, w.Model, w.Seed, w.Context, w.Perturbation,
		w.Metric, float64(w.Value), w.N, float64(w.CILow), float64(w.CIHigh), float64(w.WallS),
		w.PeakMem, w.GitSHA, w.Backend, w.Warnings}
	return nil
}
