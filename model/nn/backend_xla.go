//go:build !noxla && cgo && linux && amd64

package nn

// XLA via go-xla: registers "xla" (and aliases). The auto-installer is
// deliberately not imported, so nothing is ever downloaded: a PJRT plugin
// must be installed and found through PJRT_PLUGIN_LIBRARY_PATH.
import _ "github.com/gomlx/go-xla/compute/xla"

const xlaCompiledIn = true
