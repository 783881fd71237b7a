package bench

// Result is one tidy record of a benchmark: one metric value of one model on
// one (dataset, split, task, seed), for one context and perturbation, or the
// aggregate over them when Perturbation is "_agg". Every table and figure is
// derived from these rows (reports reads nothing else).
type Result struct {
	Suite        string  `json:"suite"`
	Dataset      string  `json:"dataset"`
	Split        string  `json:"split"`
	Task         string  `json:"task"`
	Model        string  `json:"model"`
	Seed         uint64  `json:"seed"`
	Context      string  `json:"context"`
	Perturbation string  `json:"perturbation"`
	Metric       string  `json:"metric"`
	Value        float64 `json:"value"`
	N            int     `json:"n"`
	CILow        float64 `json:"ci_low"`
	CIHigh       float64 `json:"ci_high"`
	WallS        float64 `json:"wall_s"`
	PeakMem      int64   `json:"peak_mem"`
	GitSHA       string  `json:"git_sha"`
	Backend      string  `json:"backend"`
	Warnings     string  `json:"warnings,omitempty"`
}
