package data

// MeanRows returns the arithmetic mean over the given rows of m of every
// column: Σ_rows x / len(rows), summed in float64 in row order, then
// divided (the pseudobulk μ(t) of SPEC-metrics.md when m holds log1p
// values). It is the one row-mean of cellbench: metrics, baselines and
// figures call it. It panics on an empty row set (the mean of no cells is
// undefined; callers check first).
func (m *CSR) MeanRows(rows []int) []float64 {
	if len(rows) == 0 {
		panic("data: MeanRows of no rows")
	}
	sum := make([]float64, m.Cols)
	for _, r := range rows {
		idx, val := m.Row(r)
		for k, j := range idx {
			sum[j] += float64(val[k])
		}
	}
	n := float64(len(rows))
	for j := range sum {
		sum[j] /= n
	}
	return sum
}
