package bench

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/metrics/pert"
	"github.com/cellbench/cellbench/tasks"
)

// Run artifacts: small per-cell files beside the journal that figures need
// and records cannot carry (see doc.go, "Artifacts"):
//
//	OUT/artifacts/<task>/<dataset>/<model>/seed=<s>/meta.json
//	  perturbation cells: de.csv.gz, deltas.csv.gz
//	  embedding cells:    embedding2d.csv.gz
//	OUT/artifacts/index.jsonl   done cells → their directory (end of run, merge)
//
// A cell's directory is staged under OUT/artifacts/.staging/<shard>/ and
// renamed into place (after removing an older attempt's directory) before
// the cell's records and done line are journalled; the done line names the
// directory. A kill leaves either no directory, or a complete one whose
// cell is not done (ignored, replaced on resume); never a partial one.

// Artifact kinds (ArtifactMeta.Kind).
const (
	ArtifactPert  = "pert"
	ArtifactEmbed = "embed"
)

// Caps that keep artifacts small.
const (
	// MaxArtifactGenes: with more genes, a perturbation artifact keeps the
	// genes with the largest real |pseudobulk delta| over its groups.
	MaxArtifactGenes = 2000
	// MaxArtifactGroups: with more test (context, perturbation) groups, a
	// perturbation artifact stores the DE tables and deltas of the groups
	// with the most real significant genes (every group is still listed in
	// the meta with its counts).
	MaxArtifactGroups = 200
	// MaxArtifactCells: an embedding artifact keeps at most this many
	// cells' 2-D coordinates (a seeded subsample).
	MaxArtifactCells = 3000
)

const (
	artifactDir   = "artifacts"
	artifactIndex = "index.jsonl"
	stagingDir    = ".staging"
)

// ArtifactMeta is a cell's meta.json: its identity and what its files hold.
type ArtifactMeta struct {
	Kind string `json:"kind"`
	// Cell is the grid cell's key; a directory whose Cell differs from the
	// key of the done line naming it is stale and must be ignored.
	Cell    string             `json:"cell"`
	Suite   string             `json:"suite"`
	Task    string             `json:"task"`
	Dataset string             `json:"dataset"`
	Split   string             `json:"split"`
	Model   string             `json:"model"`
	Seed    uint64             `json:"seed"`
	Files   []string           `json:"files"`
	Pert    *PertArtifactMeta  `json:"pert,omitempty"`
	Embed   *EmbedArtifactMeta `json:"embed,omitempty"`
}

// PertArtifactMeta describes a perturbation cell's DE tables and deltas.
type PertArtifactMeta struct {
	PertCol    string `json:"pert_col"`
	ContextCol string `json:"context_col,omitempty"`
	Control    string `json:"control"`
	// GenesTotal is the dataset's gene count; Genes the genes kept in the
	// files (all of them when GenesTotal ≤ MaxArtifactGenes), GeneRule how.
	GenesTotal int      `json:"genes_total"`
	Genes      []string `json:"genes"`
	GeneRule   string   `json:"gene_rule"`
	// DE settings of the tables (metrics/pert options).
	DEFDR      float64 `json:"de_fdr"`
	DEMinLFC   float64 `json:"de_min_lfc"`
	LFCEpsilon float64 `json:"lfc_epsilon"`
	ControlRef string  `json:"control_ref"`
	// Groups lists every test group with its cell counts and real
	// significant genes; Stored says whether its tables are in the files.
	Groups    []ArtifactGroup `json:"groups"`
	GroupRule string          `json:"group_rule"`
}

// ArtifactGroup is one test (context, perturbation) group of a cell.
type ArtifactGroup struct {
	Context      string `json:"context"`
	Perturbation string `json:"perturbation"`
	NReal        int    `json:"n_real"`
	NPred        int    `json:"n_pred"`
	// NRealSig counts real significant DE genes (fdr < DEFDR, |LFC| ≥
	// DEMinLFC) over all genes of the dataset (-1 without DE tables).
	NRealSig int  `json:"n_real_sig"`
	Stored   bool `json:"stored"`
}

// EmbedArtifactMeta describes an embedding cell's 2-D PCA.
type EmbedArtifactMeta struct {
	Embedding string `json:"embedding"`
	LabelCol  string `json:"label_col"`
	BatchCol  string `json:"batch_col"`
	Cells     int    `json:"cells"` // cells scored (after dropping missing labels)
	Dims      int    `json:"dims"`
	Dropped   int    `json:"dropped"`
	// Shown is the number of cells in embedding2d.csv.gz (≤
	// MaxArtifactCells; a PCG(seed, fnv64("embed-2d")) subsample).
	Shown int `json:"shown"`
	// Explained is the fraction of the embedding's total variance on PC1
	// and PC2 (PCA of all Cells).
	Explained [2]float64 `json:"explained"`
}

