package hparams_test

import (
	"fmt"

	"github.com/cellbench/cellbench/model/hparams"
	"github.com/cellbench/cellbench/model/nn"
)

// A model's hyperparameters: one table, named configs, -set overrides.
func ExampleTable_Resolve() {
	table := &hparams.Table{
		Model: "toy",
		Params: []hparams.Param{
			{Key: "hidden_dim", Default: 128, Doc: "width"},
			{Key: "lr", Default: 3e-4, Doc: "peak learning rate"},
		},
		Named: map[string]map[string]any{"tiny": {"hidden_dim": 32}},
	}
	cfg, err := table.Resolve("tiny", "lr=0.001")
	fmt.Println(cfg, err)
	_, err = table.Resolve("", "hidden=3")
	fmt.Println(err)
	// Output:
	// hidden_dim=32;lr=0.001 <nil>
	// toy: -set: unknown key "hidden" (valid: hidden_dim, lr)
}

// The learning-rate schedule: 10 warm-up steps, cosine to 30 % at step 100.
func ExampleSchedule() {
	s := nn.Schedule{PeakLR: 1e-3, Warmup: 10, Total: 100, FinalFrac: 0.3}
	for _, step := range []int64{0, 4, 9, 55, 100} {
		fmt.Printf("%d %.2e\n", step, s.At(step))
	}
	// Output:
	// 0 1.00e-04
	// 4 5.00e-04
	// 9 1.00e-03
	// 55 6.50e-04
	// 100 3.00e-04
}
