// Console benchmark: gz size of the built SPA (target ≤ 400 KB gz) and time to interactive of
// the Overview in Debian chromium on localhost (target ≤ 1.5 s), over LOADS cold loads.
// Interactive = the Overview's figures rendered with live data from the server.
// Fleet case: 5 nodes × 1 024 partitions, Partitions and Replication pages: time to interactive
// (≤ 1.5 s) and DOM size (≤ 5 000 elements) over FLEET_LOADS cold loads each.
// Run: `npm run bench -- console [--rebuild]` or `npx tsx bench/console.ts` (CONSOLE_BENCH_LOADS sets the loads).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from '@playwright/test';
import playwrightConfig from '../playwright.config.ts';
import { freePort } from '../test/support/node-cluster.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const DIST = join(ROOT, 'apps/console/dist');
const LOADS = Math.max(10, Number(process.env['CONSOLE_BENCH_LOADS'] ?? 15));
const GZ_BUDGET_BYTES = 400 * 1024;
const TTI_BUDGET_MS = 1_500;
const SERVER_START_TIMEOUT_MS = 60_000;
const FLEET_NODES = 5;
const FLEET_PARTITIONS = 1024;
const FLEET_RATE_PER_SEC = 20;
const FLEET_LOADS = Math.max(3, Number(process.env['CONSOLE_BENCH_FLEET_LOADS'] ?? 6));
/** Elections of 1 024 partitions on a busy 2-core machine can take minutes. */
const FLEET_START_TIMEOUT_MS = 420_000;
const DOM_BUDGET_ELEMENTS = 5_000;
// The same Debian chromium and flags as the Playwright suite (DESIGN.md "Browser tests").
const CHROMIUM_ARGS = playwrightConfig.use?.launchOptions?.args ?? ['--no-sandbox'];
const CHROMIUM_PATH = playwrightConfig.use?.launchOptions?.executablePath ?? '/usr/bin/chromium';

export interface ConsoleBenchResult {
  gzBytesTotal: number;
  gzBytesInitial: number;
  assets: { file: string; bytes: number; gzBytes: number; initial: boolean }[];
  ttiMs: { loads: number; median: number; p90: number; min: number; max: number };
  withinBudget: { size: boolean; tti: boolean };
  fleet?: FleetResult | undefined;
}

export interface FleetPageResult {
  page: string;
  ttiMs: { loads: number; median: number; p90: number; min: number; max: number };
  /** Elements in the document once interactive and its charts drawn (max over loads). */
  domElementsMax: number;
}

export interface FleetResult {
  nodes: number;
  partitions: number;
  pages: FleetPageResult[];
  withinBudget: { tti: boolean; dom: boolean };
}

function build(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'apps/console'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`vite build failed (${r.status})`);
}

