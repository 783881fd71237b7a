// load.mjs — start cellbench.wasm (built by `make wasm`) and return its API
// object (see web/wasm/main.go for the functions). Shared by the page's
// Web Worker (worker.mjs) and the Node entry (score.mjs), so both run the
// wasm the same way.

let started = null;

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
    const exited = go.run(instance).then(() => {
      throw new Error("cellbench.wasm exited before it was ready");
    });
    await Promise.race([ready, exited]);
    return globalThis.cellbench;
  })();
  return started;
}
