package nn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cellbench/cellbench/model/hparams"
)

// TestCheckStartReplacesAnUnstartedRun: a start file with no checkpoint
// beside it (a run rejected or killed before its first save) does not block
// a run with other settings; one with a checkpoint does.
func TestCheckStartReplacesAnUnstartedRun(t *testing.T) {
	dir := t.TempDir()
	if err := CheckStart(dir, "start.json", "m", []byte(`{"steps":0}`)); err != nil {
		t.Fatal(err)
	}
	if err := CheckStart(dir, "start.json", "m", []byte(`{"steps":5}`)); err != nil {
		t.Fatalf("start file without a checkpoint blocked a corrected run: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "start.json")); string(b) != `{"steps":5}` {
		t.Fatalf("start file holds %s", b)
	}
	os.WriteFile(filepath.Join(dir, "checkpoint-n0000001-x.json"), []byte("{}"), 0o644)
	err := CheckStart(dir, "start.json", "m", []byte(`{"steps":7}`))
	if err == nil || !strings.Contains(err.Error(), "holds a run started with another configuration") {
		t.Fatalf("a run with a checkpoint was replaced: %v", err)
	}
}

// TestTrainParamsRefuseUntrainableValues: values Train or its schedule
// would refuse are refused when the configuration is resolved (before a
// command creates its checkpoint directory).
func TestTrainParamsRefuseUntrainableValues(t *testing.T) {
	table := &hparams.Table{Model: "m", Params: TrainParams(TrainDefaults{Steps: 10, LR: 1e-3, WarmupFrac: 0.1, FinalLRFrac: 0.1})}
	for set, want := range map[string]string{
		"steps=0":             "steps=0: want a value > 0",
		"steps=-3":            "steps=-3: want a value > 0",
		"lr=0":                "lr=0: want a finite value > 0",
		"lr=NaN":              "lr=NaN: want a finite value > 0",
		"warmup_frac=1.5":     "warmup_frac=1.5: want a fraction in [0, 1]",
		"final_lr_frac=-0.1":  "final_lr_frac=-0.1: want a fraction in [0, 1]",
		"weight_decay=-1":     "weight_decay=-1: want a finite value ≥ 0",
		"grad_clip=+Inf":      "grad_clip=+Inf: want a finite value ≥ 0",
		"checkpoint_every=-1": "checkpoint_every=-1: want a value ≥ 0",
	} {
		_, err := table.Resolve("", set)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", set, err, want)
		}
	}
	if _, err := table.Resolve("", "steps=1;lr=0.5;warmup_frac=0;final_lr_frac=1;grad_clip=0"); err != nil {
		t.Errorf("valid settings refused: %v", err)
	}
}
