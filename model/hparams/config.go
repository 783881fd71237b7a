package hparams

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Param is one hyperparameter of a model: its key (snake_case, as typed in
// -set), its default value (int, float64, bool or string — the type of the
// default is the type of the parameter) and a one-line doc.
type Param struct {
	Key     string
	Default any
	Doc     string
	// Check, if set, validates the resolved value (of the default's type)
	// and says what is wrong with it, e.g. "want an integer > 0".
	Check func(v any) error
}

// Positive is a Check for an int or float64 parameter that must be > 0.
func Positive(v any) error {
	switch x := v.(type) {
	case int:
		if x > 0 {
			return nil
		}
	case float64:
		if x > 0 {
			return nil
		}
	}
	return fmt.Errorf("want a value > 0")
}

// NonNegative is a Check for an int or float64 parameter that must be ≥ 0
// (and not NaN).
func NonNegative(v any) error {
	switch x := v.(type) {
	case int:
		if x >= 0 {
			return nil
		}
	case float64:
		if x >= 0 {
			return nil
		}
	}
	return fmt.Errorf("want a value ≥ 0")
}

// Table is a model's one documented hyperparameter table: the defaults and
// the named configs (e.g. "tiny" for CI, "paper" for the published sizes),
// each named config listing only the keys it changes.
type Table struct {
	Model  string
	Params []Param
	Named  map[string]map[string]any
}

// Config is a resolved set of hyperparameter values for one Table. Read
// values with Int, Float, Bool and Str; they panic on an unknown key or a
// wrong type (a programmer error: the model asked for a key its own table
// does not declare).
type Config struct {
	table  *Table
	name   string
	values map[string]any
}

// param returns the Param for key, or nil.
func (t *Table) param(key string) *Param {
	for i := range t.Params {
		if t.Params[i].Key == key {
			return &t.Params[i]
		}
	}
	return nil
}

// Keys returns the parameter keys in table order.
func (t *Table) Keys() []string {
	keys := make([]string, len(t.Params))
	for i, p := range t.Params {
		keys[i] = p.Key
	}
	return keys
}

// NamedConfigs returns the names of the named configs, sorted, with
// "default" (the table defaults) first.
func (t *Table) NamedConfigs() []string {
	names := make([]string, 0, len(t.Named)+1)
	for n := range t.Named {
		names = append(names, n)
	}
	sort.Strings(names)
	return append([]string{"default"}, names...)
}

// Resolve builds a Config: the table defaults, then the named config (""
// or "default" means none), then the "-set" overrides in order
// ("key=value;key=value", see ParseSet). Errors name the model, the key and
// the expected type; an unknown key lists the valid ones.
func (t *Table) Resolve(named, set string) (Config, error) {
	c := Config{table: t, name: named, values: map[string]any{}}
	if c.name == "" {
		c.name = "default"
	}
	for _, p := range t.Params {
		c.values[p.Key] = p.Default
	}
	if named != "" && named != "default" {
		overrides, ok := t.Named[named]
		if !ok {
			return Config{}, fmt.Errorf("%s: unknown config %q (one of: %s)", t.Model, named, strings.Join(t.NamedConfigs(), ", "))
		}
		for k, v := range overrides {
			if err := c.setValue(k, v); err != nil {
				panic(fmt.Sprintf("model: %s: named config %q: %v", t.Model, named, err))
			}
		}
	}
	kvs, err := ParseSet(set)
	if err != nil {
		return Config{}, fmt.Errorf("%s: -set: %w", t.Model, err)
	}
	for _, kv := range kvs {
		if err := c.setString(kv[0], kv[1]); err != nil {
			return Config{}, fmt.Errorf("%s: -set: %w", t.Model, err)
		}
	}
	for _, p := range t.Params {
		if p.Check != nil {
			if err := p.Check(c.values[p.Key]); err != nil {
				return Config{}, fmt.Errorf("%s: %s=%v: %w", t.Model, p.Key, c.values[p.Key], err)
			}
		}
	}
	return c, nil
}

// ResolveParams resolves parameters given as a map, as a suite file gives
// them: the key "config" selects a named config, every other key is set
// (in sorted key order) as by Resolve's set string. Unknown keys and bad
// values are errors.
func (t *Table) ResolveParams(params map[string]string) (Config, error) {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "config" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var set []string
	for _, k := range keys {
		if strings.ContainsAny(params[k], ";") {
			return Config{}, fmt.Errorf("%s: %s=%q: a value may not contain ';'", t.Model, k, params[k])
		}
		set = append(set, k+"="+params[k])
	}
	return t.Resolve(params["config"], strings.Join(set, ";"))
}

// ParseSet splits "key=value;key=value" into key/value pairs, trimming
// spaces; empty items are skipped. It errors on an item without "=" or with
// an empty key.
func ParseSet(s string) ([][2]string, error) {
	var out [][2]string
	for _, item := range strings.Split(s, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("item %q is not key=value", item)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func (c *Config) unknown(key string) error {
	return fmt.Errorf("unknown key %q (valid: %s)", key, strings.Join(c.table.Keys(), ", "))
}

// setString parses s to the type of key's default.
func (c *Config) setString(key, s string) error {
	p := c.table.param(key)
	if p == nil {
		return c.unknown(key)
	}
	var v any
	var err error
	switch p.Default.(type) {
	case int:
		var i int64
		i, err = strconv.ParseInt(s, 10, 64)
		v = int(i)
	case float64:
		v, err = strconv.ParseFloat(s, 64)
	case bool:
		v, err = strconv.ParseBool(s)
	case string:
		v = s
	default:
		panic(fmt.Sprintf("model: %s: param %q has unsupported type %T", c.table.Model, key, p.Default))
	}
	if err != nil {
		return fmt.Errorf("%s=%q: want %T", key, s, p.Default)
	}
	c.values[key] = v
	return nil
}

// setValue sets a typed value (named configs, JSON), converting float64
// holding an integer to int where the param is an int (JSON numbers).
func (c *Config) setValue(key string, v any) error {
	p := c.table.param(key)
	if p == nil {
		return c.unknown(key)
	}
	switch p.Default.(type) {
	case int:
		switch x := v.(type) {
		case int:
		case float64:
			if x != float64(int(x)) {
				return fmt.Errorf("%s=%v: want int", key, v)
			}
			v = int(x)
		default:
			return fmt.Errorf("%s=%v: want int", key, v)
		}
	case float64:
		switch x := v.(type) {
		case float64:
		case int:
			v = float64(x)
		default:
			return fmt.Errorf("%s=%v: want float64", key, v)
		}
	case bool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s=%v: want bool", key, v)
		}
	case string:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s=%v: want string", key, v)
		}
	}
	c.values[key] = v
	return nil
}

func (c Config) get(key string) any {
	v, ok := c.values[key]
	if !ok {
		panic(fmt.Sprintf("model: config of %s has no key %q", c.table.Model, key))
	}
	return v
}

// Int returns the int value of key (panics on an unknown key or another type).
func (c Config) Int(key string) int { return c.get(key).(int) }

// Float returns the float64 value of key.
func (c Config) Float(key string) float64 { return c.get(key).(float64) }

// Bool returns the bool value of key.
func (c Config) Bool(key string) bool { return c.get(key).(bool) }

// Str returns the string value of key.
func (c Config) Str(key string) string { return c.get(key).(string) }

// Name returns the named config this Config started from ("default" if none).
func (c Config) Name() string { return c.name }

// With returns a copy of c with key set to v (typed); it panics on an
// unknown key or a wrong type.
func (c Config) With(key string, v any) Config {
	out := Config{table: c.table, name: c.name, values: make(map[string]any, len(c.values))}
	for k, x := range c.values {
		out.values[k] = x
	}
	if err := out.setValue(key, v); err != nil {
		panic("model: Config.With: " + err.Error())
	}
	return out
}

// String renders the config as "key=value;..." in table order, a form
// Resolve accepts back as -set.
func (c Config) String() string {
	parts := make([]string, 0, len(c.table.Params))
	for _, p := range c.table.Params {
		parts = append(parts, fmt.Sprintf("%s=%v", p.Key, c.values[p.Key]))
	}
	return strings.Join(parts, ";")
}

// MarshalJSON writes {"model":..., "config":..., "values":{...}}.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Model  string         `json:"model"`
		Config string         `json:"config"`
		Values map[string]any `json:"values"`
	}{c.table.Model, c.name, c.values})
}

