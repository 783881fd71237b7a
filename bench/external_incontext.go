package bench

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/tasks"
)

// External in-context models. An external model of kind incontext is a
// tasks.InContextBatchModel whose Fit and PredictInContextVariants go
// through files, so tasks.RunInContext builds its split, query, prompts
// and evaluation sets exactly as for a registry model, and one run of the
// command answers every prompt variant. No leakage: the files hold the
// split's training cells, the query (the query context's training
// controls) and the prompts (training cells of the prompt context),
// nothing of the query context's perturbed cells.
//
//   - {train}: the training cells of the split, as for a perturbation
//     model (X log1p, the dataset's genes, obs = the spec's perturbation
//     and context columns);
//   - {requests}: for each request, in request order, its prompt cells
//     (none for the variant "none") then its query cells. There is one
//     request per (prompt variant, tested perturbation p): variants in
//     the order matched, none, wrong, then the tested perturbations
//     sorted; request index = variant × #perturbations + k. obs, on every
//     row of a request: request = its index; role = "prompt" or "query";
//     the perturbation column = p (the perturbation to predict, also for
//     a wrong prompt, whose cells are of another perturbation); variant =
//     matched / none / wrong (bookkeeping: predict from the cells, not
//     from this label); prompt_context and query_context = the contexts
//     of the request; the context column (when the spec has one) = the
//     row's own context; n_cells = how many cells to predict = the
//     request's number of query rows;
//   - {out}: the predicted cells: .h5ad, X log1p with the genes of
//     {train} in the same order, obs column request = the request index,
//     exactly n_cells cells per request (the j-th for the request's j-th
//     query cell), no other request.
//
// readInContextOutput validates {out} with the perturbation path's
// checks (readPredicted, splitPredicted).

// Obs columns of an in-context {requests} besides RequestIndexCol,
// RequestNCellsCol and the spec's columns.
const (
	RequestRoleCol          = "role"
	RequestVariantCol       = "variant"
	RequestPromptContextCol = "prompt_context"
	RequestQueryContextCol  = "query_context"
)

// Roles of the rows of an in-context {requests}.
const (
	RolePrompt = "prompt"
	RoleQuery  = "query"
)

// externalInContext is the tasks.InContextBatchModel of an external
// in-context model in one cell: an externalPert ({train} in Fit, the
// output modes) asked for every prompt variant at once.
type externalInContext struct {
	*externalPert
}

// PredictInContext refuses a per-variant call: RunInContext asks an
// InContextBatchModel through PredictInContextVariants, one command run
// for every variant.
func (e externalInContext) PredictInContext(context.Context, []tasks.InContextRequest) ([]*data.CSR, error) {
	return nil, fmt.Errorf("external in-context model %s answers every prompt variant in one run (PredictInContextVariants)", e.Name())
}

// PredictInContextVariants writes {requests} and runs the command, or
// reads the predictions directory's file, and returns the validated
// predictions of each variant; in export mode it writes {requests} and
// returns errExported.
func (e externalInContext) PredictInContextVariants(ctx context.Context, variants []string, reqs [][]tasks.InContextRequest) ([][]*data.CSR, error) {
	if len(variants) != len(reqs) {
		return nil, fmt.Errorf("external in-context model %s: %d variants, %d request lists", e.Name(), len(variants), len(reqs))
	}
	for v, rs := range reqs {
		for _, q := range rs {
			hashStrings(e.fp, []string{variants[v], q.Perturbation, q.PromptContext, q.QueryContext})
			if q.Prompt == nil {
				hashCSR(e.fp, &data.CSR{Indptr: []int64{0}})
			} else {
				hashCSR(e.fp, q.Prompt)
			}
			hashCSR(e.fp, q.Query)
		}
	}
	path, rel, err := e.output(ctx, func() error {
		return writeInContextRequests(e.inputPath("requests"), e.genes, e.spec, variants, reqs)
	})
	if err != nil {
		return nil, err
	}
	return readInContextOutput(path, rel, e.genes.Index, variants, reqs)
}

