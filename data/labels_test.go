package data

import (
	"strings"
	"testing"
)

// TestQuote: invisible differences are visible; plain names read as %q.
func TestQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"KAZN", `"KAZN"`},
		{"KAZN ", `"KAZN "`},
		{"a\tb", `"a\tb"`},
		{"say \"hi\"", `"say \"hi\""`},
		{"\u00e9", `"é"`},                              // NFC é: shown as is
		{"e\u0301", `"e\u0301"`},                       // NFD: the combining accent is escaped
		{"non\u00a0targeting", `"non\u00a0targeting"`}, // no-break space
		{"zero\u200bwidth", `"zero\u200bwidth"`},       // zero-width space
		{"bad\xffbyte", `"bad\xffbyte"`},
		{"Müller", `"Müller"`},
	} {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	if Quote("\u00e9") == Quote("e\u0301") {
		t.Error("NFC and NFD quote alike")
	}
}

func TestLabels(t *testing.T) {
	l := NewLabels("perturbation", []string{"control", "Control ", "G1", "control", "e\u0301", "\u00e9", " control"})
	if err := l.Require("control label", "control"); err != nil {
		t.Fatal(err)
	}
	near := l.NearMisses("control")
	if len(near) != 2 || near[0] != "Control " || near[1] != " control" {
		t.Errorf("near misses %q", near)
	}
	w := l.Warnings("control", "control")
	if len(w) != 2 || !strings.Contains(w[0], `label "Control " (1 cells) differs from the control "control" only by case`) {
		t.Errorf("warnings %q", w)
	}
	if got := l.NearMisses("\u00e9"); len(got) != 1 || got[0] != "e\u0301" {
		t.Errorf("NFC/NFD near miss %q", got)
	}
	err := l.Require("control label", "CONTROL")
	if err == nil || !strings.Contains(err.Error(), `control label "CONTROL" not found in obs column "perturbation"; it has "control", "Control ", " control", which differs only`) {
		t.Errorf("near-miss require: %v", err)
	}
	err = l.Require("drop label", "multiple")
	if err == nil || !strings.Contains(err.Error(), `drop label "multiple" not found in obs column "perturbation" (it has 6 labels:`) {
		t.Errorf("require: %v", err)
	}
	for _, missing := range []string{"", " ", "NA", "NaN", "nan", "<NA>"} {
		m := NewLabels("p", []string{"a", missing, "b"})
		err := m.CheckPresent([]string{"c0", "c1", "c2"})
		if err == nil || !strings.Contains(err.Error(), `obs column "p": 1 of 3 cells have a missing label (empty, NA or NaN; first: cell "c1", row 1)`) {
			t.Errorf("missing %q: %v", missing, err)
		}
	}
	if err := NewLabels("p", []string{"a", "NAB"}).CheckPresent(nil); err != nil {
		t.Errorf("present labels: %v", err)
	}
}

func TestCheckCSVHeader(t *testing.T) {
	if err := CheckCSVHeader([]string{"a", "b", "c"}); err != nil {
		t.Error(err)
	}
	err := CheckCSVHeader([]string{"cell", "x", "cell_type", "x"})
	if err == nil || err.Error() != `header: column "x" appears twice (columns 2 and 4): rename one` {
		t.Errorf("err = %v", err)
	}
}

// TestFrameColumnError: the missing column's name and the available ones
// are quoted, and a near-miss is named.
func TestFrameColumnError(t *testing.T) {
	f := Frame{Index: []string{"c0"}}
	f.Set(NewCategorical("perturbation ", []string{"a"}))
	f.Set(NewCategorical("cell_type", []string{"x"}))
	_, err := f.Column("perturbation")
	want := `no column "perturbation" (have "perturbation ", "cell_type"; "perturbation " differs only by case, surrounding spaces or Unicode normalisation)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant   %s", err, want)
	}
}
