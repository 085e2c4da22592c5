// The engine bench's partition-count sweep: embedded clusters of 3 and 5 nodes with 12, 256 and
// 1 024 partitions, idle CPU (quiescence) and append latency at fixed rates (open loop), with the
// event-loop delay and GC pauses of the same runs (where a stall comes from when it is the node's
// own), and the fdatasync cost of a growing file beside a preallocated one on the same disk.
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { LogClient } from '../packages/log-cluster/src/client.ts';
import { EmbeddedCluster } from '../packages/log-cluster/src/cluster.ts';
import { METRIC_NAMES } from '@logscope/telemetry';
import { DISK_REPLAY_SECONDS, flushLoadOf, replayFlushLoad, zeroFilledFile, type DiskReplay } from './disk-replay.ts';
import { pinEventLoop } from './loop-affinity.ts';
import { hostStealMeter, stealCell, type HostSteal } from './machine.ts';
import { newHistogram, openLoop } from './open-loop.ts';
import { recordMsSince } from './stats.ts';

export interface SweepConfig {
  readonly nodes: number;
  readonly partitions: number;
  readonly quiesce: boolean;
  /** The event loop pinned to one CPU once the cluster runs (see loop-affinity.ts). */
  readonly pinLoop?: boolean;
}

export interface SweepRow extends SweepConfig {
  /** Process CPU while idle (every partition led, no appends), in % of one core. */
  readonly idleCpuPercent: number;
  /** The first load the fresh process carries, not counted in `rates` (see WARM_UP_SECONDS). */
  readonly warmUp: WarmUp;
  /** The first load after the idle CPU measurement, not counted in `rates` (see measureShape). */
  readonly afterIdle: WarmUp;
  readonly rates: readonly RatePoint[];
}

export interface WarmUp {
  readonly ratePerSec: number;
  readonly seconds: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface RatePoint {
  readonly ratePerSec: number;
  readonly recordBytes: number;
  readonly ackedPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  /** p99 of how long after its intended time each append was sent: the generator's share of p99Ms. */
  readonly sentLateP99Ms: number;
  /** Event-loop delay of the process (every node runs on it) over the run. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly gcPauseTotalMs: number;
  readonly gcPauseMaxMs: number;
  readonly cpuPercent: number;
  /** Flushes (a journal's writes and their fdatasyncs) per second, all nodes together. */
  readonly flushesPerSec: number;
  /** The disk alone replaying those flushes, right after (see bench/disk-replay.ts). */
  readonly diskAlone: DiskReplay;
  /** CPU time the host took from this VM during the run (null off Linux; see machine.ts). */
  readonly hostSteal: HostSteal | null;
}

/** Let leadership settle and idle partitions quiesce before idle CPU is measured. */
const SETTLE_MS = 3_000;
const IDLE_MEASURE_MS = 3_000;
const LOOP_DELAY_RESOLUTION_MS = 1;
/**
 * Each shape runs in a fresh process, and its first load runs through code V8 has not optimized
 * yet. At 5 × 256 and 2 000 appends/s, 186–391 of the first 500 appends (the first 250 ms) took
 * over 5 ms in 8 fresh processes, against 1–65 when the same process ran the load again after
 * 1–6 s idle (13 runs, 2026-11-27): the cold code, not quiescence or an idle disk. In a 5 s point
 * (10 000 appends, p99 = the 100th slowest) that start alone set the p99. The rows measure the
 * steady state, as the peers bench does after its warm-up; this first second runs at the first
 * rate, and its p99 and max are printed beside the row, not hidden. At 1 024 partitions it was also
 * the first rotation of the latency windows, which gave every led partition a new histogram at once
 * (5 × 1 024: p99 116 ms until 2026-11-28, 35 ms since they are allocated at their first value).
 */
const WARM_UP_SECONDS = 1;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU of this process over a wall-clock span, in % of one core. */
function cpuMeter(): () => number {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    return ((cpu.user + cpu.system) / 1000 / (performance.now() - wall0)) * 100;
  };
}

/** GC pauses (ms) while it runs. */
function gcMeter(): () => { totalMs: number; maxMs: number } {
  let totalMs = 0;
  let maxMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      totalMs += entry.duration;
      maxMs = Math.max(maxMs, entry.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    return { totalMs, maxMs };
  };
}

/**
 * Flushes every node of the cluster has made so far: its fsync counter, read alone. Not through
 * metricsText(): that refreshes and renders every series of every node (at 5 × 256, thousands of
 * gauges), and its garbage was collected inside the measured seconds that follow. At 5 × 256 and
 * 2 000/s in one process, 8 alternated pairs: p99 median 5.63 ms with the whole text read just
 * before, 4.87 ms with the counter alone, lower in 7 of 8.
 */
export async function flushCount(cluster: EmbeddedCluster): Promise<number> {
  let total = 0;
  for (const id of cluster.nodeIds()) {
    const counter = cluster.telemetry(id).registry.getSingleMetric(METRIC_NAMES.fsyncs);
    if (counter === undefined) throw new Error(`node ${id} has no ${METRIC_NAMES.fsyncs}`);
    total += (await counter.get()).values[0]?.value ?? 0;
  }
  return total;
}

