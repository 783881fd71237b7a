package app

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/cellbench/cellbench/data"
	"github.com/cellbench/cellbench/data/h5ad"
	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
	"github.com/cellbench/cellbench/tasks"
)

// CheckpointFS makes the files of a checkpoint directory, as the page got
// them, into a file system whose root is the checkpoint: either one .zip
// archive of the directory, or the directory's files (names may carry the
// picked folder as their first path element, as a browser's folder picker
// gives them). metaFile is the model's marker file (model.Entry.MetaFile):
// when it is not at the root but inside exactly one folder, that folder is
// the root. It errors on an empty list, a damaged zip or no metaFile.
func CheckpointFS(files []File, metaFile string) (fs.FS, string, error) {
	if len(files) == 0 {
		return nil, "", fmt.Errorf("checkpoint: no file given")
	}
	var fsys fs.FS
	name := files[0].Name
	if len(files) == 1 && strings.HasSuffix(strings.ToLower(name), ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(files[0].Bytes), int64(len(files[0].Bytes)))
		if err != nil {
			return nil, "", fmt.Errorf("checkpoint %s: %w", name, err)
		}
		fsys = zr
	} else {
		m := fstest.MapFS{}
		for _, f := range files {
			p := path.Clean(strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "/"))
			if !fs.ValidPath(p) || p == "." {
				return nil, "", fmt.Errorf("checkpoint: bad file name %q", f.Name)
			}
			m[p] = &fstest.MapFile{Data: f.Bytes, Mode: 0o444}
		}
		fsys = m
		if dir, _, ok := strings.Cut(name, "/"); ok {
			name = dir
		}
	}
	if metaFile == "" {
		return fsys, name, nil
	}
	if _, err := fs.Stat(fsys, metaFile); err == nil {
		return fsys, name, nil
	}
	var found []string
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Base(p) == metaFile {
			found = append(found, path.Dir(p))
		}
		return nil
	})
	if len(found) != 1 {
		return nil, "", fmt.Errorf("checkpoint %s: want one %s (the marker of a trained checkpoint directory), found %d", name, metaFile, len(found))
	}
	sub, err := fs.Sub(fsys, found[0])
	if err != nil {
		return nil, "", fmt.Errorf("checkpoint %s: %w", name, err)
	}
	if fsys, isZip := fsys.(*zip.Reader); isZip && fsys != nil {
		return sub, name + ":" + found[0], nil
	}
	return sub, found[0], nil
}

// PredictOptions configure Predict. Empty columns take the checkpoint's
// own (the PertSpec it was trained with).
type PredictOptions struct {
	Model      string  `json:"model"`       // registry name (default "state")
	NCells     int     `json:"ncells"`      // cells per group (0 = tasks.DefaultPredictCells), as cellbench predict --ncells
	PertCol    string  `json:"pert_col"`    // default: the checkpoint's
	ContextCol *string `json:"context_col"` // default (nil): the checkpoint's; "" = one context
	Control    string  `json:"control"`     // default: the checkpoint's
	Scale      string  `json:"scale"`       // of the dataset's X: auto (default), counts, log1p
	Profile    string  `json:"profile"`     // metric profile of the score (default vcc)
}

// PredictTimings are the seconds of each stage of Predict.
type PredictTimings struct {
	LoadS       float64 `json:"load_s"`        // reading the checkpoint
	ReadS       float64 `json:"read_s"`        // decoding and preparing the dataset
	FirstGroupS float64 `json:"first_group_s"` // the first group, graph compilation included
	PredictS    float64 `json:"predict_s"`     // every group
	ScoreS      float64 `json:"score_s"`
	TotalS      float64 `json:"total_s"`
}

// PredictResult is a model's prediction on a dataset, scored against the
// dataset's real cells.
type PredictResult struct {
	Model      string         `json:"model"`
	Checkpoint string         `json:"checkpoint"`
	Config     string         `json:"config"`
	Dataset    string         `json:"dataset"`
	Spec       tasks.PertSpec `json:"spec"`
	Genes      int            `json:"genes"`
	Groups     int            `json:"groups"`
	Cells      int            `json:"cells"`
	Backend    string         `json:"backend"`
	Notes      []string       `json:"notes"`
	Timings    PredictTimings `json:"timings"`
	Score      *ScoreResult   `json:"score"`
}

// checkpointedPerturbation is a perturbation model read from a checkpoint.
type checkpointedPerturbation interface {
	tasks.PerturbationModel
	Genes() []string
	Spec() tasks.PertSpec
}

