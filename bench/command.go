package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cellbench/cellbench/internal/fsutil"
	"github.com/cellbench/cellbench/tasks"
)

// External (command) models: the kind-agnostic part. A suite model with a
// command is run once per cell of its kind: the kind's runner writes the
// cell's input files into the cell's command directory, the command runs
// with the placeholders of its argv replaced by their paths, and the
// runner reads and validates the output file. The kinds supply the files
// (external_pert.go and external_incontext.go: {train}, {requests};
// external_embed.go: {data}; external_impute.go: {train}, {requests},
// {masked}); this file runs the program and records what happened:
//
//	OUT/cells/<task>/<dataset>/<model>/seed=<s>/
//	  train.h5ad, requests.h5ad | data.h5ad   inputs (removed once the cell is done)
//	  masked.csv                              input of imputation models
//	  out.h5ad | out.csv                      the command's output ({out}; kept)
//	  command.json                            argv, working directory, environment added,
//	                                          timeout, exit status, seconds, failure reason
//	  stdout.log, stderr.log                  the command's output streams
//
// A non-zero exit, a timeout (the command's process group is killed) or a
// command that cannot start fails the cell with a one-line reason naming
// the log; so does an output that fails validation.

// DefaultCommandTimeout bounds a command model's run on one cell when the
// suite gives no timeout.
const DefaultCommandTimeout = time.Hour

// CommandPlaceholders are the names a command's arguments may contain in
// braces. Files: {train} (.h5ad, the training cells), {requests} (.h5ad,
// the control cells of each requested group; for an in-context model the
// prompt and query cells of each request, external_incontext.go; for an
// imputation model the masked test cells of every masking level,
// external_impute.go), {masked} (.csv, an imputation model's masked
// positions), {data} (.h5ad, the cells to embed), {out} (the output file
// to write), {dir} (the cell's command directory). Values: {seed}, {task}, {dataset}, {model}, {pert_col},
// {context_col}, {control}. Each that is not empty is also in the
// environment as PlaceholderEnv(name): CELLBENCH_TRAIN, CELLBENCH_SEED, …
// ({data} as CELLBENCH_DATA_FILE: CELLBENCH_DATA is the data directory).
var CommandPlaceholders = []string{"train", "requests", "masked", "data", "out", "dir", "seed", "task", "dataset", "model", "pert_col", "context_col", "control"}

// kindFiles are the input files a kind writes and the output it reads.
var kindFiles = map[tasks.Kind]struct{ inputs []string }{
	tasks.KindPerturbation: {[]string{"train", "requests"}},
	tasks.KindInContext:    {[]string{"train", "requests"}},
	tasks.KindEmbedding:    {[]string{"data"}},
	tasks.KindImputation:   {[]string{"train", "requests", "masked"}},
}

// inputFile is the file name of an input placeholder in a command
// directory or export unit: masked.csv, else <name>.h5ad.
func inputFile(name string) string {
	if name == "masked" {
		return "masked.csv"
	}
	return name + ".h5ad"
}

// PlaceholderEnv is the environment variable of a placeholder.
func PlaceholderEnv(name string) string {
	if name == "data" {
		return "CELLBENCH_DATA_FILE"
	}
	return "CELLBENCH_" + strings.ToUpper(name)
}

