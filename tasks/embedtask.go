package tasks

// EmbedIntegration is the embedding task: score a cell embedding (every
// cell of the dataset, no split) with the scIB integration metrics
// (metrics/scib.Benchmark: bio conservation, batch correction, total, and
// zero-shot kNN cell typing). The "model" is the embedding itself (scVI,
// Harmony's input PCs, the PCA of log1p highly variable genes); the seed
// drives k-means++, Louvain and any subsampling.
const EmbedIntegration = "embed-integration"

// CelltypeZeroshot is zero-shot cell typing across batches: the cells of
// each batch (donor, chemistry, species) are labelled by k-NN (k = 5)
// among the cells of the other batches in a cell embedding
// (metrics/scib.KNNTransfer), so no label of the typed batch is ever
// seen. Reported per held-out batch and as the mean over batches:
// knn_accuracy and knn_balanced_accuracy. A task holdout names one batch
// to type instead of all.
const CelltypeZeroshot = "celltype-zeroshot"
