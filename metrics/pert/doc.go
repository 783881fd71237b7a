// Package pert scores predicted perturbation responses against real ones:
// every perturbation metric of SPEC-metrics.md, computed in pure Go on
// log1p CSR matrices, with the same names and definitions as Arc's
// cell-eval 0.8 (the Virtual Cell Challenge scorer) where the metric is the
// same.
//
// # Entry point
//
// Evaluate takes the real and the predicted cells (an Input each: a log1p
// data.CSR, one perturbation label per cell, optional context labels) and
// Options, and returns a Report: one Row per (context, perturbation) with a
// value per metric, Aggregates (count, NaN count, mean, std, min, median,
// max per metric), the real and predicted DE tables, and Warnings. The
// report writes the cell-eval-style files itself (WriteResultsCSV,
// WriteAggCSV, WriteDECSV, WriteJSON), so the CLI (cellbench score pert) and
// the suite runner share one code path:
//
//	opts := pert.DefaultOptions()        // control "non-targeting", fdr 0.05, ε 1e-9, profile full
//	opts.Genes = genes                   // column names, same order in real and pred
//	opts.Control = "control"
//	rep, err := pert.Evaluate(
//		pert.Input{X: realLog1p, Perts: realLabels, Contexts: realCellTypes},
//		pert.Input{X: predLog1p, Perts: predLabels, Contexts: predCellTypes},
//		opts)
//	if err != nil { return err }         // label/gene/NaN problems, one line
//	agg, _ := rep.Aggregate("discrimination_score_l1")
//	fmt.Println(agg.Mean, rep.Warnings)
//
// # Definitions (per perturbation t of a context; N perturbations in it)
//
// μ_R(t), μ_P(t) are pseudobulk means of log1p values; δ_R(t) = μ_R(t) −
// μ_R(ctrl), δ_P(t) = μ_P(t) − c with c = μ_P(ctrl) (ControlPred, cell-eval's
// default) or μ_R(ctrl) (ControlReal).
//
//	pearson_delta            Pearson over genes of δ_P(t), δ_R(t)                        best 1
//	mae, mse                 mean |μ_P − μ_R|, mean (μ_P − μ_R)² over genes               best 0
//	mae_delta, mse_delta     the same on the deltas                                        best 0
//	discrimination_score_*   1 − r_t/N, r_t = #{q ≠ t : d(δ_P(t), δ_R(q)) < d(δ_P(t), δ_R(t))},
//	                         d = L1 / L2 / cosine over genes not named in t (split on "+")  best 1
//	pdisc (aggregate)        mean over rows of r_t/N with L1 (STATE PDisc)                 best 0
//	pdisc_norm (aggregate)   1 − 2·pdisc (random ≈ 0, perfect 1)                           best 1
//	energy_distance          2E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖, real vs predicted cells of t     best 0
//
// DE (package metrics/de): each t against the control cells of its context,
// Mann–Whitney U (scipy asymptotic, tie + continuity corrected), BH across
// genes, log2FC of geometric pseudobulks with ε. The predicted side is
// tested against the predicted controls (ControlPred) or the real controls
// (ControlReal). Significant: fdr < DEFDR and |LFC| ≥ DEMinLFC; ranked by
// |LFC| descending, ties by gene order; k = #real significant, kp = #pred.
//
//	overlap_at_N             |top_k(real) ∩ top_k(pred)|/k, 0 when k = 0 (VCC DES)        best 1
//	overlap_at_50…500        the same with k_eff = min(K, k)                               best 1
//	precision_at_N           |real_sig ∩ pred_sig|/kp, 0 when kp = 0                        best 1
//	de_sig_genes_recall      |real_sig ∩ pred_sig|/k, NaN when k = 0                       best 1
//	de_direction_match       fraction of real-significant genes with equal LFC sign       best 1
//	de_spearman_lfc_sig      Spearman of LFCs over real-significant genes (NaN if k < 2)  best 1
//	de_nsig_real, _pred      k, kp                                                         —
//	de_spearman_sig (agg.)   Spearman over all rows of (k, kp) (STATE SizeCorr)            best 1
//
// # Contexts
//
// With context labels every metric is computed within each context
// (discrimination ranks among that context's perturbations; DE against that
// context's controls) and aggregates are over all (context, perturbation)
// rows; pdisc is the mean of r_t/N over all rows and de_spearman_sig pools
// all rows. Report.ContextAggregates holds the same summaries per context
// (pdisc and de_spearman_sig recomputed within it); the CLI writes them to
// agg_results_by_context.csv.
//
// # NaN, zeros and warnings
//
// NaN means undefined and stays NaN in rows and outputs (JSON writes null);
// aggregates leave NaN rows out and count them (NaNCount). The only numbers
// set by rule rather than computed are cell-eval's: overlap_at_* = 0 when
// k = 0 and precision_at_N = 0 when kp = 0, and BaselineScore's NaN → 0.
// Every NaN and every rule-based 0 is listed in Report.Warnings, as are
// groups with fewer than two cells. Mismatched contexts or perturbations,
// a missing control, unequal gene counts and NaN/Inf values are errors.
//
// # Cost
//
// Pseudobulks and DE never densify the matrices: pseudobulks are one pass
// over the non-zeros, DE ranks the controls once per gene (metrics/de).
// Discrimination is O(N²·genes) per context on dense deltas. Energy distance
// is exact on sparse rows, O((n_real + n_pred)²·nnz per cell) per
// perturbation — the one metric that is expensive at Virtual Cell Challenge
// scale (the vcc profile does not include it).
//
// # Other entry points
//
// BaselineScore (VCC normalisation against a baseline's aggregate means,
// read with ReadAggMeans), Ceiling (metrics between two bootstrap halves of
// the real cells), Profiles / ProfileMetrics (full, vcc, minimal, pds).
package pert
