package stack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/tasks"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Prompting is one in-context generation problem on the CP10k scale over
// the model's gene universe: Prompt cells (perturbed cells of p in context
// A; may be empty: generation without a prompt) and Query cells (controls
// of context B), with the genes their data measure (Present, over the
// universe).
type Prompting struct {
	Prompt, Query [][]float32
	Present       []bool
}

// Generation is what Generate returns: the generated query cells (CP10k
// scale, over the universe; rows in query order) and the classifier logit
// of the last round (> 0: looks like a query, < 0: like a revealed
// perturbed cell).
type Generation struct {
	Cells  [][]float32
	Logits []float32
}

// genWindow is one window of a generation round: positions [0, nBase)
// hold prompt cells, then test (query) cells, then padding.
type genWindow struct {
	base  []int // prompt cell indices
	tests []int // query cell indices
}

// Generate runs in-context generation (the release's
// get_incontext_generation, doc.go "Generation") for one prompting
// problem. rng drives the prompt-cell order of every round and the NB
// draws. It errors on an untrained model or empty queries.
func (m *Model) Generate(ctx context.Context, p Prompting, rng *rand.Rand) (Generation, error) {
	if m.store == nil {
		return Generation{}, errors.New("stack: Generate before training or Load")
	}
	if len(p.Query) == 0 {
		return Generation{}, errors.New("stack: no query cells")
	}
	a := m.arch()
	S, G := a.setSize, a.genes
	steps := m.cfg.Int("gen_steps")
	mdm := m.cfg.Str("gen_mode") == "mdm"
	sample := m.cfg.Str("gen_output") == "sample"
	pf, cmax, cmin := m.cfg.Float("gen_prompt_frac"), m.cfg.Float("gen_context_frac"), m.cfg.Float("gen_context_frac_min")
	cur := make([][]float32, len(p.Query))
	for i, q := range p.Query {
		cur[i] = slices.Clone(q)
	}
	n := len(cur)
	masked := make([]bool, n)
	for i := range masked {
		masked[i] = true
	}
	logits := make([]float32, n)
	for step := range steps {
		if err := ctx.Err(); err != nil {
			return Generation{}, err
		}
		if m.OnRound != nil {
			m.OnRound(step, steps)
		}
		mr := 1 - float64(step+1)/float64(steps)
		if step == steps-1 {
			mr = 0
		}
		cr := cmax
		if mdm && steps > 1 {
			cr = cmin + (cmax-cmin)*float64(step)/float64(steps-1)
		}
		nTest, nBase, nBlock := S, 0, 0
		if len(p.Prompt) > 0 {
			nTest = max(1, int(float64(S)*(1-(pf+cr))))
			nBase = S - nTest
			nBlock = min(int(pf*float64(S)), nBase)
		}
		perm := rng.Perm(max(len(p.Prompt), 1))
		var wins []genWindow
		next := 0
		for start := 0; start < n; start += nTest {
			w := genWindow{}
			for t := start; t < min(start+nTest, n); t++ {
				w.tests = append(w.tests, t)
			}
			for range nBase {
				w.base = append(w.base, perm[next%len(perm)])
				next++
			}
			wins = append(wins, w)
		}
		mu, theta, lg, err := m.runWindows(a, wins, p, cur, nBase, nBlock)
		if err != nil {
			return Generation{}, err
		}
		newVals := make([][]float32, n)
		for wi, w := range wins {
			// Dispersion for sampling: per-gene median over the window's
			// prompt positions (over its test positions without a prompt).
			ref := make([]int, 0, S)
			if nBase > 0 {
				for i := range nBase {
					ref = append(ref, i)
				}
			} else {
				for i := range w.tests {
					ref = append(ref, i)
				}
			}
			med := medianTheta(theta[wi], ref, G)
			for k, t := range w.tests {
				pos := nBase + k
				logits[t] = lg[wi][pos]
				v := make([]float32, G)
				for u := range G {
					if !p.Present[u] {
						continue
					}
					mean := float64(mu[wi][pos*G+u])
					if sample {
						v[u] = float32(sampleNB(rng, mean, float64(med[u])))
					} else {
						v[u] = float32(mean)
					}
				}
				newVals[t] = v
			}
		}
		if !mdm {
			copy(cur, newVals)
			continue
		}
		// mdm: among masked cells, the lowest-logit fraction is unmasked
		// and takes its new values; then every cell with logit > 0 is
		// masked again (release get_incontext_prediction, mode generate).
		var ml []float64
		nm := 0
		for i := range n {
			if masked[i] {
				ml = append(ml, float64(logits[i]))
				nm++
			}
		}
		if nm > 0 {
			rate := (float64(nm)/float64(n) - mr) * float64(n) / float64(nm)
			q := quantile(ml, min(max(rate, 0), 1))
			for i := range n {
				if masked[i] && float64(logits[i]) <= q {
					cur[i] = newVals[i]
					masked[i] = false
				}
			}
		}
		for i := range n {
			if logits[i] > 0 {
				masked[i] = true
			}
		}
	}
	return Generation{Cells: cur, Logits: logits}, nil
}

