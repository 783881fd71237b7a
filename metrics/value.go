package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// How metric values are spelled in every file cellbench writes (result
// records, results.json/results.csv of the score commands, run artifacts,
// regression baselines). There is exactly one spelling:
//
//   - a finite value is the shortest decimal that reads back to the same
//     float64 (strconv 'g', -1);
//   - NaN ("undefined", always with a reason next to it) is NaN, +∞ is
//     +Inf and −∞ is -Inf — bare in CSV, as JSON strings ("NaN", "+Inf",
//     "-Inf") in JSON, because JSON has no non-finite numbers.
//
// pandas (read_csv, read_json with dtype float) and polars read these
// spellings back as NaN/±inf; Python's json module needs the strings
// mapped (float("NaN"), float("+Inf") accept them).

// FormatValue writes v as described above: "NaN", "+Inf", "-Inf" or the
// shortest round-tripping decimal.
func FormatValue(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64) // strconv spells NaN, +Inf, -Inf exactly so
}

// ParseValue reads what FormatValue writes. It also accepts "Inf",
// "inf", "-inf", "nan" and the empty string (NaN) written by other tools
// (pandas, cell-eval); anything else that is not a number is an error.
func ParseValue(s string) (float64, error) {
	switch s {
	case "", "NaN", "nan", "null", "None":
		return math.NaN(), nil
	case "+Inf", "Inf", "inf", "+inf", "Infinity":
		return math.Inf(1), nil
	case "-Inf", "-inf", "-Infinity":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is neither a number nor NaN/+Inf/-Inf", s)
	}
	return v, nil
}

// Value is a float64 that encodes to JSON as a number when finite and as
// the string "NaN", "+Inf" or "-Inf" otherwise. It decodes what it
// encodes, and also null (as NaN, written by older cellbench files).
type Value float64

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte(`"` + FormatValue(f) + `"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Value) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = Value(math.NaN())
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return fmt.Errorf("metrics: empty string is not a value")
		}
		f, err := ParseValue(s)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		*v = Value(f)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("metrics: value %s: %w", b, err)
	}
	*v = Value(f)
	return nil
}