// PertArtifact is a perturbation cell's artifact, read back.
type PertArtifact struct {
	Meta   ArtifactMeta
	DE     []DETable    // stored groups, in meta order
	Deltas []DeltaTable // one per context with stored groups
}

// DETable is the real and predicted DE of one group over the kept genes
// (Meta.Pert.Genes): log2 fold change and BH FDR.
type DETable struct {
	Context, Perturbation string
	RealLFC, RealFDR      []float64
	PredLFC, PredFDR      []float64
}

// DeltaTable holds the pseudobulk deltas (mean log1p of the group − mean
// log1p of the context's control cells; the predicted side against the
// predicted set's controls, metrics/pert's control reference "pred") of
// one context's stored perturbations over the kept genes.
type DeltaTable struct {
	Context       string
	Perturbations []string
	Real, Pred    [][]float64 // [perturbation][gene]
}

// EmbedArtifact is an embedding cell's artifact, read back.
type EmbedArtifact struct {
	Meta            ArtifactMeta
	PC              [][2]float64
	Labels, Batches []string
}

// artifact is a cell's artifact before it is written.
type artifact struct {
	meta  ArtifactMeta
	files []artifactFile
}

type artifactFile struct {
	name  string
	write func(w io.Writer) error
}

// artifactRel is a cell's artifact directory relative to the run directory.
func artifactRel(c Cell) string {
	return filepath.Join(artifactDir, fileSafe(c.Task.Name), fileSafe(c.Dataset.Name), fileSafe(c.Model.ID()), fmt.Sprintf("seed=%d", c.Seed))
}