// runWindows runs the generation graph on windows (batch_size at a time)
// and returns per window μ and θ ([S·G]) and the logits ([S]).
func (m *Model) runWindows(a arch, wins []genWindow, p Prompting, cur [][]float32, nBase, nBlock int) (mu, theta [][]float32, logits [][]float32, err error) {
	B, S, G := a.batch, a.setSize, a.genes
	if m.genExec == nil {
		backend, err := m.getBackend()
		if err != nil {
			return nil, nil, nil, err
		}
		m.genExec, err = gmodel.NewExec(backend, m.store, func(scope *gmodel.Scope, obs, genes, cells, qpos, base, attn *Node) []*Node {
			mu, theta, lg := a.genGraph(scope, obs, genes, cells, qpos, base, attn)
			return []*Node{mu, theta, lg}
		})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("stack: %w", err)
		}
	}
	attn := make([]bool, S*S)
	for i := range S {
		for j := range S {
			attn[i*S+j] = !(i < nBlock && j >= nBlock)
		}
	}
	genes := make([]bool, B*G)
	for b := range B {
		copy(genes[b*G:(b+1)*G], p.Present)
	}
	for start := 0; start < len(wins); start += B {
		chunk := wins[start:min(start+B, len(wins))]
		obs := make([]float32, B*S*G)
		cells := make([]bool, B*S)
		qpos := make([]bool, B*S)
		base := make([]bool, B*S)
		for b := range B {
			if b >= len(chunk) {
				cells[b*S] = true // dummy window keeps the batch shape
				continue
			}
			w := chunk[b]
			for i, c := range w.base {
				copy(obs[(b*S+i)*G:(b*S+i+1)*G], p.Prompt[c])
				cells[b*S+i], base[b*S+i] = true, true
			}
			for k, t := range w.tests {
				pos := nBase + k
				copy(obs[(b*S+pos)*G:(b*S+pos+1)*G], cur[t])
				cells[b*S+pos], qpos[b*S+pos] = true, true
			}
		}
		res, err := m.genExec.Call(tensors.FromFlatDataAndDimensions(obs, B, S, G), tensors.FromFlatDataAndDimensions(genes, B, G),
			tensors.FromFlatDataAndDimensions(cells, B, S), tensors.FromFlatDataAndDimensions(qpos, B, S),
			tensors.FromFlatDataAndDimensions(base, B, S), tensors.FromFlatDataAndDimensions(attn, S, S))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("stack: generate: %w", err)
		}
		fm := tensors.MustCopyFlatData[float32](res[0])
		ft := tensors.MustCopyFlatData[float32](res[1])
		fl := tensors.MustCopyFlatData[float32](res[2])
		for _, r := range res {
			_ = r.FinalizeAll()
		}
		for b := range chunk {
			mu = append(mu, fm[b*S*G:(b+1)*S*G])
			theta = append(theta, ft[b*S*G:(b+1)*S*G])
			logits = append(logits, fl[b*S:(b+1)*S])
		}
	}
	return mu, theta, logits, nil
}

// medianTheta returns the per-gene median of θ over the window positions
// ref (torch.median: the lower middle value for an even count).
func medianTheta(theta []float32, ref []int, G int) []float32 {
	out := make([]float32, G)
	col := make([]float32, len(ref))
	for u := range G {
		for k, i := range ref {
			col[k] = theta[i*G+u]
		}
		slices.Sort(col)
		out[u] = col[(len(col)-1)/2]
	}
	return out
}