/** Every JS and CSS asset with raw and gzip sizes; "initial" = referenced by index.html (what Overview loads first). */
export function measureSize(): Pick<ConsoleBenchResult, 'gzBytesTotal' | 'gzBytesInitial' | 'assets'> {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const assets = readdirSync(join(DIST, 'assets'))
    .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
    .map((f) => {
      const bytes = readFileSync(join(DIST, 'assets', f));
      return { file: f, bytes: bytes.length, gzBytes: gzipSync(bytes).length, initial: html.includes(`assets/${f}`) };
    })
    .sort((a, b) => b.gzBytes - a.gzBytes);
  return {
    assets,
    gzBytesTotal: assets.reduce((s, a) => s + a.gzBytes, 0),
    gzBytesInitial: assets.filter((a) => a.initial).reduce((s, a) => s + a.gzBytes, 0),
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;

export async function measureTti(baseUrl: string, loads = LOADS): Promise<ConsoleBenchResult['ttiMs']> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const samples: number[] = [];
  try {
    for (let i = 0; i <= loads; i++) {
      // A fresh context per load: cold HTTP cache, no session state, as a first visit.
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${baseUrl}/`, { waitUntil: 'commit' });
      // Milliseconds since navigation start when the figures hold live data.
      const handle = await page.waitForFunction(
        `(() => {
          const up = document.querySelector('[data-testid="overview-nodes-up"]')?.textContent ?? '';
          const rate = document.querySelector('[data-testid="overview-appends-per-sec"]')?.textContent ?? '';
          const p99 = document.querySelector('[data-testid="overview-p99-ms"]')?.textContent ?? '';
          return /^\\d+ \\/ \\d+$/.test(up) && /\\/s$/.test(rate) && /(µs|ms|s)$/.test(p99) ? performance.now() : false;
        })()`,
        undefined,
        { timeout: 30_000, polling: 'raf' },
      );
      const ms = Number(await handle.jsonValue());
      if (i > 0) samples.push(ms); // the first load warms the server's and the OS's caches
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { loads: sorted.length, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN };
}

/** Cold loads of one page until `ready` (a JS expression) holds; then the DOM size after charts settle. */
async function measurePage(baseUrl: string, path: string, ready: string, loads: number): Promise<FleetPageResult> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const samples: number[] = [];
  let domElementsMax = 0;
  try {
    for (let i = 0; i <= loads; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${baseUrl}${path}`, { waitUntil: 'commit', timeout: 120_000 });
      const handle = await page.waitForFunction(`(() => (${ready}) ? performance.now() : false)()`, undefined, { timeout: 60_000, polling: 'raf' });
      const ms = Number(await handle.jsonValue());
      await page.waitForTimeout(2_000); // lazy charts load and draw
      domElementsMax = Math.max(domElementsMax, Number(await page.evaluate("document.getElementsByTagName('*').length")));
      if (i > 0) samples.push(ms);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { page: path, ttiMs: { loads: sorted.length, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN }, domElementsMax };
}

/** The 5 × 1 024 case: its own `logscope up`, then the Partitions and Replication pages. */
export async function runFleet(): Promise<FleetResult> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-bench-console-fleet-'));
  let server: ChildProcess | null = null;
  try {
    server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/server/src/cli.ts'), 'up', '--port', String(port), '--data-dir', dataDir,
      '--nodes', String(FLEET_NODES), '--partitions', String(FLEET_PARTITIONS), '--rate', String(FLEET_RATE_PER_SEC)], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, LOGSCOPE_OPERATOR_TOKEN: 'bench-console-token' },
    });
    const base = `http://127.0.0.1:${port}`;
    const startedMs = Date.now();
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, FLEET_START_TIMEOUT_MS, 'the 1 024-partition app /healthz');
    console.log(`fleet app (${FLEET_NODES} × ${FLEET_PARTITIONS}) healthy after ${((Date.now() - startedMs) / 1000).toFixed(0)} s`);
    const pages: FleetPageResult[] = [];
    const report = (p: FleetPageResult): void => {
      pages.push(p);
      console.log(`fleet ${p.page}: interactive median ${p.ttiMs.median.toFixed(0)} ms, p90 ${p.ttiMs.p90.toFixed(0)} ms over ${p.ttiMs.loads} cold loads (budget ${TTI_BUDGET_MS} ms); DOM ${p.domElementsMax} elements (budget ${DOM_BUDGET_ELEMENTS})`);
    };
    report(
      await measurePage(base, '/?page=partitions',
        `/^${FLEET_PARTITIONS} partitions/.test(document.querySelector('[data-testid="partition-map-summary"]')?.textContent ?? '') && document.querySelectorAll('.pcell').length > 0`, FLEET_LOADS),
    );
    report(
      await measurePage(base, '/?page=replication',
        `/\\d/.test(document.querySelector('[data-testid="replicas-in-sync"]')?.textContent ?? '') && (document.querySelector('[data-testid="replication-under-replicated"]')?.textContent ?? '') !== ''`, FLEET_LOADS),
    );
    return {
      nodes: FLEET_NODES,
      partitions: FLEET_PARTITIONS,
      pages,
      withinBudget: { tti: pages.every((p) => p.ttiMs.p90 <= TTI_BUDGET_MS), dom: pages.every((p) => p.domElementsMax <= DOM_BUDGET_ELEMENTS) },
    };
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `npm run bench -- console [--rebuild] [--no-fleet] [--fleet-only]` (bench/run.ts passes the args). */
export async function run(args: string[] = []): Promise<ConsoleBenchResult> {
  if (args.includes('--rebuild') || process.env['CONSOLE_BENCH_REBUILD'] === '1' || !existsSync(join(DIST, 'index.html'))) build();
  const size = measureSize();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`console bundle: ${kb(size.gzBytesTotal)} gz total (budget ${kb(GZ_BUDGET_BYTES)}), ${kb(size.gzBytesInitial)} gz loaded by Overview`);
  for (const a of size.assets) console.log(`  ${a.initial ? '*' : ' '} ${a.file.padEnd(36)} ${kb(a.bytes).padStart(10)} ${kb(a.gzBytes).padStart(10)} gz`);

  if (args.includes('--fleet-only')) {
    const fleet = await runFleet();
    console.log(`fleet within budget: tti ${fleet.withinBudget.tti ? 'yes' : 'NO'}, dom ${fleet.withinBudget.dom ? 'yes' : 'NO'}, size ${size.gzBytesTotal <= GZ_BUDGET_BYTES ? 'yes' : 'NO'}`);
    return { ...size, ttiMs: { loads: 0, median: Number.NaN, p90: Number.NaN, min: Number.NaN, max: Number.NaN }, withinBudget: { size: size.gzBytesTotal <= GZ_BUDGET_BYTES, tti: fleet.withinBudget.tti }, fleet };
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-bench-console-'));
  let server: ChildProcess | null = null;
  try {
    server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/server/src/cli.ts'), 'up', '--port', String(port), '--data-dir', dataDir], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, LOGSCOPE_OPERATOR_TOKEN: 'bench-console-token' },
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, SERVER_START_TIMEOUT_MS, 'logscope up /healthz');
    // Interactive means live figures: wait until the server has scraped append latency.
    await waitFor(
      async () => {
        const body = (await (await fetch(`${base}/trpc/cluster.overview`)).json()) as { result: { data: { appendLatency: { count: number } } } };
        return body.result.data.appendLatency.count > 0;
      },
      SERVER_START_TIMEOUT_MS,
      'first scraped append latency',
    );
    const ttiMs = await measureTti(base);
    console.log(`overview time to interactive over ${ttiMs.loads} cold loads: median ${ttiMs.median.toFixed(0)} ms, p90 ${ttiMs.p90.toFixed(0)} ms (min ${ttiMs.min.toFixed(0)}, max ${ttiMs.max.toFixed(0)}; budget ${TTI_BUDGET_MS} ms)`);
    const result: ConsoleBenchResult = {
      ...size,
      ttiMs,
      withinBudget: { size: size.gzBytesTotal <= GZ_BUDGET_BYTES, tti: ttiMs.p90 <= TTI_BUDGET_MS },
    };
    console.log(`within budget: size ${result.withinBudget.size ? 'yes' : 'NO'}, tti ${result.withinBudget.tti ? 'yes' : 'NO'}`);
    if (!args.includes('--no-fleet')) {
      server.kill('SIGTERM'); // one cluster at a time on two cores
      result.fleet = await runFleet();
      console.log(`fleet within budget: tti ${result.fleet.withinBudget.tti ? 'yes' : 'NO'}, dom ${result.fleet.withinBudget.dom ? 'yes' : 'NO'}`);
    }
    return result;
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
