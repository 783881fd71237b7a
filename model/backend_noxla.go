//go:build noxla || !cgo || !linux || !amd64

package model

// Built without XLA: only the pure-Go backend is available.
const xlaCompiledIn = false