// newPertArtifact builds a perturbation cell's artifact from its evaluation
// sets and, when it has DE tables, the metrics/pert report (else the DE is
// computed here with the same options).
func newPertArtifact(meta ArtifactMeta, out *tasks.PertOutput, spec tasks.PertSpec, ev EvalSpec, rep *pert.Report) (*artifact, error) {
	real, pred, err := pertInputs(out, spec)
	if err != nil {
		return nil, err
	}
	if rep == nil || rep.RealDE == nil {
		opts := pertOptions(out, spec, ev)
		opts.Metrics = []string{metrics.DENSigReal}
		opts.Profile = ""
		if rep, err = pert.Evaluate(real, pred, opts); err != nil {
			return nil, fmt.Errorf("artifact DE: %w", err)
		}
	}
	o := rep.Options
	genes := out.Real.Genes()
	pm := &PertArtifactMeta{PertCol: spec.PertCol, ContextCol: spec.ContextCol, Control: spec.Control,
		GenesTotal: len(genes), DEFDR: o.DEFDR, DEMinLFC: o.DEMinLFC, LFCEpsilon: o.LFCEpsilon, ControlRef: o.ControlRef.String()}

	// Groups with counts and real significant genes, from the DE tables.
	type gk struct{ ctx, p string }
	nsig := map[gk]int{}
	deIdx := map[gk]int{}
	for i, g := range rep.RealDE {
		n := 0
		for j := range g.FDR {
			if g.FDR[j] < o.DEFDR && math.Abs(g.LFC[j]) >= o.DEMinLFC {
				n++
			}
		}
		nsig[gk{g.Context, g.Target}] = n
		deIdx[gk{g.Context, g.Target}] = i
	}
	rows := func(in pert.Input) map[gk][]int {
		m := map[gk][]int{}
		for i, p := range in.Perts {
			c := ""
			if in.Contexts != nil {
				c = in.Contexts[i]
			}
			m[gk{c, p}] = append(m[gk{c, p}], i)
		}
		return m
	}
	rr, pr := rows(real), rows(pred)
	var groups []ArtifactGroup
	for k := range rr {
		if k.p == spec.Control || len(pr[k]) == 0 {
			continue
		}
		if _, ok := deIdx[k]; !ok {
			continue // not evaluated (no DE table: e.g. a context without controls)
		}
		groups = append(groups, ArtifactGroup{Context: k.ctx, Perturbation: k.p, NReal: len(rr[k]), NPred: len(pr[k]), NRealSig: nsig[k]})
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("artifact: no test group has real and predicted cells")
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].Context != groups[j].Context {
			return groups[i].Context < groups[j].Context
		}
		return groups[i].Perturbation < groups[j].Perturbation
	})
	// Stored groups: all, or the MaxArtifactGroups with most real DE genes.
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return groups[order[a]].NRealSig > groups[order[b]].NRealSig })
	pm.GroupRule = "all test groups"
	if len(order) > MaxArtifactGroups {
		order = order[:MaxArtifactGroups]
		pm.GroupRule = fmt.Sprintf("the %d of %d test groups with the most real significant DE genes", MaxArtifactGroups, len(groups))
	}
	for _, i := range order {
		groups[i].Stored = true
	}
	pm.Groups = groups

	// Deltas per context over all genes, then the gene cap.
	ctrlMean := func(in pert.Input, x *data.CSR, ctx string) []float64 {
		return pert.Pseudobulk(x, rows(in)[gk{ctx, spec.Control}])
	}
	var deltas []DeltaTable
	for _, g := range groups {
		if !g.Stored {
			continue
		}
		if len(deltas) == 0 || deltas[len(deltas)-1].Context != g.Context {
			deltas = append(deltas, DeltaTable{Context: g.Context})
		}
		d := &deltas[len(deltas)-1]
		d.Perturbations = append(d.Perturbations, g.Perturbation)
	}
	for k := range deltas {
		d := &deltas[k]
		rc := ctrlMean(real, real.X, d.Context)
		pc := rc
		if o.ControlRef == pert.ControlPred {
			pc = ctrlMean(pred, pred.X, d.Context)
		}
		for _, p := range d.Perturbations {
			rm := pert.Pseudobulk(real.X, rr[gk{d.Context, p}])
			pmn := pert.Pseudobulk(pred.X, pr[gk{d.Context, p}])
			for j := range rm {
				rm[j] -= rc[j]
				pmn[j] -= pc[j]
			}
			d.Real = append(d.Real, rm)
			d.Pred = append(d.Pred, pmn)
		}
	}
	keep := make([]int, len(genes))
	for j := range keep {
		keep[j] = j
	}
	pm.GeneRule = "all genes"
	if len(genes) > MaxArtifactGenes {
		score := make([]float64, len(genes))
		for _, d := range deltas {
			for _, row := range d.Real {
				for j, v := range row {
					score[j] = math.Max(score[j], math.Abs(v))
				}
			}
		}
		sort.SliceStable(keep, func(a, b int) bool { return score[keep[a]] > score[keep[b]] })
		keep = keep[:MaxArtifactGenes]
		slices.Sort(keep)
		pm.GeneRule = fmt.Sprintf("the %d of %d genes with the largest real |pseudobulk delta| over the stored groups", MaxArtifactGenes, len(genes))
	}
	sub := func(v []float64) []float64 {
		out := make([]float64, len(keep))
		for k, j := range keep {
			out[k] = v[j]
		}
		return out
	}
	for _, j := range keep {
		pm.Genes = append(pm.Genes, genes[j])
	}
	for k := range deltas {
		for i := range deltas[k].Real {
			deltas[k].Real[i] = sub(deltas[k].Real[i])
			deltas[k].Pred[i] = sub(deltas[k].Pred[i])
		}
	}
	var tables []DETable
	for _, g := range groups {
		if !g.Stored {
			continue
		}
		i := deIdx[gk{g.Context, g.Perturbation}]
		r, p := rep.RealDE[i], rep.PredDE[i]
		tables = append(tables, DETable{Context: g.Context, Perturbation: g.Perturbation,
			RealLFC: sub(r.LFC), RealFDR: sub(r.FDR), PredLFC: sub(p.LFC), PredFDR: sub(p.FDR)})
	}
	meta.Kind = ArtifactPert
	meta.Pert = pm
	a := &artifact{meta: meta}
	a.files = append(a.files, artifactFile{"de.csv.gz", gzipCSV(func(cw *csv.Writer) error {
		if err := cw.Write([]string{"context", "perturbation", "gene", "real_lfc", "real_fdr", "pred_lfc", "pred_fdr"}); err != nil {
			return err
		}
		for _, t := range tables {
			for j, g := range pm.Genes {
				if err := cw.Write([]string{t.Context, t.Perturbation, g, fmtFloat(t.RealLFC[j]), fmtFloat(t.RealFDR[j]),
					fmtFloat(t.PredLFC[j]), fmtFloat(t.PredFDR[j])}); err != nil {
					return err
				}
			}
		}
		return nil
	})})
	a.files = append(a.files, artifactFile{"deltas.csv.gz", gzipCSV(func(cw *csv.Writer) error {
		if err := cw.Write(append([]string{"context", "perturbation", "side"}, pm.Genes...)); err != nil {
			return err
		}
		row := make([]string, 3+len(pm.Genes))
		for _, d := range deltas {
			for i, p := range d.Perturbations {
				for _, side := range []string{"real", "pred"} {
					v := d.Real[i]
					if side == "pred" {
						v = d.Pred[i]
					}
					row[0], row[1], row[2] = d.Context, p, side
					for j, x := range v {
						row[3+j] = fmtFloat(x)
					}
					if err := cw.Write(row); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})})
	return a, nil
}

// newEmbedArtifact builds an embedding cell's artifact: the 2-D PCA of
// every cell, of which at most MaxArtifactCells (seeded subsample) are kept.
func newEmbedArtifact(meta ArtifactMeta, in *tasks.EmbeddingInput, labelCol, batchCol string) (*artifact, error) {
	scores, explained, err := PCA2(in.X)
	if err != nil {
		return nil, fmt.Errorf("artifact: embedding %s: %w", in.Name, err)
	}
	idx := make([]int, in.X.Rows)
	for i := range idx {
		idx[i] = i
	}
	if len(idx) > MaxArtifactCells {
		h := fnv.New64a()
		h.Write([]byte("embed-2d"))
		rng := rand.New(rand.NewPCG(meta.Seed, h.Sum64()))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:MaxArtifactCells]
		slices.Sort(idx)
	}
	meta.Kind = ArtifactEmbed
	meta.Embed = &EmbedArtifactMeta{Embedding: in.Name, LabelCol: labelCol, BatchCol: batchCol, Cells: in.X.Rows, Dims: in.X.Cols,
		Dropped: in.Dropped, Shown: len(idx), Explained: explained}
	a := &artifact{meta: meta}
	a.files = append(a.files, artifactFile{"embedding2d.csv.gz", gzipCSV(func(cw *csv.Writer) error {
		if err := cw.Write([]string{"pc1", "pc2", "label", "batch"}); err != nil {
			return err
		}
		for _, i := range idx {
			if err := cw.Write([]string{fmtFloat(scores[i][0]), fmtFloat(scores[i][1]), in.Labels[i], in.Batches[i]}); err != nil {
				return err
			}
		}
		return nil
	})})
	return a, nil
}

// fmtFloat writes a value with 7 significant digits (float32 precision;
// NaN and ±Inf as strconv spells them).
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 7, 64) }

