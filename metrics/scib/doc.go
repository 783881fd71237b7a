// Package scib computes the scIB integration metrics of an embedding
// (scib-metrics 0.6 definitions, SPEC-metrics.md "Embedding / integration
// metrics") and zero-shot kNN cell typing, in pure Go.
//
// # Entry point
//
//	opt := scib.DefaultOptions()      // k = 90, seed 0, resolutions 0.1…2.0, α = 0.05
//	opt.Pre = unintegratedPCA         // optional, for pcr_comparison
//	rep, err := scib.Benchmark(x, cellTypes, batches, opt)
//	for _, v := range rep.Values { fmt.Println(v.Name, v.Value, v.Reason) }
//
// x is a *data.Dense (cells × dims). Every value is named as in
// SPEC-metrics.md; a value that is undefined for the input is NaN and its
// Reason says why (one label, one batch, no pre-integration embedding, …).
// Bad input (length mismatch, NaN/Inf in x, empty label, unknown metric) is
// an error, never a number. Every metric is higher-is-better in [0, 1].
//
// # Shared neighbours
//
// One exact Euclidean kNN table at k = 90 (ExactKNN), each row starting with
// the cell itself at distance 0 (ties by index), is computed once; its first
// 15 columns feed graph_connectivity and Louvain, its first 50 kBET's
// connected components, all 90 LISI and kNN cell typing. The search is
// exact: a k-d tree with bounding boxes for D ≤ 32 (pruning only strictly
// farther boxes, so results equal brute force, ties included), a
// brute-force scan otherwise, over GOMAXPROCS goroutines. Memory is
// 12·N·k bytes for the table plus the tree (N int32, a dims-major copy of
// the embedding, ~N/20 nodes with 2·D float64 boxes) or, for the scan, one
// length-N buffer per worker — never an N × N matrix (10,000 cells, k = 90:
// 10.7 MB for the table). Silhouettes stream over pairs, each computed
// once, with 16·workers·N·labels bytes of per-cell sums (or, above
// 256 MiB, every ordered pair with O(workers·labels)).
//
// # Speed: vector distance kernels
//
// Distances go through a few kernels in distkernel*.go: squared distances
// from one point to a run of points stored dims-major, sums of distances
// (silhouette), box distances (k-d tree) and a running minimum (k-means).
// Built with GOEXPERIMENT=simd on amd64 (as the Makefile does) they use
// AVX-512 (8 float64 lanes; AVX2 with 4 lanes on CPUs without it), and the
// scalar versions otherwise. Squared distances, box distances and k-means
// assignments are bit-identical between the vector and scalar kernels
// (same operations in the same order, no fused multiply-add), so neighbour
// tables and clusterings do not depend on the build; silhouette sums differ
// in summation order only (≤ 1e-13 relative). Timings:
// bench/reports/score-embed.md; benchmarks: bench_test.go.
//
// # Metrics and where they differ from scib-metrics 0.6
//
//   - silhouette_label, silhouette_batch, isolated_labels (ASW variant):
//     as scib-metrics; silhouette widths equal sklearn's silhouette_samples
//     (singleton groups score 0). Default batch metric: SPEC-metrics.md
//     lists silhouette_batch, which is what is computed; scib-metrics 0.6's
//     default BatchCorrection uses bras (cosine distance, mean-other
//     between-cluster distance) instead, which cellbench does not compute.
//   - nmi_kmeans, ari_kmeans: greedy k-means++ initialisation (sklearn's
//     algorithm, 2 + ⌊ln k⌋ trials) from PCG(seed, seed), then Lloyd as
//     sklearn 1.2 (max_iter 300, tol 1e-4 × mean feature variance, empty
//     clusters relocated); k = number of labels; one initialisation
//     (scib-metrics' JAX KMeans uses n_init = 1 as well). Random streams
//     differ from JAX's, so clusterings differ from scib-metrics' for the
//     same seed number; from the same initial centres they equal sklearn's.
//   - nmi_louvain, ari_louvain: Louvain (this package's compressed-row
//     implementation; gonum's graph/community.Modularize with
//     Options.GonumLouvain, same objective, ~50× slower on 10,000 cells) on
//     UMAP's fuzzy simplicial set of the 15-NN table (the connectivities
//     scanpy and scib-metrics use), resolutions 0.1, 0.2, …, 2.0 (scib's
//     opt_louvain grid); the best NMI and the ARI at that resolution.
//     scib-metrics 0.6 uses Leiden at 0.2…2.0 and leaves it out of its
//     default set: the bio mean here excludes Louvain too unless
//     Options.BioIncludesLouvain.
//   - clisi, ilisi: scib-metrics' LISI (perplexity ⌊k/3⌋ = 30, self masked,
//     exp(−β·d) on plain distances, β bisection to 1e-5 in ≤ 50 steps),
//     scaled (L − median)/(L − 1) and (median − 1)/(B − 1). A cell whose
//     kernel underflows gets NaN (scib-metrics: −1) and is skipped by the
//     median, with a note.
//   - kbet_per_label: the per-label rules of scib-metrics (NaN for < 10
//     cells or one batch; k0 = min(70, max(10, ⌊mean batch size/4⌋)); 0 when
//     < 75 % of the label's cells lie in connected components — of the fuzzy
//     50-NN connectivities — of ≥ 3·k0 cells; χ² test against the batch
//     frequencies of the tested cells, α = 0.05; acceptance rate; nanmean
//     over labels). Difference: each tested cell's k0 neighbours are its
//     exact Euclidean nearest cells of the same label in the embedding,
//     not nearest cells in a 100-component diffusion map of the label's
//     connectivity subgraph. Some scib-metrics releases invert the
//     "< 10 cells" test (skipping labels with more than 10 cells); the
//     documented rule is used here.
//   - graph_connectivity: as scib-metrics (strongly connected components of
//     the directed 15-NN graph per label, Tarjan).
//   - pcr_comparison: scib-metrics computes PCR over all principal
//     components; with all components Σ R²_i·var_i / Σ var_i equals the
//     fraction of total variance explained by batch (rotation invariance),
//     which PCR computes exactly. Needs a pre-integration embedding
//     (Options.Pre); NaN otherwise.
//   - bio, batch, total: pandas-style skip-NaN means of scib-metrics' default
//     sets (bio: isolated_labels, nmi_kmeans, ari_kmeans, silhouette_label,
//     clisi; batch: silhouette_batch, ilisi, kbet_per_label,
//     graph_connectivity, pcr_comparison); skipped members are named in the
//     Reason; batch is NaN for a single batch; total = 0.6·bio + 0.4·batch.
//   - knn_accuracy, knn_balanced_accuracy: leave-one-out 5-NN majority vote
//     (ties to the label met first, i.e. nearest), accuracy and mean
//     per-label recall.
//
// PCA computes the unintegrated reference embedding (centred, sparse,
// subspace iteration, deterministic sign: largest |loading| positive).
//
// Everything is deterministic for a given seed: random numbers come only
// from math/rand/v2 PCG sources, parallel loops write disjoint outputs,
// and Louvain iterates nodes and edges in a fixed order.
//
// Cross-checks: testdata/scib/make_reference.py computes sklearn 1.2.1 /
// scipy 1.10.1 references (silhouette, KMeans from fixed centres, NMI, ARI,
// NearestNeighbors, PCA+LinearRegression PCR, connected_components, χ²,
// balanced accuracy) and a numpy port of scib-metrics' LISI calibration;
// reference_test.go compares at 1e-9–1e-10.
package scib
