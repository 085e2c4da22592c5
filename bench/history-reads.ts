// A consumer reading cold history while producers write, with the leaders' segment reads in the
// thread pool (JournalOptions.backgroundReads 'always', the default), and side by side in the same
// run in the pool only once blocking reads were slow ('when-slow') and always blocking the event
// loop, as before background reads ('never'). Embedded 3 × 12 on real files, the
// default entry cache (64 MiB a node). Each round and arm: a fresh cluster is given a backlog of
// --backlog-mb MB; the page cache of its segments is dropped (`dd iflag=nocache`, as for a log
// larger than memory); then 1 KiB appends at --rate/s run for --seconds while CONSUMERS consumers
// read the whole history (each its share of the partitions, from offset 0, 4 MiB pages). Prints,
// as medians over rounds: the appends' p50 / p99 / p99.9 / max, the longest event-loop stall (the
// loop every node shares), and the consumers' MB/s until they finished (or the load ended). Arms
// take turns going first.
// `npm run bench -- history-reads [--backlog-mb 300] [--rounds 3] [--seconds 6] [--rate 1000]`
// Writes bench/results/history-reads-<timestamp>.json.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LogClient } from '../packages/log-cluster/src/client.ts';
import { EmbeddedCluster } from '../packages/log-cluster/src/cluster.ts';
import { DEFAULT_NODE_CONFIG } from '../packages/log-cluster/src/node.ts';
import { SEGMENT_READ_BYTES_PER_SEC } from '../packages/log-cluster/src/storage/journal.ts';
import { writeBacklog } from './catch-up.ts';
import { hostStealMeter, machineLine, stealCell, type HostSteal } from './machine.ts';
import { openLoop } from './open-loop.ts';
import { median } from './stats.ts';
import { positiveInteger, positiveNumber } from './args.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODES = 3;
const PARTITIONS = 12;
const RECORD_BYTES = 1024;
/** Consumers; consumer k reads partitions k, k + CONSUMERS, … from offset 0. */
const CONSUMERS = 4;
const PAGE_BYTES = 4 << 20;

type Arm = 'when-slow' | 'always' | 'never';
const ARMS: readonly Arm[] = ['when-slow', 'always', 'never'];

interface Point {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  readonly loopStallMaxMs: number;
  readonly consumedMBps: number;
  /** Whether dropping the segments' page cache worked (dd failed, or is missing: the reads were warm). */
  readonly cold: boolean;
  readonly hostSteal: HostSteal | null;
}

/** Drops the page cache of every segment under `dir` (clean pages: they were synced). */
function dropPageCache(dir: string): boolean {
  let ok = true;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.startsWith('seg-') || !entry.name.endsWith('.log')) continue;
    const result = spawnSync('dd', [`if=${join(entry.parentPath, entry.name)}`, 'iflag=nocache', 'count=0', 'status=none']);
    ok &&= result.status === 0;
  }
  return ok;
}

/** Reads each of `partitions` from offset 0 to its end, page by page, until `stop()`: the bytes read and when it ended (ms). */
async function consume(client: LogClient, partitions: readonly number[], stop: () => boolean): Promise<{ bytes: number; endedMs: number }> {
  let bytes = 0;
  for (const partition of partitions) {
    let offset = 0;
    while (!stop()) {
      const page = await client.read(partition, offset, 100_000, PAGE_BYTES);
      for (const record of page.records) bytes += record.value.byteLength;
      const last = page.records.at(-1);
      if (last === undefined || last.offset + 1 >= page.highWatermark) break;
      offset = last.offset + 1;
    }
  }
  return { bytes, endedMs: performance.now() };
}

