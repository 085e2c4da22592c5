// `npm run bench -- engine [--seconds N] [--quick] [--sweep] [--sweep-only] [--ab | --pin-ab [--rounds N]] [--identifiers-only [--rounds N]]`: acknowledged durable
// appends/s and append latency (open-loop, from the intended send time) of a 3-node RF=3 cluster,
// embedded and as three processes over TCP, at the measured maximum and at 50 % of it, for 100 B and
// 1 KiB records — beside the physical limit of the same disk (idle, and replaying each 50 % row's
// flushes) and the simulator's seeds per minute.
// Then the partition sweep (bench/partition-sweep.ts): by default 5 nodes × 256 and × 1 024 partitions
// at 2 000 appends/s of 256 B plus their idle CPU; --sweep runs 3 and 5 nodes × 12, 256, 1 024
// partitions at 500 and 2 000/s; --ab adds each configuration with quiescence off; --pin-ab runs
// each shape --rounds times with its event loop free and pinned to one CPU, alternated.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import hdr from 'hdr-histogram-js';
import { LogClient } from '../packages/log-cluster/src/client.ts';
import { realScheduler } from '../packages/log-cluster/src/clock.ts';
import { EmbeddedCluster } from '../packages/log-cluster/src/cluster.ts';
import { PLAIN_ENTRY_BYTES } from '../packages/log-cluster/src/storage/entry-table.ts';
import { DEFAULT_NODE_CONFIG } from '../packages/log-cluster/src/node.ts';
import { runSeeds } from '../packages/log-cluster/src/sim/run-seeds.ts';
import { TcpConnector } from '../packages/log-cluster/src/transport/tcp.ts';
import { NodeProcessCluster } from '../test/support/node-cluster.ts';
import { measureDiskLimit, type DiskLimit } from './disk-limit.ts';
import { DISK_REPLAY_SECONDS, flushesIn, flushLoadOf, replayFlushLoad, type DiskReplay } from './disk-replay.ts';
import { hostStealMeter, machineLine, stealCell, type HostSteal } from './machine.ts';
import { median, recordMsSince } from './stats.ts';
import { flushCount, measurePreallocation, sweepPartitions, sweepTable, type SweepConfig, type SweepRow } from './partition-sweep.ts';
import { newHistogram, openLoop, type OpenLoopResult } from './open-loop.ts';
import { positiveInteger, positiveNumber } from './args.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PARTITIONS = 12;
/** Nodes of each cluster the bench starts; every node holds every partition (RF = NODES). */
const NODES = 3;
/** Appends kept outstanding when measuring the maximum (closed loop). */
const MAX_OUTSTANDING = 4096;
/** Open loop: appends issued late by more than this are counted as missed, not silently dropped. */

interface Point {
  readonly mode: 'embedded' | 'tcp';
  readonly recordBytes: number;
  readonly load: 'max' | '50%';
  readonly offeredPerSec: number | null;
  readonly ackedPerSec: number;
  readonly mbPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  /** Open loop only: p99 of how long after its intended time each append was sent (the generator's share, in p99Ms). */
  readonly sentLateP99Ms: number | null;
  /** CPU time the host took from this VM during the point (null off Linux; see machine.ts). */
  readonly hostSteal: HostSteal | null;
  /** 50 % rows: the three journals' flushes per second during the point. */
  readonly flushesPerSec: number | null;
  /**
   * 50 % rows: the disk alone replaying those flushes right after (three writers, the point's
   * bytes per flush; bench/disk-replay.ts). The 4 KiB fdatasync p99 is the disk idle; this is the
   * disk at the load the row put on it, so p99 over it is the cluster's own share.
   */
  readonly diskAlone: DiskReplay | null;
}

