#!/usr/bin/env node
// bench.mjs — scoring time of the same files natively (bin/cellbench score
// pert), under Node (web/score.mjs) and in headless Chromium (the page),
// medians over --repeat runs, and the browser's inference time of a
// checkpoint on a dataset. For bench/reports/web.md; not part of make test.
//
//   node web/test/bench.mjs --real R.h5ad --pred P.h5ad --pert-col C --context-col X --control L \
//       [--control-ref real] [--profile full] [--repeat 5] [--ckpt DIR --data D.h5ad] [--screenshot PREFIX]
//
// Every side's results.csv must be byte-equal to the native one.

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

const a = { real: "", pred: "", "pert-col": "", "context-col": "", control: "", "control-ref": "pred", profile: "full",
  repeat: "5", ckpt: "", data: "", screenshot: "", chromium: process.env.CHROMIUM ?? "/usr/bin/chromium", "ncells": "100" };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown flag ${process.argv[i]}`);
  a[k] = process.argv[++i];
}
const n = Number(a.repeat);
const tmp = await mkdtemp(path.join(tmpdir(), "cellbench-webbench-"));
const flags = ["--pert-col", a["pert-col"], "--context-col", a["context-col"], "--control", a.control,
  "--control-ref", a["control-ref"], "--profile", a.profile];
const rows = [];
const fmt = (x) => x.toFixed(3);

// Native: the command's own split of its time (load = read + prepare).
let nativeCSV;
for (const threads of ["1", "0"]) {
  const load = [], ev = [];
  for (let i = 0; i < n; i++) {
    const out = path.join(tmp, `native-${threads}-${i}`);
    await run(path.join(repo, "bin", "cellbench"), ["score", "pert", "--real", a.real, "--pred", a.pred, ...flags,
      "--threads", threads, "--out", out]);
    const meta = JSON.parse(await readFile(path.join(out, "results.json"), "utf8"));
    const info = meta.extra ?? meta;
    ev.push(Number(info.evaluate_s));
    load.push(Number(info.load_s));
    nativeCSV ??= await readFile(path.join(out, "results.csv"), "utf8");
  }
  rows.push({ side: `native (libhdf5 reader, ${threads === "1" ? "1 thread" : "all cores"})`, read: median(load), evaluate: median(ev) });
}

// Node.
{
  const out = path.join(tmp, "node.csv");
  const { stdout } = await run("node", [path.join(repo, "web", "score.mjs"), "--real", a.real, "--pred", a.pred, ...flags,
    "--repeat", String(n), "--out", out]);
  const m = /medians: read ([0-9.]+)s, prepare ([0-9.]+)s, evaluate ([0-9.]+)s/.exec(stdout);
  if ((await readFile(out, "utf8")) !== nativeCSV) throw new Error("node results.csv differs from the native one");
  rows.push({ side: `Node ${process.version} (wasm)`, read: Number(m[1]) + Number(m[2]), evaluate: Number(m[3]) });
}

// Browser.
const { server, url } = await startServer(path.join(repo, "bin", "cellbench-serve"), path.join(repo, "web"),
  process.env.CELLBENCH_DATA ?? path.resolve(repo, "..", "shared", "data"), tmp);
const browser = await launchChromium(a.chromium);
let inference = null;
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
  await page.goto(url);
  await page.waitForSelector("#engine[data-state=ready]", { timeout: 120000 });
  await page.setInputFiles("#file-real", a.real);
  await page.setInputFiles("#file-pred", a.pred);
  await page.waitForSelector("#run-score:not([disabled])");
  await page.selectOption("#opt-pert-col", a["pert-col"]);
  await page.selectOption("#opt-control", a.control);
  await page.selectOption("#opt-context-col", a["context-col"]);
  await page.selectOption("#opt-control-ref", a["control-ref"]);
  await page.selectOption("#opt-profile", a.profile);
  const read = [], ev = [];
  for (let i = 0; i < n; i++) {
    await page.evaluate(() => { window.cellbenchPage.last.score = null; window.cellbenchPage.last.figure_score = null; window.cellbenchPage.lastError = null; });
    await page.click("#run-score");
    await page.waitForFunction(() => !window.cellbenchPage.busy && (window.cellbenchPage.last.score || window.cellbenchPage.lastError), null, { timeout: 600000 });
    const r = await page.evaluate(() => window.cellbenchPage.last.score?.result ?? window.cellbenchPage.lastError);
    if (typeof r === "string") throw new Error(r);
    if (r.results_csv !== nativeCSV) throw new Error("browser results.csv differs from the native one");
    read.push(r.timings.read_s + r.timings.prepare_s);
    ev.push(r.timings.evaluate_s);
  }
  if (a.screenshot) {
    await page.waitForSelector("#results-score img.figure:not([hidden])", { timeout: 120000 });
    await page.screenshot({ path: `${a.screenshot}-score.png`, fullPage: true });
  }
  const ua = await page.evaluate(() => navigator.userAgent.match(/Chrome\/[0-9.]+/)?.[0] ?? "Chromium");
  rows.push({ side: `${ua} headless (wasm)`, read: median(read), evaluate: median(ev) });

  if (a.ckpt && a.data) {
    await page.click("[data-tab=model]");
    await page.setInputFiles("#file-ckpt-dir", a.ckpt);
    await page.setInputFiles("#file-model-data", a.data);
    await page.waitForSelector("#run-model:not([disabled])");
    await page.fill("#opt-ncells", a.ncells);
    const t = [];
    for (let i = 0; i < n; i++) {
      await page.evaluate(() => { window.cellbenchPage.last.predict = null; window.cellbenchPage.last.figure_predict = null; window.cellbenchPage.lastError = null; });
      await page.click("#run-model");
      await page.waitForFunction(() => !window.cellbenchPage.busy && (window.cellbenchPage.last.predict || window.cellbenchPage.lastError), null, { timeout: 600000 });
      const r = await page.evaluate(() => window.cellbenchPage.last.predict?.result ?? window.cellbenchPage.lastError);
      if (typeof r === "string") throw new Error(r);
      t.push(r);
    }
    if (a.screenshot) {
      await page.waitForSelector("#results-model img.figure:not([hidden])", { timeout: 120000 });
      await page.screenshot({ path: `${a.screenshot}-model.png`, fullPage: true });
    }
    inference = { groups: t[0].groups, cells: t[0].cells, runs: n,
      load_s: median(t.map((r) => r.timings.load_s)), first_group_s: median(t.map((r) => r.timings.first_group_s)),
      first_run_predict_s: t[0].timings.predict_s, predict_s: median(t.map((r) => r.timings.predict_s)) };
  }
} finally {
  await browser.close();
  server.kill();
  await rm(tmp, { recursive: true, force: true });
}

const base = rows[0].read + rows[0].evaluate;
console.log(`Scoring ${path.basename(a.pred)} against ${path.basename(a.real)} (profile ${a.profile}), medians of ${n} runs; results.csv byte-equal on every side.\n`);
console.log("| where | read + prepare (s) | evaluate (s) | total (s) | × native 1 thread |");
console.log("|---|---:|---:|---:|---:|");
for (const r of rows) {
  const tot = r.read + r.evaluate;
  console.log(`| ${r.side} | ${fmt(r.read)} | ${fmt(r.evaluate)} | ${fmt(tot)} | ${(tot / base).toFixed(2)} |`);
}
if (inference) {
  console.log(`\nBrowser inference (${path.basename(a.ckpt)} on ${path.basename(a.data)}): ${inference.groups} groups, ${inference.cells} cells; ` +
    `medians of ${n} runs: load ${fmt(inference.load_s)} s, first group ${fmt(inference.first_group_s)} s, all groups ${fmt(inference.predict_s)} s ` +
    `(first run ${fmt(inference.first_run_predict_s)} s)`);
}