// placeholderEnv adds the variables of the non-empty values to env.
func placeholderEnv(env, values map[string]string) {
	for k, v := range values {
		if v != "" {
			env[PlaceholderEnv(k)] = v
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

// externalKind is an external model's kind (default perturbation).
func (m ModelSpec) externalKind() tasks.Kind {
	if m.Kind == "" {
		return tasks.KindPerturbation
	}
	return tasks.Kind(m.Kind)
}

// externalEmbedsOn reports whether an external embedding model runs on
// dataset name (it needs the dataset's cells, Prepared.EmbedCells).
func (s *Suite) externalEmbedsOn(name string) bool {
	if !slices.ContainsFunc(s.Models, func(m ModelSpec) bool { return m.External() && m.externalKind() == tasks.KindEmbedding }) {
		return false
	}
	for _, t := range s.Tasks {
		if k, _ := tasks.KindOf(t.Name); k == tasks.KindEmbedding && slices.Contains(t.Datasets, name) {
			return true
		}
	}
	return false
}

// timeout is the command's time limit (Validate has parsed it).
func (m ModelSpec) timeout() time.Duration {
	if m.Timeout == "" {
		return DefaultCommandTimeout
	}
	d, _ := time.ParseDuration(m.Timeout)
	return d
}

// validateExternal checks an external model's fields: a kind with runner
// support for external models, known placeholders that the kind provides,
// a positive timeout, no registry params.
func (m ModelSpec) validateExternal() error {
	if m.Name == "" {
		return fmt.Errorf("an external model needs a name")
	}
	k := m.externalKind()
	files, ok := kindFiles[k]
	if !ok {
		var kinds []string
		for k := range kindFiles {
			kinds = append(kinds, string(k))
		}
		sort.Strings(kinds)
		return fmt.Errorf("model %s: kind %q cannot be an external model (one of: %s)", m.ID(), m.Kind, strings.Join(kinds, ", "))
	}
	if len(m.Params) > 0 {
		return fmt.Errorf("model %s: params apply to registry models; pass an external model's settings in its command or env", m.ID())
	}
	if m.Timeout != "" {
		d, err := time.ParseDuration(m.Timeout)
		if err != nil || d <= 0 {
			return fmt.Errorf("model %s: timeout %q is not a positive duration (e.g. 90s, 30m, 2h)", m.ID(), m.Timeout)
		}
	}
	if len(m.Command) > 0 && m.Command[0] == "" {
		return fmt.Errorf("model %s: command[0] (the program) is empty", m.ID())
	}
	for _, arg := range m.Command {
		for _, sub := range placeholderRE.FindAllStringSubmatch(arg, -1) {
			name := sub[1]
			if !slices.Contains(CommandPlaceholders, name) {
				return fmt.Errorf("model %s: command argument %q: unknown placeholder {%s} (known: {%s})", m.ID(), arg, name, strings.Join(CommandPlaceholders, "}, {"))
			}
			if (name == "train" || name == "requests" || name == "masked" || name == "data") && !slices.Contains(files.inputs, name) {
				return fmt.Errorf("model %s: command argument %q: {%s} is not an input of %s models (they get {%s})", m.ID(), arg, name, k, strings.Join(files.inputs, "}, {"))
			}
		}
	}
	for name := range m.Env {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return fmt.Errorf("model %s: env: bad variable name %q", m.ID(), name)
		}
	}
	return nil
}

// commandCell is the command directory of one external-model cell.
type commandCell struct {
	model ModelSpec
	// Dir is the absolute directory, Rel the same relative to the run
	// directory (as journals and reasons name it).
	Dir, Rel string
	// values are the placeholder values ({train}: an absolute path, …).
	values map[string]string
}

// commandDirRel is a cell's command directory relative to the run
// directory: cells/<task>/<dataset>/<model>/seed=<s>.
func commandDirRel(c Cell) string {
	return filepath.Join("cells", fileSafe(c.Task.Name), fileSafe(c.Dataset.Name), fileSafe(c.Model.ID()), fmt.Sprintf("seed=%d", c.Seed))
}

// newCommandCell empties and creates the command directory of cell c
// under out and fills the value placeholders; the kind adds its files
// with setFile.
func newCommandCell(out string, c Cell, pert tasks.PertSpec) (*commandCell, error) {
	rel := commandDirRel(c)
	abs, err := filepath.Abs(filepath.Join(out, rel))
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(abs); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	cc := &commandCell{model: c.Model, Dir: abs, Rel: rel, values: map[string]string{
		"dir": abs, "seed": strconv.FormatUint(c.Seed, 10), "task": c.Task.Name, "dataset": c.Dataset.Name,
		"model": c.Model.ID(), "pert_col": pert.PertCol, "context_col": pert.ContextCol, "control": pert.Control,
	}}
	return cc, nil
}

// setFile sets a file placeholder to name inside the directory and
// returns its path.
func (cc *commandCell) setFile(placeholder, name string) string {
	p := filepath.Join(cc.Dir, name)
	cc.values[placeholder] = p
	return p
}

// relPath names a file of the directory relative to the run directory
// (for reasons).
func (cc *commandCell) relPath(name string) string { return filepath.Join(cc.Rel, name) }

// commandLog is command.json.
type commandLog struct {
	Argv     []string          `json:"argv"`
	Workdir  string            `json:"workdir"`
	Env      map[string]string `json:"env"` // the variables added to cellbench's environment
	Timeout  string            `json:"timeout"`
	Started  string            `json:"started"`
	Seconds  float64           `json:"seconds"`
	ExitCode *int              `json:"exit_code,omitempty"`
	Signal   string            `json:"signal,omitempty"`
	TimedOut bool              `json:"timed_out,omitempty"`
	Reason   string            `json:"reason,omitempty"`
}

// run runs the command: placeholders substituted, CELLBENCH_* variables
// and the suite's env added to cellbench's environment, stdout and stderr
// into stdout.log and stderr.log, its own process group, killed with it
// after the timeout or when ctx ends. A failure is a one-line error: exit
// status and the last line of stderr, a timeout, or a start error, with
// the log's path.
func (cc *commandCell) run(ctx context.Context) error {
	m := cc.model
	if len(m.Command) == 0 {
		return fmt.Errorf("model %s has no command: its outputs come from `cellbench run --predictions DIR` (see `cellbench export`)", m.ID())
	}
	argv := make([]string, len(m.Command))
	for i, a := range m.Command {
		argv[i] = placeholderRE.ReplaceAllStringFunc(a, func(s string) string {
			return cc.values[s[1:len(s)-1]]
		})
	}
	env := map[string]string{}
	placeholderEnv(env, cc.values)
	for k, v := range m.Env {
		env[k] = v
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if m.Workdir != "" {
		if wd, err = filepath.Abs(m.Workdir); err != nil {
			return err
		}
	}
	log := commandLog{Argv: argv, Workdir: wd, Env: env, Timeout: m.timeout().String(), Started: time.Now().UTC().Format(time.RFC3339)}
	stdout, err := os.Create(filepath.Join(cc.Dir, "stdout.log"))
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderrF, err := os.Create(filepath.Join(cc.Dir, "stderr.log"))
	if err != nil {
		return err
	}
	defer stderrF.Close()
	tail := &lastLines{}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = wd
	cmd.Stdout = stdout
	cmd.Stderr = io.MultiWriter(stderrF, tail)
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t0 := time.Now()
	reason := ""
	if err := cmd.Start(); err != nil {
		reason = fmt.Sprintf("command %q could not start: %v", argv[0], unwrapExec(err))
	} else {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		timer := time.NewTimer(m.timeout())
		var werr error
		select {
		case werr = <-done:
		case <-timer.C:
			killGroup(cmd)
			<-done
			log.TimedOut = true
			reason = fmt.Sprintf("command timed out after %s and was killed", m.timeout())
		case <-ctx.Done():
			killGroup(cmd)
			<-done
			reason = "interrupted: " + ctx.Err().Error()
		}
		timer.Stop()
		if cmd.ProcessState == nil {
			// Wait failed before the process was reaped; werr says why.
		} else if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
			if st.Signaled() {
				log.Signal = st.Signal().String()
			} else {
				code := st.ExitStatus()
				log.ExitCode = &code
			}
		}
		if reason == "" && werr != nil {
			switch {
			case log.Signal != "":
				reason = "command was killed by signal " + log.Signal
			case log.ExitCode != nil:
				reason = fmt.Sprintf("command exited with status %d", *log.ExitCode)
			default:
				reason = "command failed: " + werr.Error()
			}
		}
	}
	log.Seconds = time.Since(t0).Seconds()
	if reason != "" {
		if last := tail.last(); last != "" {
			reason += fmt.Sprintf(" (last stderr line: %q)", last)
		}
		reason += "; logs in " + cc.Rel
		log.Reason = reason
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(cc.Dir, "command.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(log)
	}); err != nil {
		return err
	}
	if reason != "" {
		return errors.New(reason)
	}
	return nil
}

// killGroup kills the command's whole process group (a Python script's
// workers included).
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		cmd.Process.Kill()
	}
}

// unwrapExec shortens exec's "fork/exec X: no such file" errors.
func unwrapExec(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lastLines keeps the last non-empty line written to it (≤ 300 bytes).
type lastLines struct {
	buf  []byte
	line string
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if s := strings.TrimSpace(string(l.buf[:i])); s != "" {
			l.line = s
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 4096 {
		l.buf = l.buf[len(l.buf)-4096:]
	}
	return len(p), nil
}

func (l *lastLines) last() string {
	s := l.line
	if t := strings.TrimSpace(string(l.buf)); t != "" {
		s = t
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// removeInputs deletes a done cell's input files (the output and logs
// stay).
func (cc *commandCell) removeInputs(kind tasks.Kind) {
	for _, name := range kindFiles[kind].inputs {
		if p, ok := cc.values[name]; ok {
			os.Remove(p)
		}
	}
}