/** Flushes every node of a cluster has made so far. */
type FlushCounter = () => Promise<number>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Closed loop with many appends outstanding: the most the cluster acknowledges per second. */
async function measureMax(client: LogClient, recordBytes: number, seconds: number, outstanding = MAX_OUTSTANDING): Promise<{ perSec: number; errors: number; histogram: ReturnType<typeof newHistogram>; acked: number }> {
  const record = new Uint8Array(recordBytes).fill(42);
  const histogram = newHistogram();
  let acked = 0;
  let errors = 0;
  let n = 0;
  const endMs = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < endMs) {
      const start = performance.now();
      try {
        await client.append({ partition: n++ % PARTITIONS }, [record]);
        acked++;
        recordMsSince(histogram, start);
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: outstanding }, () => worker()));
  return { perSec: acked / ((performance.now() - started) / 1000), errors, histogram, acked };
}

/** Open loop at a fixed rate over the bench's partitions (see open-loop.ts). */
function measureOpenLoop(client: LogClient, recordBytes: number, ratePerSec: number, seconds: number): Promise<OpenLoopResult> {
  return openLoop(client, PARTITIONS, recordBytes, ratePerSec, seconds);
}

function point(mode: Point['mode'], recordBytes: number, load: Point['load'], offered: number | null, result: Omit<Awaited<ReturnType<typeof measureMax>>, 'acked'> & { lateness?: OpenLoopResult['lateness'] }, hostSteal: HostSteal | null, flushes: { perSec: number; diskAlone: DiskReplay } | null = null): Point {
  const h = result.histogram;
  return {
    mode,
    recordBytes,
    load,
    offeredPerSec: offered,
    ackedPerSec: result.perSec,
    mbPerSec: (result.perSec * recordBytes) / 1e6,
    p50Ms: h.getValueAtPercentile(50) / 1000,
    p99Ms: h.getValueAtPercentile(99) / 1000,
    p999Ms: h.getValueAtPercentile(99.9) / 1000,
    maxMs: h.maxValue / 1000,
    errors: result.errors,
    sentLateP99Ms: result.lateness === undefined ? null : result.lateness.getValueAtPercentile(99) / 1000,
    hostSteal,
    flushesPerSec: flushes?.perSec ?? null,
    diskAlone: flushes?.diskAlone ?? null,
  };
}

/**
 * Node processes: every node's flush counter, scraped from the metrics URL its ready line printed.
 * That renders each node's whole metrics text (the cost flushCount avoids in one process), but at
 * 12 partitions it is a few hundred series, and in the node processes, not the bench's.
 */
function processFlushes(cluster: NodeProcessCluster): FlushCounter {
  const urls = [...cluster.outputs.keys()].map((id) => `${cluster.telemetryUrl(id)}/metrics`);
  return async () => {
    let total = 0;
    for (const url of urls) total += flushesIn(await (await fetch(url)).text());
    return total;
  };
}

async function sweep(mode: Point['mode'], client: LogClient, seconds: number, sizes: readonly number[], flushes: FlushCounter, replayDir: string): Promise<Point[]> {
  const points: Point[] = [];
  for (const recordBytes of sizes) {
    await measureMax(client, recordBytes, 1); // warm-up
    const maxSteal = hostStealMeter();
    const max = await measureMax(client, recordBytes, seconds);
    points.push(point(mode, recordBytes, 'max', null, max, maxSteal()));
    const half = Math.max(100, Math.floor(max.perSec / 2));
    const halfSteal = hostStealMeter();
    const flushesBefore = await flushes();
    const started = performance.now();
    const halfLoad = await measureOpenLoop(client, recordBytes, half, seconds);
    const flushesPerSec = ((await flushes()) - flushesBefore) / ((performance.now() - started) / 1000);
    const hostSteal = halfSteal();
    const diskAlone = await replayFlushLoad(replayDir, flushLoadOf(NODES, flushesPerSec, halfLoad.perSec, NODES, recordBytes), DISK_REPLAY_SECONDS);
    points.push(point(mode, recordBytes, '50%', half, halfLoad, hostSteal, { perSec: flushesPerSec, diskAlone }));
  }
  return points;
}

