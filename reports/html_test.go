package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/results"
)

func TestReportHTMLSelfContained(t *testing.T) {
	recs := append(append(synthRecords(), synthScibRecords()...), synthImputeRecords()...)
	rep, err := Build(recs, Options{Run: "runs/synthetic", Extras: Extras{
		Discrimination: []Discrimination{synthDeltas(8, 40, 0.3)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	// No network resource: no http(s) URL, no protocol-relative src/href.
	if m := regexp.MustCompile(`(?i)(https?:|src="//|href="//)`).FindString(html); m != "" {
		t.Errorf("index.html references the network: %q", m)
	}
	if n := strings.Count(html, `src="data:image/png;base64,`); n != len(rep.Figures) {
		t.Errorf("%d embedded PNGs for %d figures", n, len(rep.Figures))
	}
	for _, want := range []string{"pert-fewshot", "scIB integration", "MCC vs masking ratio", "Discrimination", "linear-ridge", "0.5731"} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	dir := t.TempDir()
	if d := os.Getenv("REPORTS_HTMLDIR"); d != "" {
		dir = d
	}
	out, err := fsutil.NewOutDir(filepath.Join(dir, "report"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteFiles(out); err != nil {
		out.Abort()
		t.Fatal(err)
	}
	if err := out.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Figures {
		for _, ext := range []string{".png", ".svg"} {
			if st, err := os.Stat(filepath.Join(dir, "report", f.Name+ext)); err != nil || st.Size() == 0 {
				t.Errorf("%s%s not written: %v", f.Name, ext, err)
			}
		}
	}
}

func TestBuildEmpty(t *testing.T) {
	if _, err := Build(nil, Options{}); err == nil {
		t.Error("no records: no error")
	}
}

// warningLines lists a warning once per (task, dataset, model variant)
// with the metrics carrying it, "every metric" when all do.
func TestWarningLines(t *testing.T) {
	rec := func(model, prompt, metric, w string, seed uint64) results.Record {
		return results.Record{Task: "incontext", Dataset: "kang", Model: model, Prompt: prompt, Metric: metric, Warnings: w, Seed: seed}
	}
	var rs []results.Record
	for seed := range uint64(3) {
		for _, m := range []string{"mae", "pearson_delta", "pdisc_norm"} {
			rs = append(rs, rec("stack", "matched", m, "293 genes unknown", seed))
			w := ""
			if m == "pdisc_norm" {
				w = "one perturbation"
			}
			if m == "mae" {
				w = "one perturbation; a note"
			}
			rs = append(rs, rec("control", "", m, w, seed))
		}
	}
	got := warningLines(rs)
	want := []string{
		"incontext / kang / control (mae): a note",
		"incontext / kang / control (mae, pdisc_norm): one perturbation",
		"incontext / kang / stack [prompt=matched] (every metric): 293 genes unknown",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warning lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
