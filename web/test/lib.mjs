// lib.mjs — what the web tests and benchmarks share: the static server
// (bin/cellbench-serve, the server of make serve) and headless Chromium.

import { spawn } from "node:child_process";

// startServer starts the server on a free localhost port serving the page
// folder, the data folder at /data/ and the examples at /examples/, and
// resolves with {server, url} once it listens.
export function startServer(binary, webDir, dataDir, examplesDir) {
  const server = spawn(binary, ["-addr", "127.0.0.1:0", "-web", webDir, "-data", dataDir, "-examples", examplesDir],
    { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => { server.kill(); reject(new Error("server did not start in 20 s")); }, 20000);
    server.stdout.on("data", (d) => {
      buf += d;
      const m = /serving (http:\/\/[^/ ]+\/)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ server, url: m[1] });
      }
    });
    server.on("error", (e) => { clearTimeout(timer); reject(e); });
    server.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}`)); });
  });
}

// launchChromium starts Debian's Chromium headless with TOOLCHAIN.md's
// flags through playwright-core (never Playwright's own browser download);
// launch() gives it a fresh temporary profile (--user-data-dir) each time.
export async function launchChromium(executablePath) {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
      "--disable-dev-shm-usage"], // containers often have a tiny /dev/shm
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