function table(points: readonly Point[], disk: DiskLimit): string {
  const alone = (p: Point): string => (p.diskAlone === null || p.flushesPerSec === null ? '— | —' : `${p.flushesPerSec.toFixed(0)} | ${p.diskAlone.p50Ms.toFixed(2)} / ${p.diskAlone.p99Ms.toFixed(2)} / ${p.diskAlone.maxMs.toFixed(2)}`);
  const rows = points.map((p) => `| ${p.mode} | ${p.recordBytes} B | ${p.load}${p.offeredPerSec !== null ? ` (${p.offeredPerSec.toFixed(0)}/s)` : ''} | ${p.ackedPerSec.toFixed(0)} | ${p.mbPerSec.toFixed(1)} | ${p.p50Ms.toFixed(2)} | ${p.p99Ms.toFixed(2)} | ${p.p999Ms.toFixed(2)} | ${p.maxMs.toFixed(2)} | ${p.sentLateP99Ms === null ? '—' : p.sentLateP99Ms.toFixed(2)} | ${p.errors} | ${alone(p)} | ${stealCell(p.hostSteal)} |`);
  return [
    '| mode | record | load | acked appends/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | sent late p99 ms | errors | flushes/s | disk alone at those flushes: p50 / p99 / max ms | host steal total / worst 1 s ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Disk limit (same directory): ${disk.fdatasyncPerSec.toFixed(0)} fdatasync/s after 4 KiB writes (p50 ${disk.fdatasyncP50Ms.toFixed(2)} ms, p99 ${disk.fdatasyncP99Ms.toFixed(2)} ms, max ${disk.fdatasyncMaxMs.toFixed(2)} ms; CPU ${disk.durableWriteCpuMicros.toFixed(0)} µs per write + fdatasync, ${disk.plainWriteCpuMicros.toFixed(0)} µs per plain write); ${disk.syncedWriteMBps.toFixed(0)} MB/s sequential with fdatasync per 1 MiB.`,
  ].join('\n');
}

/** A/B rounds of the identifiers comparison (default; --rounds): alternated, so drift in a noisy machine hits both sides. */
const IDENTIFIERS_AB_ROUNDS = 3;
/** Rounds behind the figure quoted against the target (≤ 5 %). */
const IDENTIFIERS_TARGET_ROUNDS = 15;
/**
 * A closed loop is bound by latency (Little's law: acked/s = outstanding / latency), so at
 * MAX_OUTSTANDING a second sync shows as lost throughput although the disk and CPU could do more.
 * Four times as many fill every partition's batch to the client's 1 MiB cap with more queued behind
 * it, so the client keeps a second batch in flight while the first waits for its replicas (see
 * ClientOptions.pipelineBytesMin; 32 k outstanding gave no more than 16 k).
 */
const SATURATING_OUTSTANDING = 4 * MAX_OUTSTANDING;
/** The fixed rate at which the identifiers' latency cost is measured (open loop). */
const IDENTIFIERS_LATENCY_RATE = 1000;

interface IdentifiersSide {
  /** Acked appends/s with SATURATING_OUTSTANDING appends outstanding (batches at the client's cap). */
  readonly saturatedPerSec: number;
  /**
   * Process CPU (user + system, every thread) per acknowledged append in the same run, µs. The
   * cluster is one CPU-bound process here, so this is what throughput is made of, and time the VM
   * waits for its neighbours is not counted in it; it still varies between rounds (26–34 µs seen).
   */
  readonly saturatedCpuUsPerAppend: number;
  /** Acked appends/s with MAX_OUTSTANDING outstanding (the engine table's "max"). */
  readonly fixedPerSec: number;
  /** Open loop at IDENTIFIERS_LATENCY_RATE: latency percentiles, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface IdentifiersCost {
  readonly with: IdentifiersSide;
  readonly without: IdentifiersSide;
  /** with / without at SATURATING_OUTSTANDING: the throughput the identifiers cost is 1 − this. */
  readonly ratio: number;
  readonly fixedRatio: number;
  /** Every round's figures, for the spread. */
  readonly rounds: { readonly with: readonly IdentifiersSide[]; readonly without: readonly IdentifiersSide[] };
}

