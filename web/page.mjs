// page.mjs — the page's UI. All work goes to the Web Worker (worker.mjs),
// which runs cellbench.wasm; this file only reads files, fills forms and
// draws what the worker answers.

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- worker

function engineFailed(msg) {
  $("engine").dataset.state = "error";
  $("engine-text").textContent = msg;
}
if (location.protocol === "file:") {
  engineFailed("this page must come from a web server (browsers do not run workers from file://): make serve, or any static server in web/");
}
const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
worker.onerror = (e) => engineFailed(`the worker could not start: ${e.message ?? "see the browser console"}`);
const pending = new Map();
let nextId = 1;
let engineReady = false;
const engineWaiters = [];

worker.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "boot") {
    $("engine-text").textContent = m.total ? `${m.stage} (${mb(m.done)} of ${mb(m.total)})` : `${m.stage}…`;
    $("engine-progress").value = m.total ? m.done / m.total : 1;
    return;
  }
  if (m.type === "ready") {
    engineReady = true;
    $("engine").dataset.state = "ready";
    $("engine-text").textContent = `cellbench.wasm ready (${mb(m.wasmBytes)}, started in ${m.startS.toFixed(1)} s)`;
    $("version").textContent = `cellbench ${m.version.revision ? m.version.revision + (m.version.modified ? "+dirty" : "") : ""} (${m.version.go})`;
    window.cellbenchPage.wasmBytes = m.wasmBytes;
    window.cellbenchPage.startS = m.startS;
    engineWaiters.splice(0).forEach((f) => f());
    return;
  }
  if (m.type === "fatal") {
    engineFailed(`cellbench.wasm could not start: ${m.error}`);
    return;
  }
  const p = pending.get(m.id);
  if (!p) return;
  if (m.type === "progress") {
    p.onProgress?.(m.stage, m.done, m.total);
  } else {
    pending.delete(m.id);
    if (m.type === "result") p.resolve({ result: m.result, seconds: m.seconds });
    else p.reject(new Error(m.error));
  }
};

function whenReady() {
  return engineReady ? Promise.resolve() : new Promise((r) => engineWaiters.push(r));
}

// call runs one cellbench operation in the worker.
function call(op, args, onProgress) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, op, args });
  });
}

// State the tests read (web/test/browser.mjs): the last results and timings.
window.cellbenchPage = { busy: false, last: {} };

// ---------------------------------------------------------------- helpers