// gzipCSV returns a writer of a gzip-compressed CSV (deterministic: no
// name or time in the gzip header).
func gzipCSV(rows func(cw *csv.Writer) error) func(w io.Writer) error {
	return func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		cw := csv.NewWriter(zw)
		if err := rows(cw); err != nil {
			return err
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		return zw.Close()
	}
}

// commitArtifact writes a's files and meta.json into a staging directory
// (OUT/artifacts/.staging/<owner>/), fsyncs them, removes any older
// directory at rel and renames the staging directory to rel.
func commitArtifact(out, rel, owner string, a *artifact) error {
	stageRoot := filepath.Join(out, artifactDir, stagingDir, owner)
	if err := os.MkdirAll(stageRoot, 0o755); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	stage, err := os.MkdirTemp(stageRoot, "cell-*")
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	defer os.RemoveAll(stage) // no-op after the rename
	a.meta.Files = nil
	for _, f := range a.files {
		a.meta.Files = append(a.meta.Files, f.name)
	}
	files := append(slices.Clone(a.files), artifactFile{"meta.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(a.meta)
	}})
	for _, f := range files {
		if err := writeSynced(filepath.Join(stage, f.name), f.write); err != nil {
			return fmt.Errorf("artifact %s: %w", f.name, err)
		}
		if artifactHook != nil {
			artifactHook()
		}
	}
	return placeDir(stage, filepath.Join(out, rel))
}

// artifactHook, when set (tests), runs after each staged artifact file.
var artifactHook func()

// placeDir moves the complete directory stage to dst (replacing dst) and
// syncs dst's parent so the rename is durable.
func placeDir(stage, dst string) error {
	if err := syncDir(stage); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := os.Rename(stage, dst); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	return nil
}

