package metrics

// Embedding metric names (SPEC-metrics.md, "Embedding / integration
// metrics"), implemented in metrics/scib (which declares the same names).
const (
	IsolatedLabels      = "isolated_labels"
	NMIKMeans           = "nmi_kmeans"
	ARIKMeans           = "ari_kmeans"
	NMILouvain          = "nmi_louvain"
	ARILouvain          = "ari_louvain"
	NMILeiden           = "nmi_leiden"
	ARILeiden           = "ari_leiden"
	SilhouetteLabel     = "silhouette_label"
	CLISI               = "clisi"
	SilhouetteBatch     = "silhouette_batch"
	BRAS                = "bras"
	ILISI               = "ilisi"
	KBETPerLabel        = "kbet_per_label"
	GraphConnectivity   = "graph_connectivity"
	PCRComparison       = "pcr_comparison"
	ScibBio             = "bio"
	ScibBatch           = "batch"
	ScibTotal           = "total"
	KNNAccuracy         = "knn_accuracy"
	KNNBalancedAccuracy = "knn_balanced_accuracy"
	scibMetrics         = "scib-metrics 0.6 (YosefLab/scib-metrics src/scib_metrics/metrics)"
)

func scibInfos() []Info {
	hi := func(name string, kind Kind, doc, src string) Info {
		return Info{Name: name, Direction: HigherIsBetter, Best: 1, Kind: kind, Doc: doc, Source: src}
	}
	return []Info{
		hi(IsolatedLabels, BioConservation, "mean over labels present in the fewest batches of mean (s_i+1)/2, s = silhouette w.r.t. labels (ASW variant)", scibMetrics+" isolated_labels"),
		hi(NMIKMeans, BioConservation, "NMI (arithmetic) between labels and k-means++ clusters, k = #labels, fixed seed", scibMetrics+" nmi_ari_cluster_labels_kmeans"),
		hi(ARIKMeans, BioConservation, "ARI between labels and k-means++ clusters, k = #labels, fixed seed", scibMetrics+" nmi_ari_cluster_labels_kmeans"),
		hi(NMILeiden, BioConservation, "best NMI over Leiden clusterings (modularity, β = 0.01, 2 iterations) of the 15-NN fuzzy graph at resolutions 0.2, 0.4, …, 2.0", scibMetrics+" nmi_ari_cluster_labels_leiden"),
		hi(ARILeiden, BioConservation, "ARI of the Leiden clustering with the best NMI", scibMetrics+" nmi_ari_cluster_labels_leiden"),
		hi(NMILouvain, BioConservation, "best NMI over Louvain clusterings of the 15-NN fuzzy graph at resolutions 0.1…2.0", "scib 1.x opt_louvain"),
		hi(ARILouvain, BioConservation, "ARI of the Louvain clustering with the best NMI", "scib 1.x opt_louvain"),
		hi(SilhouetteLabel, BioConservation, "(mean silhouette w.r.t. labels + 1)/2, Euclidean", scibMetrics+" silhouette_label"),
		hi(CLISI, BioConservation, "(L − median LISI_label)/(L − 1), 90-NN, perplexity 30, self masked", scibMetrics+" clisi_knn"),
		hi(BRAS, BatchCorrection, "mean over labels of mean(1 − |s|), s = silhouette w.r.t. batch within the label with cosine distance and b = mean distance to all other batches (default batch metric)", scibMetrics+" bras (Rautenstrauch & Ohler 2025)"),
		hi(SilhouetteBatch, BatchCorrection, "mean over labels of mean(1 − |s_batch|), s_batch = silhouette w.r.t. batch within the label (Euclidean, nearest other batch; preset scib-1)", scibMetrics+" silhouette_batch"),
		hi(ILISI, BatchCorrection, "(median LISI_batch − 1)/(B − 1), 90-NN, perplexity 30, self masked", scibMetrics+" ilisi_knn"),
		hi(KBETPerLabel, BatchCorrection, "mean over labels of the kBET acceptance rate (χ², α = 0.05, k0 + 1 neighbours incl. self per label, found in the diffusion map of the label's 50-NN connectivities)", scibMetrics+" kbet_per_label"),
		hi(GraphConnectivity, BatchCorrection, "mean over labels of |largest strongly connected component| / |label| in the 15-NN graph", scibMetrics+" graph_connectivity"),
		hi(PCRComparison, BatchCorrection, "(pcr_pre − pcr_post)/pcr_pre clipped at 0; pcr = variance fraction explained by batch over all PCs", scibMetrics+" pcr_comparison"),
		hi(ScibBio, Aggregate, "mean of the bio-conservation metrics (Benchmarker default set: isolated_labels, nmi/ari_kmeans, silhouette_label, clisi)", scibMetrics+" benchmark get_results"),
		hi(ScibBatch, Aggregate, "mean of the batch-correction metrics (preset scib-metrics-0.6: bras, ilisi, kbet_per_label, graph_connectivity, pcr_comparison; preset scib-1: silhouette_batch instead of bras)", scibMetrics+" benchmark get_results"),
		hi(ScibTotal, Aggregate, "0.6·bio + 0.4·batch", scibMetrics+" benchmark get_results (scIB weighting)"),
		hi(KNNAccuracy, CellTyping, "leave-one-out 5-NN majority vote accuracy (ties to the nearest)", "SPEC-metrics.md zero-shot cell typing"),
		hi(KNNBalancedAccuracy, CellTyping, "leave-one-out 5-NN mean per-label recall (sklearn balanced_accuracy_score)", "SPEC-metrics.md zero-shot cell typing"),
	}
}
