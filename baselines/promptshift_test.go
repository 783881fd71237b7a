package baselines

import (
	"context"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// TestPromptShift checks PromptShift on hand-computed values: context A's
// controls (1, 1) and (3, 1) have mean μ_A,ctrl = (2, 1); the prompt
// (4, 0), (2, 0) has mean (3, 0), so the shift is (1, −1); query cells
// (0, 1) and (5, 0) become (1, 0) and (6, 0) (−1 clamped at 0).
func TestPromptShift(t *testing.T) {
	train := makeDataset(t, []cellSpec{
		{"A", "ctrl", 1, []float32{1, 1}},
		{"A", "ctrl", 1, []float32{3, 1}},
		{"A", "p", 2, []float32{9, 9}}, // perturbed cells do not enter the model
		{"B", "ctrl", 2, []float32{0, 1}},
		{"C", "p", 2, []float32{5, 5}}, // no controls: C cannot be a prompt context
	})
	m := NewPromptShift()
	if err := m.Fit(context.Background(), train, spec); err != nil {
		t.Fatal(err)
	}
	query := data.NewCSRFromDense(2, 2, []float32{0, 1, 5, 0})
	prompt := data.NewCSRFromDense(2, 2, []float32{4, 0, 2, 0})
	for _, tc := range []struct {
		name string
		req  tasks.InContextRequest
		want []float32 // dense rows; nil = an error containing err
		err  string
	}{
		{"prompted", tasks.InContextRequest{Perturbation: "p", PromptContext: "A", QueryContext: "B", Prompt: prompt, Query: query}, []float32{1, 0, 6, 0}, ""},
		{"no prompt", tasks.InContextRequest{Perturbation: "p", PromptContext: "A", QueryContext: "B", Query: query}, []float32{0, 1, 5, 0}, ""},
		{"prompt context without controls", tasks.InContextRequest{Perturbation: "p", PromptContext: "C", QueryContext: "B", Prompt: prompt, Query: query}, nil, `prompt context "C" has no training control cells`},
		{"no query", tasks.InContextRequest{Perturbation: "p", PromptContext: "A", QueryContext: "B", Prompt: prompt}, nil, "no query cells"},
		{"gene mismatch", tasks.InContextRequest{Perturbation: "p", PromptContext: "A", QueryContext: "B", Prompt: prompt, Query: data.NewCSRFromDense(1, 3, []float32{1, 2, 3})}, nil, "query has 3 genes"},
	} {
		got, err := m.PredictInContext(context.Background(), []tasks.InContextRequest{tc.req})
		if tc.want == nil {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := got[0].Validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		row := make([]float32, 2)
		for i := range got[0].Rows {
			got[0].DenseRow(row, i)
			if row[0] != tc.want[2*i] || row[1] != tc.want[2*i+1] {
				t.Errorf("%s: cell %d = %v, want %v (hand-computed)", tc.name, i, row, tc.want[2*i:2*i+2])
			}
		}
	}
	// Predict (no prompt) draws the request's controls.
	got, err := m.Predict(context.Background(), []tasks.PredictRequest{{Context: "B", Perturbation: "p", Controls: query, NCells: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Rows != 3 {
		t.Fatalf("Predict gave %d cells, want 3", got[0].Rows)
	}
	var _ tasks.InContextModel = m
}