// ConfigFromJSON reads a Config written by MarshalJSON back against table t.
// Keys missing in the JSON keep the table defaults (older checkpoints);
// unknown keys are an error.
func (t *Table) ConfigFromJSON(b []byte) (Config, error) {
	var raw struct {
		Model  string         `json:"model"`
		Config string         `json:"config"`
		Values map[string]any `json:"values"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Config{}, fmt.Errorf("%s config: %w", t.Model, err)
	}
	if raw.Model != t.Model {
		return Config{}, fmt.Errorf("config is for model %q, not %q", raw.Model, t.Model)
	}
	c, err := t.Resolve("", "")
	if err != nil {
		return Config{}, err
	}
	c.name = raw.Config
	for k, v := range raw.Values {
		if err := c.setValue(k, v); err != nil {
			return Config{}, fmt.Errorf("%s config: %w", t.Model, err)
		}
	}
	return c, nil
}

// Markdown renders the table (key, default, each named config's value where
// it differs, doc) as a markdown table for docs and reports.
func (t *Table) Markdown() string {
	var b strings.Builder
	named := t.NamedConfigs()[1:]
	b.WriteString("| key | default |")
	for _, n := range named {
		b.WriteString(" " + n + " |")
	}
	b.WriteString(" meaning |\n|---|---|")
	for range named {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, p := range t.Params {
		fmt.Fprintf(&b, "| `%s` | %v |", p.Key, p.Default)
		for _, n := range named {
			if v, ok := t.Named[n][p.Key]; ok {
				fmt.Fprintf(&b, " %v |", v)
			} else {
				b.WriteString(" |")
			}
		}
		fmt.Fprintf(&b, " %s |\n", p.Doc)
	}
	return b.String()
}
