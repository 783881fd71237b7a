package data

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Quote returns s in double quotes with every invisible difference made
// visible, for messages that name a user's string (a label, a column, a
// gene): like strconv.Quote (control characters, non-ASCII spaces and
// format characters such as U+200B are escaped, so "KAZN " shows its
// trailing space), and in addition combining marks are escaped, so the
// decomposed (NFD) "e\u0301" differs on screen from the composed (NFC) "é".
// Invalid UTF-8 bytes are shown as \x escapes.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == ' ':
			b.WriteByte(' ')
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc, unicode.Cf, unicode.Zs, unicode.Zl, unicode.Zp, unicode.Cc, unicode.Co, unicode.Cs) ||
			!unicode.IsPrint(r) || unicode.IsSpace(r):
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// QuoteList quotes each name with Quote and joins them with ", ", showing
// at most max names (max ≤ 0: all) and then how many more there are.
func QuoteList(names []string, max int) string {
	if len(names) == 0 {
		return "none"
	}
	n := len(names)
	if max > 0 && n > max {
		n = max
	}
	q := make([]string, n)
	for i := range q {
		q[i] = Quote(names[i])
	}
	s := strings.Join(q, ", ")
	if n < len(names) {
		s += fmt.Sprintf(", … (%d in all)", len(names))
	}
	return s
}

// MissingLabel reports whether a label, as Column.StringAt renders it, is
// a missing value: empty or blank (a categorical NaN renders as ""), or
// one of the spellings pandas writes for a missing value ("NA", "NaN",
// "nan", "<NA>"; a float NaN renders as "NaN"). It is the one rule for
// missing labels of every command: perturbations, contexts, cell types and
// batches.
func MissingLabel(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "NA", "NaN", "nan", "<NA>":
		return true
	}
	return false
}

// LooseKey is the form in which two labels that differ only by letter
// case, surrounding white space or Unicode normalisation (NFC vs NFD) are
// equal: trimmed, NFC-normalised and case-folded.
func LooseKey(s string) string {
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
}

// Labels are the per-cell labels of one obs column (perturbations,
// contexts), with the checks every command applies to them before
// grouping cells: no missing label, a required label present, and a
// warning for labels that differ from a required one only by case,
// surrounding spaces or Unicode normalisation.
type Labels struct {
	Col    string   // obs column name
	Values []string // one per cell
	count  map[string]int
	order  []string // distinct labels, first appearance
}

// NewLabels wraps the labels of obs column col.
func NewLabels(col string, values []string) *Labels {
	l := &Labels{Col: col, Values: values, count: map[string]int{}}
	for _, v := range values {
		if _, ok := l.count[v]; !ok {
			l.order = append(l.order, v)
		}
		l.count[v]++
	}
	return l
}

// Distinct returns the distinct labels in order of first appearance.
func (l *Labels) Distinct() []string { return l.order }

// Count returns how many cells carry label v.
func (l *Labels) Count(v string) int { return l.count[v] }

// CheckPresent returns an error when any cell's label is missing
// (MissingLabel): cellbench never groups such cells under a label "".
// cellIndex (optional) names the first such cell.
func (l *Labels) CheckPresent(cellIndex []string) error {
	n, first := 0, -1
	for i, v := range l.Values {
		if MissingLabel(v) {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	where := fmt.Sprintf("row %d", first)
	if first < len(cellIndex) {
		where = fmt.Sprintf("cell %s, row %d", Quote(cellIndex[first]), first)
	}
	return fmt.Errorf("obs column %s: %d of %d cells have a missing label (empty, NA or NaN; first: %s): label them or leave them out of the file",
		Quote(l.Col), n, len(l.Values), where)
}

// NearMisses returns the distinct labels other than want that differ from
// it only by case, surrounding spaces or Unicode normalisation (LooseKey).
func (l *Labels) NearMisses(want string) []string {
	key := LooseKey(want)
	var out []string
	for _, v := range l.order {
		if v != want && LooseKey(v) == key {
			out = append(out, v)
		}
	}
	return out
}

// Require returns an error when no cell carries want; what names the role
// of want in the message ("control label", "context", "drop label"). The
// message names near-misses when there are any, otherwise some of the
// labels the column has.
func (l *Labels) Require(what, want string) error {
	if l.count[want] > 0 {
		return nil
	}
	if near := l.NearMisses(want); len(near) > 0 {
		return fmt.Errorf("%s %s not found in obs column %s; it has %s, which differs only by case, surrounding spaces or Unicode normalisation: labels must match exactly",
			what, Quote(want), Quote(l.Col), QuoteList(near, 5))
	}
	have := append([]string(nil), l.order...)
	sort.Strings(have)
	return fmt.Errorf("%s %s not found in obs column %s (it has %d labels: %s)", what, Quote(want), Quote(l.Col), len(have), QuoteList(have, 8))
}

// Warnings returns one warning per label that differs from want (e.g. the
// control) only by case, surrounding spaces or Unicode normalisation:
// such cells are not treated as want, and a user should know.
func (l *Labels) Warnings(what, want string) []string {
	var out []string
	for _, v := range l.NearMisses(want) {
		out = append(out, fmt.Sprintf("obs column %s: label %s (%d cells) differs from the %s %s only by case, surrounding spaces or Unicode normalisation; it is not treated as the %s",
			Quote(l.Col), Quote(v), l.count[v], what, Quote(want), what))
	}
	return out
}