/**
 * What record identifiers cost: the embedded cluster with 1 KiB records, journals with and without
 * identifiers, alternated round by round on fresh clusters; medians of the rounds. Three figures:
 * the closed loop with batches at the client's cap, the closed loop at MAX_OUTSTANDING, and
 * latency at a fixed rate. Identifiers share their records' flush (see Journal): one more write
 * per flush, issued at once with the records'.
 */
async function identifiersCost(dataDir: string, seconds: number, rounds: number): Promise<IdentifiersCost> {
  const runs = { with: [] as IdentifiersSide[], without: [] as IdentifiersSide[] };
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
      const clusterDir = join(dataDir, `${side}-${round}`);
      const cluster = await EmbeddedCluster.start({
        dataDir: clusterDir,
        nodeCount: NODES,
        partitionCount: PARTITIONS,
        node: { journal: { ...DEFAULT_NODE_CONFIG.journal, identifiers: side === 'with' } },
      });
      await cluster.waitForLeaders();
      const client = cluster.client({ appendTimeoutMs: 30_000 });
      await measureMax(client, 1024, 1); // warm-up
      const fixed = await measureMax(client, 1024, seconds);
      const cpuBefore = process.cpuUsage();
      const saturated = await measureMax(client, 1024, seconds, SATURATING_OUTSTANDING);
      const cpu = process.cpuUsage(cpuBefore);
      const latency = (await measureOpenLoop(client, 1024, IDENTIFIERS_LATENCY_RATE, seconds)).histogram;
      runs[side].push({ saturatedPerSec: saturated.perSec, saturatedCpuUsPerAppend: saturated.acked > 0 ? (cpu.user + cpu.system) / saturated.acked : 0, fixedPerSec: fixed.perSec, p50Ms: latency.getValueAtPercentile(50) / 1000, p99Ms: latency.getValueAtPercentile(99) / 1000 });
      client.close();
      await cluster.stop();
      // About 1.7 GB a cluster: kept to the end, nine rounds filled this machine's free disk.
      rmSync(clusterDir, { recursive: true, force: true });
    }
  }
  const summary = (sides: IdentifiersSide[]): IdentifiersSide => ({
    saturatedPerSec: median(sides.map((r) => r.saturatedPerSec)),
    saturatedCpuUsPerAppend: median(sides.map((r) => r.saturatedCpuUsPerAppend)),
    fixedPerSec: median(sides.map((r) => r.fixedPerSec)),
    p50Ms: median(sides.map((r) => r.p50Ms)),
    p99Ms: median(sides.map((r) => r.p99Ms)),
  });
  const withIds = summary(runs.with);
  const without = summary(runs.without);
  return { with: withIds, without, ratio: without.saturatedPerSec > 0 ? withIds.saturatedPerSec / without.saturatedPerSec : 0, fixedRatio: without.fixedPerSec > 0 ? withIds.fixedPerSec / without.fixedPerSec : 0, rounds: runs };
}

