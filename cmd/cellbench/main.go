// Command cellbench evaluates and benchmarks single-cell foundation models.
//
// Usage:
//
//	cellbench data list | info NAME|FILE
//	cellbench score pert  --real R.h5ad --pred P.h5ad --out DIR [flags]
//	cellbench score embed --data D.h5ad --embed-key X_emb --out DIR [flags]
//	cellbench train | predict | embed | run | merge | report | compare | export ...
//
// Run "cellbench help" for the list of commands and "cellbench CMD -h" for
// the flags of one. main only parses the command name and calls run; every
// command returns an error, printed as one line, with exit status 1.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// command is one subcommand ("data info", "score pert", ...).
type command struct {
	name    string // one or two words
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is filled by register calls in each command's file (init time only).
var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("cellbench: duplicate command " + c.name)
	}
	commands[c.name] = c
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cellbench:", err)
		os.Exit(1)
	}
}

// run dispatches args to a command: two-word names ("score pert") are tried
// before one-word names ("run").
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	if len(args) >= 2 {
		if c, ok := commands[args[0]+" "+args[1]]; ok {
			return c.runGuarded(ctx, args[2:], stdout, stderr)
		}
	}
	if c, ok := commands[args[0]]; ok {
		return c.runGuarded(ctx, args[1:], stdout, stderr)
	}
	var sub []string
	for name := range commands {
		if strings.HasPrefix(name, args[0]+" ") {
			sub = append(sub, strings.TrimPrefix(name, args[0]+" "))
		}
	}
	if len(sub) > 0 {
		sort.Strings(sub)
		if len(args) == 1 {
			return fmt.Errorf("%s: missing subcommand (one of: %s)", args[0], strings.Join(sub, ", "))
		}
		return fmt.Errorf("%s: unknown subcommand %q (one of: %s)", args[0], args[1], strings.Join(sub, ", "))
	}
	return fmt.Errorf("unknown command %q (run 'cellbench help')", args[0])
}

// runGuarded runs the command and turns a panic into its one-line error:
// no input may panic a command, so a panic is a cellbench bug and the
// message says so, with the panic and where it happened. The causes are
// fixed where they are found; this is the last resort that keeps the
// promise of one line and exit status 1.
func (c command) runGuarded(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s: internal error, a cellbench bug (please report it with the command line): panic: %s at %s",
				c.name, strings.Join(strings.Fields(fmt.Sprint(v)), " "), panicSite())
		}
	}()
	return c.run(ctx, args, stdout, stderr)
}

// panicSite returns file:line of the innermost frame outside the Go
// runtime of the panicking goroutine (called from a deferred recover).
func panicSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") && f.Function != "" {
			return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "cellbench: evaluation and benchmarking for single-cell foundation models")
	fmt.Fprintln(w, "\nCommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'cellbench COMMAND -h' for a command's flags.")
}
