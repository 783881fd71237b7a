package nn

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // registers "go", the pure-Go backend (always available)
)

// BackendEnv is the environment variable that selects the GoMLX backend:
// unset or "go" → the pure-Go backend; "xla:cpu" / "xla:cuda" (or any
// "xla:<plugin>[,options]") → XLA through a PJRT plugin.
const BackendEnv = compute.ConfigEnvVar // "GOMLX_BACKEND"

// xlaBackendNames are the names under which go-xla registers itself.
var xlaBackendNames = []string{"xla", "stablehlo", "shlo", "hlo"}

// NewBackend returns the backend named by $GOMLX_BACKEND, defaulting to the
// pure-Go backend "go" when the variable is unset or empty. See
// NewBackendFromConfig for the error rules.
func NewBackend() (compute.Backend, error) {
	return NewBackendFromConfig(os.Getenv(BackendEnv))
}

// NewBackendFromConfig returns the backend for config ("" means "go").
// config has GoMLX's form "<name>[:<backend config>]".
//
// There is never a silent fallback: if XLA was asked for and this binary
// was built without it (-tags noxla, or without cgo), or no PJRT plugin can
// be loaded, the error says so and names PJRT_PLUGIN_LIBRARY_PATH. No
// plugin is ever downloaded (go-xla's auto-installer is not linked in).
func NewBackendFromConfig(config string) (compute.Backend, error) {
	config = strings.TrimSpace(config)
	if config == "" {
		config = "go"
	}
	name, _, _ := strings.Cut(config, ":")
	isXLA := slices.Contains(xlaBackendNames, name)
	if isXLA && !xlaCompiledIn {
		return nil, fmt.Errorf("backend %q: this cellbench binary was built without XLA (-tags noxla or CGO_ENABLED=0); "+
			"rebuild with cgo and without -tags noxla, install a PJRT plugin and point PJRT_PLUGIN_LIBRARY_PATH at its directory, "+
			"or unset %s to use the pure-Go backend", config, BackendEnv)
	}
	if !slices.Contains(compute.List(), name) {
		avail := compute.List()
		slices.Sort(avail)
		return nil, fmt.Errorf("backend %q: unknown backend %q (compiled in: %s)", config, name, strings.Join(avail, ", "))
	}
	b, err := newBackendNoPanic(config)
	if err != nil {
		if isXLA {
			return nil, fmt.Errorf("backend %q: no usable PJRT plugin (set PJRT_PLUGIN_LIBRARY_PATH to the directory holding "+
				"pjrt_c_api_<plugin>_plugin.so, or unset %s to use the pure-Go backend): %w", config, BackendEnv, err)
		}
		return nil, fmt.Errorf("backend %q: %w", config, err)
	}
	return b, nil
}

// newBackendNoPanic calls compute.NewWithConfig, turning a panic into an error.
func newBackendNoPanic(config string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return compute.NewWithConfig(config)
}

// BackendConfig returns the backend configuration NewBackend uses, for
// result records: "go" when $GOMLX_BACKEND is unset or empty, else its value
// (e.g. "xla:cpu").
func BackendConfig() string {
	cfg := strings.TrimSpace(os.Getenv(BackendEnv))
	if cfg == "" {
		return "go"
	}
	return cfg
}
