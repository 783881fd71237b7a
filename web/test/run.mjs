#!/usr/bin/env node
// run.mjs — the web tests (make webtest): cellbench.wasm under Node and in
// headless Chromium must write the native binary's files byte for byte.
//
//   node web/test/run.mjs --examples runs/web-test [--out DIR] [--repeat N]
//
// --examples is a folder made by scripts/web-examples.sh: the native
// reference (native/results.csv of cellbench score pert, report/leaderboard.md
// of cellbench report), the prediction, checkpoint and results.jsonl the
// page loads. The data files come from the data registry's folder
// ($CELLBENCH_DATA or ../shared/data), served by bin/cellbench-serve.
//
// Checks:
//   node     web/score.mjs on (fixture, prediction) → results.csv == native
//   node     bad inputs: one-line error, exit 1, no output file
//   browser  page loads the example, scores it → downloaded results.csv == native;
//            the figure is drawn; a non-h5ad file shows a readable error
//   browser  leaderboard of results.jsonl → downloaded leaderboard.md == cellbench report's
//   browser  the checkpoint folder, uploaded, predicts the fixture → its score's
//            results.csv == native score of cellbench predict's .h5ad, to a
//            relative 1e-5 (float32 sums in another order natively; see below)
//   browser  the STACK checkpoint folder (in-context), uploaded, generates
//            A172 SGK1 from k562 SGK1 → its cells == cellbench predict
//            --prompt --query --seed 3's, to a relative 1e-5; both LFC
//            scatters (prompt, no prompt) drawn
// Writes DIR/page.png, DIR/model.png, DIR/stack.png, DIR/leaderboard.png (screenshots) and
// DIR/timings.json (seconds per stage; medians over --repeat runs).

import { execFile } from "node:child_process";
import { mkdir, readFile, rm, stat, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { launchChromium, median, startServer } from "./lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const run = promisify(execFile);

const args = { examples: "runs/web-test", out: "", repeat: "1", chromium: process.env.CHROMIUM ?? "/usr/bin/chromium",
  server: "bin/cellbench-serve", keep: "" };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i].replace(/^--/, "");
  if (!(a in args)) throw new Error(`unknown flag ${process.argv[i]}`);
  args[a] = process.argv[++i];
}
const ex = path.resolve(repo, args.examples);
const out = path.resolve(repo, args.out || path.join(args.examples, "out"));
const repeat = Math.max(1, Number(args.repeat) || 1);
await mkdir(out, { recursive: true });

