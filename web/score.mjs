#!/usr/bin/env node
// score.mjs — cellbench score pert under Node, on the same cellbench.wasm
// the browser page runs (build it with `make wasm`).
//
//   node web/score.mjs --real R.h5ad --pred P.h5ad --pert-col C --control X --out results.csv
//
// Flags have the names and defaults of `cellbench score pert` (see
// `cellbench score pert -h`): --context-col, --scale, --target-sum,
// --control-ref, --profile. --out is the results.csv file to write (written
// to a temporary file beside it and renamed, so a failure leaves nothing);
// --agg-out also writes agg_results.csv. --repeat N scores N times and
// prints the median time (for benchmarks). Exit status 1 with a one-line
// error on bad input.

import { readFile, writeFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startCellbench } from "./load.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

const usage = `usage: node web/score.mjs --real R.h5ad --pred P.h5ad --out results.csv [flags]

  --real PATH          real cells (.h5ad, required)
  --pred PATH          predicted cells (.h5ad, required)
  --out PATH           results.csv to write (required)
  --agg-out PATH       also write agg_results.csv
  --pert-col NAME      obs column with the perturbation label (default target_gene)
  --control LABEL      control label in --pert-col (default non-targeting)
  --context-col NAME   obs column with the context ("" = one context)
  --scale S            auto|counts|log1p (default auto)
  --target-sum N       library size for counts (default 10000; 0 = median)
  --control-ref R      pred|real (default pred)
  --profile P          full|vcc|minimal|pds (default full)
  --repeat N           score N times, print the median time (default 1)
  --wasm PATH          cellbench.wasm to run (default: beside this script)
`;

const flags = {
  real: "", pred: "", out: "", "agg-out": "", "pert-col": "target_gene", control: "non-targeting",
  "context-col": "", scale: "auto", "target-sum": "10000", "control-ref": "pred", profile: "full",
  repeat: "1", wasm: path.join(here, "cellbench.wasm"),
};

function parseArgs(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      process.stdout.write(usage);
      process.exit(0);
    }
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    let [name, value] = a.slice(2).split(/=(.*)/s, 2);
    if (!(name in flags)) throw new Error(`unknown flag --${name}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`flag --${name} needs a value`);
      value = argv[++i];
    }
    flags[name] = value;
  }
  for (const req of ["real", "pred", "out"]) {
    if (!flags[req]) throw new Error(`--${req} is required`);
  }
  for (const n of ["target-sum", "repeat"]) {
    if (!/^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?$/.test(flags[n])) throw new Error(`--${n}: not a number: ${JSON.stringify(flags[n])}`);
  }
  if (!Number.isInteger(Number(flags.repeat)) || Number(flags.repeat) < 1) throw new Error(`--repeat: want a whole number ≥ 1`);
}

async function mustBeFile(p, flag) {
  let st;
  try {
    st = await stat(p);
  } catch (e) {
    throw new Error(`${flag} ${p}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  }
  if (!st.isFile()) throw new Error(`${flag} ${p}: not a file`);
}

async function mustBeWritableDir(p, flag) {
  const dir = path.dirname(path.resolve(p));
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new Error(`${flag} ${p}: directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`${flag} ${p}: ${dir} is not a directory`);
}

// writeAtomic writes text to a temporary file beside p and renames it.
async function writeAtomic(p, text) {
  const tmp = path.join(path.dirname(path.resolve(p)), `.${path.basename(p)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, p);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(v) {
  if (typeof v === "string") return v; // "NaN", "+Inf", "-Inf"
  return Number(v.toPrecision(6)).toString();
}

async function main() {
  parseArgs(process.argv.slice(2));
  // Validate everything before the work (hardening rules): inputs exist,
  // outputs can be written.
  await mustBeFile(flags.real, "--real");
  await mustBeFile(flags.pred, "--pred");
  await mustBeFile(flags.wasm, "--wasm (run `make wasm` first)");
  await mustBeWritableDir(flags.out, "--out");
  if (flags["agg-out"]) await mustBeWritableDir(flags["agg-out"], "--agg-out");

  const t0 = performance.now();
  const cb = await startCellbench(await readFile(flags.wasm), { GOMLX_BACKEND: process.env.GOMLX_BACKEND ?? "" });
  const startS = (performance.now() - t0) / 1000;
  const real = { name: path.basename(flags.real), bytes: new Uint8Array(await readFile(flags.real)) };
  const pred = { name: path.basename(flags.pred), bytes: new Uint8Array(await readFile(flags.pred)) };
  const opts = {
    pert_col: flags["pert-col"], control: flags.control, context_col: flags["context-col"], scale: flags.scale,
    target_sum: Number(flags["target-sum"]), control_ref: flags["control-ref"], profile: flags.profile,
  };
  const progress = process.stderr.isTTY ? (stage) => process.stderr.write(`\r\x1b[K${stage}`) : null;
  const times = [];
  const parts = { read_s: [], prepare_s: [], evaluate_s: [] };
  let res;
  for (let i = 0; i < Number(flags.repeat); i++) {
    const t = performance.now();
    res = await cb.score(real, pred, opts, progress);
    times.push((performance.now() - t) / 1000);
    for (const k in parts) parts[k].push(res.timings[k]);
  }
  if (progress) process.stderr.write("\r\x1b[K");
  await writeAtomic(flags.out, res.results_csv);
  if (flags["agg-out"]) await writeAtomic(flags["agg-out"], res.agg_results_csv);

  for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
  const t = res.timings;
  process.stdout.write(`${res.rows.length} perturbation rows, ${res.genes} genes, ${res.contexts.length} contexts; ` +
    `evaluated in ${t.evaluate_s.toFixed(2)}s (read ${t.read_s.toFixed(2)}s, prepare ${t.prepare_s.toFixed(2)}s); wasm start ${startS.toFixed(2)}s\n`);
  process.stdout.write(`score: median ${median(times).toFixed(4)}s over ${times.length} run${times.length > 1 ? "s" : ""} ` +
    `(min ${Math.min(...times).toFixed(4)}s, max ${Math.max(...times).toFixed(4)}s; medians: read ${median(parts.read_s).toFixed(4)}s, ` +
    `prepare ${median(parts.prepare_s).toFixed(4)}s, evaluate ${median(parts.evaluate_s).toFixed(4)}s)\n`);
  process.stdout.write(`${"metric".padEnd(28)} ${"mean".padStart(12)} ${"median".padStart(12)} ${"n".padStart(6)}\n`);
  for (const a of res.aggregates) {
    process.stdout.write(`${a.metric.padEnd(28)} ${fmt(a.mean).padStart(12)} ${fmt(a.median).padStart(12)} ${String(a.count).padStart(6)}\n`);
  }
  process.stdout.write(`wrote ${flags.out}\n`);
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`score.mjs: ${e.message}\n`);
  process.exit(1);
});