// Predict loads a trained checkpoint of a registry model from ckpt (see
// CheckpointFS), asks it for every non-control (context, perturbation)
// group of the dataset — tasks.PredictRequests over all cells with split
// none, as cellbench predict --split none does — and scores the prediction
// (tasks.PredictionDataset) against the dataset's real cells with the real
// control cells as reference (the prediction has no control cells). The
// checkpoint's genes must be the dataset's, in the same order.
func (s *Session) Predict(ctx context.Context, ckpt fs.FS, ckptName string, ds File, o PredictOptions, progress Progress) (*PredictResult, error) {
	t0 := time.Now()
	if o.Model == "" {
		o.Model = "state"
	}
	entry, err := model.Lookup(o.Model)
	if err != nil {
		return nil, err
	}
	if !entry.Has(tasks.KindPerturbation) {
		return nil, fmt.Errorf("model %s does not predict perturbations (it runs %v tasks)", entry.Name, entry.Kinds)
	}
	progress.report("loading checkpoint "+ckptName, 0, 0)
	loaded, err := loadCheckpoint(entry, ckpt, ckptName)
	if err != nil {
		return nil, err
	}
	m, ok := loaded.(checkpointedPerturbation)
	if !ok {
		return nil, fmt.Errorf("model %s: its checkpoints are not perturbation models", entry.Name)
	}
	res := &PredictResult{Model: entry.Name, Checkpoint: ckptName, Dataset: ds.Name, Genes: len(m.Genes()), Backend: nn.BackendConfig()}
	if c, ok := loaded.(interface{ Config() hparams.Config }); ok {
		res.Config = c.Config().String()
	}
	res.Timings.LoadS = time.Since(t0).Seconds()

	t1 := time.Now()
	progress.report("reading "+ds.Name, 0, 0)
	d, err := h5ad.ReadBytes(ds.Bytes, ds.Name)
	if err != nil {
		return nil, err
	}
	spec := m.Spec()
	spec.PertCol = firstNonEmpty(o.PertCol, spec.PertCol)
	if o.ContextCol != nil {
		spec.ContextCol = *o.ContextCol
	}
	spec.Control = firstNonEmpty(o.Control, spec.Control)
	res.Spec = spec
	scale := firstNonEmpty(o.Scale, "auto")
	prepared, err := prepareDataset(d, ds.Name, spec, scale)
	if err != nil {
		return nil, err
	}
	if err := sameGenes(m.Genes(), prepared.Genes(), ds.Name, ckptName); err != nil {
		return nil, err
	}
	split := &tasks.Split{Task: "none", Train: make([]int, prepared.NCells())}
	for i := range split.Train {
		split.Train[i] = i
	}
	reqs, err := tasks.PredictRequests(prepared, spec, split, o.NCells)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ds.Name, err)
	}
	res.Timings.ReadS = time.Since(t1).Seconds()

	// One request at a time for the progress bar: a request's cells depend
	// only on the request (tasks.RequestRNG), not on how they are batched.
	t2 := time.Now()
	preds := make([]*data.CSR, len(reqs))
	for k := range reqs {
		progress.report(fmt.Sprintf("predicting %s / %s", reqs[k].Context, reqs[k].Perturbation), k, len(reqs))
		p, err := m.Predict(ctx, reqs[k:k+1])
		if err != nil {
			return nil, err
		}
		preds[k] = p[0]
		if k == 0 {
			res.Timings.FirstGroupS = time.Since(t2).Seconds()
		}
	}
	res.Timings.PredictS = time.Since(t2).Seconds()
	progress.report("predicted", len(reqs), len(reqs))
	if n, ok := loaded.(tasks.Noter); ok {
		res.Notes = n.Notes()
	}
	if res.Notes == nil {
		res.Notes = []string{}
	}
	pred, err := tasks.PredictionDataset(prepared, spec, reqs, preds)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", entry.Name, err)
	}
	res.Groups, res.Cells = len(reqs), pred.NCells()

	t3 := time.Now()
	so := ScoreOptions{PertCol: spec.PertCol, ContextCol: spec.ContextCol, Control: spec.Control, Scale: scale,
		TargetSum: data.DefaultTargetSum, ControlRef: "real", Profile: firstNonEmpty(o.Profile, "vcc")}
	if res.Score, err = s.scoreDatasets(OfPredict, d, pred, ds.Name, entry.Name+" prediction", so, progress); err != nil {
		return nil, err
	}
	res.Timings.ScoreS = time.Since(t3).Seconds()
	res.Timings.TotalS = time.Since(t0).Seconds()
	return res, nil
}

// prepareDataset brings a dataset to the log1p scale a model predicts on
// (data.ToLog1p with cellbench's default library size, as the suite
// runner's and cellbench predict's dataset loading does) and checks the
// spec's columns and control label.
func prepareDataset(d *data.Dataset, name string, spec tasks.PertSpec, scale string) (*data.Dataset, error) {
	if err := d.Validate(); err != nil {
		return nil, err // names the dataset
	}
	perts, _, err := spec.Labels(d)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(perts, spec.Control) {
		return nil, fmt.Errorf("%s: control label %q not found in obs column %q", name, spec.Control, spec.PertCol)
	}
	x, err := data.ToLog1p(d, scale, data.DefaultTargetSum)
	if err != nil {
		return nil, err
	}
	return &data.Dataset{Path: name, X: x, Obs: d.Obs, Var: d.Var, Scale: data.Log1p}, nil
}

// sameGenes checks that a dataset has the checkpoint's genes in its order
// (cellbench predict's rule: no silent reordering of a model's inputs).
func sameGenes(model, have []string, dataName, ckptName string) error {
	if _, err := data.AlignGenes(model, have); err != nil {
		return fmt.Errorf("%s vs checkpoint %s: %w", dataName, ckptName, err)
	}
	if i := data.FirstOrderDifference(model, have); i >= 0 {
		return fmt.Errorf("%s: gene order differs from the checkpoint %s at index %d (%q vs %q)", dataName, ckptName, i, have[i], model[i])
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ModelInfo is a model of the registry that Predict can run: a
// perturbation model whose checkpoints load from an fs.FS.
type ModelInfo struct {
	Name     string `json:"name"`
	Doc      string `json:"doc"`
	MetaFile string `json:"meta_file"` // the file that marks its checkpoint directory
}

// Models lists the registry's models that Predict can run, in registry
// order (model.All).
func Models() []ModelInfo {
	var out []ModelInfo
	for _, e := range model.All {
		if e.LoadFS != nil && e.Has(tasks.KindPerturbation) {
			out = append(out, ModelInfo{Name: e.Name, Doc: e.Doc, MetaFile: e.MetaFile})
		}
	}
	return out
}