func writeSynced(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// cleanStaging removes what an earlier, killed process of the same owner
// (shard) left in its staging directory.
func cleanStaging(out, owner string) error {
	return os.RemoveAll(filepath.Join(out, artifactDir, stagingDir, owner))
}

// ArtifactRef points at the artifact directory of a done cell.
type ArtifactRef struct {
	Cell string `json:"cell"`
	// Dir is relative to the run directory in the index; ArtifactRefs
	// returned by LoadArtifacts carry the joined path.
	Dir string `json:"dir"`
}

// LoadArtifacts returns the artifact directories of a run's done cells:
// from the done lines of its journals when it has any (as LoadRun reads
// records), else from OUT/artifacts/index.jsonl (written at the end of a
// run and by Merge). A run without artifacts returns none and no error.
func LoadArtifacts(dir string) ([]ArtifactRef, error) {
	st, err := LoadStore(dir)
	if err != nil {
		return nil, err
	}
	var refs []ArtifactRef
	if len(st.Order) > 0 {
		for _, k := range st.Order {
			if a := st.Artifacts[k]; a != "" {
				refs = append(refs, ArtifactRef{Cell: k, Dir: filepath.Join(st.Source[k], a)})
			}
		}
		return refs, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, artifactDir, artifactIndex))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var r ArtifactRef
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Cell == "" || r.Dir == "" {
			return nil, fmt.Errorf("artifacts: %s:%d: not an artifact reference", filepath.Join(dir, artifactDir, artifactIndex), i+1)
		}
		r.Dir = filepath.Join(dir, r.Dir)
		refs = append(refs, r)
	}
	return refs, nil
}

