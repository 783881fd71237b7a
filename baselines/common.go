package baselines

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
)

// groups indexes the training cells of a dataset by (context, perturbation).
type groups struct {
	genes    int
	control  string
	contexts []string                    // sorted
	cells    map[string]map[string][]int // context → perturbation → row indices
}

// indexGroups reads the perturbation and context labels of train as
// described by spec. A missing column is an error (user input).
func indexGroups(train *data.Dataset, spec tasks.PertSpec) (*groups, error) {
	if train == nil || train.X == nil || train.X.Rows == 0 {
		return nil, fmt.Errorf("no training cells")
	}
	if spec.PertCol == "" || spec.Control == "" {
		return nil, fmt.Errorf("spec needs PertCol and Control")
	}
	perts, ctxs, err := spec.Labels(train)
	if err != nil {
		return nil, err
	}
	g := &groups{genes: train.X.Cols, control: spec.Control, cells: map[string]map[string][]int{}}
	for i, p := range perts {
		c := ctxs[i]
		if g.cells[c] == nil {
			g.cells[c] = map[string][]int{}
			g.contexts = append(g.contexts, c)
		}
		g.cells[c][p] = append(g.cells[c][p], i)
	}
	sort.Strings(g.contexts)
	return g, nil
}

func sub(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for j := range a {
		out[j] = a[j] - b[j]
	}
	return out
}

func addTo(dst, a []float64) {
	for j := range dst {
		dst[j] += a[j]
	}
}

func scale(dst []float64, s float64) {
	for j := range dst {
		dst[j] *= s
	}
}

// parts splits a perturbation label into its single perturbations
// ("A+B" → [A B]); a single label returns itself.
func parts(p string) []string { return strings.Split(p, "+") }

// resampleRows draws n rows of m uniformly with replacement.
func resampleRows(m *data.CSR, n int, rng *rand.Rand) *data.CSR {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = rng.IntN(m.Rows)
	}
	return m.SubsetRows(rows)
}

// shiftedControls draws n control cells uniformly with replacement and adds
// shift (one value per gene, log1p units) to every gene of each, clamping
// at 0 because log1p expression cannot be negative. The clamp raises the
// mean of genes whose shift is negative where controls are at or near zero;
// this is the documented cost of producing cells rather than means.
func shiftedControls(controls *data.CSR, shift []float64, n int, rng *rand.Rand) *data.CSR {
	return shiftRows(resampleRows(controls, n, rng), shift)
}

// shiftRows returns every row of m, in order, plus shift gene-wise,
// clamped at 0 (see shiftedControls).
func shiftRows(m *data.CSR, shift []float64) *data.CSR {
	out := &data.CSR{Rows: m.Rows, Cols: m.Cols, Indptr: make([]int64, m.Rows+1)}
	row := make([]float32, m.Cols)
	for i := 0; i < m.Rows; i++ {
		m.DenseRow(row, i)
		for j, v := range row {
			x := float64(v) + shift[j]
			if x > 0 {
				out.Indices = append(out.Indices, int32(j))
				out.Data = append(out.Data, float32(x))
			}
		}
		out.Indptr[i+1] = int64(len(out.Data))
	}
	return out
}

// checkRequest validates one request against the fitted gene count.
func checkRequest(model string, req tasks.PredictRequest, genes int, needControls bool) error {
	if req.NCells <= 0 {
		return fmt.Errorf("%s: request (%q, %q): NCells = %d, want > 0", model, req.Context, req.Perturbation, req.NCells)
	}
	if needControls {
		if req.Controls == nil || req.Controls.Rows == 0 {
			return fmt.Errorf("%s: request (%q, %q): no control cells given", model, req.Context, req.Perturbation)
		}
	}
	if req.Controls != nil && req.Controls.Cols != genes {
		return fmt.Errorf("%s: request (%q, %q): controls have %d genes, model was fitted on %d", model, req.Context, req.Perturbation, req.Controls.Cols, genes)
	}
	return nil
}

// notes collects the distinct fallbacks a model took, in first-seen order.
type notes struct {
	seen map[string]bool
	list []string
}

func (n *notes) add(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if !n.seen[s] {
		n.seen[s] = true
		n.list = append(n.list, s)
	}
}

func (n *notes) take() []string {
	out := n.list
	n.list, n.seen = nil, nil
	return out
}