function identifiersReport(ab: IdentifiersCost): string {
  const pct = (ratio: number): string => `${((1 - ratio) * 100).toFixed(1)} %`;
  // Each round runs its two sides back to back: the median of the rounds' own ratios leaves out
  // most of the drift between rounds that the medians of each side keep.
  const pairedMedian = (value: (side: IdentifiersSide) => number): number =>
    median(ab.rounds.with.map((w, i) => value(w) / Math.max(value(ab.rounds.without[i] ?? w), 1e-9)));
  return [
    `record identifiers (protocol-aware recovery), embedded 3 × ${PARTITIONS}, 1 KiB, A/B alternated (${ab.rounds.with.length} rounds each, medians):`,
    `  ${SATURATING_OUTSTANDING} outstanding (batches at the client's 1 MiB cap): ${ab.with.saturatedPerSec.toFixed(0)} appends/s with, ${ab.without.saturatedPerSec.toFixed(0)} without: throughput cost ${pct(ab.ratio)} (target ≤ 5 %)`,
    `    rounds with: ${ab.rounds.with.map((r) => r.saturatedPerSec.toFixed(0)).join(', ')}; without: ${ab.rounds.without.map((r) => r.saturatedPerSec.toFixed(0)).join(', ')}`,
    `    median of the rounds' own with/without ratios: throughput cost ${pct(pairedMedian((r) => r.saturatedPerSec))}, CPU per append ${((pairedMedian((r) => r.saturatedCpuUsPerAppend) - 1) * 100).toFixed(1)} % more`,
    `    process CPU per acknowledged append (all threads): ${ab.with.saturatedCpuUsPerAppend.toFixed(1)} µs with, ${ab.without.saturatedCpuUsPerAppend.toFixed(1)} without: ${((ab.with.saturatedCpuUsPerAppend / Math.max(ab.without.saturatedCpuUsPerAppend, 1e-9) - 1) * 100).toFixed(1)} % more`,
    `    rounds with: ${ab.rounds.with.map((r) => r.saturatedCpuUsPerAppend.toFixed(1)).join(', ')}; without: ${ab.rounds.without.map((r) => r.saturatedCpuUsPerAppend.toFixed(1)).join(', ')}`,
    `  ${MAX_OUTSTANDING} outstanding (the table's "max"): ${ab.with.fixedPerSec.toFixed(0)} with, ${ab.without.fixedPerSec.toFixed(0)} without: ${pct(ab.fixedRatio)} fewer`,
    `  latency at ${IDENTIFIERS_LATENCY_RATE}/s: p50 ${ab.with.p50Ms.toFixed(2)} ms with, ${ab.without.p50Ms.toFixed(2)} without; p99 ${ab.with.p99Ms.toFixed(2)} with, ${ab.without.p99Ms.toFixed(2)} without (one more durable write per flush, issued with the records')`,
    // On a shared VM single rounds of one side spread by 1.5–2 ×: three rounds (27.6 %) and fifteen
    // (4.6 %) disagreed in the same hour (2026-11-27), so a short run says how to get a figure.
    ...(ab.rounds.with.length < IDENTIFIERS_TARGET_ROUNDS
      ? [`  (${ab.rounds.with.length} rounds: a rough figure where the machine is noisy; for the target, npm run bench -- engine --identifiers-only --rounds ${IDENTIFIERS_TARGET_ROUNDS})`]
      : []),
  ].join('\n');
}

