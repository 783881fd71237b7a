// Package hparams is the hyperparameter table of every cellbench model,
// neural or not: each model declares one Table (key, typed default, doc,
// optional value Check) with named configs — "tiny" for CI, "paper" for
// the published sizes. Resolve applies a named config and then the -set
// string "key=value;key=value"; ResolveParams does the same for a suite's
// params map ("config" names the named config). Unknown keys, values of
// the wrong type and values a Check rejects are errors naming the model
// and key. Table.Markdown renders the table for docs; Config round-trips
// through JSON in checkpoints. Pure Go, no GoMLX: the baselines use it.
package hparams
