#!/usr/bin/env node
// bench-stack.mjs — the in-context panel's STACK generation time in headless
// Chromium (the page, cellbench.wasm in its worker) against the native
// command on the same request, and the browser's predicted cells against
// the command's. For bench/reports/web.md; not part of make test.
//
//   node web/test/bench-stack.mjs --ckpt DIR --data D.h5ad --pert-col C --context-col X --control L \
//       --pert P --prompt-ctx A --query-ctx B [--seed 0] [--repeat 3] [--screenshot FILE.png]
//
// Native: web/test/stack_native.py cuts A's cells of P (prompt) and B's
// controls (query) from D; bin/cellbench predict --model stack --prompt
// --query --pert --seed runs --repeat times (wall clock of the whole
// command: load, read, generate, write); its generated cells become the
// page's CSV. Browser: the page loads DIR and D, generates with and without
// the prompt --repeat times (a fresh page each time: the graph is compiled
// in every run, as the command does); medians.

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { launchChromium, median, startServer } from "./lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const run = promisify(execFile);

const a = { ckpt: "", data: "", "pert-col": "", "context-col": "", control: "", pert: "", "prompt-ctx": "", "query-ctx": "",
  seed: "0", repeat: "3", screenshot: "", chromium: process.env.CHROMIUM ?? "/usr/bin/chromium" };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown flag ${process.argv[i]}`);
  a[k] = process.argv[++i];
}
for (const k of ["ckpt", "data", "pert-col", "context-col", "control", "pert", "prompt-ctx", "query-ctx"]) {
  if (!a[k]) throw new Error(`--${k} is required`);
}
const n = Math.max(1, Number(a.repeat) || 1);
const tmp = await mkdtemp(path.join(tmpdir(), "cellbench-stackbench-"));
const fmt = (x) => x.toFixed(3);

// Native.
const prompt = path.join(tmp, "prompt.h5ad"), query = path.join(tmp, "query.h5ad"), pred = path.join(tmp, "pred.h5ad");
await run("/usr/bin/python3", [path.join(here, "stack_native.py"), "subset", a.data, a["pert-col"], a["context-col"],
  `${prompt}:${a["prompt-ctx"]}:${a.pert}`, `${query}:${a["query-ctx"]}:${a.control}`]);
const native = [];
let stderr = "";
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  ({ stderr } = await run(path.join(repo, "bin", "cellbench"), ["predict", "--model", "stack", "--ckpt", a.ckpt, "--prompt", prompt,
    "--query", query, "--pert", a.pert, "--pert-col", a["pert-col"], "--control", a.control, "--seed", a.seed, "--out", pred]));
  native.push((performance.now() - t0) / 1000);
  await rm(pred, { force: true });
  if (i === n - 1) {
    await run(path.join(repo, "bin", "cellbench"), ["predict", "--model", "stack", "--ckpt", a.ckpt, "--prompt", prompt,
      "--query", query, "--pert", a.pert, "--pert-col", a["pert-col"], "--control", a.control, "--seed", a.seed, "--out", pred]);
  }
}
const nativeCSVPath = path.join(tmp, "pred.csv");
await run("/usr/bin/python3", [path.join(here, "stack_native.py"), "csv", pred, nativeCSVPath]);
const nativeCSV = await readFile(nativeCSVPath, "utf8");

// Browser.
const { server, url } = await startServer(path.join(repo, "bin", "cellbench-serve"), path.join(repo, "web"),
  process.env.CELLBENCH_DATA ?? path.resolve(repo, "..", "shared", "data"), tmp);
const browser = await launchChromium(a.chromium);
const runs = [];
let ua = "Chromium";
try {
  for (let i = 0; i < n; i++) {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector("#engine[data-state=ready]", { timeout: 120000 });
    ua = await page.evaluate(() => navigator.userAgent.match(/Chrome\/[0-9.]+/)?.[0] ?? "Chromium");
    await page.click("[data-tab=model]");
    await page.setInputFiles("#file-ckpt-dir", a.ckpt);
    await page.waitForSelector("#ic-options:not([hidden])", { timeout: 120000 });
    await page.setInputFiles("#file-model-data", a.data);
    await page.waitForFunction(() => !window.cellbenchPage.busy && document.querySelectorAll("#ic-pert option").length > 0, null, { timeout: 120000 });
    await page.selectOption("#ic-pert-col", a["pert-col"]);
    await page.waitForFunction(() => !window.cellbenchPage.busy);
    await page.selectOption("#ic-control", a.control);
    await page.waitForFunction(() => !window.cellbenchPage.busy);
    await page.selectOption("#ic-context-col", a["context-col"]);
    await page.waitForFunction(() => !window.cellbenchPage.busy && document.querySelectorAll("#ic-pert option").length > 0);
    await page.selectOption("#ic-pert", a.pert);
    await page.selectOption("#ic-prompt", a["prompt-ctx"]);
    await page.selectOption("#ic-query", a["query-ctx"]);
    await page.fill("#ic-seed", a.seed);
    await page.click("#run-ic");
    await page.waitForFunction(() => !window.cellbenchPage.busy && (window.cellbenchPage.last.incontext || window.cellbenchPage.lastError),
      null, { timeout: 600000 });
    const r = await page.evaluate(() => window.cellbenchPage.last.incontext?.result ?? window.cellbenchPage.lastError);
    if (typeof r === "string") throw new Error(r);
    runs.push(r);
    if (i === n - 1 && a.screenshot) {
      await page.waitForFunction(() => window.cellbenchPage.last.figure_incontext && window.cellbenchPage.last["figure_incontext-noprompt"],
        null, { timeout: 120000 });
      await page.screenshot({ path: a.screenshot, fullPage: true });
    }
    if (errors.length) throw new Error(errors.join("\n"));
    await page.close();
  }
} finally {
  await browser.close();
  server.kill();
}

// Equality: every generated value and logit within a relative 1e-5.
function maxRel(got, want, cols) {
  const g = got.trim().split("\n"), w = want.trim().split("\n");
  if (g.length !== w.length || g[0] !== w[0]) throw new Error("browser CSV shape or header differs from the native one");
  let worst = 0, differing = 0, worstAbs = 0;
  for (let i = 1; i < g.length; i++) {
    const x = g[i].split(","), y = w[i].split(",");
    for (let k = 0; k < x.length; k++) {
      if (!cols(k) || x[k] === y[k]) continue;
      const rel = Math.abs(Number(x[k]) - Number(y[k])) / Math.max(Math.abs(Number(y[k])), 1e-300);
      if (!(rel <= 1e-5)) differing++;
      worst = Math.max(worst, rel);
      worstAbs = Math.max(worstAbs, Math.abs(Number(x[k]) - Number(y[k])));
    }
  }
  return { worst, differing, worstAbs, values: (g.length - 1) * (g[0].split(",").filter((_, k) => cols(k)).length) };
}
const cells = maxRel(runs[0].variants[0].csv, nativeCSV, (k) => k >= 3);
const logits = maxRel(runs[0].variants[0].csv, nativeCSV, (k) => k === 2);
await rm(tmp, { recursive: true, force: true });

const r0 = runs[0];
const med = (f) => median(runs.map(f));
const browserRequest = med((r) => r.timings.load_s + r.timings.read_s + r.variants[0].generate_s);
const nat = median(native);
console.log(`STACK in-context: ${a.pert} in ${a["query-ctx"]} prompted by ${a["prompt-ctx"]} (${r0.prompt_cells} prompt cells, ` +
  `${r0.query_cells} query cells, ${r0.rounds} rounds, seed ${a.seed}); ${path.basename(a.ckpt)} on ${path.basename(a.data)}; medians of ${n} runs.`);
console.log(`Gene alignment: ${r0.prompt_unknown} prompt / ${r0.query_unknown} query genes of ${r0.dataset_genes} unknown; ${r0.shared} of the checkpoint's ${r0.checkpoint_genes} present.`);
console.log(`Native command stderr: ${stderr.trim().split("\n")[0]}`);
console.log(`Equality: generated values max relative difference ${cells.worst.toExponential(2)} (absolute ${cells.worstAbs.toExponential(2)}; ` +
  `${cells.differing} of ${cells.values} over 1e-5); gen_logit max relative difference ${logits.worst.toExponential(2)} ` +
  `(absolute ${logits.worstAbs.toExponential(2)}; ${logits.differing} of ${logits.values} over 1e-5).\n`);
console.log("| where | load (s) | read + prepare (s) | generate, prompt (s) | generate, no prompt (s) | score both (s) | request total (s) |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
console.log(`| native cellbench predict --prompt --query (whole command, wall clock) | | | | | | ${fmt(nat)} |`);
console.log(`| ${ua} headless (wasm) | ${fmt(med((r) => r.timings.load_s))} | ${fmt(med((r) => r.timings.read_s))} | ` +
  `${fmt(med((r) => r.variants[0].generate_s))} | ${fmt(med((r) => r.variants[1].generate_s))} | ${fmt(med((r) => r.timings.score_s))} | ` +
  `${fmt(browserRequest)} (load + read + generate with the prompt; × ${(browserRequest / nat).toFixed(2)} native) |`);