/**
 * Open loop at a fixed rate over every partition: latency from each append's intended send time.
 * Its flush load is replayed on the disk alone later (see measureShape).
 */
async function measureRate(cluster: EmbeddedCluster, client: LogClient, partitions: number, recordBytes: number, ratePerSec: number, seconds: number): Promise<Omit<RatePoint, 'diskAlone'>> {
  const loop = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  const gc = gcMeter();
  const steal = hostStealMeter();
  const flushesBefore = await flushCount(cluster);
  const cpu = cpuMeter();
  const started = performance.now();
  loop.enable();
  const { perSec, errors, histogram, lateness } = await openLoop(client, partitions, recordBytes, ratePerSec, seconds);
  loop.disable();
  const hostSteal = steal();
  const cpuPercent = cpu();
  const elapsedSec = (performance.now() - started) / 1000;
  const pauses = gc();
  const flushesPerSec = ((await flushCount(cluster)) - flushesBefore) / elapsedSec;
  return {
    ratePerSec,
    recordBytes,
    ackedPerSec: perSec,
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    p999Ms: histogram.getValueAtPercentile(99.9) / 1000,
    maxMs: histogram.maxValue / 1000,
    errors,
    sentLateP99Ms: lateness.getValueAtPercentile(99) / 1000,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
    gcPauseTotalMs: pauses.totalMs,
    gcPauseMaxMs: pauses.maxMs,
    cpuPercent,
    flushesPerSec,
    hostSteal,
  };
}

interface ShapeJob {
  readonly dataDir: string;
  readonly config: SweepConfig;
  readonly rates: readonly number[];
  readonly recordBytes: number;
  readonly seconds: number;
}

/** One shape, in this process: start its cluster, measure idle CPU and every rate, stop it. */
async function measureShape({ dataDir, config, rates, recordBytes, seconds }: ShapeJob): Promise<SweepRow> {
  const clusterDir = join(dataDir, `sweep-${config.nodes}x${config.partitions}-${config.quiesce ? 'q' : 'nq'}`);
  const cluster = await EmbeddedCluster.start({
    dataDir: clusterDir,
    nodeCount: config.nodes,
    partitionCount: config.partitions,
    node: { quiesce: config.quiesce },
  });
  try {
    await cluster.waitForLeaders(60_000);
    if (config.pinLoop === true) pinEventLoop();
    const client = cluster.client({ appendTimeoutMs: 30_000 });
    // One append per partition: every client knows every leader, every journal has its records.
    await Promise.all(Array.from({ length: config.partitions }, (_, p) => client.append({ partition: p }, [new Uint8Array(recordBytes)])));
    const warmUpRate = rates[0] ?? 0;
    const uncounted = async (): Promise<WarmUp> => {
      const { histogram } = await openLoop(client, config.partitions, recordBytes, warmUpRate, WARM_UP_SECONDS);
      return { ratePerSec: warmUpRate, seconds: WARM_UP_SECONDS, p99Ms: histogram.getValueAtPercentile(99) / 1000, maxMs: histogram.maxValue / 1000 };
    };
    // The rates follow the warm-up and each other with no pause between them: a loaded cluster's
    // steady state. Until 2026-11-27 the idle CPU was measured first (6 s without appends) and the
    // disk replayed after each rate (3 s). After 6 s idle the next seconds of load are slower: 5 × 256
    // at 2 000/s in one process, a 1 s warm-up then 5 s measured, 6 alternated pairs, p99 5.3–15.0 ms
    // (median 7.8) with the pause before, 4.5–5.9 (median 4.7) without; 5.0–6.3 with a 3 s warm-up
    // after it. A real transient (not quiescence: the same with it off), so the first second after
    // the idle measurement is printed on its own.
    const warmUp = await uncounted();
    const measured: Omit<RatePoint, 'diskAlone'>[] = [];
    for (const rate of rates) measured.push(await measureRate(cluster, client, config.partitions, recordBytes, rate, seconds));
    const points: RatePoint[] = [];
    for (const point of measured) {
      const load = flushLoadOf(cluster.nodeIds().length, point.flushesPerSec, point.ackedPerSec, cluster.replicationFactor, recordBytes);
      points.push({ ...point, diskAlone: await replayFlushLoad(clusterDir, load, DISK_REPLAY_SECONDS) });
    }
    await sleep(SETTLE_MS);
    const idle = cpuMeter();
    await sleep(IDLE_MEASURE_MS);
    const idleCpuPercent = idle();
    const afterIdle = await uncounted();
    client.close();
    return { ...config, idleCpuPercent, warmUp, afterIdle, rates: points };
  } finally {
    await cluster.stop();
  }
}

/** Marks the child's answer among whatever else it prints. */
const ROW_PREFIX = 'sweep-row ';

/**
 * Each shape runs in a fresh process (this file, with this process's Node and V8 flags): one
 * cluster per process, as `logscope up` runs it. In one process, a shape inherited the heap the
 * shapes before it left, and the first mark-compact of 5 × 12 (after 3 × 1 024) paused 22–25 ms.
 */
