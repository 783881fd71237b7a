package metrics

import "math"

// Perturbation metric names (SPEC-metrics.md, "Perturbation metrics"). The
// implementations live in metrics/pert; the names match cell-eval's columns
// where the metric is the same.
const (
	PearsonDelta         = "pearson_delta"
	MAE                  = "mae"
	MSE                  = "mse"
	MAEDelta             = "mae_delta"
	MSEDelta             = "mse_delta"
	DiscriminationL1     = "discrimination_score_l1"
	DiscriminationL2     = "discrimination_score_l2"
	DiscriminationCosine = "discrimination_score_cosine"
	PDisc                = "pdisc"
	PDiscNorm            = "pdisc_norm"
	EnergyDistance       = "energy_distance"
	OverlapAtN           = "overlap_at_N"
	OverlapAt50          = "overlap_at_50"
	OverlapAt100         = "overlap_at_100"
	OverlapAt200         = "overlap_at_200"
	OverlapAt500         = "overlap_at_500"
	PrecisionAtN         = "precision_at_N"
	DESigGenesRecall     = "de_sig_genes_recall"
	DEDirectionMatch     = "de_direction_match"
	DESpearmanLFCSig     = "de_spearman_lfc_sig"
	DENSigReal           = "de_nsig_real"
	DENSigPred           = "de_nsig_pred"
	DESpearmanSig        = "de_spearman_sig"
	cellEval             = "cell-eval 0.8 (ArcInstitute/cell-eval metrics/_impl.py)"
	cellEvalDE           = "cell-eval 0.8 metrics/_de.py; DE by pdex 0.2 (Mann–Whitney U + BH)"
	stateSource          = "STATE paper (Adduri et al. 2025), VCC primer (huggingface/blog virtual-cell-challenge.md)"
)

func perturbationInfos() []Info {
	hi := func(name string, kind Kind, doc, src string) Info {
		return Info{Name: name, Direction: HigherIsBetter, Best: 1, Kind: kind, Doc: doc, Source: src}
	}
	lo := func(name string, kind Kind, doc, src string) Info {
		return Info{Name: name, Direction: LowerIsBetter, Best: 0, Kind: kind, Doc: doc, Source: src}
	}
	return []Info{
		hi(PearsonDelta, Expression, "Pearson over genes of δ_P(t) = μ_P(t) − c and δ_R(t) = μ_R(t) − μ_R(ctrl)", cellEval),
		lo(MAE, Expression, "mean over genes of |μ_P(t) − μ_R(t)| (pseudobulk log1p means, no control)", cellEval),
		lo(MSE, Expression, "mean over genes of (μ_P(t) − μ_R(t))²", cellEval),
		lo(MAEDelta, Expression, "mean over genes of |δ_P(t) − δ_R(t)|", cellEval),
		lo(MSEDelta, Expression, "mean over genes of (δ_P(t) − δ_R(t))²", cellEval),
		hi(DiscriminationL1, Expression, "1 − r_t/N, r_t = #{q ≠ t : L1(δ_P(t), δ_R(q)) < L1(δ_P(t), δ_R(t))}, target genes excluded (VCC PDS)", cellEval),
		hi(DiscriminationL2, Expression, "as discrimination_score_l1 with Euclidean distance", cellEval),
		hi(DiscriminationCosine, Expression, "as discrimination_score_l1 with cosine distance", cellEval),
		lo(PDisc, Aggregate, "mean over perturbations of r_t/N (L1 ranks of discrimination_score_l1)", stateSource),
		hi(PDiscNorm, Aggregate, "1 − 2·pdisc (random ≈ 0, perfect = 1)", stateSource),
		lo(EnergyDistance, Expression, "2·E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖ between predicted and real cells of t (log1p, Euclidean, means over all pairs incl. self)", "scperturb edist; PerturBench energy distance"),
		hi(OverlapAtN, DifferentialExpression, "|top_k(real) ∩ top_k(pred)|/k, k = #real significant genes, ranked by |LFC|; 0 when k = 0 (VCC DES)", cellEvalDE),
		hi(OverlapAt50, DifferentialExpression, "overlap_at_N with k_eff = min(50, k)", cellEvalDE),
		hi(OverlapAt100, DifferentialExpression, "overlap_at_N with k_eff = min(100, k)", cellEvalDE),
		hi(OverlapAt200, DifferentialExpression, "overlap_at_N with k_eff = min(200, k)", cellEvalDE),
		hi(OverlapAt500, DifferentialExpression, "overlap_at_N with k_eff = min(500, k)", cellEvalDE),
		hi(PrecisionAtN, DifferentialExpression, "|real_sig ∩ pred_sig|/|pred_sig|; 0 when pred has no significant gene", cellEvalDE),
		hi(DESigGenesRecall, DifferentialExpression, "|real_sig ∩ pred_sig|/|real_sig|; NaN when k = 0", cellEvalDE),
		hi(DEDirectionMatch, DifferentialExpression, "fraction of real significant genes with sign(LFC_pred) = sign(LFC_real); NaN when k = 0", cellEvalDE),
		hi(DESpearmanLFCSig, DifferentialExpression, "Spearman(LFC_real, LFC_pred) over real significant genes; NaN when k < 2 or constant", cellEvalDE),
		{Name: DENSigReal, Direction: NoDirection, Best: math.NaN(), Kind: DifferentialExpression, Doc: "number of real significant genes (fdr < α, |LFC| ≥ min)", Source: cellEvalDE},
		{Name: DENSigPred, Direction: NoDirection, Best: math.NaN(), Kind: DifferentialExpression, Doc: "number of predicted significant genes", Source: cellEvalDE},
		hi(DESpearmanSig, Aggregate, "Spearman over perturbations of (de_nsig_real, de_nsig_pred) (STATE SizeCorr)", cellEvalDE),
	}
}