// writeInContextRequests writes an in-context {requests} (see above).
func writeInContextRequests(path string, genes data.Frame, spec tasks.PertSpec, variants []string, reqs [][]tasks.InContextRequest) error {
	for _, col := range []string{spec.PertCol, spec.ContextCol} {
		switch col {
		case RequestNCellsCol, RequestIndexCol, RequestRoleCol, RequestVariantCol, RequestPromptContextCol, RequestQueryContextCol:
			return fmt.Errorf("requests: the dataset's column %q collides with the requests column of that name", col)
		}
	}
	var parts []*data.CSR
	var index, roles, perts, vars, pctx, qctx, ctxs []string
	var nCells, reqIdx []int64
	id := 0
	for v, rs := range reqs {
		for _, q := range rs {
			add := func(m *data.CSR, role, ctx string) {
				if m == nil {
					return
				}
				parts = append(parts, m)
				for i := 0; i < m.Rows; i++ {
					index = append(index, fmt.Sprintf("request%d-%s%d", id, role, i))
					roles, perts, vars = append(roles, role), append(perts, q.Perturbation), append(vars, variants[v])
					pctx, qctx, ctxs = append(pctx, q.PromptContext), append(qctx, q.QueryContext), append(ctxs, ctx)
					nCells, reqIdx = append(nCells, int64(q.Query.Rows)), append(reqIdx, int64(id))
				}
			}
			add(q.Prompt, RolePrompt, q.PromptContext)
			add(q.Query, RoleQuery, q.QueryContext)
			id++
		}
	}
	obs := data.Frame{IndexName: "cell", Index: index}
	obs.Set(&data.Column{Name: RequestIndexCol, Kind: data.Int, Ints: reqIdx})
	obs.Set(data.NewCategorical(RequestRoleCol, roles))
	obs.Set(data.NewCategorical(spec.PertCol, perts))
	obs.Set(data.NewCategorical(RequestVariantCol, vars))
	obs.Set(data.NewCategorical(RequestPromptContextCol, pctx))
	obs.Set(data.NewCategorical(RequestQueryContextCol, qctx))
	if spec.ContextCol != "" {
		obs.Set(data.NewCategorical(spec.ContextCol, ctxs))
	}
	obs.Set(&data.Column{Name: RequestNCellsCol, Kind: data.Int, Ints: nCells})
	return h5ad.Write(path, &data.Dataset{X: data.VStack(parts, len(genes.Index)), Obs: obs, Var: genes, Scale: data.Log1p})
}

// readInContextOutput reads an external in-context model's predicted
// cells from path (named rel in errors) and returns, per variant, one CSR
// per request in request order. It fails, with one line naming the file
// and the first problems, on what readPredicted refuses; a missing
// request column; a request with no cells or another number of cells than
// its query; a request index that was not asked for.
func readInContextOutput(path, rel string, genes []string, variants []string, reqs [][]tasks.InContextRequest) ([][]*data.CSR, error) {
	d, fail, err := readPredicted(path, rel, genes)
	if err != nil {
		return nil, err
	}
	ids, err := d.ObsLabels(RequestIndexCol)
	if err != nil {
		return nil, fail("%s (the request index of each predicted cell)", relErr(err, path, rel))
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = "request " + id
	}
	var want []wantRows
	for v, rs := range reqs {
		for _, q := range rs {
			key := "request " + strconv.Itoa(len(want))
			want = append(want, wantRows{key: key, n: q.Query.Rows,
				name: fmt.Sprintf("%s (%q in %q, prompt %s)", key, q.Perturbation, q.QueryContext, variants[v])})
		}
	}
	flat, err := splitPredicted(d, keys, want, fail)
	if err != nil {
		return nil, err
	}
	out := make([][]*data.CSR, len(reqs))
	for v, rs := range reqs {
		out[v], flat = flat[:len(rs)], flat[len(rs):]
	}
	return out, nil
}