let failed = 0;
const timings = {};
async function check(name, fn) {
  const t0 = performance.now();
  try {
    await fn();
    console.log(`ok   ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e.message}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
// sameBytes fails with the first differing line of two texts.
function sameBytes(got, want, what) {
  if (got === want) return;
  const g = got.split("\n"), w = want.split("\n");
  for (let i = 0; i < Math.max(g.length, w.length); i++) {
    if (g[i] !== w[i]) throw new Error(`${what} differs from the native file at line ${i + 1}:\n  got  ${g[i]}\n  want ${w[i]}`);
  }
  throw new Error(`${what} differs from the native file`);
}
// closeCSV compares two results.csv numerically: the same header, labels
// and NaNs, and every number within rtol (relative) or atol; it returns the
// largest relative difference.
function closeCSV(got, want, rtol, atol, what) {
  const g = got.trim().split("\n"), w = want.trim().split("\n");
  assert(g.length === w.length, `${what}: ${g.length} lines, want ${w.length}`);
  assert(g[0] === w[0], `${what}: header ${g[0]}, want ${w[0]}`);
  let worst = 0;
  for (let i = 1; i < g.length; i++) {
    const a = g[i].split(","), b = w[i].split(",");
    assert(a.length === b.length, `${what} line ${i + 1}: ${a.length} fields, want ${b.length}`);
    for (let k = 0; k < a.length; k++) {
      const x = Number(a[k]), y = Number(b[k]);
      if (a[k] === b[k]) continue;
      if (Number.isNaN(x) || Number.isNaN(y)) throw new Error(`${what} line ${i + 1} field ${k + 1}: ${a[k]}, want ${b[k]}`);
      const d = Math.abs(x - y);
      const rel = d / Math.max(Math.abs(y), 1e-300);
      if (d > atol && rel > rtol) throw new Error(`${what} line ${i + 1} field ${k + 1}: ${a[k]}, want ${b[k]} (relative difference ${rel.toExponential(2)})`);
      worst = Math.max(worst, d > atol ? rel : 0);
    }
  }
  return worst;
}

const manifest = JSON.parse(await readFile(path.join(ex, "index.json"), "utf8"));
const nativeResults = await readFile(path.join(ex, "native", "results.csv"), "utf8");
const nativeLeaderboard = await readFile(path.join(ex, "report", "leaderboard.md"), "utf8");
const dataDir = process.env.CELLBENCH_DATA ?? path.resolve(repo, "..", "shared", "data");
const fixture = path.join(dataDir, "fixture_tiny_perturbation_300cells.h5ad");
const predFile = path.join(ex, manifest.score[0].pred);
const cols = ["--pert-col", "perturbation", "--context-col", "cell_type", "--control", "control", "--control-ref", "real", "--profile", "full"];
const tmp = await mkdtemp(path.join(tmpdir(), "cellbench-webtest-"));

// ------------------------------------------------------------------ Node

await check("node: web/score.mjs results.csv equals cellbench score pert's", async () => {
  const dst = path.join(tmp, "results.csv");
  const { stdout } = await run("node", [path.join(repo, "web", "score.mjs"), "--real", fixture, "--pred", predFile, ...cols,
    "--out", dst, "--repeat", String(repeat)]);
  sameBytes(await readFile(dst, "utf8"), nativeResults, "node results.csv");
  const m = /median ([0-9.]+)s/.exec(stdout);
  const ev = /evaluated in ([0-9.]+)s \(read ([0-9.]+)s/.exec(stdout);
  timings.node_score_s = m ? Number(m[1]) : null;
  timings.node_evaluate_s = ev ? Number(ev[1]) : null;
  timings.node_read_s = ev ? Number(ev[2]) : null;
});

await check("node: bad inputs fail with one line and leave no file", async () => {
  const dst = path.join(tmp, "bad.csv");
  for (const [argv, want] of [
    [["--real", fixture, "--pred", path.join(tmp, "missing.h5ad"), ...cols], /--pred .*no such file/],
    [["--real", fixture, "--pred", path.join(ex, "index.json"), ...cols], /pred: .*not an HDF5 file/],
    [["--real", fixture, "--pred", predFile, ...cols.slice(0, -2), "--profile", "nope"], /unknown profile "nope"/],
    [["--real", fixture, "--pred", predFile, "--pert-col", "nope", "--control", "control"], /pert-col.*"nope"/],
  ]) {
    let err = null;
    try {
      await run("node", [path.join(repo, "web", "score.mjs"), ...argv, "--out", dst]);
    } catch (e) { err = e; }
    assert(err && err.code === 1, `exit status ${err?.code ?? 0} for ${argv.join(" ")}, want 1`);
    const msg = err.stderr.trim();
    assert(want.test(msg), `stderr ${JSON.stringify(msg)} does not match ${want}`);
    assert(!msg.includes("\n") && !/panic|goroutine/.test(msg), `not a one-line error: ${msg}`);
    assert(await stat(dst).then(() => false, () => true), `${dst} was written`);
  }
});

// ------------------------------------------------------------------ browser

let browser, server;
try {
  let url;
  ({ server, url } = await startServer(path.resolve(repo, args.server), path.join(repo, "web"), dataDir, ex));
  browser = await launchChromium(args.chromium);
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (${m.location().url})`); });
  const downloaded = async (selector) => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
    return await readFile(await dl.path(), "utf8");
  };

  await check("browser: the page starts cellbench.wasm in its worker", async () => {
    const t0 = performance.now();
    await page.goto(url);
    await page.waitForSelector("#engine[data-state=ready]", { timeout: 120000 });
    timings.browser_wasm_start_s = (performance.now() - t0) / 1000;
    timings.wasm_bytes = await page.evaluate(() => window.cellbenchPage.wasmBytes);
    await page.waitForFunction(() => document.querySelectorAll("#score-example option").length > 1);
  });

  await check("browser: example scored, downloaded results.csv equals cellbench score pert's", async () => {
    await page.selectOption("#score-example", "0");
    await page.click("#score-example-load");
    await page.waitForSelector("#run-score:not([disabled])");
    await page.selectOption("#opt-profile", "full");
    assert(await page.inputValue("#opt-control-ref") === "real", "the example's control reference is not applied");
    const times = [];
    for (let i = 0; i < repeat; i++) {
      await page.evaluate(() => { window.cellbenchPage.last.score = null; window.cellbenchPage.last.figure_score = null; window.cellbenchPage.lastError = null; });
      await page.click("#run-score");
      await page.waitForFunction(() => !window.cellbenchPage.busy && (window.cellbenchPage.last.score || window.cellbenchPage.lastError),
        null, { timeout: 120000 });
      const e = await page.evaluate(() => window.cellbenchPage.lastError);
      assert(!e, e);
      times.push(await page.evaluate(() => window.cellbenchPage.last.score.seconds));
    }
    const err = await page.$eval("#status-score", (e) => e.textContent);
    assert(!/Error/.test(err), err);
    sameBytes(await downloaded("#dl-results-score"), nativeResults, "browser results.csv");
    const r = await page.evaluate(() => window.cellbenchPage.last.score.result.timings);
    timings.browser_score_s = median(times);
    timings.browser_evaluate_s = r.evaluate_s;
    timings.browser_read_s = r.read_s;
  });

  await check("browser: the discrimination heat map is drawn", async () => {
    await page.waitForSelector("#results-score img.figure:not([hidden])", { timeout: 60000 });
    const w = await page.$eval("#results-score img.figure", (img) => img.naturalWidth);
    assert(w > 300, `figure is ${w} px wide`);
    timings.browser_figure_s = await page.evaluate(() => window.cellbenchPage.last.figure_score.seconds);
    await page.screenshot({ path: path.join(out, "page.png"), fullPage: true });
  });

  await check("browser: an LFC scatter is drawn on request", async () => {
    await page.evaluate(() => { delete window.cellbenchPage.last.figure_score; });
    await page.selectOption("#results-score .fig-controls select >> nth=0", "lfc");
    await page.waitForFunction(() => window.cellbenchPage.last.figure_score, null, { timeout: 60000 });
    const name = await page.evaluate(() => window.cellbenchPage.last.figure_score.name);
    assert(name.startsWith("lfc_"), `figure ${name}`);
  });

  await check("browser: a file the reader cannot read shows a readable error", async () => {
    await page.setInputFiles("#file-pred", { name: "not-anndata.h5ad", mimeType: "application/octet-stream", buffer: Buffer.from("hello, not HDF5\n") });
    await page.waitForSelector("#status-score .error");
    const msg = await page.$eval("#status-score .error", (e) => e.textContent);
    assert(/not-anndata\.h5ad.*not an HDF5 file/.test(msg), `error shown: ${msg}`);
  });

  await check("browser: leaderboard of results.jsonl equals cellbench report's leaderboard.md", async () => {
    await page.click("[data-tab=leaderboard]");
    await page.selectOption("#lb-example", "0");
    await page.click("#lb-example-load");
    await page.waitForSelector("#results-lb table.leaderboard");
    sameBytes(await downloaded("#dl-leaderboard"), nativeLeaderboard, "browser leaderboard.md");
    const rows = await page.$$eval("#results-lb table.leaderboard", (ts) => ts.map((t) => t.querySelectorAll("tbody tr").length));
    assert(rows.length === 2 && rows.every((n) => n === 5), `leaderboard tables with ${rows} rows, want 2 tasks × 5 models`);
    await page.screenshot({ path: path.join(out, "leaderboard.png"), fullPage: true });
  });

  await check("browser: the uploaded checkpoint folder predicts the fixture as cellbench predict does", async () => {
    await page.click("[data-tab=model]");
    await page.setInputFiles("#file-ckpt-dir", path.join(ex, "ckpt"));
    await page.selectOption("#model-registry", "fixture-perturbation");
    await page.waitForSelector("#run-model:not([disabled])");
    await page.selectOption("#opt-model-profile", "full");
    await page.evaluate(() => { window.cellbenchPage.lastError = null; });
    await page.click("#run-model");
    await page.waitForFunction(() => window.cellbenchPage.last.predict || window.cellbenchPage.lastError, null, { timeout: 300000 });
    const err = await page.evaluate(() => window.cellbenchPage.lastError);
    assert(!err, err);
    const r = await page.evaluate(() => window.cellbenchPage.last.predict.result);
    assert(r.groups === 8 && r.cells === 800, `${r.groups} groups, ${r.cells} cells`);
    // Not byte-equal: GoMLX's go backend computes float32 sums in another
    // order natively (amd64 SIMD/assembly kernels) than in wasm (portable
    // Go), so predicted values differ in the last bits (≈1e-7 relative);
    // every label, count, rank and NaN must still agree.
    timings.predict_results_max_rel_diff = closeCSV(r.score.results_csv, nativeResults, 1e-5, 1e-12, "browser-predicted results.csv");
    Object.assign(timings, { browser_ckpt_load_s: r.timings.load_s, browser_predict_first_group_s: r.timings.first_group_s,
      browser_predict_s: r.timings.predict_s, browser_predict_total_s: r.timings.total_s });
    await page.waitForSelector("#results-model img.figure:not([hidden])", { timeout: 60000 });
    await page.screenshot({ path: path.join(out, "model.png"), fullPage: true });
  });

  await check("browser: an uploaded in-context STACK checkpoint generates as cellbench predict --prompt --query does", async () => {
    // Native: scripts/web-examples.sh ran cellbench predict --model stack
    // --prompt (k562 SGK1) --query (A172 controls) --seed 3 on files cut
    // from the fixture, and wrote its generated cells as the page's CSV.
    const nativeCSV = await readFile(path.join(ex, "native", "stack_pred.csv"), "utf8");
    await page.evaluate(() => { window.cellbenchPage.lastError = null; delete window.cellbenchPage.last.incontext; });
    await page.setInputFiles("#file-ckpt-dir", path.join(ex, "stack"));
    await page.waitForSelector("#ic-options:not([hidden])", { timeout: 60000 });
    await page.waitForFunction(() => !window.cellbenchPage.busy && document.querySelectorAll("#ic-pert option").length > 0);
    assert(await page.inputValue("#ic-pert-col") === "perturbation" && await page.inputValue("#ic-context-col") === "cell_type" &&
      await page.inputValue("#ic-control") === "control", "the registry's column roles are not preselected");
    await page.selectOption("#ic-pert", "SGK1");
    await page.selectOption("#ic-prompt", "k562");
    await page.selectOption("#ic-query", "A172");
    await page.fill("#ic-seed", "3");
    await page.waitForSelector("#run-ic:not([disabled])");
    await page.click("#run-ic");
    await page.waitForFunction(() => window.cellbenchPage.last.incontext || window.cellbenchPage.lastError, null, { timeout: 300000 });
    const err = await page.evaluate(() => window.cellbenchPage.lastError);
    assert(!err, err);
    const r = await page.evaluate(() => window.cellbenchPage.last.incontext.result);
    assert(r.prompt_cells === 30 && r.query_cells === 30 && r.real_cells === 30 && r.shared === 200 && r.variants.length === 2,
      `prompt ${r.prompt_cells}, query ${r.query_cells}, real ${r.real_cells}, shared ${r.shared}`);
    // The generated values are NB draws from the same PCG stream: equal
    // natively and in wasm unless a float32 sum's last bit moves a draw;
    // gen_logit (a float32 logit) may differ in its last bits.
    const column = (csv, k, keep) => csv.trim().split("\n").map((l) => l.split(",").filter((_, i) => (i === k) === keep).join(",")).join("\n");
    timings.stack_cells_max_rel_diff = closeCSV(column(r.variants[0].csv, 2, false), column(nativeCSV, 2, false), 1e-5, 1e-9, "browser-generated STACK cells");
    timings.stack_logit_max_rel_diff = closeCSV(column(r.variants[0].csv, 2, true), column(nativeCSV, 2, true), 1e-5, 1e-9, "browser STACK gen_logit");
    assert(r.variants[1].csv !== r.variants[0].csv, "the prompt-removed variant generated the same cells");
    sameBytes(await downloaded("#dl-ic-0"), r.variants[0].csv, "downloaded predicted cells");
    await page.waitForFunction(() => window.cellbenchPage.last.figure_incontext && window.cellbenchPage.last["figure_incontext-noprompt"],
      null, { timeout: 60000 });
    const names = await page.evaluate(() => [window.cellbenchPage.last.figure_incontext.name, window.cellbenchPage.last["figure_incontext-noprompt"].name]);
    assert(names.every((n) => n.startsWith("lfc_")), `figures ${names}`);
    const lines = await page.$$eval("#results-ic .ic-metrics", (ps) => ps.map((p) => p.textContent));
    assert(lines.length === 2 && lines.every((l) => /mae \d/.test(l)), `metric lines ${lines}`);
    const imgs = await page.$$eval("#results-ic img.figure", (is) => is.map((i) => (i.hidden ? 0 : i.naturalWidth)));
    assert(imgs.length === 2 && imgs.every((w) => w > 300), `scatter widths ${imgs}`);
    Object.assign(timings, { browser_stack_load_s: r.timings.load_s, browser_stack_generate_s: r.variants[0].generate_s,
      browser_stack_generate_noprompt_s: r.variants[1].generate_s, browser_stack_total_s: r.timings.total_s });
    await page.screenshot({ path: path.join(out, "stack.png"), fullPage: true });
  });

  await check("browser: the example STACK checkpoint of make serve is recognised as in-context", async () => {
    await page.evaluate(() => { window.cellbenchPage.lastError = null; });
    const i = manifest.checkpoints.findIndex((c) => c.model === "stack");
    assert(i >= 0, "no STACK checkpoint in the examples' index.json");
    await page.selectOption("#ckpt-example", String(i));
    await page.waitForFunction(() => !window.cellbenchPage.busy && /stack \(incontext stage\)/.test(document.getElementById("info-ckpt").textContent),
      null, { timeout: 60000 });
    assert(await page.isVisible("#ic-options") && !(await page.isVisible("#model-options")), "in-context options not shown instead of Predict & score");
    const err = await page.evaluate(() => window.cellbenchPage.lastError);
    assert(!err, err);
  });

  await check("browser: no script errors on the page", async () => {
    assert(consoleErrors.length === 0, consoleErrors.join("\n"));
  });
} catch (e) {
  failed++;
  console.log(`FAIL browser set-up: ${e.stack ?? e.message}`);
} finally {
  await browser?.close();
  server?.kill();
  await rm(tmp, { recursive: true, force: true });
}

await writeFile(path.join(out, "timings.json"), JSON.stringify(timings, null, 2) + "\n");
console.log(`timings: ${JSON.stringify(timings)}`);
console.log(failed ? `web tests: ${failed} FAILED` : `web tests: all passed (screenshots in ${path.relative(repo, out)})`);
process.exit(failed ? 1 : 0);
