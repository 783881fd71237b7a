// Package tasks defines what a model is asked to do: the task table (All:
// each task's name and Kind), the model interface of each kind, the
// deterministic splits (BuildSplit) and the task runners that assemble
// real and predicted cells for the metrics (RunPert).
//
// # Kinds and model interfaces
//
//   - KindPerturbation — PerturbationModel: Fit on a split's training
//     cells, Predict cells for (context, perturbation) requests given
//     control cells. Optional Noter reports fallbacks.
//   - KindEmbedding — Embedder: FitEmbed on training datasets (EmbedSpec:
//     the sample column(s) that bound cell sets, the seed), Embed cells to
//     vectors (sets formed within EmbedSpec.SampleCol). Embedding tasks may
//     also score an embedding a dataset already holds.
//   - KindInContext — InContextModel: a PerturbationModel that can also
//     condition on prompt cells (perturbed cells of p in context A) to
//     predict query cells (controls of context B) with no gradient step;
//     plain PerturbationModels run in-context tasks ignoring the prompt.
//   - KindImputation — Imputer: given cells with masked entries (Position
//     list), return per-position bin probabilities and/or log1p values
//     (Imputation).
//
// The suite runner (package bench) has one runner per kind and dispatches
// on a task's Kind; a task of a kind without a runner is refused by suite
// validation. RequestRNG is the one per-request random generator models
// draw predicted cells with.
//
// # Tasks
//
//   - pert-fewshot: STATE/PerturBench "underrepresented context": one
//     context keeps TrainFraction (30 %) of its perturbations for training,
//     the rest are predicted; every other context trains whole.
//   - pert-zeroshot: every perturbed cell of one context is held out; its
//     controls stay in training (the model sees the new context's baseline).
//   - pert-combo: combinations ("A+B") are split: TestFraction (50 %) are
//     held out, singles and the other combinations train.
//   - stim-celltype: pert-zeroshot on a stimulation dataset (Kang 2018
//     IFN-β: group_id ctrl/stim, cluster_id cell types): predict the
//     stimulated cells of a held-out cell type. With one perturbation the
//     discrimination scores are trivially 1 and not informative.
//   - embed-integration: an embedding (CSV columns, an obsm entry or the
//     PCA of log1p highly variable genes, see LoadCSVEmbedding and
//     DatasetEmbeddings) of every cell of a dataset is scored with the
//     scIB metrics; no split, the seed drives k-means++ and Louvain
//     (EmbedIntegration, KindEmbedding).
//   - incontext (KindInContext): STACK's in-context prompting (Dong et
//     al. 2026; ArcInstitute/stack, "drug" sets: prompt = perturbed cells
//     of other cell lines, query = controls of line X, target = the
//     perturbed cells of line X). Every perturbed cell of the query
//     context B is held out of training (its controls stay: they are the
//     query); for each perturbation p that the prompt context A also
//     measures, the model gets up to prompt_cells (default 128, STACK's
//     released prompt size) of A's cells of p and predicts B's controls
//     under p. B and A are the task's holdout and prompt_context, or drawn
//     by the seed (BuildInContextSplit). On Kang 2018, the stimulated cells
//     of one cell type prompt another cell type's controls.
//   - impute-genes / impute-cells (KindImputation, impute.go; sCT paper
//     Tables 1 and 2): NewImputeSetup holds out TestFraction (25 %) of a
//     counts dataset's cells — random cells, or for spatial data (coordinate
//     columns) the spots beyond a random line — keeps the MaxGenes most
//     variable genes of the training cells, groups the held-out cells into
//     bags of BagSize (50; spatial: neighbourhoods) and bins every held-out
//     cell (metrics/recon). Mask draws, per masking ratio, round(r·G) genes
//     of every held-out cell (impute-genes) or round(r·n) whole cells of
//     every bag (impute-cells); RunImpute fits the Imputer once on the
//     training cells, hands it the masked cells (masked entries removed),
//     the positions and the bags, and scores the answers: mcc,
//     mcc_expressed, mae_counts over the masked positions pooled. Both tasks
//     of one seed share the split and panel.
//
// A dataset with one context (TAP-seq) runs pert-fewshot as "unseen
// perturbations": its only context keeps 30 % of the targets for training.
//
// # In-context prompt variants
//
// An InContextModel runs the incontext task three times after one Fit
// (RunInContext): with the prompt of p ("matched"), with no prompt
// ("none") and with A's cells of another perturbation q while the request
// still names p ("wrong"; A's controls when A measures nothing else, as in
// Kang). A plain PerturbationModel runs once through Predict with B's
// controls as Controls; it never sees a prompt, but its training cells
// include A's perturbed cells. Records name the variant in Prompt; reports
// show each variant as a model of its own ("stack [prompt=none]").
//
// # Splits
//
// BuildSplit is a pure function of the labels, the TaskConfig and the seed
// (PCG(seed, fnv64(task name))); the runner writes each split (held-out
// context, train/test perturbations, cell names) beside the results. The
// contract, checked by the tests: Train and Test partition the cells, Test
// holds exactly the cells of the test (context, perturbation) groups, no
// training cell belongs to a test group, and no control is a test cell.
//
// # Evaluation sets
//
// RunInContext evaluates each variant like a perturbation task with one
// difference: the query cells (B's controls, capped at MaxControls) are
// both what the model transforms and the control reference of the
// metrics, on both sides. Real = B's cells of p (capped at MaxCells) +
// the query; Pred = one predicted cell per query cell + the same query.
// The deltas then measure the change the model applied to exactly the
// cells it was given (an unchanged query has delta 0), and no model can
// move the reference.
//
// RunPert gives the model every training control of the context in each
// PredictRequest and asks for as many cells as the real test group keeps
// after the MaxCells cap. The real and predicted sets share the same
// MaxControls real control cells per test context, so pred-control and
// real-control deltas coincide and a model cannot move its own reference.
package tasks
