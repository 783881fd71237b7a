package tasks

// EmbedIntegration is the embedding task: score a cell embedding (every
// cell of the dataset, no split) with the scIB integration metrics
// (metrics/scib.Benchmark: bio conservation, batch correction, total, and
// zero-shot kNN cell typing). The "model" is the embedding itself (scVI,
// Harmony's input PCs, the PCA of log1p highly variable genes); the seed
// drives k-means++, Louvain and any subsampling.
const EmbedIntegration = "embed-integration"
