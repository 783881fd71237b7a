// Command serve is the plain static file server behind `make serve` and
// the browser tests: it serves the page (web/) at /, the dataset
// registry's folder at /data/ (so the page's examples are the real shared
// files, read at run time) and, when present, the example run made by
// scripts/web-examples.sh at /examples/ (a prediction, a checkpoint and a
// results.jsonl). The page needs nothing else: any static server that
// serves these folders the same way works.
//
//	go run ./web/serve [-addr 127.0.0.1:8080] [-web web] [-data DIR] [-examples runs/web-examples]
//
// It prints "serving http://ADDR/" on stdout once it listens (with -addr
// 127.0.0.1:0 the port is chosen by the system; tests read it there).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cellbench/cellbench/data"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port; port 0 = any free port)")
	webDir := fs.String("web", "web", "the page's folder (index.html, cellbench.wasm)")
	dataDir := fs.String("data", "", "dataset folder served at /data/ (default $CELLBENCH_DATA or ../shared/data)")
	examples := fs.String("examples", filepath.Join("runs", "web-examples"), "example run served at /examples/ (skipped when missing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *dataDir == "" {
		*dataDir = data.DefaultDataDir()
	}
	for _, need := range []struct{ flag, dir, file string }{
		{"-web", *webDir, "index.html"}, {"-web", *webDir, "cellbench.wasm"}, {"-data", *dataDir, ""}} {
		p := filepath.Join(need.dir, need.file)
		if _, err := os.Stat(p); err != nil {
			hint := ""
			if need.file == "cellbench.wasm" {
				hint = " (run make wasm)"
			}
			return fmt.Errorf("%s: %s: %w%s", need.flag, p, errors.Unwrap(err), hint)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(*webDir)))
	mux.Handle("/data/", http.StripPrefix("/data/", http.FileServer(http.Dir(*dataDir))))
	if _, err := os.Stat(*examples); err == nil {
		mux.Handle("/examples/", http.StripPrefix("/examples/", http.FileServer(http.Dir(*examples))))
	} else {
		fmt.Fprintf(stderr, "serve: no example run in %s (make serve builds it); the page still scores uploaded files\n", *examples)
	}
	// Browsers need these types; older mime tables lack .mjs.
	_ = mime.AddExtensionType(".mjs", "text/javascript; charset=utf-8")
	_ = mime.AddExtensionType(".wasm", "application/wasm")

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: noCache(mux), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "serving http://%s/ (page %s, data %s at /data/, examples %s at /examples/)\n", ln.Addr(), *webDir, *dataDir, *examples)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// noCache makes the browser fetch every file again (a rebuilt wasm must
// not be served stale from the cache).
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
