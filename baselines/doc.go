// Package baselines holds the simple models every perturbation model must
// beat, all pure Go (backend "cpu"), each fitted on training cells only and
// each implementing tasks.PerturbationModel:
//
//   - Control ("control"): predicts the context's control cells.
//   - PerturbationMean ("perturbation-mean"): context controls + the
//     perturbation's offset averaged over training contexts (STATE §5.3).
//   - ContextMean ("context-mean"): the pooled perturbed training cells of
//     the context, whatever the perturbation (STATE §5.3).
//   - Linear ("linear"): closed-form ridge on PCA gene/perturbation
//     embeddings of the training pseudobulk changes (Ahlmann-Eltze et al.
//     2025; scPerturBench linearModel.r).
//
// Each has a hyperparameter table (LinearParams, …); the model registry
// (package model, model.All) lists them beside the neural models of
// model/state, model/stack and model/sct, and builds them by name.
//
// # Predicted cells, not means
//
// Metrics such as differential expression (Mann–Whitney per gene) need a
// distribution of cells, so every baseline returns req.NCells cells:
//
//   - control: the context's control cells (PredictRequest.Controls)
//     drawn uniformly with replacement;
//   - context-mean: the context's perturbed training cells drawn uniformly
//     with replacement (real cells whose pooled mean is the context mean);
//   - perturbation-mean and linear: control cells drawn with replacement,
//     each shifted gene-wise by the predicted mean change and clamped at 0
//     (log1p expression is non-negative; the clamp slightly raises the mean
//     of genes shifted downwards where controls are near zero).
//
// Sampling uses a PCG generator seeded by the PertSpec seed and a hash of
// (context, perturbation), so a prediction does not depend on the order or
// batching of requests and the same seed gives the same cells.
//
// # Perturbations not seen in training
//
// A combination "A+B" unseen as a whole is predicted additively from its
// parts (perturbation-mean: sum of offsets; linear: sum of embeddings). An
// unseen single perturbation falls back to the average perturbation
// (perturbation-mean: the mean offset of the seen singles; linear: the
// gene-wise bias, i.e. the mean change). A context without perturbed
// training cells makes context-mean fall back to its controls plus the mean
// perturbed shift of the other contexts. Every fallback is reported by the
// model's Notes method (tasks.Noter) and ends up in the result warnings.
package baselines
