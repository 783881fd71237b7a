// Package scib computes the scIB integration metrics of an embedding
// (scib-metrics 0.6 definitions, SPEC-metrics.md "Embedding / integration
// metrics") and zero-shot kNN cell typing, in pure Go.
//
// # Entry point
//
//	opt := scib.DefaultOptions()      // preset scib-metrics-0.6, k = 90, seed 0, α = 0.05
//	opt.Pre = unintegratedPCA         // optional, for pcr_comparison
//	rep, err := scib.Benchmark(x, cellTypes, batches, opt)
//	for _, v := range rep.Values { fmt.Println(v.Name, v.Value, v.Reason) }
//
// The defaults reproduce scib-metrics 0.6's Benchmarker (benchmark/_core.py):
// its metrics, its neighbour counts, its kBET neighbour search and its
// aggregates. Every metric is computed; the Preset only decides which are
// averaged into bio and batch (see Aggregates below).
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
// the cell itself at distance 0 (ties by index), is computed once and cut
// as the Benchmarker cuts its pynndescent table: the first 15 columns feed
// graph_connectivity and (through the fuzzy connectivities) Leiden and
// Louvain, the first 50 kBET's connectivities, all 90 LISI and kNN cell
// typing. kBET then searches each label's cells again, in that label's
// diffusion map (DiffusionEmbedding). The search is
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
//   - silhouette_label, isolated_labels (ASW variant): as scib-metrics;
//     silhouette widths equal sklearn's silhouette_samples (singleton groups
//     score 0).
//   - bras (default batch-removal silhouette, BRAS): as scib-metrics' bras —
//     per label, cosine distance, b_i = mean distance to every cell of the
//     label in another batch ("mean_other"), score mean(1 − |s_i|) per
//     label, then the mean over labels. silhouette_batch (Euclidean, nearest
//     other batch, scIB 1.x's batch ASW) is still computed and is the batch
//     member of the scib-1 preset. scib-metrics computes both in JAX
//     float32; here float64 (agreement with a float64 numpy port: 1e-9).
//   - nmi_kmeans, ari_kmeans: greedy k-means++ initialisation (sklearn's
//     algorithm, 2 + ⌊ln k⌋ trials) from PCG(seed, seed), then Lloyd as
//     sklearn 1.2 (max_iter 300, tol 1e-4 × mean feature variance, empty
//     clusters relocated); k = number of labels; one initialisation
//     (scib-metrics' JAX KMeans uses n_init = 1 as well). Random streams
//     differ from JAX's, so clusterings differ from scib-metrics' for the
//     same seed number; from the same initial centres they equal sklearn's.
//   - nmi_leiden, ari_leiden: scib-metrics' nmi_ari_cluster_labels_leiden —
//     Leiden (this package's implementation of igraph's community_leiden:
//     modularity, β = 0.01, 2 iterations) on the fuzzy 15-NN
//     connectivities at resolutions 0.2, 0.4, …, 2.0; the best NMI and the
//     ARI at that resolution. Computed, but — as the Benchmarker leaves it
//     off by default — outside the bio mean unless Options.BioIncludesLeiden.
//     Random streams differ from igraph's (python's random.Random(42)), so
//     partitions differ run for run; the objective and moves are igraph's.
//   - nmi_louvain, ari_louvain: scib 1.x's opt_louvain, kept for
//     comparisons with it: Louvain (this package's compressed-row
//     implementation; gonum's graph/community.Modularize with
//     Options.GonumLouvain, same objective, ~50× slower on 10,000 cells) on
//     the same connectivities, resolutions 0.1, 0.2, …, 2.0. Outside the bio
//     mean unless Options.BioIncludesLouvain.
//   - clisi, ilisi: scib-metrics' LISI (perplexity ⌊k/3⌋ = 30, self masked,
//     exp(−β·d) on plain distances, β bisection to 1e-5 in ≤ 50 steps),
//     scaled (L − median)/(L − 1) and (median − 1)/(B − 1). A cell whose
//     kernel underflows gets NaN (scib-metrics: −1) and is skipped by the
//     median, with a note.
//   - kbet_per_label: as scib-metrics' kbet_per_label (KBETPerLabel has the
//     rules): NaN for < 10 cells or one batch; k0 = min(70, max(10, ⌊mean
//     batch size/4⌋)); 0 when < 75 % of the label's cells lie in connected
//     components (of the fuzzy 50-NN connectivities restricted to the
//     label) of ≥ 3·k0 cells; otherwise each kept cell's k0 + 1 nearest
//     kept cells (itself included) in the diffusion map of the kept cells'
//     connectivities (scanpy's density-normalised transitions, the
//     eigenpairs of largest |λ|, rounded to float32, scaled λ/(1 − λ)), a
//     χ² test of their batch counts, α = 0.05; the acceptance rate; nanmean
//     over labels. The number of diffusion components is scib-metrics'
//     running minimum: min(100, kept − 1) over the labels processed so far
//     (its loop reassigns diffusion_n_comps), reproduced on purpose — on the
//     retina embedding "Pericytes" (20 cells) sets 19 components for every
//     later label, Rods (3,358 cells) included. Differences, all at exact
//     ties or below float32
//     resolution: neighbours are exact (scib-metrics: pynndescent,
//     approximate); the connectivities are float64 (umap-learn: float32);
//     the eigenpairs come from thick-restart Lanczos or a dense solver
//     (scib-metrics: ARPACK). Options.KBETSearch = KBETEmbedding searches
//     the embedding itself instead (cellbench's earlier default; same test).
//   - graph_connectivity: as scib-metrics (strongly connected components of
//     the directed 15-NN graph per label, Tarjan).
//   - pcr_comparison: scib-metrics computes PCR over all principal
//     components; with all components Σ R²_i·var_i / Σ var_i equals the
//     fraction of total variance explained by batch (rotation invariance),
//     which PCR computes exactly. Needs a pre-integration embedding
//     (Options.Pre); NaN otherwise.
//   - knn_accuracy, knn_balanced_accuracy: leave-one-out 5-NN majority vote
//     (ties to the label met first, i.e. nearest), accuracy and mean
//     per-label recall. Not part of scib-metrics.
//
// # Aggregates and presets
//
// bio and batch are pandas-style skip-NaN means (scib-metrics' get_results)
// over the Preset's sets; skipped members are named in the Reason; batch is
// NaN for a single batch; total = 0.6·bio + 0.4·batch.
//
//   - PresetScibMetrics, "scib-metrics-0.6" (default): the Benchmarker's
//     defaults since scib-metrics 0.5.6 — bio: isolated_labels, nmi_kmeans,
//     ari_kmeans, silhouette_label, clisi; batch: bras, ilisi,
//     kbet_per_label, graph_connectivity, pcr_comparison.
//   - PresetScib1, "scib-1": batch with silhouette_batch instead of bras
//     (scIB 1.x's batch ASW; the Benchmarker's default up to 0.5.5).
//
// Report.Preset (and score embed's outputs) name the preset used.
//
// PCA computes the unintegrated reference embedding (centred, sparse,
// subspace iteration, deterministic sign: largest |loading| positive).
//
// Everything is deterministic for a given seed: random numbers come only
// from math/rand/v2 PCG sources, parallel loops write disjoint outputs,
// and Louvain and Leiden iterate nodes and edges in a fixed order.
//
// Cross-checks: testdata/scib/make_reference.py computes sklearn 1.2.1 /
// scipy 1.10.1 references (silhouette, KMeans from fixed centres, NMI, ARI,
// NearestNeighbors, PCA+LinearRegression PCR, connected_components, χ²,
// balanced accuracy) and a numpy port of scib-metrics' LISI calibration;
// reference_test.go compares at 1e-9–1e-10.
// testdata/scib/make_benchmarker_reference.py ports scib-metrics 0.6's bras,
// kbet_per_label (with scipy's eigsh for the diffusion map) and the fuzzy
// simplicial set to numpy/scipy and runs them on the four shared
// embeddings; benchmarker_test.go compares bras and silhouette_batch at
// 1e-9, every label's kBET score exactly and its diffusion eigenvalues at
// 1e-6. The eigenvectors themselves are compared only through quantities
// that do not depend on the solver (eigenvalues, diffusion distances,
// neighbour sets, kBET scores): ARPACK, Lanczos and a dense solver may
// return different signs and different bases of repeated eigenvalues.
package scib
