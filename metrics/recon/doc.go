// Package recon holds the reconstruction metrics of masked-expression
// imputation (sCT-style, SPEC-metrics.md "Reconstruction metrics"): the
// per-cell expression binning, the multi-class Matthews correlation over
// masked positions and the mean absolute error on counts. Pure Go, no
// GoMLX; the positions file format (positions.csv) that `cellbench impute`
// writes and `cellbench score impute` reads lives here too, so any tool's
// predictions can be scored the same way.
//
// # Binning (CellBins)
//
// Every cell is binned on its own: zeros are bin 0; the cell's non-zero
// values are log1p-transformed and cut into Bins−1 equal-width intervals
// between their smallest and largest value, bin 1…Bins−1 (Bins = 5: not
// expressed, low, moderate, high-moderate, high). This is InstaDeep's
// preprocessing (nucleotide-transformer get_paper_dataset.py,
// binning_non_zero_gene_expressions, "uniform" style): edges =
// linspace(min, max, Bins), last edge + 0.01, bin = np.digitize(x, edges).
// Conventions the reference leaves open, chosen here and tested:
//
//   - all non-zero values of a cell equal: every one is bin 1 (the lowest
//     expressed level; the public notebook does this, the dataset script
//     would give Bins−1);
//   - a continuous prediction x (e.g. a kNN mean) is binned with the true
//     cell's edges exactly as np.digitize does: x ≤ 0 or x below the
//     smallest non-zero value → bin 0, above the last edge → Bins−1;
//   - a cell without any non-zero value: x < ln 2 (less than one count) →
//     bin 0, else bin 1.
//
// # Bin medians and MAE on counts
//
// The sCT paper turns a predicted bin distribution into a value with "the
// weighted linear combination of bin medians with the respective
// probabilities" and reverses the log transform, but never defines a bin
// median. Here the median of bin b ≥ 1 of a cell is the median (numpy
// convention: mean of the two middle values for an even count) of that
// cell's own non-zero log1p values that fall in bin b; an empty bin takes
// the midpoint of its two edges (the last edge without the +0.01); bin 0
// has median 0. So Expectation(p) = Σ_b p_b · median_b (log1p scale) and
// the predicted count is expm1 of it. The medians come from the true cell,
// as the paper's bin edges do: for whole-cell masking nothing else exists,
// and every method is scored with the same medians and edges.
//
// mae_counts = mean over scored positions of |pred_count − true_count|
// (counts; lower is better, best 0).
//
// # MCC
//
// MCC is the multi-class Matthews correlation coefficient of Gorodkin
// (2004), R_K, computed from the pooled confusion matrix exactly as
// sklearn.metrics.matthews_corrcoef (sklearn 1.2): with t_k, p_k the true
// and predicted counts of class k, c the correct predictions and s the
// total,
//
//	MCC = (c·s − Σ_k t_k p_k) / sqrt((s² − Σ_k p_k²)(s² − Σ_k t_k²))
//
// and 0 when the denominator is 0 (a single class in the truth or in the
// prediction; sklearn's convention — Scores says so in its reasons). The
// masked positions of all bags are pooled (not averaged per bag), as the
// sCT evaluation notebook does. mcc uses every masked position, mcc_expressed
// only those whose true bin is ≥ 1 (the paper's Table 1 comparison, where
// baselines that predict only non-zero values are included). Both are in
// [−1, 1], higher is better, best 1; 0 is chance.
//
// Reference values: Debian bookworm's python3-sklearn 1.2.1
// matthews_corrcoef (testdata/recon/make_reference.py).
package recon
