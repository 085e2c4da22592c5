// Server benchmark: CPU share and memory of the server while it scrapes synthetic telemetry
// targets (3 nodes × 12 partitions and 5 × 256, at 1 s), and p50/p99 of latency.histogram
// over a 1 h range of filled windows. Targets run in a child process so the parent's CPU is
// the server's alone. `npm run bench -- server`; BENCH_SECONDS sets the measured span.

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LatencyRecorder, NodeTelemetry, newSpanId, newTraceId, serveTelemetry, unixNanoNow, type Span } from '@logscope/telemetry';
import { createApp } from '../apps/server/src/app.ts';
import { createContext } from '../apps/server/src/context.ts';
import { createCaller } from '../apps/server/src/routers/index.ts';

const MEASURE_SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const WARMUP_MS = 3_000;
const REPLICATION_FACTOR = 3;
const APPENDS_PER_PARTITION_PER_SEC = 20;
const HISTOGRAM_QUERIES = 50;

/** Child: serve `nodes` synthetic NodeTelemetry over HTTP and report the URLs. */
async function serveTargets(nodes: number, partitions: number): Promise<void> {
  const telemetries = Array.from({ length: nodes }, (_, i) => new NodeTelemetry({ nodeId: i + 1 }));
  const leaderOf = (p: number): number => (p % nodes) + 1;
  const replicasOf = (p: number): number[] => Array.from({ length: Math.min(REPLICATION_FACTOR, nodes) }, (_, k) => ((p + k) % nodes) + 1);
  let hw = 0;
  const feed = (): void => {
    hw += APPENDS_PER_PARTITION_PER_SEC / 10;
    for (let p = 0; p < partitions; p++) {
      const leader = leaderOf(p);
      const t = telemetries[leader - 1]!;
      for (let i = 0; i < APPENDS_PER_PARTITION_PER_SEC / 10; i++) t.recordAppendLatency(0.001 + Math.random() * 0.004, p);
      t.recordAppended(APPENDS_PER_PARTITION_PER_SEC / 10, 256 * (APPENDS_PER_PARTITION_PER_SEC / 10));
      for (const r of replicasOf(p)) {
        telemetries[r - 1]!.setPartitionState(p, { leaderId: leader, isLeader: r === leader, term: 1, commitIndex: hw, highWatermark: hw, logEndOffset: hw });
        if (r !== leader) t.setReplicaState(p, r, { lagRecords: Math.floor(Math.random() * 3), lagSeconds: 0, inSync: true });
      }
    }
    for (const t of telemetries) {
      t.recordFsync(0.0005 + Math.random() * 0.001);
      t.recordReplicationRtt(0.0002 + Math.random() * 0.0005);
      const traceId = newTraceId();
      const span: Span = { traceId, spanId: newSpanId(), parentSpanId: null, name: 'append', nodeId: t.nodeId, partition: 0, startUnixNano: unixNanoNow(), endUnixNano: unixNanoNow(), durationMicros: 1000, attributes: {} };
      t.recordTrace([span], 1000 + Math.random() * 5000, Date.now());
    }
  };
  setInterval(feed, 100);
  setInterval(() => telemetries.forEach((t) => t.rotate(Date.now())), 1_000);
  const servers = await Promise.all(telemetries.map((t) => serveTelemetry(t, { port: 0 })));
  process.send?.({ urls: servers.map((s) => `http://127.0.0.1:${s.port}`) });
}

interface Row {
  shape: string;
  cpuPercentOfCore: number;
  rssMb: number;
  heapMb: number;
  scrapeMsMax: number;
  series: number;
  histogramKb: number;
}

