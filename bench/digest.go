package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cellbench/cellbench/results"
)

// SuiteDigest is the canonical digest of a suite's YAML text: the SHA-256
// of the document decoded into plain maps and lists and re-encoded as JSON
// (sorted keys), with every model's timeout removed. Comments, key order,
// quoting and flow or block style do not change it; any change of a name,
// dataset, task, model, seed or eval setting does. A timeout is left out
// because it decides whether a cell finishes, not what it computes (so a
// timed-out run can be resumed with a longer one). A run directory holds
// the cells of one digest (grid.json): run --resume and merge refuse
// another.
func SuiteDigest(text []byte) (string, error) {
	doc, err := canonicalSuite(text)
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(doc)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// canonicalSuite decodes suite YAML into maps and lists (timeouts removed).
func canonicalSuite(text []byte) (map[string]any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("suite digest: %w", err)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	if ms, ok := doc["models"].([]any); ok {
		for _, m := range ms {
			if mm, ok := m.(map[string]any); ok {
				delete(mm, "timeout")
			}
		}
	}
	return doc, nil
}

// suiteYAML is the text a runner digests: the suite file's text, or the
// parsed suite re-encoded when the caller gave none.
func suiteYAML(s *Suite, text []byte) []byte {
	if len(text) > 0 {
		return text
	}
	b, err := yaml.Marshal(s)
	if err != nil {
		panic("bench: encode suite: " + err.Error())
	}
	return b
}

// SuiteDiff names what differs between two suite texts, top-level field
// by field ("models: +torch-st, -linear; eval changed"), for the message
// that refuses a resume; "" when their digests are equal.
func SuiteDiff(old, new []byte) string {
	a, err1 := canonicalSuite(old)
	b, err2 := canonicalSuite(new)
	if err1 != nil || err2 != nil {
		return "the stored suite.yaml does not parse"
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		ja, _ := json.Marshal(a[k])
		jb, _ := json.Marshal(b[k])
		if bytes.Equal(ja, jb) {
			continue
		}
		la, okA := a[k].([]any)
		lb, okB := b[k].([]any)
		if !okA || !okB {
			switch {
			case a[k] == nil:
				parts = append(parts, k+" added")
			case b[k] == nil:
				parts = append(parts, k+" removed")
			case k == "name":
				parts = append(parts, fmt.Sprintf("name %v → %v", a[k], b[k]))
			default:
				parts = append(parts, k+" changed")
			}
			continue
		}
		parts = append(parts, k+": "+listDiff(la, lb))
	}
	return strings.Join(parts, "; ")
}

// listDiff describes the difference of two YAML lists by their items'
// names (a scalar, or a mapping's "name"): added (+), removed (−) or
// changed items, or "order changed".
func listDiff(a, b []any) string {
	label := func(x any) (string, string) {
		j, _ := json.Marshal(x)
		if m, ok := x.(map[string]any); ok {
			if n, ok := m["name"]; ok {
				return fmt.Sprint(n), string(j)
			}
		}
		if _, ok := x.(map[string]any); !ok {
			return fmt.Sprint(x), string(j)
		}
		return string(j), string(j)
	}
	index := func(l []any) (map[string]string, []string) {
		m := map[string]string{}
		var order []string
		for _, x := range l {
			n, body := label(x)
			if _, dup := m[n]; !dup {
				order = append(order, n)
			}
			m[n] += body
		}
		return m, order
	}
	ma, oa := index(a)
	mb, ob := index(b)
	var parts []string
	for _, n := range ob {
		if _, ok := ma[n]; !ok {
			parts = append(parts, "+"+n)
		} else if ma[n] != mb[n] {
			parts = append(parts, n+" changed")
		}
	}
	for _, n := range oa {
		if _, ok := mb[n]; !ok {
			parts = append(parts, "-"+n)
		}
	}
	if len(parts) == 0 {
		return "order changed"
	}
	return strings.Join(parts, ", ")
}

// checkSuiteDigest compares the suite being run with the one a run
// directory was started with (grid.json's digest, or the digest of its
// suite.yaml for a directory from before grid manifests). A different
// suite is an error naming what changed.
func checkSuiteDigest(out, digest string, text []byte) error {
	g, err := results.ReadGrid(out)
	if err != nil {
		return err
	}
	oldText, _ := os.ReadFile(filepath.Join(out, "suite.yaml"))
	old := ""
	switch {
	case g != nil:
		old = g.Digest
	case len(oldText) > 0:
		if old, err = SuiteDigest(oldText); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(out, "suite.yaml"), err)
		}
	default:
		return nil // nothing to compare with
	}
	if old == digest {
		return nil
	}
	what := "suite.yaml of the run directory is missing"
	if len(oldText) > 0 {
		what = SuiteDiff(oldText, text)
	}
	return fmt.Errorf("%s was run with another suite (digest %.12s, this one %.12s; %s): resuming would mix two configurations in one results file; use a new --out for the edited suite", out, old, digest, what)
}
