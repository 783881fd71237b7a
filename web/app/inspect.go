package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
)

// File is a file the page holds: its name (for messages) and its bytes.
type File struct {
	Name  string
	Bytes []byte
}

// MaxLabels is how many distinct labels of a column Inspect lists.
const MaxLabels = 500

// FileInfo is what Inspect learns about an .h5ad without reading X.
type FileInfo struct {
	Name      string       `json:"name"`
	Cells     int          `json:"cells"`
	Genes     int          `json:"genes"`
	XEncoding string       `json:"x_encoding"`
	XDtype    string       `json:"x_dtype"`
	Columns   []ColumnInfo `json:"columns"`
}

// ColumnInfo is one obs column: its kind and its labels, most frequent
// first (at most MaxLabels; NLabels counts them all).
type ColumnInfo struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	NLabels int      `json:"n_labels"`
	Labels  []string `json:"labels"`
	Counts  []int    `json:"counts"`
}

// Inspect reads an .h5ad's metadata (shape, X encoding, obs columns and
// their labels) without decoding X. It errors, naming the file, when the
// bytes are not an AnnData file the pure-Go reader can read.
func Inspect(f File) (*FileInfo, error) {
	rd, err := h5ad.OpenFrom(bytes.NewReader(f.Bytes), int64(len(f.Bytes)), f.Name)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	m := rd.Meta
	info := &FileInfo{Name: f.Name, Cells: m.NCells, Genes: m.NGenes, XEncoding: m.XEncoding, XDtype: m.XDtype}
	for _, c := range m.Obs.Columns {
		ci := ColumnInfo{Name: c.Name, Kind: c.Kind.String()}
		if c.Kind != data.Float { // a float column is a measurement, not a label
			lv := c.Levels()
			ci.NLabels = len(lv)
			for i, l := range lv {
				if i == MaxLabels {
					break
				}
				ci.Labels = append(ci.Labels, l.Level)
				ci.Counts = append(ci.Counts, l.Count)
			}
		}
		info.Columns = append(info.Columns, ci)
	}
	return info, nil
}

// Example is a dataset of the data registry that the perturbation panels
// can use: File is its path below the server's data folder.
type Example struct {
	Name        string `json:"name"`
	File        string `json:"file"`
	SHA256      string `json:"sha256"`
	Shape       string `json:"shape"`
	Description string `json:"description"`
	PertCol     string `json:"pert_col"`
	ContextCol  string `json:"context_col"`
	Control     string `json:"control"`
}

// Examples lists the registry's local .h5ad datasets with perturbation
// labels (a perturbation column and a control label), in registry order.
func Examples() []Example {
	var out []Example
	for _, e := range data.NewRegistry(".").Entries() {
		if !e.Local() || e.Format != "h5ad" || e.Labels["perturbation"] == "" || e.Labels["control"] == "" {
			continue
		}
		out = append(out, Example{Name: e.Name, File: e.File, SHA256: e.SHA256, Shape: e.Shape, Description: e.Description,
			PertCol: e.Labels["perturbation"], ContextCol: e.Labels["context"], Control: e.Labels["control"]})
	}
	return out
}

// Verify checks that the bytes of a fetched example are the registry's
// file (SHA-256), so a stale or wrong file on the server is an error.
func Verify(name string, b []byte) error {
	for _, e := range Examples() {
		if e.Name != name {
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); e.SHA256 != "" && got != e.SHA256 {
			return fmt.Errorf("example %s: the server's %s has SHA-256 %s…, the registry says %s… (a different file)", name, e.File, got[:12], e.SHA256[:12])
		}
		return nil
	}
	var names []string
	for _, e := range Examples() {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return fmt.Errorf("unknown example %q (known: %v)", name, names)
}
