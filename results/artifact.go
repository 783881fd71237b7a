package results

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cellbench/cellbench/metrics"
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

// Layout of a run directory's artifacts.
const (
	// ArtifactDir is the artifacts folder of a run directory.
	ArtifactDir = "artifacts"
	// ArtifactIndex (in ArtifactDir) lists done cells and their directories.
	ArtifactIndex = "index.jsonl"
	// StagingDir (in ArtifactDir) holds directories being written.
	StagingDir = ".staging"
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
	b, err := os.ReadFile(filepath.Join(dir, ArtifactDir, ArtifactIndex))
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
			return nil, fmt.Errorf("artifacts: %s:%d: not an artifact reference", filepath.Join(dir, ArtifactDir, ArtifactIndex), i+1)
		}
		r.Dir = filepath.Join(dir, r.Dir)
		refs = append(refs, r)
	}
	return refs, nil
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

// parseValues reads metrics.FormatValue spellings.
func parseValues(fields []string, what string) ([]float64, error) {
	out := make([]float64, len(fields))
	for i, f := range fields {
		if f == "" {
			return nil, fmt.Errorf("%s: empty value", what)
		}
		v, err := metrics.ParseValue(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
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
		v, err := parseValues(r[3:], fmt.Sprintf("artifact %s: de.csv.gz row %d", dir, i+2))
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
		v, err := parseValues(r[3:], fmt.Sprintf("artifact %s: deltas.csv.gz row %d", dir, i+2))
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
		v, err := parseValues(r[:2], fmt.Sprintf("artifact %s: embedding2d.csv.gz row %d", dir, i+2))
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
