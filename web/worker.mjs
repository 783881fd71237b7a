// worker.mjs — the page's Web Worker: it downloads and starts
// cellbench.wasm (load.mjs) and runs one cellbench call per message, off the
// UI thread.
//
// In:  {id, op, args}           op is a function of cellbench (web/wasm)
// Out: {type: "boot", stage, done, total}   download / start progress
//      {type: "ready", version, wasmBytes, startS}
//      {type: "fatal", error}               the wasm could not start
//      {id, type: "progress", stage, done, total}
//      {id, type: "result", result, seconds}
//      {id, type: "error", error, seconds}

import { startCellbench, whenExited } from "./load.mjs";

// Operations that take a progress callback as their last argument.
const withProgress = new Set(["score", "predict", "incontext"]);

async function download(url) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status} (build it with make wasm)`);
  const total = Number(resp.headers.get("content-length")) || 0;
  if (!resp.body || !total) return new Uint8Array(await resp.arrayBuffer());
  const buf = new Uint8Array(total);
  const reader = resp.body.getReader();
  let done = 0;
  let last = 0;
  for (;;) {
    const { done: end, value } = await reader.read();
    if (end) break;
    buf.set(value, done);
    done += value.length;
    if (done - last > total / 50 || done === total) {
      last = done;
      postMessage({ type: "boot", stage: "downloading cellbench.wasm", done, total });
    }
  }
  return buf.subarray(0, done);
}

const ready = (async () => {
  const t0 = performance.now();
  const bytes = await download(new URL("./cellbench.wasm", import.meta.url));
  postMessage({ type: "boot", stage: "starting cellbench.wasm", done: 0, total: 0 });
  const cb = await startCellbench(bytes);
  const version = await cb.version();
  postMessage({ type: "ready", version, wasmBytes: bytes.length, startS: (performance.now() - t0) / 1000 });
  return cb;
})();
ready.catch((e) => postMessage({ type: "fatal", error: e.message ?? String(e) }));

// Calls run one after another: the Go side keeps one session (the last
// evaluation a figure is drawn from) and is not meant to interleave calls.
let queue = Promise.resolve();
onmessage = (ev) => {
  queue = queue.then(() => run(ev.data));
};

async function run({ id, op, args }) {
  const t0 = performance.now();
  try {
    const cb = await ready;
    if (typeof cb[op] !== "function") throw new Error(`unknown operation ${op}`);
    const callArgs = [...args];
    if (withProgress.has(op)) {
      callArgs.push((stage, done, total) => postMessage({ id, type: "progress", stage, done, total }));
    }
    const result = await Promise.race([cb[op](...callArgs),
      whenExited().then((why) => { throw new Error(why); })]);
    postMessage({ id, type: "result", result, seconds: (performance.now() - t0) / 1000 });
  } catch (e) {
    postMessage({ id, type: "error", error: e.message ?? String(e), seconds: (performance.now() - t0) / 1000 });
  }
}