export async function sweepPartitions(dataDir: string, configs: readonly SweepConfig[], rates: readonly number[], recordBytes: number, seconds: number): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const config of configs) {
    const job: ShapeJob = { dataDir, config, rates, recordBytes, seconds };
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const line = out.split('\n').find((l) => l.startsWith(ROW_PREFIX));
    if (code !== 0 || line === undefined) throw new Error(`sweep shape ${config.nodes} × ${config.partitions} failed (exit ${code}): ${out.slice(-2000)}`);
    rows.push(JSON.parse(line.slice(ROW_PREFIX.length)) as SweepRow);
  }
  return rows;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(process.argv[2] ?? '') as ShapeJob;
  const row = await measureShape(job);
  process.stdout.write(`${ROW_PREFIX}${JSON.stringify(row)}\n`);
  process.exit(0);
}

export function sweepTable(rows: readonly SweepRow[]): string {
  const lines = [
    '| nodes × partitions | quiesce | loop pinned | idle CPU % of a core | first second after start (not counted): p99 / max ms | first second after idle (not counted): p99 / max ms | rate/s | acked/s | p50 ms | p99 ms | p99.9 ms | max ms | sent late p99 ms | errors | loop delay p99 / max ms | GC total / max ms | CPU % | flushes/s | disk alone at those flushes: p50 / p99 / max ms | host steal total / worst 1 s ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    for (const [i, p] of row.rates.entries()) {
      const head = i === 0 ? `| ${row.nodes} × ${row.partitions} | ${row.quiesce ? 'on' : 'off'} | ${row.pinLoop === true ? 'yes' : 'no'} | ${row.idleCpuPercent.toFixed(1)} | ${row.warmUp.p99Ms.toFixed(2)} / ${row.warmUp.maxMs.toFixed(2)} at ${row.warmUp.ratePerSec}/s | ${row.afterIdle.p99Ms.toFixed(2)} / ${row.afterIdle.maxMs.toFixed(2)}` : '| | | | | |';
      lines.push(
        `${head} | ${p.ratePerSec} | ${p.ackedPerSec.toFixed(0)} | ${p.p50Ms.toFixed(2)} | ${p.p99Ms.toFixed(2)} | ${p.p999Ms.toFixed(2)} | ${p.maxMs.toFixed(2)} | ${p.sentLateP99Ms.toFixed(2)} | ${p.errors} | ${p.loopDelayP99Ms.toFixed(1)} / ${p.loopDelayMaxMs.toFixed(1)} | ${p.gcPauseTotalMs.toFixed(0)} / ${p.gcPauseMaxMs.toFixed(1)} | ${p.cpuPercent.toFixed(0)} | ${p.flushesPerSec.toFixed(0)} | ${p.diskAlone.p50Ms.toFixed(2)} / ${p.diskAlone.p99Ms.toFixed(2)} / ${p.diskAlone.maxMs.toFixed(2)} | ${stealCell(p.hostSteal)} |`,
      );
    }
  }
  return lines.join('\n');
}

export interface PreallocationAb {
  readonly growingP50Ms: number;
  readonly growingP99Ms: number;
  readonly growingMaxMs: number;
  readonly preallocatedP50Ms: number;
  readonly preallocatedP99Ms: number;
  readonly preallocatedMaxMs: number;
}

/**
 * 4 KiB write + fdatasync, alternating between a file that grows with every write and one zero-filled
 * (and synced) beforehand: what preallocated segments save per flush on this disk, in the same minute.
 */
export function measurePreallocation(dir: string, syncs: number): PreallocationAb {
  const bytes = syncs * 4096;
  const growing = join(dir, 'ab-growing.bin');
  const preallocated = join(dir, 'ab-preallocated.bin');
  zeroFilledFile(preallocated, bytes);
  const fdGrowing = openSync(growing, 'w');
  const fdPre = openSync(preallocated, 'r+');
  try {
    const block = Buffer.alloc(4096, 7);
    const hGrowing = newHistogram();
    const hPre = newHistogram();
    for (let i = 0; i < syncs; i++) {
      for (const [fd, h] of i % 2 === 0 ? ([[fdGrowing, hGrowing], [fdPre, hPre]] as const) : ([[fdPre, hPre], [fdGrowing, hGrowing]] as const)) {
        const t = performance.now();
        writeSync(fd, block, 0, block.length, i * 4096);
        fdatasyncSync(fd);
        recordMsSince(h, t);
      }
    }
    return {
      growingP50Ms: hGrowing.getValueAtPercentile(50) / 1000,
      growingP99Ms: hGrowing.getValueAtPercentile(99) / 1000,
      growingMaxMs: hGrowing.maxValue / 1000,
      preallocatedP50Ms: hPre.getValueAtPercentile(50) / 1000,
      preallocatedP99Ms: hPre.getValueAtPercentile(99) / 1000,
      preallocatedMaxMs: hPre.maxValue / 1000,
    };
  } finally {
    closeSync(fdGrowing);
    closeSync(fdPre);
    rmSync(growing, { force: true });
    rmSync(preallocated, { force: true });
  }
}