// quantile is numpy.quantile with linear interpolation (q in [0, 1]).
func quantile(x []float64, q float64) float64 {
	s := slices.Clone(x)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// sampleNB draws from a negative binomial with mean μ and inverse
// dispersion θ as a Gamma–Poisson mixture (torch NegativeBinomial.sample
// in scvi-tools): λ ~ Gamma(shape θ, scale μ/θ), X ~ Poisson(λ).
func sampleNB(rng *rand.Rand, mu, theta float64) float64 {
	if !(mu > 0) {
		return 0
	}
	if !(theta > 0) || math.IsInf(theta, 1) {
		return poisson(rng, mu)
	}
	return poisson(rng, gammaSample(rng, theta)*mu/theta)
}

// gammaSample draws Gamma(shape k, scale 1) (Marsaglia–Tsang; k < 1 by
// boosting with U^(1/k)).
func gammaSample(rng *rand.Rand, k float64) float64 {
	if k < 1 {
		return gammaSample(rng, k+1) * math.Pow(rng.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// poisson draws Poisson(λ): inversion for λ < 30, else the normal
// approximation rounded at 0 (the counts generated here are CP10k-scale
// means, where it is accurate to well under one count's width).
func poisson(rng *rand.Rand, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda < 30 {
		l := math.Exp(-lambda)
		k, p := 0.0, 1.0
		for {
			p *= rng.Float64()
			if p <= l {
				return k
			}
			k++
		}
	}
	return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
}

// requestGenes maps the genes of a request's matrices onto the universe.
func (m *Model) requestGenes(genes []string) (geneMap, error) {
	gm := newGeneMap(m.meta.Genes, genes)
	if gm.nPresent() == 0 {
		return gm, fmt.Errorf("stack: the cells share no gene with the checkpoint's %d genes (names are matched upper-cased)", len(m.meta.Genes))
	}
	return gm, nil
}

// universeRows converts log1p CP10k rows of x (over the request genes) to
// CP10k rows over the universe.
func universeRows(x *data.CSR, gm geneMap, G int) [][]float32 {
	if x == nil {
		return nil
	}
	cp := toCP10k(x, data.Log1p)
	out := make([][]float32, cp.Rows)
	for i := range out {
		out[i] = make([]float32, G)
		gm.denseRow(out[i], cp, i)
	}
	return out
}

// toRequestGenes turns generated universe rows back into log1p rows over
// the request genes: genes outside the universe keep the query cell's own
// value.
func toRequestGenes(gen [][]float32, query *data.CSR, gm geneMap) *data.CSR {
	cols := len(gm.col)
	dense := make([]float32, len(gen)*cols)
	for i, row := range gen {
		dst := dense[i*cols : (i+1)*cols]
		query.DenseRow(dst, i)
		for j, u := range gm.col {
			if u >= 0 {
				dst[j] = float32(math.Log1p(float64(row[u])))
			}
		}
	}
	return data.NewCSRFromDense(len(gen), cols, dense)
}

// incontextRNG is the generator of one in-context request (tasks.RequestRNG
// keyed by prompt context, query context and perturbation).
func incontextRNG(seed uint64, r tasks.InContextRequest) *rand.Rand {
	return tasks.RequestRNG(seed, tasks.PredictRequest{Context: r.PromptContext + "\x00" + r.QueryContext, Perturbation: r.Perturbation})
}

// PredictInContext implements tasks.InContextModel: one generated cell per
// query cell (log1p CP10k, the training data's genes), conditioned on the
// request's prompt cells (none: generation without a prompt). Requests
// are log1p CP10k over the genes the model was post-trained on.
func (m *Model) PredictInContext(ctx context.Context, reqs []tasks.InContextRequest) ([]*data.CSR, error) {
	if m.meta.Stage != StageInContext {
		return nil, errors.New("stack: PredictInContext needs an in-context post-trained model (cellbench train --model stack --stage incontext, or Fit)")
	}
	gm, err := m.requestGenes(m.meta.DataGenes)
	if err != nil {
		return nil, err
	}
	out := make([]*data.CSR, len(reqs))
	for k, r := range reqs {
		if r.Query == nil || r.Query.Rows == 0 {
			return nil, fmt.Errorf("stack: request (%q, %q → %q) has no query cells", r.Perturbation, r.PromptContext, r.QueryContext)
		}
		for _, x := range []*data.CSR{r.Query, r.Prompt} {
			if x != nil && x.Cols != len(m.meta.DataGenes) {
				return nil, fmt.Errorf("stack: request (%q, %q → %q): %d genes, the model was post-trained on %d", r.Perturbation, r.PromptContext, r.QueryContext, x.Cols, len(m.meta.DataGenes))
			}
		}
		g, err := m.Generate(ctx, Prompting{Prompt: universeRows(r.Prompt, gm, len(m.meta.Genes)),
			Query: universeRows(r.Query, gm, len(m.meta.Genes)), Present: gm.present}, incontextRNG(m.meta.Seed, r))
		if err != nil {
			return nil, err
		}
		out[k] = toRequestGenes(g.Cells, r.Query, gm)
	}
	return out, nil
}

// Predict implements tasks.PerturbationModel: the in-context model with
// the prompt removed — NCells controls of the request (drawn with
// tasks.RequestRNG, with replacement when there are fewer) generated with
// no prompt cells.
func (m *Model) Predict(ctx context.Context, reqs []tasks.PredictRequest) ([]*data.CSR, error) {
	ic := make([]tasks.InContextRequest, 0, len(reqs))
	idx := make([]int, 0, len(reqs))
	out := make([]*data.CSR, len(reqs))
	for k, r := range reqs {
		if r.Controls == nil || r.Controls.Rows == 0 {
			return nil, fmt.Errorf("stack: request (%q, %q) has no control cells", r.Context, r.Perturbation)
		}
		if r.NCells <= 0 {
			out[k] = &data.CSR{Cols: r.Controls.Cols, Indptr: []int64{0}}
			continue
		}
		rng := tasks.RequestRNG(m.meta.Seed, r)
		all := make([]int, r.Controls.Rows)
		for i := range all {
			all[i] = i
		}
		ic = append(ic, tasks.InContextRequest{Perturbation: r.Perturbation, QueryContext: r.Context,
			Query: r.Controls.SubsetRows(drawRows(all, r.NCells, rng))})
		idx = append(idx, k)
	}
	res, err := m.PredictInContext(ctx, ic)
	if err != nil {
		return nil, err
	}
	for i, k := range idx {
		out[k] = res[i]
	}
	return out, nil
}

// SetGenerationSteps sets the number of generation rounds (gen_steps).
func (m *Model) SetGenerationSteps(n int) { m.cfg = m.cfg.With("gen_steps", n) }

// PromptingInput is a prompting problem built from two datasets of log1p
// CP10k cells (cellbench predict --prompt/--query): genes are aligned by
// upper-cased name to the checkpoint's universe; genes the checkpoint does
// not know are masked (counted in PromptUnknown/QueryUnknown); the
// universe genes the query does not measure are absent.
type PromptingInput struct {
	Prompting
	PromptUnknown, QueryUnknown int // genes of each file not in the universe
	Shared                      int // universe genes the query measures
	query                       geneMap
}

// Prompting aligns prompt and query cells (log1p CP10k) to the model. It
// errors when the query shares no gene with the checkpoint.
func (m *Model) Prompting(prompt, query *data.Dataset) (PromptingInput, error) {
	qg, err := m.requestGenes(query.Var.Index)
	if err != nil {
		return PromptingInput{}, fmt.Errorf("query: %w", err)
	}
	pg, err := m.requestGenes(prompt.Var.Index)
	if err != nil {
		return PromptingInput{}, fmt.Errorf("prompt: %w", err)
	}
	G := len(m.meta.Genes)
	in := PromptingInput{Prompting: Prompting{Prompt: universeRows(prompt.X, pg, G), Query: universeRows(query.X, qg, G), Present: qg.present},
		PromptUnknown: pg.Unknown + pg.Duplicates, QueryUnknown: qg.Unknown + qg.Duplicates, Shared: qg.nPresent(), query: qg}
	// Prompt genes the query does not measure are absent from the problem.
	for _, row := range in.Prompt {
		for u := range row {
			if !qg.present[u] {
				row[u] = 0
			}
		}
	}
	return in, nil
}

// ToQueryGenes returns generated cells as log1p rows over the query's
// genes; genes outside the universe keep the query cell's own value.
func (p PromptingInput) ToQueryGenes(cells [][]float32, queryX *data.CSR) *data.CSR {
	return toRequestGenes(cells, queryX, p.query)
}

// SetGenerationOutput sets what an unmasked query cell becomes:
// "sample" (a negative-binomial draw, the release) or "mean" (the NB mean).
func (m *Model) SetGenerationOutput(output string) error {
	if output != "sample" && output != "mean" {
		return fmt.Errorf("stack: generation output %q: want sample or mean", output)
	}
	m.cfg = m.cfg.With("gen_output", output)
	return nil
}