async function point(dataDir: string, arm: Arm, backlogMB: number, rate: number, seconds: number): Promise<Point> {
  const cluster = await EmbeddedCluster.start({ dataDir, nodeCount: NODES, partitionCount: PARTITIONS, node: { journal: { ...DEFAULT_NODE_CONFIG.journal, backgroundReads: arm } } });
  try {
    await cluster.waitForLeaders();
    const client = cluster.client({ appendTimeoutMs: 30_000 });
    await writeBacklog(client, backlogMB * 1e6);
    // Warm the write path (JIT) before the page cache goes, so the point measures the reads.
    await openLoop(client, PARTITIONS, RECORD_BYTES, rate, 1);
    const cold = dropPageCache(dataDir);
    const steal = hostStealMeter();
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    let stopped = false;
    const startedMs = performance.now();
    const reader = cluster.client({ appendTimeoutMs: 30_000 });
    const consumers = Array.from({ length: CONSUMERS }, (_, k) => consume(reader, Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % CONSUMERS === k), () => stopped));
    const load = await openLoop(client, PARTITIONS, RECORD_BYTES, rate, seconds);
    stopped = true;
    const ended = await Promise.all(consumers);
    const consumed = ended.reduce((sum, c) => sum + c.bytes, 0);
    const consumedSeconds = (Math.max(...ended.map((c) => c.endedMs)) - startedMs) / 1000;
    loop.disable();
    const h = load.histogram;
    return {
      p50Ms: h.getValueAtPercentile(50) / 1000, p99Ms: h.getValueAtPercentile(99) / 1000, p999Ms: h.getValueAtPercentile(99.9) / 1000, maxMs: h.maxValue / 1000,
      errors: load.errors, loopStallMaxMs: loop.max / 1e6, consumedMBps: consumed / 1e6 / consumedSeconds, cold, hostSteal: steal(),
    };
  } finally {
    await cluster.stop();
  }
}

const LABEL: Record<Arm, string> = { 'when-slow': 'in the pool once reads were slow', always: 'always in the pool (default)', never: 'always blocking (before)' };

function report(arm: Arm, points: readonly Point[]): string {
  const m = (f: (p: Point) => number): string => median(points.map(f)).toFixed(2);
  return `| ${LABEL[arm]} | ${m((p) => p.p50Ms)} | ${m((p) => p.p99Ms)} | ${m((p) => p.p999Ms)} | ${m((p) => p.maxMs)} | ${m((p) => p.errors)} | ${m((p) => p.loopStallMaxMs)} | ${m((p) => p.consumedMBps)} |`;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'backlog-mb': { type: 'string', default: '300' },
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '6' },
      rate: { type: 'string', default: '1000' },
    },
  });
  const backlogMB = positiveNumber('--backlog-mb', values['backlog-mb']);
  const rounds = positiveInteger('--rounds', values.rounds);
  const seconds = positiveNumber('--seconds', values.seconds);
  const rate = positiveNumber('--rate', values.rate);
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-bench-history-'));
  const points: Record<Arm, Point[]> = { 'when-slow': [], always: [], never: [] };
  try {
    console.log(`machine: ${machineLine(dataDir)}`);
    for (let r = 0; r < rounds; r++) {
      const arms = ARMS.map((_, k) => ARMS[(k + r) % ARMS.length]!);
      for (const arm of arms) {
        const dir = join(dataDir, `${arm}-${r}`);
        const p = await point(dir, arm, backlogMB, rate, seconds);
        rmSync(dir, { recursive: true, force: true });
        points[arm].push(p);
        console.log(`round ${r + 1}, ${arm}: p99 ${p.p99Ms.toFixed(2)} ms, max ${p.maxMs.toFixed(1)} ms, loop stall ${p.loopStallMaxMs.toFixed(1)} ms, consumed ${p.consumedMBps.toFixed(1)} MB/s${p.cold ? '' : ' (page cache NOT dropped: warm reads)'}, host steal ${stealCell(p.hostSteal)}`);
      }
    }
    console.log([
      '',
      `embedded ${NODES} × ${PARTITIONS}, ${RECORD_BYTES} B appends at ${rate}/s for ${seconds} s while ${CONSUMERS} consumers read every partition from offset 0 (${backlogMB} MB of history, page cache dropped; leaders read segments at ${SEGMENT_READ_BYTES_PER_SEC / 2 ** 20} MiB/s each), median of ${rounds} rounds:`,
      '',
      '| leaders\' segment reads | p50 ms | p99 ms | p99.9 ms | max ms | errors | loop stall max ms | consumed MB/s |',
      '|---|---|---|---|---|---|---|---|',
      ...ARMS.map((arm) => report(arm, points[arm])),
    ].join('\n'));
    const resultsDir = join(root, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `history-reads-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ machine: machineLine(dataDir), backlogMB, seconds, rate, recordBytes: RECORD_BYTES, nodes: NODES, partitions: PARTITIONS, consumers: CONSUMERS, points }, null, 2));
    console.log(`\nresults: ${file}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
