package app

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/metrics"
	"github.com/cellbench/cellbench/metrics/pert"
)

// ScoreOptions are cellbench score pert's flags that the page offers, with
// the same names, defaults and meaning.
type ScoreOptions struct {
	PertCol    string  `json:"pert_col"`    // --pert-col
	ContextCol string  `json:"context_col"` // --context-col ("" = one context)
	Control    string  `json:"control"`     // --control
	Scale      string  `json:"scale"`       // --scale: auto|counts|log1p
	TargetSum  float64 `json:"target_sum"`  // --target-sum (0 = median)
	ControlRef string  `json:"control_ref"` // --control-ref: pred|real
	Profile    string  `json:"profile"`     // --profile: full|vcc|minimal|pds
}

// DefaultScoreOptions returns the defaults of cellbench score pert's flags
// (cmd/cellbench/score_pert.go; pert.DefaultOptions for the metric
// settings --de-fdr, --de-min-lfc, --lfc-epsilon, which the page does not
// change).
func DefaultScoreOptions() ScoreOptions {
	d := pert.DefaultOptions()
	return ScoreOptions{PertCol: "target_gene", Control: d.Control, Scale: "auto", TargetSum: data.DefaultTargetSum,
		ControlRef: d.ControlRef.String(), Profile: d.Profile}
}

// evalOptions turns the page's options into pert.Options exactly as the
// command turns its flags into them.
func (o ScoreOptions) evalOptions() (pert.Options, error) {
	opts := pert.DefaultOptions()
	opts.Control = o.Control
	opts.Profile = o.Profile
	var err error
	if opts.ControlRef, err = pert.ParseControlRef(o.ControlRef); err != nil {
		return opts, fmt.Errorf("control reference: %w", err)
	}
	if _, err := pert.ProfileMetrics(o.Profile); err != nil {
		return opts, fmt.Errorf("profile: %w", err)
	}
	if o.PertCol == "" {
		return opts, fmt.Errorf("no perturbation column chosen")
	}
	if _, err := data.ParseScale(o.Scale); err != nil {
		return opts, err
	}
	return opts, nil
}

func (o ScoreOptions) columns() pert.Columns {
	return pert.Columns{PertCol: o.PertCol, ContextCol: o.ContextCol, Scale: o.Scale, TargetSum: o.TargetSum}
}

// Progress receives the stage of a long operation ("reading real.h5ad")
// and, where known, how far it is (done of total; total 0 when unknown).
type Progress func(stage string, done, total int)

func (p Progress) report(stage string, done, total int) {
	if p != nil {
		p(stage, done, total)
	}
}

// Aggregate is one metric's summary over the perturbations.
type Aggregate struct {
	Metric    string        `json:"metric"`
	Direction string        `json:"direction"` // "higher", "lower" or "" (descriptive)
	Doc       string        `json:"doc"`
	Mean      metrics.Value `json:"mean"`
	Median    metrics.Value `json:"median"`
	Std       metrics.Value `json:"std"`
	Count     int           `json:"count"`
	NaNCount  int           `json:"nan_count"`
}

// Row is one (context, perturbation) row of results.csv.
type Row struct {
	Context      string          `json:"context"`
	Perturbation string          `json:"perturbation"`
	NReal        int             `json:"n_real"`
	NPred        int             `json:"n_pred"`
	Values       []metrics.Value `json:"values"` // aligned with ScoreResult.Metrics
}

// Timings are the seconds each stage took.
type Timings struct {
	ReadS     float64 `json:"read_s"`     // decoding both .h5ad files
	PrepareS  float64 `json:"prepare_s"`  // labels, gene alignment, log1p
	EvaluateS float64 `json:"evaluate_s"` // pert.Evaluate
	WriteS    float64 `json:"write_s"`    // results.csv and agg_results.csv
	TotalS    float64 `json:"total_s"`
}

// ScoreResult is what the page shows and offers for download.
type ScoreResult struct {
	Real         string      `json:"real"`
	Pred         string      `json:"pred"`
	RealCells    int         `json:"real_cells"`
	PredCells    int         `json:"pred_cells"`
	Genes        int         `json:"genes"`
	Contexts     []string    `json:"contexts"`
	WithContexts bool        `json:"with_contexts"`
	Metrics      []string    `json:"metrics"`
	Aggregates   []Aggregate `json:"aggregates"`
	Rows         []Row       `json:"rows"`
	Warnings     []string    `json:"warnings"`
	HasDE        bool        `json:"has_de"` // LFC scatters can be drawn
	ResultsCSV   string      `json:"results_csv"`
	AggCSV       string      `json:"agg_results_csv"`
	Timings      Timings     `json:"timings"`
}

