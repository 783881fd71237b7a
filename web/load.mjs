// load.mjs — start cellbench.wasm (built by `make wasm`) and return its API
// object (see web/wasm/main.go for the functions). Shared by the page's
// Web Worker (worker.mjs) and the Node entry (score.mjs), so both run the
// wasm the same way.

let started = null;
let exitedPromise = null;

// whenExited resolves if the Go program stops (a crash, e.g. out of
// memory): calls still pending then never answer, so callers race it.
export function whenExited() {
  return exitedPromise ?? new Promise(() => {});
}

// startCellbench instantiates the wasm bytes (ArrayBuffer or Uint8Array)
// once and resolves with globalThis.cellbench when the Go side is ready.
// env becomes the Go program's environment (e.g. GOMLX_BACKEND).
export function startCellbench(wasmBytes, env = {}) {
  if (started) return started;
  started = (async () => {
    if (!globalThis.Go) {
      await import("./wasm_exec.js"); // Go's loader (copied from $(go env GOROOT)/lib/wasm)
    }
    const go = new globalThis.Go();
    go.env = env;
    const ready = new Promise((resolve) => { globalThis.cellbenchReady = resolve; });
    const { instance } = await WebAssembly.instantiate(wasmBytes, go.importObject);
    const run = go.run(instance);
    exitedPromise = run.then(() => "cellbench.wasm stopped (it ran out of memory or crashed; reload the page)");
    const exited = run.then(() => {
      throw new Error("cellbench.wasm exited before it was ready");
    });
    await Promise.race([ready, exited]);
    return globalThis.cellbench;
  })();
  return started;
}