// writeArtifactIndex writes OUT/artifacts/index.jsonl atomically from a
// store's done cells (directories relative to out).
func writeArtifactIndex(out string, st *Store) error {
	var refs []ArtifactRef
	for _, k := range st.Order {
		if a := st.Artifacts[k]; a != "" {
			refs = append(refs, ArtifactRef{Cell: k, Dir: a})
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return fsutil.WriteFileAtomic(filepath.Join(out, artifactDir, artifactIndex), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range refs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadArtifactMeta reads dir/meta.json and checks that it belongs to cell
// (when cell is not ""): a mismatch means the directory was rewritten by
// another cell (e.g. an edited suite resumed) and is an error.
func ReadArtifactMeta(dir, cell string) (*ArtifactMeta, error) {
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	var m ArtifactMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("artifact %s: meta.json: %w", dir, err)
	}
	if cell != "" && m.Cell != cell {
		return nil, fmt.Errorf("artifact %s: belongs to cell %q, not %q (stale)", dir, m.Cell, cell)
	}
	if m.Kind != ArtifactPert && m.Kind != ArtifactEmbed {
		return nil, fmt.Errorf("artifact %s: unknown kind %q", dir, m.Kind)
	}
	return &m, nil
}

// readGzipCSV reads dir/name (gzip CSV) with its header.
func readGzipCSV(dir, name string) ([][]string, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cr := csv.NewReader(zr)
	cr.ReuseRecord = false
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no header", name)
	}
	return rows, nil
}

func parseFloats(fields []string, what string) ([]float64, error) {
	out := make([]float64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", what, f)
		}
		out[i] = v
	}
	return out, nil
}

// ReadPertArtifact reads a perturbation cell's artifact directory (cell as
// in ReadArtifactMeta).
func ReadPertArtifact(dir, cell string) (*PertArtifact, error) {
	m, err := ReadArtifactMeta(dir, cell)
	if err != nil {
		return nil, err
	}
	if m.Kind != ArtifactPert || m.Pert == nil {
		return nil, fmt.Errorf("artifact %s: kind %q, not a perturbation artifact", dir, m.Kind)
	}
	a := &PertArtifact{Meta: *m}
	genes := m.Pert.Genes
	rows, err := readGzipCSV(dir, "de.csv.gz")
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	byGroup := map[[2]string]int{}
	for i, r := range rows[1:] {
		if len(r) != 7 {
			return nil, fmt.Errorf("artifact %s: de.csv.gz row %d has %d fields, want 7", dir, i+2, len(r))
		}
		k := [2]string{r[0], r[1]}
		t, ok := byGroup[k]
		if !ok {
			t = len(a.DE)
			byGroup[k] = t
			a.DE = append(a.DE, DETable{Context: r[0], Perturbation: r[1]})
		}
		d := &a.DE[t]
		j := len(d.RealLFC)
		if j >= len(genes) || r[2] != genes[j] {
			return nil, fmt.Errorf("artifact %s: de.csv.gz row %d: gene %q out of order", dir, i+2, r[2])
		}
		v, err := parseFloats(r[3:], fmt.Sprintf("artifact %s: de.csv.gz row %d", dir, i+2))
		if err != nil {
			return nil, err
		}
		d.RealLFC, d.RealFDR = append(d.RealLFC, v[0]), append(d.RealFDR, v[1])
		d.PredLFC, d.PredFDR = append(d.PredLFC, v[2]), append(d.PredFDR, v[3])
	}
	for _, d := range a.DE {
		if len(d.RealLFC) != len(genes) {
			return nil, fmt.Errorf("artifact %s: de.csv.gz: group %s/%s has %d genes, want %d", dir, d.Context, d.Perturbation, len(d.RealLFC), len(genes))
		}
	}
	rows, err = readGzipCSV(dir, "deltas.csv.gz")
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	if !slices.Equal(rows[0][3:], genes) {
		return nil, fmt.Errorf("artifact %s: deltas.csv.gz: gene columns differ from meta.json", dir)
	}
	for i, r := range rows[1:] {
		v, err := parseFloats(r[3:], fmt.Sprintf("artifact %s: deltas.csv.gz row %d", dir, i+2))
		if err != nil {
			return nil, err
		}
		if len(a.Deltas) == 0 || a.Deltas[len(a.Deltas)-1].Context != r[0] {
			a.Deltas = append(a.Deltas, DeltaTable{Context: r[0]})
		}
		d := &a.Deltas[len(a.Deltas)-1]
		switch r[2] {
		case "real":
			d.Perturbations = append(d.Perturbations, r[1])
			d.Real = append(d.Real, v)
		case "pred":
			if len(d.Perturbations) == 0 || d.Perturbations[len(d.Perturbations)-1] != r[1] || len(d.Pred) != len(d.Real)-1 {
				return nil, fmt.Errorf("artifact %s: deltas.csv.gz row %d: pred row without its real row", dir, i+2)
			}
			d.Pred = append(d.Pred, v)
		default:
			return nil, fmt.Errorf("artifact %s: deltas.csv.gz row %d: side %q", dir, i+2, r[2])
		}
	}
	for _, d := range a.Deltas {
		if len(d.Pred) != len(d.Real) {
			return nil, fmt.Errorf("artifact %s: deltas.csv.gz: context %s has %d real and %d predicted rows", dir, d.Context, len(d.Real), len(d.Pred))
		}
	}
	return a, nil
}

// ReadEmbedArtifact reads an embedding cell's artifact directory (cell as
// in ReadArtifactMeta).
func ReadEmbedArtifact(dir, cell string) (*EmbedArtifact, error) {
	m, err := ReadArtifactMeta(dir, cell)
	if err != nil {
		return nil, err
	}
	if m.Kind != ArtifactEmbed || m.Embed == nil {
		return nil, fmt.Errorf("artifact %s: kind %q, not an embedding artifact", dir, m.Kind)
	}
	rows, err := readGzipCSV(dir, "embedding2d.csv.gz")
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	a := &EmbedArtifact{Meta: *m}
	for i, r := range rows[1:] {
		if len(r) != 4 {
			return nil, fmt.Errorf("artifact %s: embedding2d.csv.gz row %d has %d fields, want 4", dir, i+2, len(r))
		}
		v, err := parseFloats(r[:2], fmt.Sprintf("artifact %s: embedding2d.csv.gz row %d", dir, i+2))
		if err != nil {
			return nil, err
		}
		a.PC = append(a.PC, [2]float64{v[0], v[1]})
		a.Labels = append(a.Labels, r[2])
		a.Batches = append(a.Batches, r[3])
	}
	if len(a.PC) != m.Embed.Shown {
		return nil, fmt.Errorf("artifact %s: embedding2d.csv.gz has %d cells, meta.json says %d", dir, len(a.PC), m.Embed.Shown)
	}
	return a, nil
}

// copyArtifact copies the artifact directory src to dst (staged under
// stageRoot, then renamed into place) unless dst already holds the same
// cell's artifact.
func copyArtifact(src, dst, stageRoot, cell string) error {
	if _, err := ReadArtifactMeta(dst, cell); err == nil {
		return nil
	}
	if _, err := ReadArtifactMeta(src, cell); err != nil {
		return err
	}
	if err := os.MkdirAll(stageRoot, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(stageRoot, "copy-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := writeSynced(filepath.Join(stage, e.Name()), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
	}
	return placeDir(stage, dst)
}
