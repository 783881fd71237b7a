// Package model is the registry of every model cellbench runs (All): the
// non-neural baselines of package baselines and the GoMLX models in its
// subpackages, each with its name, task kinds, backend, hyperparameter
// table (model/hparams), constructor and checkpoint loader. The suite
// runner, the train/predict/embed/impute commands and the notebooks find
// models here and nowhere else.
//
//	model/hparams   hyperparameter tables: named configs, -set, suite params (pure Go)
//	model/nn        GoMLX building blocks: backend choice, layers, losses,
//	                the training loop with shared training settings
//	                (nn.TrainParams), checkpoints, training stages (InitFrom)
//	model/state     STATE-style State Transition model
//	model/stack     STACK (tabular attention, NB decoder, in-context prompting)
//	model/sct       sCT-style conv-transformer (imputation)
//
// Build a model by name:
//
//	e, err := model.Lookup("linear")
//	cfg, err := e.Resolve(map[string]string{"ridge": "0.5"})
//	m, err := e.NewPerturbation(cfg, nn.Runtime{})
//
// Adding a model is one Entry in All; a test checks that names are unique
// and that every entry implements the interface of each kind it declares.
package model