async function measure(nodes: number, partitions: number): Promise<{ row: Row; close: () => Promise<void>; app: Awaited<ReturnType<typeof createApp>> }> {
  const child = fork(fileURLToPath(import.meta.url), ['--targets', String(nodes), String(partitions)], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const urls = await new Promise<string[]>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { urls: string[] }).urls));
    child.once('exit', (code) => reject(new Error(`target process exited (${code})`)));
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-bench-'));
  const app = await createApp({ attachUrls: urls, dataDir, port: 0, staticDir: null });
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rssMax = 0;
  let heapMax = 0;
  let scrapeMsMax = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    rssMax = Math.max(rssMax, m.rss);
    heapMax = Math.max(heapMax, m.heapUsed);
    for (const s of app.services.scraper.statuses()) scrapeMsMax = Math.max(scrapeMsMax, s.durationMs);
  }, 500);
  await new Promise((r) => setTimeout(r, MEASURE_SECONDS * 1000));
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpu0);
  const wallUs = (performance.now() - t0) * 1000;
  const row: Row = {
    shape: `${nodes} × ${partitions}`,
    cpuPercentOfCore: ((cpu.user + cpu.system) / wallUs) * 100,
    rssMb: rssMax / 2 ** 20,
    heapMb: heapMax / 2 ** 20,
    scrapeMsMax,
    series: app.services.series.size,
    histogramKb: app.services.histograms.stats().bytes / 1024,
  };
  const up = app.services.scraper.statuses().filter((s) => s.up).length;
  if (up !== nodes) console.warn(`warning: ${nodes - up} target(s) down during the run`);
  return {
    row,
    app,
    close: async () => {
      await app.close();
      child.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Fills 1 h of 1 s windows for every node and metric, then times latency.histogram over it. */
async function histogramQueries(app: Awaited<ReturnType<typeof createApp>>, nodes: number): Promise<{ p50Ms: number; p99Ms: number; windows: number }> {
  const nowMs = Date.now();
  const startMs = nowMs - 3_600_000;
  const recorder = new LatencyRecorder({ nowMs: startMs, maxClosedWindows: 1 });
  let windows = 0;
  for (let t = startMs; t < nowMs - 1_000; t += 1_000) {
    for (let i = 0; i < 50; i++) recorder.recordMicros(500 + Math.random() * 20_000);
    recorder.rotate(t + 1_000);
    const w = recorder.windows()[0]!;
    // Far-past node ids so the live scrape's windows don't interleave.
    for (let n = 1; n <= nodes; n++) for (const metric of ['append', 'fsync', 'replication_rtt'] as const) {
      app.services.histograms.add(100 + n, metric, null, w);
      windows++;
    }
  }
  const caller = createCaller(createContext(app.services, { headers: {}, ownOrigins: new Set() }));
  const times: number[] = [];
  for (let i = 0; i < HISTOGRAM_QUERIES; i++) {
    const t0 = performance.now();
    const r = await caller.latency.histogram({ metric: 'append', range: { lastMs: 3_600_000 } });
    times.push(performance.now() - t0);
    if (r.count === 0) throw new Error('empty histogram');
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { p50Ms: at(0.5), p99Ms: at(0.99), windows };
}

export async function run(): Promise<void> {
  const cpu = cpus();
  console.log(`server bench — ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; ${MEASURE_SECONDS} s per shape, scrape every 1 s`);
  const rows: Row[] = [];
  let query: { p50Ms: number; p99Ms: number; windows: number } | null = null;
  for (const [nodes, partitions] of [[3, 12], [5, 256]] as const) {
    const m = await measure(nodes, partitions);
    rows.push(m.row);
    if (nodes === 5) query = await histogramQueries(m.app, nodes);
    await m.close();
  }
  console.log('| nodes × partitions | CPU (% of one core) | RSS max (MB) | heap max (MB) | slowest scrape (ms) | series | HDR stored (KB) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.shape} | ${r.cpuPercentOfCore.toFixed(2)} | ${r.rssMb.toFixed(0)} | ${r.heapMb.toFixed(0)} | ${r.scrapeMsMax.toFixed(1)} | ${r.series} | ${r.histogramKb.toFixed(0)} |`);
  }
  if (query !== null) console.log(`latency.histogram over 1 h (5 nodes, ${query.windows} windows stored): p50 ${query.p50Ms.toFixed(1)} ms, p99 ${query.p99Ms.toFixed(1)} ms (${HISTOGRAM_QUERIES} queries)`);
  const big = rows.find((r) => r.shape === '5 × 256');
  if (big !== undefined) console.log(`target ≤ 5 % of one core at 5 × 256: ${big.cpuPercentOfCore <= 5 ? 'met' : 'NOT met'}`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--targets') {
  void serveTargets(Number(argv[1]), Number(argv[2]));
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().then(() => process.exit(0), (error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