// Session holds the last evaluation of each panel ("score" for Score,
// "predict" for Predict) so that its figures can be drawn on request. The
// zero value is ready; a Session is not safe for concurrent use (the page
// runs one operation at a time in its worker).
type Session struct {
	last map[string]*evaluation
}

// Evaluation names of Session: FigureRequest.Of.
const (
	OfScore   = "score"
	OfPredict = "predict"
)

func (s *Session) keep(of string, ev *evaluation) {
	if s.last == nil {
		s.last = map[string]*evaluation{}
	}
	s.last[of] = ev
}

// evaluation is one scored pair with what its figures need.
type evaluation struct {
	real, pred         pert.Input
	genes              []string
	report             *pert.Report
	opts               pert.Options
	realName, predName string
}

// Score reads a real and a predicted .h5ad and scores them as cellbench
// score pert --real R --pred P with the same options does.
func (s *Session) Score(real, pred File, o ScoreOptions, progress Progress) (*ScoreResult, error) {
	t0 := time.Now()
	progress.report("reading "+real.Name, 0, 0)
	rd, err := h5ad.ReadBytes(real.Bytes, real.Name)
	if err != nil {
		return nil, fmt.Errorf("real: %w", err)
	}
	progress.report("reading "+pred.Name, 0, 0)
	pd, err := h5ad.ReadBytes(pred.Bytes, pred.Name)
	if err != nil {
		return nil, fmt.Errorf("pred: %w", err)
	}
	tRead := time.Since(t0)
	res, err := s.scoreDatasets(OfScore, rd, pd, real.Name, pred.Name, o, progress)
	if err != nil {
		return nil, err
	}
	res.Timings.ReadS = tRead.Seconds()
	res.Timings.TotalS = time.Since(t0).Seconds()
	return res, nil
}

// scoreDatasets is Score after reading: the two datasets as read.
func (s *Session) scoreDatasets(of string, rd, pd *data.Dataset, realName, predName string, o ScoreOptions, progress Progress) (*ScoreResult, error) {
	opts, err := o.evalOptions()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	progress.report("preparing", 0, 0)
	rc, pc := rd.NCells(), pd.NCells()
	realIn, genes, err := pert.InputFromDataset(rd, "real "+realName, o.columns(), nil)
	if err != nil {
		return nil, err
	}
	predIn, _, err := pert.InputFromDataset(pd, "pred "+predName, o.columns(), genes)
	if err != nil {
		return nil, err
	}
	opts.Genes = genes
	tPrep := time.Since(t0)
	progress.report("evaluating", 0, 0)
	t1 := time.Now()
	rep, err := pert.Evaluate(realIn, predIn, opts)
	if err != nil {
		return nil, fmt.Errorf("%s vs %s: %w", realName, predName, err)
	}
	tEval := time.Since(t1)
	t2 := time.Now()
	var results, agg bytes.Buffer
	if err := rep.WriteResultsCSV(&results); err != nil {
		return nil, err
	}
	if err := rep.WriteAggCSV(&agg); err != nil {
		return nil, err
	}
	out := &ScoreResult{Real: realName, Pred: predName, RealCells: rc, PredCells: pc, Genes: len(genes),
		Contexts: rep.Contexts, WithContexts: rep.WithContexts, Metrics: rep.Metrics, Warnings: rep.Warnings,
		HasDE: rep.RealDE != nil, ResultsCSV: results.String(), AggCSV: agg.String()}
	for _, a := range rep.Aggregates {
		ag := Aggregate{Metric: a.Metric, Mean: metrics.Value(a.Mean), Median: metrics.Value(a.Median), Std: metrics.Value(a.Std),
			Count: a.Count, NaNCount: a.NaNCount}
		if in, ok := metrics.All.Lookup(a.Metric); ok {
			ag.Doc = in.Doc
			switch in.Direction {
			case metrics.HigherIsBetter:
				ag.Direction = "higher"
			case metrics.LowerIsBetter:
				ag.Direction = "lower"
			}
		}
		out.Aggregates = append(out.Aggregates, ag)
	}
	for _, r := range rep.Rows {
		row := Row{Context: r.Context, Perturbation: r.Perturbation, NReal: r.NReal, NPred: r.NPred}
		for _, v := range r.Values {
			row.Values = append(row.Values, metrics.Value(v))
		}
		out.Rows = append(out.Rows, row)
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	out.Timings = Timings{PrepareS: tPrep.Seconds(), EvaluateS: tEval.Seconds(), WriteS: time.Since(t2).Seconds()}
	s.keep(of, &evaluation{real: realIn, pred: predIn, genes: genes, report: rep, opts: opts, realName: realName, predName: predName})
	return out, nil
}
