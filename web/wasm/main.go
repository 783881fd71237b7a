//go:build js && wasm

// Command wasm is cellbench for the browser and Node: built with
// GOOS=js GOARCH=wasm (make wasm → web/cellbench.wasm), it installs one
// global object, cellbench, whose functions run package web/app and
// answer with Promises:
//
//	cellbench.version()                          → {go, revision, modified}
//	cellbench.examples()                         → [Example, …]
//	cellbench.models()                           → [ModelInfo, …] (what predict runs)
//	cellbench.verify(name, bytes)                → null (rejects on a wrong SHA-256)
//	cellbench.inspect(name, bytes)               → FileInfo
//	cellbench.score(real, pred, options, onProgress)   → ScoreResult
//	cellbench.figure(request)                    → FigureResult (of the last score)
//	cellbench.leaderboard(name, bytes)           → LeaderboardResult
//	cellbench.predict(checkpointFiles, dataset, options, onProgress) → PredictResult
//	cellbench.checkpointInfo(checkpointFiles)    → CheckpointInfo (which model, stage)
//	cellbench.countCells(name, bytes, pertCol, contextCol) → Crosstab
//	cellbench.incontext(checkpointFiles, dataset, options, onProgress) → InContextResult
//
// A file is {name, bytes} with bytes a Uint8Array; checkpointFiles is an
// array of files (one .zip, or the files of a checkpoint folder with
// their relative paths); options and requests are plain objects with the
// JSON field names of web/app; onProgress(stage, done, total) is optional.
// Results are plain objects (JSON of web/app's types: NaN as the string
// "NaN"); a failure rejects the Promise with an Error whose message is the
// one-line error. Work runs on a new goroutine, so the JavaScript event
// loop keeps running (progress messages reach the page while it works).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall/js"

	"github.com/cellbench/cellbench/model"
	"github.com/cellbench/cellbench/web/app"
)

func main() {
	var session app.Session
	api := map[string]any{
		"version": promised(func(args []js.Value) (any, error) { return version(), nil }),
		"examples": promised(func(args []js.Value) (any, error) {
			return app.Examples(), nil
		}),
		"models": promised(func(args []js.Value) (any, error) {
			return app.Models(), nil
		}),
		"verify": promised(func(args []js.Value) (any, error) {
			if err := needArgs(args, 2, "verify(name, bytes)"); err != nil {
				return nil, err
			}
			return nil, app.Verify(args[0].String(), goBytes(args[1]))
		}),
		"inspect": promised(func(args []js.Value) (any, error) {
			if err := needArgs(args, 2, "inspect(name, bytes)"); err != nil {
				return nil, err
			}
			return app.Inspect(app.File{Name: args[0].String(), Bytes: goBytes(args[1])})
		}),
		"score": promised(func(args []js.Value) (any, error) {
			if err := needArgs(args, 3, "score(real, pred, options)"); err != nil {
				return nil, err
			}
			real, err := goFile(args[0], "real")
			if err != nil {
				return nil, err
			}
			pred, err := goFile(args[1], "pred")
			if err != nil {
				return nil, err
			}
			opts := app.DefaultScoreOptions()
			if err := fromJS(args[2], &opts); err != nil {
				return nil, fmt.Errorf("score options: %w", err)
			}
			return session.Score(real, pred, opts, progressFunc(args, 3))
		}),
		"figure": promised(func(args []js.Value) (any, error) {
			var req app.FigureRequest
			if len(args) > 0 {
				if err := fromJS(args[0], &req); err != nil {
					return nil, fmt.Errorf("figure request: %w", err)
				}
			}
			return session.Figure(req)
		}),
		"leaderboard": promised(func(args []js.Value) (any, error) {
			if err := needArgs(args, 2, "leaderboard(name, bytes)"); err != nil {
				return nil, err
			}
			return app.Leaderboard(app.File{Name: args[0].String(), Bytes: goBytes(args[1])})
		}),
		"predict": promised(func(args []js.Value) (any, error) {
			if err := needArgs(args, 3, "predict(checkpointFiles, dataset, options)"); err != nil {
				return nil, err
			}
			var opts app.PredictOptions
			if err := fromJS(args[2], &opts); err != nil {
				return nil, fmt.Errorf("predict options: %w", err)
			}
			if opts.Model == "" {
				opts.Model = "state"
			}
			fsys, name, ds, err := checkpointAndDataset(args, opts.Model)
			if err != nil {
				return nil, err
			}
			return session.Predict(context.Background(), fsys, name, ds, opts, progressFunc(args, 3))
		}),
		"checkpointInfo": promised(func(args []js.Value) (any, error) {
			if err := needArgs(args, 1, "checkpointInfo(checkpointFiles)"); err != nil {
				return nil, err
			}
			files, err := goFiles(args[0])
			if err != nil {
				return nil, err
			}
			return app.InspectCheckpoint(files)
		}),
		"countCells": promised(func(args []js.Value) (any, error) {
			if err := needArgs(args, 4, "countCells(name, bytes, pertCol, contextCol)"); err != nil {
				return nil, err
			}
			return app.CountCells(app.File{Name: args[0].String(), Bytes: goBytes(args[1])}, args[2].String(), args[3].String())
		}),
		"incontext": promised(func(args []js.Value) (any, error) {
			if err := needArgs(args, 3, "incontext(checkpointFiles, dataset, options)"); err != nil {
				return nil, err
			}
			var opts app.InContextOptions
			if err := fromJS(args[2], &opts); err != nil {
				return nil, fmt.Errorf("in-context options: %w", err)
			}
			fsys, name, ds, err := checkpointAndDataset(args, "stack")
			if err != nil {
				return nil, err
			}
			return session.PredictInContext(context.Background(), fsys, name, ds, opts, progressFunc(args, 3))
		}),
	}
	js.Global().Set("cellbench", js.ValueOf(api))
	if ready := js.Global().Get("cellbenchReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // serve calls until the page or process goes away
}

// promised wraps work as a JavaScript function returning a Promise that
// resolves with work's result as a plain object (through JSON) or rejects
// with an Error. The work runs on its own goroutine; a panic is turned into
// a rejection that says it is a bug.
func promised(work func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) any {
		args = append([]js.Value(nil), args...)
		var resolve, reject js.Value
		executor := js.FuncOf(func(this js.Value, p []js.Value) any {
			resolve, reject = p[0], p[1]
			return nil
		})
		promise := js.Global().Get("Promise").New(executor)
		executor.Release()
		go func() {
			var (
				out any
				err error
			)
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("internal error (a cellbench bug, please report it): %v", r)
					}
				}()
				out, err = work(args)
			}()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			b, err := json.Marshal(out)
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New("encoding the result: " + err.Error()))
				return
			}
			resolve.Invoke(js.Global().Get("JSON").Call("parse", string(b)))
		}()
		return promise
	})
}

