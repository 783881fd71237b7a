//go:build noxla || !cgo || !linux || !amd64

package nn

// Built without XLA: only the pure-Go backend is available.
const xlaCompiledIn = false