function mb(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} kB`;
}

function fmt(v, digits = 4) {
  if (typeof v === "string") return v; // "NaN", "+Inf", "-Inf" (metrics.Value)
  if (v === null || v === undefined) return "—";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function download(name, data, type = "text/plain") {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function b64ToBytes(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function readFile(file) {
  return { name: file.webkitRelativePath || file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

async function fetchBytes(url, what) {
  let resp;
  try {
    resp = await fetch(url);
  } catch (e) {
    throw new Error(`${what}: ${url} could not be fetched (${e.message}); serve the page with make serve`);
  }
  if (!resp.ok) throw new Error(`${what}: ${url}: HTTP ${resp.status} (make serve serves the data folder at data/ and the examples at examples/)`);
  return new Uint8Array(await resp.arrayBuffer());
}

// Status line of a panel: a progress bar while working, an error box on failure.
class Status {
  constructor(node) { this.node = node; }
  working(text) {
    this.node.replaceChildren(el("div", { class: "working" },
      el("span", { class: "spinner" }), this.text = el("span", { text }), this.bar = el("progress", { max: 1 })));
    this.bar.removeAttribute("value");
  }
  progress(stage, done, total) {
    if (!this.text) return;
    this.text.textContent = total ? `${stage} (${done}/${total})` : stage;
    if (total) this.bar.value = done / total; else this.bar.removeAttribute("value");
  }
  error(msg) {
    this.text = null;
    this.node.replaceChildren(el("div", { class: "error", role: "alert" }, el("strong", { text: "Error: " }), msg));
  }
  done(text) {
    this.text = null;
    this.node.replaceChildren(el("div", { class: "ok", text }));
  }
  clear() { this.text = null; this.node.replaceChildren(); }
}

// busy runs one user action at a time (actions started meanwhile wait
// their turn), with the panel's status showing progress or the error.
let actions = Promise.resolve();
function busy(status, text, fn) {
  const run = async () => {
    window.cellbenchPage.busy = true;
    document.body.classList.add("busy");
    status.working(text);
    try {
      await whenReady();
      return await fn();
    } catch (e) {
      status.error(e.message ?? String(e));
      window.cellbenchPage.lastError = e.message ?? String(e);
    } finally {
      window.cellbenchPage.busy = false;
      document.body.classList.remove("busy");
    }
  };
  const p = actions.then(run);
  actions = p;
  return p;
}

function dropZone(zoneId, inputId, onFiles) {
  const zone = $(zoneId);
  const input = $(inputId);
  input.addEventListener("change", () => { if (input.files.length) onFiles([...input.files]); });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const files = await droppedFiles(e.dataTransfer);
    if (files.length) onFiles(files);
  });
}

// droppedFiles returns the dropped files, walking dropped folders.
async function droppedFiles(dt) {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.some((e) => e.isDirectory)) return [...dt.files];
  const out = [];
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const f = await new Promise((res, rej) => entry.file(res, rej));
      out.push(new File([f], prefix + f.name));
      Object.defineProperty(out[out.length - 1], "webkitRelativePath", { value: prefix + f.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const c of batch) await walk(c, prefix + entry.name + "/");
      }
    }
  }
  for (const e of entries) await walk(e, "");
  return out;
}

// markLoaded shows in a drop zone which file it holds.
function markLoaded(zoneId, name) {
  const zone = $(zoneId);
  zone.classList.add("loaded");
  zone.querySelector("span").textContent = `✓ ${name} — drop or click to replace`;
}

function fillSelect(sel, options, value) {
  sel.replaceChildren(...options.map((o) => {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    return el("option", { value: v, text: label });
  }));
  if (value !== undefined && options.some((o) => (Array.isArray(o) ? o[0] : o) === value)) sel.value = value;
}

// ---------------------------------------------------------------- tabs

for (const b of document.querySelectorAll("[data-tab]")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("[data-tab]")) o.setAttribute("aria-selected", o === b);
    for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== `tab-${b.dataset.tab}`;
  });
}

// ---------------------------------------------------------------- examples

let registry = [];     // data registry perturbation datasets (cellbench.examples)
let manifest = null;   // examples/index.json of make serve (optional)

async function registryFile(name) {
  const ex = registry.find((e) => e.name === name);
  if (!ex) throw new Error(`unknown dataset ${name}`);
  const bytes = await fetchBytes(`data/${ex.file}`, `dataset ${name}`);
  await call("verify", [name, bytes]); // SHA-256 of the registry
  return { file: { name: ex.file.split("/").pop(), bytes }, example: ex };
}

async function loadExamples() {
  await whenReady();
  registry = (await call("examples", [])).result;
  const models = (await call("models", [])).result;
  fillSelect($("opt-model"), models.map((m) => [m.name, m.name]), "state");
  for (const o of $("opt-model").options) o.title = models.find((m) => m.name === o.value)?.doc ?? "";
  for (const id of ["real-registry", "model-registry"]) {
    const sel = $(id);
    for (const e of registry) sel.append(el("option", { value: e.name, text: `${e.name} (${e.shape})` }));
  }
  try {
    const resp = await fetch("examples/index.json");
    if (resp.ok) manifest = await resp.json();
  } catch { /* no examples served: uploads still work */ }
  if (!manifest) {
    $("score-example-hint").textContent = "no example run served (make serve makes one); drop your own files";
    return;
  }
  (manifest.score ?? []).forEach((s, i) => $("score-example").append(el("option", { value: i, text: s.name })));
  (manifest.leaderboard ?? []).forEach((s, i) => $("lb-example").append(el("option", { value: i, text: s.name })));
  (manifest.checkpoints ?? []).forEach((s, i) => $("ckpt-example").append(el("option", { value: i, text: s.name })));
}

// ---------------------------------------------------------------- panel 1: score

const score = { real: null, pred: null, realInfo: null, preset: null };
const scoreStatus = new Status($("status-score"));

function describe(info) {
  return `${info.name}: ${info.cells.toLocaleString()} cells × ${info.genes.toLocaleString()} genes, X ${info.x_encoding} ${info.x_dtype}, ` +
    `obs columns: ${info.columns.map((c) => c.name).join(", ") || "none"}`;
}

// loadScoreFile inspects a file and makes it the real or predicted side.
async function loadScoreFile(slot, file) {
  scoreStatus.progress(`reading ${file.name}`, 0, 0);
  const { result: info } = await call("inspect", [file.name, file.bytes]);
  score[slot] = file;
  $(`info-${slot}`).textContent = describe(info);
  markLoaded(`drop-${slot}`, file.name);
  if (slot === "real") {
    score.realInfo = info;
    fillColumns();
  }
  $("run-score").disabled = !(score.real && score.pred);
}

function setScoreFile(slot, file) {
  return busy(scoreStatus, `reading ${file.name}`, async () => {
    await loadScoreFile(slot, file);
    scoreStatus.clear();
  });
}

function labelColumns(info) {
  return info.columns.filter((c) => c.kind !== "float" && c.n_labels > 0);
}

function fillColumns() {
  const info = score.realInfo;
  const preset = score.preset ?? {};
  const cols = labelColumns(info);
  const guess = preset.pert_col ?? cols.find((c) => /pert|target|gene|group|condition|treat/i.test(c.name))?.name ?? cols[0]?.name;
  fillSelect($("opt-pert-col"), cols.map((c) => c.name), guess);
  fillSelect($("opt-context-col"), [["", "— one context —"], ...cols.map((c) => [c.name, c.name])], preset.context_col ?? "");
  fillControl();
  if (preset.control_ref) $("opt-control-ref").value = preset.control_ref;
}

function fillControl() {
  const info = score.realInfo;
  const col = info?.columns.find((c) => c.name === $("opt-pert-col").value);
  const labels = col ? col.labels : [];
  const preset = score.preset?.control;
  const guess = preset ?? labels.find((l) => /^(control|ctrl|non-targeting|nontargeting|nt|dmso|unperturbed)$/i.test(l)) ?? labels[0];
  fillSelect($("opt-control"), labels.map((l, i) => [l, `${l} (${col.counts[i]} cells)`]), guess);
}
$("opt-pert-col").addEventListener("change", () => { score.preset = null; fillControl(); });

function scoreOptions() {
  return {
    pert_col: $("opt-pert-col").value, control: $("opt-control").value, context_col: $("opt-context-col").value,
    scale: $("opt-scale").value, control_ref: $("opt-control-ref").value, profile: $("opt-profile").value,
  };
}

dropZone("drop-real", "file-real", async (files) => setScoreFile("real", await readFile(files[0])));
dropZone("drop-pred", "file-pred", async (files) => setScoreFile("pred", await readFile(files[0])));
$("real-registry").addEventListener("change", async () => {
  const name = $("real-registry").value;
  if (!name) return;
  await busy(scoreStatus, `fetching ${name}`, async () => {
    const { file, example } = await registryFile(name);
    score.preset = { pert_col: example.pert_col, context_col: example.context_col, control: example.control };
    await loadScoreFile("real", file);
    scoreStatus.clear();
  });
});

$("score-example-load").addEventListener("click", async () => {
  const ex = manifest?.score?.[Number($("score-example").value)];
  if (!ex) return;
  await busy(scoreStatus, `fetching ${ex.name}`, async () => {
    const { file: real } = await registryFile(ex.real_example);
    const pred = { name: ex.pred.split("/").pop(), bytes: await fetchBytes(`examples/${ex.pred}`, "example prediction") };
    score.preset = ex;
    await loadScoreFile("real", real);
    await loadScoreFile("pred", pred);
    $("real-registry").value = ex.real_example;
    scoreStatus.done(`Loaded the example: ${real.name} and ${pred.name}. Press Score.`);
  });
});

$("run-score").addEventListener("click", () => busy(scoreStatus, "scoring", async () => {
  const t0 = performance.now();
  const { result, seconds } = await call("score", [score.real, score.pred, scoreOptions()],
    (s, d, t) => scoreStatus.progress(s, d, t));
  const wall = (performance.now() - t0) / 1000;
  window.cellbenchPage.last.score = { result, seconds, wall };
  renderScore($("results-score"), result, "score", `Scored in ${seconds.toFixed(2)} s in the worker`);
  scoreStatus.done(`Scored ${result.rows.length} perturbations in ${seconds.toFixed(2)} s ` +
    `(read ${result.timings.read_s.toFixed(2)} s, evaluate ${result.timings.evaluate_s.toFixed(2)} s).`);
}));

// VCC metrics first: the Virtual Cell Challenge score's three, then pdisc_norm.
const vccOrder = ["discrimination_score_l1", "pdisc_norm", "overlap_at_N", "mae"];

function renderScore(node, r, of, title) {
  node.hidden = false;
  const aggs = [...r.aggregates].sort((a, b) => {
    const ia = vccOrder.indexOf(a.metric), ib = vccOrder.indexOf(b.metric);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  const arrow = (d) => (d === "higher" ? "↑" : d === "lower" ? "↓" : "");
  const aggTable = el("table", { class: "metrics", id: `agg-${of}` },
    el("thead", {}, el("tr", {}, ...["metric", "", "mean", "median", "std", "n"].map((h) => el("th", { text: h })))),
    el("tbody", {}, ...aggs.map((a) => el("tr", { class: vccOrder.includes(a.metric) ? "vcc" : "", title: a.doc },
      el("td", { text: a.metric }), el("td", { class: "dir", text: arrow(a.direction) }),
      el("td", { class: "num", text: fmt(a.mean) }), el("td", { class: "num", text: fmt(a.median) }),
      el("td", { class: "num", text: fmt(a.std) }), el("td", { class: "num", text: a.count + (a.nan_count ? ` (${a.nan_count} NaN)` : "") }))),
    ));
  const head = ["perturbation", ...(r.with_contexts ? ["context"] : []), "n real", "n pred", ...r.metrics];
  const rowTable = el("table", { class: "rows" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { text: h })))),
    el("tbody", {}, ...r.rows.map((row) => el("tr", {},
      el("td", { text: row.perturbation }), ...(r.with_contexts ? [el("td", { text: row.context })] : []),
      el("td", { class: "num", text: row.n_real }), el("td", { class: "num", text: row.n_pred }),
      ...row.values.map((v) => el("td", { class: "num", text: fmt(v) }))))));
  const warnings = r.warnings.length
    ? el("details", { class: "warnings" }, el("summary", { text: `${r.warnings.length} warning${r.warnings.length > 1 ? "s" : ""} (why some values are NaN or 0)` }),
      el("ul", {}, ...r.warnings.map((w) => el("li", { text: w }))))
    : null;
  const fig = figurePanel(r, of);
  node.replaceChildren(
    el("h2", { text: `${r.pred} vs ${r.real}` }),
    el("p", { class: "meta", text: `${r.rows.length} (context, perturbation) rows · ${r.genes} genes · ` +
      `${r.real_cells.toLocaleString()} real and ${r.pred_cells.toLocaleString()} predicted cells · contexts: ${r.contexts.filter(Boolean).join(", ") || "one"} · ${title}` }),
    el("div", { class: "grid-results" },
      el("div", {}, el("h3", { text: "Metrics (mean over perturbations)" }), aggTable,
        el("div", { class: "downloads" },
          el("button", { class: "secondary", id: `dl-results-${of}`, onclick: () => download("results.csv", r.results_csv, "text/csv") }, "Download results.csv"),
          el("button", { class: "secondary", onclick: () => download("agg_results.csv", r.agg_results_csv, "text/csv") }, "agg_results.csv")),
        warnings),
      fig),
    el("details", { class: "per-row" }, el("summary", { text: "Per perturbation (results.csv)" }), el("div", { class: "scroll" }, rowTable)),
  );
  fig.draw();
}

// figurePanel draws the figures of an evaluation; start is the first
// figure's kind (discrimination, or lfc when the evaluation has DE tables).
function figurePanel(r, of, start = "discrimination") {
  const kind = el("select", {}, el("option", { value: "discrimination", text: "discrimination heat map" }),
    ...(r.has_de ? [el("option", { value: "lfc", text: "LFC scatter (predicted vs real)" })] : []));
  if (start === "lfc" && r.has_de) kind.value = "lfc";
  const ctx = el("select", {}, ...r.contexts.map((c) => el("option", { value: c, text: c || "(one context)" })));
  // Start with the context that has the most perturbations (the richest heat map).
  const perContext = (c) => r.rows.filter((x) => x.context === c).length;
  ctx.value = r.contexts.reduce((best, c) => (perContext(c) > perContext(best) ? c : best), r.contexts[0]);
  const pert = el("select", {}, el("option", { value: "", text: "strongest real DE" }));
  const dist = el("select", {}, ...["l1", "l2", "cosine"].map((d) => el("option", { value: d, text: d })));
  const img = el("img", { class: "figure", alt: "figure" });
  img.hidden = true; // until the first figure arrives
  const caption = el("p", { class: "caption" });
  const status = el("div", { class: "fig-status" });
  const svgBtn = el("button", { class: "secondary" }, "SVG");
  const pngBtn = el("button", { class: "secondary" }, "PNG");
  const fillPerts = () => {
    const ps = r.rows.filter((x) => x.context === ctx.value).map((x) => x.perturbation);
    pert.replaceChildren(el("option", { value: "", text: "strongest real DE" }), ...ps.map((p) => el("option", { value: p, text: p })));
  };
  fillPerts();
  const sync = () => {
    pert.parentElement.hidden = kind.value !== "lfc";
    dist.parentElement.hidden = kind.value !== "discrimination";
  };
  let current = null;
  const draw = async () => {
    sync();
    status.textContent = "drawing…";
    try {
      const { result } = await call("figure", [{ of, kind: kind.value, context: ctx.value, perturbation: pert.value, distance: dist.value }]);
      current = result;
      img.src = `data:image/png;base64,${result.png}`;
      img.hidden = false;
      img.alt = result.title;
      caption.textContent = result.caption;
      status.textContent = "";
      window.cellbenchPage.last[`figure_${of}`] = { name: result.name, seconds: result.seconds };
    } catch (e) {
      current = null;
      img.removeAttribute("src");
      img.hidden = true;
      caption.textContent = "";
      status.replaceChildren(el("div", { class: "error", text: e.message }));
    }
  };
  kind.addEventListener("change", draw);
  ctx.addEventListener("change", () => { fillPerts(); draw(); });
  pert.addEventListener("change", draw);
  dist.addEventListener("change", draw);
  svgBtn.addEventListener("click", () => current && download(`${current.name}.svg`, current.svg, "image/svg+xml"));
  pngBtn.addEventListener("click", () => current && download(`${current.name}.png`, new Blob([b64ToBytes(current.png)], { type: "image/png" })));
  const box = el("div", { class: "figure-box" },
    el("div", { class: "fig-controls" },
      el("label", {}, "Figure ", kind), el("label", {}, "Context ", ctx), el("label", {}, "Perturbation ", pert),
      el("label", {}, "Distance ", dist), el("span", { class: "downloads" }, svgBtn, pngBtn)),
    status, img, caption);
  box.draw = draw;
  return box;
}

// ---------------------------------------------------------------- panel 2: leaderboard

const lbStatus = new Status($("status-lb"));

// markdown renders the subset of markdown reports.Leaderboard writes:
// headings, paragraphs, pipe tables, **bold**, `code`.
function markdown(md) {
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const inline = (s) => esc(s).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>").replace(/`([^`]+)`/g, "<code>$1</code>");
  const cells = (l) => l.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  const lines = md.split("\n");
  let html = "";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const h = /^(#{1,6})\s+(.*)$/.exec(l);
    if (h) { html += `<h${h[1].length + 1}>${inline(h[2])}</h${h[1].length + 1}>`; continue; }
    if (l.trim().startsWith("|") && i + 1 < lines.length && /^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1])) {
      const head = cells(l);
      const align = cells(lines[i + 1]).map((c) => (c.endsWith(":") ? (c.startsWith(":") ? "center" : "right") : "left"));
      i += 2;
      let body = "";
      while (i < lines.length && lines[i].trim().startsWith("|")) {
        body += "<tr>" + cells(lines[i]).map((c, k) => `<td style="text-align:${align[k] ?? "left"}">${inline(c)}</td>`).join("") + "</tr>";
        i++;
      }
      i--;
      html += `<div class="scroll"><table class="leaderboard"><thead><tr>${head.map((c) => `<th>${inline(c)}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table></div>`;
      continue;
    }
    if (/^\s*[-*]\s+/.test(l)) {
      html += "<ul>";
      while (i < lines.length && /^\s*[-*]\s+/.test(lines[i])) html += `<li>${inline(lines[i++].replace(/^\s*[-*]\s+/, ""))}</li>`;
      i--;
      html += "</ul>";
      continue;
    }
    if (l.trim()) {
      let para = l;
      while (i + 1 < lines.length && lines[i + 1].trim() && !/^(#|\s*\||\s*[-*]\s)/.test(lines[i + 1])) para += " " + lines[++i];
      html += `<p>${inline(para)}</p>`;
    }
  }
  return html;
}

async function showLeaderboard(file) {
  await busy(lbStatus, `reading ${file.name}`, async () => {
    const { result, seconds } = await call("leaderboard", [file.name, file.bytes]);
    window.cellbenchPage.last.leaderboard = { result, seconds };
    const node = $("results-lb");
    node.hidden = false;
    const body = el("div", { class: "markdown" });
    body.innerHTML = markdown(result.markdown);
    node.replaceChildren(
      el("p", { class: "meta", text: `${result.records.toLocaleString()} records · tasks ${result.tasks.join(", ")} · ` +
        `datasets ${result.datasets.join(", ")} · models ${result.models.join(", ")} · built in ${seconds.toFixed(2)} s` }),
      el("div", { class: "downloads" }, el("button", { class: "secondary", id: "dl-leaderboard",
        onclick: () => download("leaderboard.md", result.markdown, "text/markdown") }, "Download leaderboard.md")),
      body);
    lbStatus.clear();
  });
}

dropZone("drop-lb", "file-lb", async (files) => showLeaderboard(await readFile(files[0])));
$("lb-example-load").addEventListener("click", async () => {
  const ex = manifest?.leaderboard?.[Number($("lb-example").value)];
  if (!ex) return;
  let bytes;
  try {
    bytes = await fetchBytes(`examples/${ex.file}`, "example run");
  } catch (e) { lbStatus.error(e.message); return; }
  await showLeaderboard({ name: ex.file.split("/").pop(), bytes });
});

// ---------------------------------------------------------------- panel 3: model

const model = { ckpt: null, data: null, preset: null };
const modelStatus = new Status($("status-model"));

function updateModelButton() {
  $("run-model").disabled = !(model.ckpt && model.data && model.info?.perturbation);
  $("run-ic").disabled = !(model.ckpt && model.data && model.info?.in_context && $("ic-pert").value &&
    $("ic-prompt").options.length && $("ic-query").options.length);
}

// setCheckpoint keeps a checkpoint's files and asks cellbench which model
// it is: an in-context STACK checkpoint shows the in-context options
// instead of Predict & score.
async function setCheckpoint(files, label) {
  model.ckpt = null;
  model.info = null;
  const total = files.reduce((n, f) => n + f.bytes.length, 0);
  const list = `${files.length} file${files.length > 1 ? "s" : ""}, ${mb(total)}: ${files.map((f) => f.name.split("/").pop()).join(", ")}`;
  $("info-ckpt").textContent = list;
  markLoaded("drop-ckpt", label);
  const { result: info } = await call("checkpointInfo", [files]);
  model.ckpt = files;
  model.info = info;
  $("info-ckpt").textContent = `${info.model}${info.stage ? ` (${info.stage} stage)` : ""} checkpoint, ${info.genes} genes · ${list}`;
  if (!info.in_context && !info.perturbation) {
    updateModelButton();
    throw new Error(info.stage === "pretrain"
      ? `${info.checkpoint} is a pre-trained STACK checkpoint: in-context prediction needs one post-trained with cellbench train --model stack --stage incontext --init ${info.checkpoint}`
      : `${info.checkpoint}: the page runs perturbation models and in-context STACK checkpoints, not ${info.model}`);
  }
  $("ic-options").hidden = !info.in_context;
  $("model-options").hidden = info.in_context;
  if (info.perturbation) $("opt-model").value = info.model;
  updateModelButton();
}

async function setCheckpointFiles(list) {
  const files = await Promise.all(list.map(readFile));
  const top = files[0].name.includes("/") ? files[0].name.split("/")[0] : files[0].name;
  await busy(modelStatus, `reading the checkpoint ${top}`, async () => {
    await setCheckpoint(files, top);
    modelStatus.clear();
  });
}
dropZone("drop-ckpt", "file-ckpt-dir", setCheckpointFiles);
$("file-ckpt-zip").addEventListener("change", () => { const f = $("file-ckpt-zip").files; if (f.length) setCheckpointFiles([...f]); });

$("ckpt-example").addEventListener("change", async () => {
  const ex = manifest?.checkpoints?.[Number($("ckpt-example").value)];
  if (!ex) return;
  await busy(modelStatus, `fetching ${ex.name}`, async () => {
    const files = [];
    for (const f of ex.files) files.push({ name: f, bytes: await fetchBytes(`examples/${f}`, "example checkpoint") });
    await setCheckpoint(files, ex.name);
    modelStatus.clear();
  });
  if (ex.dataset && !model.data) {
    $("model-registry").value = ex.dataset;
    await setRegistryData(ex.dataset);
  }
});

// setModelData inspects the dataset and fills the in-context choices
// (labels: the registry's column roles, when it came from the registry).
async function setModelData(file, labels) {
  await busy(modelStatus, `reading ${file.name}`, async () => {
    const { result: info } = await call("inspect", [file.name, file.bytes]);
    model.data = file;
    model.dataInfo = info;
    $("info-model-data").textContent = describe(info);
    markLoaded("drop-model-data", file.name);
    const cols = info.columns.filter((c) => c.kind !== "float").map((c) => c.name);
    const guess = (names) => names.find((n) => cols.includes(n));
    fillSelect($("ic-pert-col"), cols, labels?.pert_col || guess(["perturbation", "target_gene", "group_id", "condition", "gene"]) || cols[0]);
    fillSelect($("ic-context-col"), [["", "— none —"], ...cols.map((c) => [c, c])],
      labels?.context_col || guess(["cell_type", "cluster_id", "cell_line", "context"]) || "");
    fillControls(labels?.control);
    await fillCombinations();
    modelStatus.clear();
    updateModelButton();
  });
}
async function setRegistryData(name) {
  let file, example;
  try {
    ({ file, example } = await registryFile(name));
  } catch (e) { modelStatus.error(e.message); return; }
  await setModelData(file, example);
}
dropZone("drop-model-data", "file-model-data", async (files) => setModelData(await readFile(files[0])));
$("model-registry").addEventListener("change", async () => {
  const name = $("model-registry").value;
  if (name) await setRegistryData(name);
});

// ---------------------------------------------------------------- panel 3: in-context (STACK)

function fillControls(want) {
  const col = model.dataInfo?.columns.find((c) => c.name === $("ic-pert-col").value);
  const labels = col?.labels ?? [];
  fillSelect($("ic-control"), labels, want || labels.find((l) => /^(control|ctrl|non-targeting|DMSO)$/i.test(l)) || labels[0]);
}

// fillCombinations asks for the cell counts per (context, perturbation)
// and offers only what exists: p with cells in some context A and
// controls in some context B; A with cells of p; B with controls.
async function fillCombinations() {
  model.counts = null;
  if (!model.data || !$("ic-pert-col").value) return updateModelButton();
  const { result: t } = await call("countCells", [model.data.name, model.data.bytes, $("ic-pert-col").value, $("ic-context-col").value]);
  model.counts = t;
  const control = $("ic-control").value;
  const ci = t.perturbations.indexOf(control);
  const n = (ctx, p) => t.counts[t.contexts.indexOf(ctx)][t.perturbations.indexOf(p)];
  const withControls = ci < 0 ? [] : t.contexts.filter((c) => n(c, control) > 0);
  const perts = t.perturbations.filter((p) => p !== control && withControls.length && t.contexts.some((c) => n(c, p) > 0));
  const keep = $("ic-pert").value;
  fillSelect($("ic-pert"), perts, keep);
  fillContexts();
}

function fillContexts() {
  const t = model.counts;
  const p = $("ic-pert").value;
  const control = $("ic-control").value;
  if (!t || !p) {
    fillSelect($("ic-prompt"), []);
    fillSelect($("ic-query"), []);
    return updateModelButton();
  }
  const n = (ctx, q) => t.counts[t.contexts.indexOf(ctx)][t.perturbations.indexOf(q)] ?? 0;
  const name = (c) => c || "(one context)";
  const keepA = $("ic-prompt").value, keepB = $("ic-query").value;
  const promptCtx = t.contexts.filter((c) => n(c, p) > 0);
  fillSelect($("ic-prompt"), promptCtx.map((c) => [c, `${name(c)} · ${n(c, p)} cells of ${p}`]), keepA);
  const queryCtx = t.contexts.filter((c) => n(c, control) > 0);
  const pick = keepB && queryCtx.includes(keepB) ? keepB
    : queryCtx.find((c) => c !== $("ic-prompt").value && n(c, p) > 0) ?? queryCtx.find((c) => c !== $("ic-prompt").value) ?? queryCtx[0];
  fillSelect($("ic-query"), queryCtx.map((c) => [c, `${name(c)} · ${n(c, control)} controls` + (n(c, p) ? `, ${n(c, p)} real ${p}` : ", no real cells of p")]), pick);
  updateModelButton();
}

const reselect = (fn) => () => busy(modelStatus, "counting cells", async () => { await fn(); modelStatus.clear(); });
$("ic-pert-col").addEventListener("change", reselect(async () => { fillControls(); await fillCombinations(); }));
$("ic-control").addEventListener("change", reselect(fillCombinations));
$("ic-context-col").addEventListener("change", reselect(fillCombinations));
$("ic-pert").addEventListener("change", fillContexts);
$("ic-prompt").addEventListener("change", () => { $("ic-query").value = ""; fillContexts(); });
$("ic-query").addEventListener("change", updateModelButton);

$("run-ic").addEventListener("click", () => busy(modelStatus, "loading the checkpoint", async () => {
  const opts = { pert_col: $("ic-pert-col").value, context_col: $("ic-context-col").value, control: $("ic-control").value,
    perturbation: $("ic-pert").value, prompt_context: $("ic-prompt").value, query_context: $("ic-query").value,
    seed: Math.max(0, Math.floor(Number($("ic-seed").value) || 0)), profile: $("ic-profile").value };
  const { result, seconds } = await call("incontext", [model.ckpt, model.data, opts], (s, d, t) => modelStatus.progress(s, d, t));
  window.cellbenchPage.last.incontext = { result, seconds };
  renderInContext($("results-ic"), result);
  const g = result.variants.map((v) => v.generate_s.toFixed(2)).join(" s and ");
  modelStatus.done(`Generated ${result.query_cells.toLocaleString()} cells of ${opts.perturbation} with and without the prompt in ${g} s.`);
}));

function renderInContext(node, r) {
  const o = r.options;
  const where = (c) => (o.context_col ? `${o.context_col} ${c}` : "the dataset");
  const t = r.timings;
  const summary = el("div", { class: "card model-summary" },
    el("h3", { text: `STACK in-context: ${o.perturbation} in ${where(o.query_context)}, prompted from ${where(o.prompt_context)}` }),
    el("p", { id: "ic-alignment", text: `Prompt: ${r.prompt_cells} cells of ${o.perturbation} in ${where(o.prompt_context)} ` +
      `(${r.prompt_unknown} of the ${r.dataset_genes} genes unknown to the checkpoint, masked); query: ${r.query_cells} ${o.control} cells of ` +
      `${where(o.query_context)} (${r.query_unknown} of the ${r.dataset_genes} genes unknown, masked and returned unchanged); ` +
      `${r.shared} of the checkpoint's ${r.checkpoint_genes} genes present` +
      (r.query_unknown ? ` (the ${r.query_unknown} unknown genes keep the query's values: predicted log2 fold change 0 in the scatters)` : "") +
      `. ${r.rounds} generation rounds, seed ${o.seed}, ` +
      `GoMLX ${r.backend} backend in WebAssembly.` }),
    el("p", { text: r.real_cells
      ? `Real answer: ${r.real_cells} cells of ${o.perturbation} in ${where(o.query_context)}; fold changes are against its ${r.query_cells} controls (metrics/de, as cellbench score pert --control-ref real).`
      : `The dataset has no cells of ${o.perturbation} in ${where(o.query_context)}: nothing to compare the prediction with (no scatter).` }),
    el("p", { class: "config" }, "config ", el("code", { text: r.config.replaceAll(";", "; ") })),
    el("table", { class: "timings", id: "ic-timings" }, el("tbody", {},
      ...[["load checkpoint", t.load_s], ["read + prepare data", t.read_s],
        ...r.variants.map((v) => [`generate (${v.name})`, v.generate_s]), ["score", t.score_s], ["total", t.total_s]]
        .map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { class: "num", text: `${v.toFixed(3)} s` }))))));
  const cols = r.variants.map((v, i) => {
    // One perturbation: discrimination against the others is undefined, so
    // its metrics are left out of the summary line (results.csv has them).
    const keyMetrics = v.score ? v.score.aggregates.filter((a) => !/discrimination|pdisc/.test(a.metric)) : [];
    const box = el("div", { class: "ic-variant" },
      el("h3", { text: v.name === "prompt" ? `With the prompt (${v.prompt_cells} cells)` : "Without a prompt" }),
      keyMetrics.length ? el("p", { class: "meta ic-metrics", text: keyMetrics.map((a) => `${a.metric} ${fmt(a.mean)}`).join(" · ") }) : null,
      el("div", { class: "downloads" }, el("button", { class: "secondary", id: `dl-ic-${i}`,
        onclick: () => download(`stack_${o.perturbation}_${v.name.replace(" ", "_")}.csv`, v.csv, "text/csv") }, "Download predicted cells (CSV)")));
    if (v.score) {
      const fig = figurePanel(v.score, v.of, "lfc");
      box.append(fig);
      box.draw = fig.draw;
    }
    return box;
  });
  node.replaceChildren(summary, el("div", { class: "grid2" }, ...cols));
  node.hidden = false;
  $("results-model").hidden = true;
  for (const c of cols) c.draw?.();
}

