// Package metrics is cellbench's metric registry and the root of its pure-Go
// numerics: every metric's name (as in SPEC-metrics.md), direction, best
// value, kind and formula is declared once here (registry_*.go), and
// implemented in a subpackage (metrics/de, metrics/pert, metrics/scib, ...).
//
// This package tree never imports GoMLX or the model packages, so scoring
// builds for WASM and stays cheap to compile.
package metrics
