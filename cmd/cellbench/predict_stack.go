package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/model/stack"
)

// promptFlags are predict's in-context flags (STACK): prompt cells,
// query cells and the generation rounds.
type promptFlags struct {
	prompt, query, pert string
	steps               int
}

func (f *promptFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.prompt, "prompt", "", "in-context prediction (stack): .h5ad of prompt cells (perturbed cells of one perturbation in another context); with --query instead of --data")
	fs.StringVar(&f.query, "query", "", "in-context prediction: .h5ad of query cells (controls of the context to predict)")
	fs.StringVar(&f.pert, "pert", "", "in-context prediction: perturbation label of the predicted cells (default: the prompt's single --pert-col value)")
	fs.IntVar(&f.steps, "steps", 0, "in-context prediction: generation rounds (0 = the checkpoint's gen_steps, 5 by default)")
}

func (f *promptFlags) given() bool { return f.prompt != "" || f.query != "" }

// runPredictInContext is `cellbench predict --model stack --ckpt CKPT
// --prompt P.h5ad --query Q.h5ad --out pred.h5ad`: every query cell gets a
// generated cell. The output holds the query cells themselves (labelled
// --control) followed by the predictions (labelled --pert), log1p CP10k
// over the query's genes, so `cellbench score pert --real R --pred OUT`
// reads it directly (cell-eval convention: the prediction file carries its
// controls).
func runPredictInContext(ctx context.Context, e model.Entry, f *promptFlags, df *dataFlags, ckpt, out string, stdout, stderr io.Writer) error {
	switch {
	case e.Name != "stack":
		return fmt.Errorf("predict: --prompt/--query generate with a STACK checkpoint (--model stack), not %s", e.Name)
	case f.prompt == "" || f.query == "":
		return fmt.Errorf("predict: --prompt and --query go together")
	case df.data != "":
		return fmt.Errorf("predict: --data does not apply with --prompt/--query")
	case f.steps < 0:
		return fmt.Errorf("predict: --steps %d must be ≥ 0", f.steps)
	}
	backend, err := nn.NewBackend()
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	m, err := stack.Load(ckpt)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	m.Runtime = nn.Runtime{Backend: backend}
	if m.Stage() != stack.StageInContext {
		return fmt.Errorf("predict: %s is a %s checkpoint; in-context prediction needs one post-trained with cellbench train --model stack --stage incontext", ckpt, m.Stage())
	}
	if f.steps > 0 {
		m.SetGenerationSteps(f.steps)
	}
	prompt, err := readLog1p(f.prompt)
	if err != nil {
		return fmt.Errorf("predict: --prompt: %w", err)
	}
	query, err := readLog1p(f.query)
	if err != nil {
		return fmt.Errorf("predict: --query: %w", err)
	}
	pert := f.pert
	if pert == "" {
		labels, err := prompt.ObsLabels(df.pertCol)
		if err != nil {
			return fmt.Errorf("predict: --pert not given and the prompt has no --pert-col: %w", err)
		}
		for _, l := range labels {
			if pert != "" && l != pert {
				return fmt.Errorf("predict: the prompt holds several %s values (%q, %q): name the perturbation with --pert", df.pertCol, pert, l)
			}
			pert = l
		}
	}
	pg, err := m.Prompting(prompt, query)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	fmt.Fprintf(stderr, "predict: prompt %s (%d cells; %d of its %d genes unknown to the checkpoint, masked), query %s (%d cells; %d of its %d genes unknown, masked and returned unchanged); %d of the checkpoint's %d genes present\n",
		f.prompt, prompt.NCells(), pg.PromptUnknown, prompt.NGenes(), f.query, query.NCells(), pg.QueryUnknown, query.NGenes(), pg.Shared, len(m.Genes()))
	m.OnRound = func(round, rounds int) { fmt.Fprintf(stderr, "predict: generation round %d/%d\n", round+1, rounds) }
	res, err := m.PredictPrompted(ctx, pg, query, df.pertCol, pert, df.control, df.seed)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	if err := writeH5adAtomic(out, res); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	fmt.Fprintf(stdout, "predicted %d cells of %q from %d prompt cells in %d rounds → %s (log1p CP10k; the %d query cells are included as %q)\n",
		query.NCells(), pert, prompt.NCells(), m.Config().Int("gen_steps"), out, query.NCells(), df.control)
	return nil
}

// readLog1p reads an .h5ad and brings X to log1p CP10k (data.ToLog1p,
// scale detected).
func readLog1p(path string) (*data.Dataset, error) {
	d, err := h5ad.Read(path)
	if err != nil {
		return nil, err
	}
	x, err := data.ToLog1p(d, "auto", data.DefaultTargetSum)
	if err != nil {
		return nil, err
	}
	d.X, d.Scale = x, data.Log1p
	return d, nil
}
