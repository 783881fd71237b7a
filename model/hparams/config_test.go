package hparams

import (
	"strings"
	"testing"
)

var testTable = &Table{
	Model: "toy",
	Params: []Param{
		{Key: "hidden", Default: 64, Doc: "width"},
		{Key: "lr", Default: 1e-3, Doc: "learning rate"},
		{Key: "residual", Default: true, Doc: "predict residual"},
		{Key: "norm", Default: "layer", Doc: "norm kind"},
	},
	Named: map[string]map[string]any{"tiny": {"hidden": 8}, "paper": {"hidden": 672, "norm": "rms"}},
}

func TestConfigResolve(t *testing.T) {
	c, err := testTable.Resolve("tiny", "lr=0.5; residual=false;norm=rms")
	if err != nil {
		t.Fatal(err)
	}
	if c.Int("hidden") != 8 || c.Float("lr") != 0.5 || c.Bool("residual") || c.Str("norm") != "rms" {
		t.Fatalf("got %s", c)
	}
	if got := c.String(); got != "hidden=8;lr=0.5;residual=false;norm=rms" {
		t.Fatalf("String = %q", got)
	}
	b, _ := c.MarshalJSON()
	back, err := testTable.ConfigFromJSON(b)
	if err != nil || back.String() != c.String() || back.Name() != "tiny" {
		t.Fatalf("JSON round trip: %v %s", err, back)
	}
	for _, tc := range []struct{ named, set, want string }{
		{"", "hiden=3", `unknown key "hiden"`},
		{"", "hidden=3.5", `hidden="3.5": want int`},
		{"", "residual", `not key=value`},
		{"huge", "", `unknown config "huge" (one of: default, paper, tiny)`},
	} {
		_, err := testTable.Resolve(tc.named, tc.set)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(%q,%q) error %v, want %q", tc.named, tc.set, err, tc.want)
		}
	}
	if md := testTable.Markdown(); !strings.Contains(md, "| `hidden` | 64 | 672 | 8 | width |") {
		t.Errorf("Markdown:\n%s", md)
	}
}
