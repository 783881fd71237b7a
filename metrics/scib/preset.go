package scib

import (
	"fmt"
	"slices"
	"strings"
)

// Preset names the metric sets averaged into the bio and batch aggregates
// (total = 0.6·bio + 0.4·batch in every preset).
type Preset string

const (
	// PresetScibMetrics is scib-metrics 0.6's Benchmarker default
	// (benchmark/_core.py BioConservation and BatchCorrection, unchanged
	// since 0.5.6): bio = isolated_labels, nmi_kmeans, ari_kmeans,
	// silhouette_label, clisi; batch = bras, ilisi, kbet_per_label,
	// graph_connectivity, pcr_comparison.
	PresetScibMetrics Preset = "scib-metrics-0.6"
	// PresetScib1 is the older batch set, with silhouette_batch (scIB 1.x's
	// batch ASW; scib-metrics' Benchmarker default up to 0.5.5) in place of
	// bras; the bio set is the same.
	PresetScib1 Preset = "scib-1"
)

// Presets returns the known presets, the default first.
func Presets() []Preset { return []Preset{PresetScibMetrics, PresetScib1} }

// ParsePreset returns the preset named s, or an error listing the known
// names.
func ParsePreset(s string) (Preset, error) {
	p := Preset(s)
	if !slices.Contains(Presets(), p) {
		names := make([]string, 0, 2)
		for _, q := range Presets() {
			names = append(names, string(q))
		}
		return "", fmt.Errorf("unknown scIB preset %q (known: %s)", s, strings.Join(names, ", "))
	}
	return p, nil
}

// Members returns the metrics averaged into bio and into batch (fresh
// slices), or an error for an unknown preset.
func (p Preset) Members() (bio, batch []string, err error) {
	bio = []string{IsolatedLabelsName, NMIKMeansName, ARIKMeansName, SilhouetteLabelName, CLISIName}
	switch p {
	case PresetScibMetrics:
		batch = []string{BRASName, ILISIName, KBETName, GraphConnectivityName, PCRComparisonName}
	case PresetScib1:
		batch = []string{SilhouetteBatchName, ILISIName, KBETName, GraphConnectivityName, PCRComparisonName}
	default:
		_, err = ParsePreset(string(p))
		return nil, nil, err
	}
	return bio, batch, nil
}