/** Per shape and rate: the p99 and max of its free and pinned runs, medians first. */
function pinAbReport(rows: readonly SweepRow[]): string {
  const lines = ['Event loop pinned to one CPU (bench/loop-affinity.ts) against free, alternated runs of the same shape:'];
  const shapes = [...new Set(rows.map((r) => `${r.nodes} × ${r.partitions}`))];
  for (const shape of shapes) {
    const of = (pinned: boolean): SweepRow[] => rows.filter((r) => `${r.nodes} × ${r.partitions}` === shape && (r.pinLoop === true) === pinned);
    for (const rate of of(false)[0]?.rates.map((p) => p.ratePerSec) ?? []) {
      const side = (pinned: boolean): string => {
        const points = of(pinned).flatMap((r) => r.rates.filter((p) => p.ratePerSec === rate));
        const p99 = points.map((p) => p.p99Ms);
        return `p99 median ${median(p99).toFixed(2)} ms (${p99.map((v) => v.toFixed(2)).join(', ')}), max median ${median(points.map((p) => p.maxMs)).toFixed(1)} ms, CPU median ${median(points.map((p) => p.cpuPercent)).toFixed(0)} %`;
      };
      lines.push(`  ${shape} at ${rate}/s: free ${side(false)}; pinned ${side(true)}`);
    }
  }
  return lines.join('\n');
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '5' },
      quick: { type: 'boolean', default: false },
      'skip-tcp': { type: 'boolean', default: false },
      sweep: { type: 'boolean', default: false },
      'sweep-only': { type: 'boolean', default: false },
      ab: { type: 'boolean', default: false },
      'pin-ab': { type: 'boolean', default: false },
      'identifiers-only': { type: 'boolean', default: false },
      rounds: { type: 'string', default: String(IDENTIFIERS_AB_ROUNDS) },
    },
  });
  const seconds = values.quick ? 2 : positiveNumber('--seconds', values.seconds);
  const rounds = positiveInteger('--rounds', values.rounds);
  const sizes = [100, 1024];
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-bench-'));
  let tcp: NodeProcessCluster | null = null;
  const cleanup = (): void => {
    tcp?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    console.log(`machine: ${machineLine(dataDir)}`);
    const disk = measureDiskLimit(dataDir, values.quick ? 1 : 3);
    const preallocation = measurePreallocation(dataDir, values.quick ? 200 : 500);
    const points: Point[] = [];
    if (values['identifiers-only']) {
      // Just the A/B of what record identifiers cost (issue: protocol-aware recovery).
      const ab = await identifiersCost(join(dataDir, 'identifiers-ab'), seconds, rounds);
      console.log(identifiersReport(ab));
      const resultsDir = join(root, 'bench', 'results');
      mkdirSync(resultsDir, { recursive: true });
      const file = join(resultsDir, `engine-identifiers-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      writeFileSync(file, JSON.stringify({ machine: machineLine(dataDir), seconds, identifiers: ab }, null, 2));
      console.log(`results: ${file}`);
      return;
    }
    const sweepOnly = values['sweep-only'];
    /** The embedded nodes' per-entry index after their points (see EntryTable). */
    let index: { entries: number; bytes: number } | null = null;
    if (!sweepOnly) {
      const cluster = await EmbeddedCluster.start({ dataDir: join(dataDir, 'embedded'), nodeCount: NODES, partitionCount: PARTITIONS });
      await cluster.waitForLeaders();
      points.push(...(await sweep('embedded', cluster.client({ appendTimeoutMs: 30_000 }), seconds, sizes, () => flushCount(cluster), dataDir)));
      index = { entries: 0, bytes: 0 };
      for (let id = 1; id <= NODES; id++) {
        const stats = cluster.node(id)?.journalIndex();
        index.entries += stats?.entries ?? 0;
        index.bytes += stats?.bytes ?? 0;
      }
      await cluster.stop();

      if (!values['skip-tcp']) {
        const tcpDir = join(dataDir, 'tcp');
        mkdirSync(tcpDir, { recursive: true });
        tcp = await NodeProcessCluster.start(tcpDir, { nodeCount: NODES, partitionCount: PARTITIONS });
        const connector = new TcpConnector(tcp.peers);
        const client = new LogClient(connector, realScheduler, { appendTimeoutMs: 30_000 });
        for (let i = 0; i < 100; i++) {
          try {
            await client.append({ partition: i % PARTITIONS }, [new Uint8Array(1)]);
          } catch {
            await sleep(50);
          }
        }
        points.push(...(await sweep('tcp', client, seconds, sizes, processFlushes(tcp), dataDir)));
        client.close();
        connector.close();
        // Stopped now, not at the end: three idle node processes would share the host with every
        // later phase (identifiers A/B, the sweep's shapes).
        tcp.stop();
        tcp = null;
      }
    }
    const identifiers = sweepOnly ? null : await identifiersCost(join(dataDir, 'identifiers-ab'), seconds, rounds);
    // --pin-ab: each shape `rounds` times with the event loop free and pinned, alternated (noise on
    // a shared machine hits both sides), instead of once; without --sweep only the issue's 5 × 256.
    const pinAb = values['pin-ab'];
    const full = values.sweep || (sweepOnly && !pinAb);
    const shapes = full ? [3, 5].flatMap((nodes) => [12, 256, 1024].map((partitions) => ({ nodes, partitions }))) : pinAb ? [{ nodes: 5, partitions: 256 }] : [{ nodes: 5, partitions: 256 }, { nodes: 5, partitions: 1024 }];
    const configs: SweepConfig[] = shapes.flatMap((shape) =>
      pinAb
        ? Array.from({ length: rounds }, () => [{ ...shape, quiesce: true, pinLoop: false }, { ...shape, quiesce: true, pinLoop: true }]).flat()
        : values.ab
          ? [{ ...shape, quiesce: true }, { ...shape, quiesce: false }]
          : [{ ...shape, quiesce: true }],
    );
    const sweepRows = await sweepPartitions(dataDir, configs, full ? [500, 2000] : [2000], 256, seconds);

    const seedsCount = values.quick ? 100 : 300;
    const sim = sweepOnly ? { seedsRun: 0, elapsedMs: 1, failures: [] } : await runSeeds(500_000, seedsCount);
    const seedsPerMinute = (sim.seedsRun / sim.elapsedMs) * 60_000;

    console.log(table(points, disk));
    console.log(
      `Preallocation (same disk, alternating): 4 KiB write + fdatasync on a growing file p50 ${preallocation.growingP50Ms.toFixed(2)} / p99 ${preallocation.growingP99Ms.toFixed(2)} / max ${preallocation.growingMaxMs.toFixed(2)} ms; on a zero-filled file p50 ${preallocation.preallocatedP50Ms.toFixed(2)} / p99 ${preallocation.preallocatedP99Ms.toFixed(2)} / max ${preallocation.preallocatedMaxMs.toFixed(2)} ms (p99 ratio ${(preallocation.growingP99Ms / preallocation.preallocatedP99Ms).toFixed(2)} ×).`,
    );
    console.log(`\nPartition sweep (embedded, 256 B records, open loop, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}):`);
    console.log(sweepTable(sweepRows));
    if (pinAb) console.log(pinAbReport(sweepRows));
    for (const mode of ['embedded', 'tcp'] as const) {
      const kib = points.find((p) => p.mode === mode && p.recordBytes === 1024 && p.load === 'max');
      const halfLoad = points.find((p) => p.mode === mode && p.recordBytes === 1024 && p.load === '50%');
      if (kib !== undefined) console.log(`${mode}, 1 KiB at max: ${kib.mbPerSec.toFixed(1)} MB/s = ${((kib.mbPerSec / (disk.syncedWriteMBps / 3)) * 100).toFixed(0)} % of disk bandwidth / 3 (target ≥ 60 %)`);
      if (halfLoad !== undefined) {
        const alone = halfLoad.diskAlone === null ? '' : `; the disk alone at that load's ${halfLoad.flushesPerSec?.toFixed(0)} flushes/s: p99 ${halfLoad.diskAlone.p99Ms.toFixed(2)} ms (the cluster ${(halfLoad.p99Ms / Math.max(halfLoad.diskAlone.p99Ms, 1e-3)).toFixed(1)} × that)`;
        console.log(`${mode}, 1 KiB at 50 % load: p99 ${halfLoad.p99Ms.toFixed(2)} ms = ${(halfLoad.p99Ms / disk.fdatasyncP99Ms).toFixed(1)} × the fdatasync p99 (target ≤ 4 ×)${alone}`);
      }
    }
    if (index !== null && index.entries > 0) {
      console.log(`embedded, after its points: ${index.entries} entries indexed in ${(index.bytes / 2 ** 20).toFixed(1)} MiB over ${NODES} nodes = ${(index.bytes / index.entries).toFixed(1)} bytes an entry (all but each table's newest chunk sealed; plain columns take ${PLAIN_ENTRY_BYTES})`);
    }
    if (identifiers !== null) console.log(identifiersReport(identifiers));
    // --sweep-only runs no seeds: a "0 seeds/min" line would read as a failure.
    if (!sweepOnly) console.log(`simulator: ${sim.seedsRun} seeds in ${(sim.elapsedMs / 1000).toFixed(1)} s = ${seedsPerMinute.toFixed(0)} seeds/min on all cores, ${sim.failures.length} failing (target ≥ 1,000/min)`);
    const resultsDir = join(root, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `engine-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ machine: machineLine(dataDir), seconds, disk, preallocation, points, sweep: sweepRows, index, simulator: { seeds: sim.seedsRun, seedsPerMinute, failures: sim.failures.length }, identifiers }, null, 2));
    console.log(`results: ${file}`);
  } finally {
    cleanup();
  }
}
