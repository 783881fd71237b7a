// Package de is cellbench's differential-expression test: the two-sided
// Mann–Whitney U (Wilcoxon rank-sum) test of every gene of a target group of
// cells against a reference (control) group, with tie and continuity
// correction and the normal approximation, Benjamini–Hochberg FDR across the
// genes of each target, and the log2 fold change of geometric pseudobulks.
// It reproduces what Arc's cell-eval computes through pdex (SPEC-metrics.md,
// "Differential expression"):
//
//	p-value     = scipy.stats.mannwhitneyu(target, ref, alternative="two-sided",
//	              method="asymptotic", use_continuity=True).pvalue, clipped to [0, 1]
//	fdr         = Benjamini–Hochberg over the genes of one target
//	              (statsmodels multipletests(method="fdr_bh"))
//	log2 FC     = log2((expm1(mean log1p target) + ε) / (expm1(mean log1p ref) + ε))
//
// # How it is fast
//
// A naive implementation sorts target ∪ reference for every (target, gene).
// Here the reference is ranked once per gene (NewReference): its distinct
// values in ascending order and how many reference cells lie below each. A
// target group is then tested by sorting only its own non-zero values and
// binary-searching each distinct one among the reference's distinct values:
//
//	U1 = Σ_{x in target} (#ref < x + ½·#ref == x)
//
// which equals the textbook rank-sum form R1 − n1(n1+1)/2, and the pooled tie
// term is the reference's own Σ(t³−t) plus the change caused by each shared
// value. Zeros — most entries of a sparse matrix — are never materialised:
// they are one tied block of known size on each side. Values are compared
// as integer order keys (the float bits with the sign handled), which sorts
// and searches faster than float comparisons; long reference columns are
// radix-sorted.
//
// Target groups are taken in batches (up to 32 Mi non-zeros): each group of
// a batch is transposed to gene-major order in one pass, then blocks of 16
// genes run in parallel on GOMAXPROCS goroutines and every group of the
// batch is tested against a gene while that gene's reference values are in
// cache — genes run in parallel even for a single target. Nothing is
// densified: the memory held is 8 bytes per distinct (gene, value) pair of
// the reference plus 4 bytes per non-zero of the current batch.
//
// # Example
//
//	ref, err := de.NewReference(x, controlRows, 0)   // x: log1p CSR, cells × genes
//	if err != nil { ... }
//	res, err := de.Compare(x, []de.Group{{Name: "CPQ", Rows: cpqRows}}, ref, 1e-9, 0)
//	if err != nil { ... }
//	fmt.Println(res[0].PValue[g], res[0].FDR[g], res[0].LFC[g])
//
// For one gene of plain slices use MannWhitney.
//
// # Conventions
//
// Values must be finite (NaN is an error). An all-equal pooled sample (for
// example a gene that is zero in every cell) has σ = 0 and p = 1, as in
// scipy. Groups of one cell are allowed (scipy allows them too); the caller
// decides whether to warn.
package de