func needArgs(args []js.Value, n int, usage string) error {
	if len(args) < n {
		return fmt.Errorf("usage: cellbench.%s", usage)
	}
	return nil
}

// goBytes copies a Uint8Array (or ArrayBuffer) into Go.
func goBytes(v js.Value) []byte {
	if v.Type() != js.TypeObject {
		return nil
	}
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// goFile reads a {name, bytes} object.
func goFile(v js.Value, what string) (app.File, error) {
	if v.Type() != js.TypeObject || v.Get("bytes").Type() != js.TypeObject {
		return app.File{}, fmt.Errorf("%s: want {name, bytes: Uint8Array}", what)
	}
	name := what
	if n := v.Get("name"); n.Type() == js.TypeString {
		name = n.String()
	}
	return app.File{Name: name, Bytes: goBytes(v.Get("bytes"))}, nil
}

// checkpointAndDataset reads args[0] (a checkpoint's files) as a
// checkpoint of the registry model modelName and args[1] as the dataset.
func checkpointAndDataset(args []js.Value, modelName string) (fs.FS, string, app.File, error) {
	entry, err := model.Lookup(modelName)
	if err != nil {
		return nil, "", app.File{}, err
	}
	files, err := goFiles(args[0])
	if err != nil {
		return nil, "", app.File{}, err
	}
	fsys, name, err := app.CheckpointFS(files, entry.MetaFile)
	if err != nil {
		return nil, "", app.File{}, err
	}
	ds, err := goFile(args[1], "dataset")
	return fsys, name, ds, err
}

// goFiles reads an array of {name, bytes} objects (a checkpoint's files).
func goFiles(v js.Value) ([]app.File, error) {
	if v.Type() != js.TypeObject || v.Get("length").Type() != js.TypeNumber {
		return nil, fmt.Errorf("checkpoint: want an array of files")
	}
	var files []app.File
	for i := 0; i < v.Length(); i++ {
		f, err := goFile(v.Index(i), "checkpoint file")
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// fromJS decodes a plain JavaScript object into dst through JSON; unknown
// fields are errors (a misspelt option must not be silently ignored).
func fromJS(v js.Value, dst any) error {
	if v.Type() == js.TypeUndefined || v.Type() == js.TypeNull {
		return nil
	}
	s := js.Global().Get("JSON").Call("stringify", v).String()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

// progressFunc returns the optional JavaScript progress callback args[i].
func progressFunc(args []js.Value, i int) app.Progress {
	if len(args) <= i || args[i].Type() != js.TypeFunction {
		return nil
	}
	f := args[i]
	return func(stage string, done, total int) { f.Invoke(stage, done, total) }
}

// revision is the git commit the wasm was built from, set by make wasm
// (-ldflags -X main.revision=…); "" falls back to Go's VCS stamp.
var revision string

func version() map[string]any {
	v := map[string]any{"go": runtime.Version()}
	if revision != "" {
		v["revision"] = revision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if revision == "" {
					v["revision"] = s.Value
				}
			case "vcs.modified":
				v["modified"] = s.Value == "true"
			}
		}
	}
	return v
}