$("run-model").addEventListener("click", () => busy(modelStatus, "loading the checkpoint", async () => {
  const opts = { model: $("opt-model").value, ncells: Number($("opt-ncells").value) || 0, profile: $("opt-model-profile").value };
  const { result, seconds } = await call("predict", [model.ckpt, model.data, opts], (s, d, t) => modelStatus.progress(s, d, t));
  window.cellbenchPage.last.predict = { result, seconds };
  const t = result.timings;
  const node = $("results-model");
  renderScore(node, result.score, "predict", `prediction by ${result.model} (${result.checkpoint})`);
  $("results-ic").hidden = true;
  node.prepend(el("div", { class: "card model-summary" },
    el("h3", { text: `${result.model} on ${result.dataset}` }),
    el("p", { text: `${result.groups} (context, perturbation) groups × ${(result.cells / result.groups).toFixed(0)} cells predicted from ` +
      `the dataset's control cells (columns ${result.spec.PertCol} / ${result.spec.ContextCol || "—"}, control ${result.spec.Control}) ` +
      `on GoMLX's ${result.backend} backend, compiled to WebAssembly.` }),
    el("p", { class: "config" }, "config ", el("code", { text: result.config.replaceAll(";", "; ") })),
    el("table", { class: "timings", id: "model-timings" }, el("tbody", {},
      ...[["load checkpoint", t.load_s], ["read + prepare data", t.read_s], ["first group (graph compile + run)", t.first_group_s],
        ["predict all groups", t.predict_s], ["score", t.score_s], ["total", t.total_s]]
        .map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { class: "num", text: `${v.toFixed(3)} s` }))))),
    result.notes.length ? el("ul", { class: "notes" }, ...result.notes.map((n) => el("li", { text: n }))) : null));
  modelStatus.done(`Predicted ${result.cells.toLocaleString()} cells in ${t.predict_s.toFixed(2)} s and scored them against the real cells.`);
}));

// ---------------------------------------------------------------- start

loadExamples().catch((e) => scoreStatus.error(`examples: ${e.message}`));
