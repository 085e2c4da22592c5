// A follower's return, measured: node 3 of a 3-node, 12-partition cluster is stopped (embedded:
// crashed; TCP: kill -9) while a backlog is written, then started again under a steady open-loop
// load of 1 KiB appends at 1 000/s. The reference, in the same cluster and round, is the same load
// just before the stop. Prints, as medians over rounds: the load's p50 / p99 / p99.9 / max before
// and while node 3 catches up, the bench process's longest event-loop stall (embedded: the nodes'
// loop), the other nodes' flush (write + fdatasync) p99 and max over the same seconds (what the
// disk did: node 3's catch-up writes share it here), and how long node 3 took to hold what its
// leaders had committed.
// `npm run bench -- catch-up [--backlog-mb 150] [--rounds 3] [--seconds 6] [--mode both|embedded|tcp] [--reads always,never]`
// --reads: where the nodes read their segments (JournalOptions.backgroundReads; `logscope node
// --background-reads`), one arm per mode given; with several, each round runs every arm, in an order
// that turns from round to round, each on a fresh cluster. Writes bench/results/catch-up-<timestamp>.json.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LogClient } from '../packages/log-cluster/src/client.ts';
import { realScheduler } from '../packages/log-cluster/src/clock.ts';
import { EmbeddedCluster } from '../packages/log-cluster/src/cluster.ts';
import { DEFAULT_NODE_CONFIG } from '../packages/log-cluster/src/node.ts';
import { BACKGROUND_READS, type BackgroundReads } from '../apps/server/src/node-command.ts';
import { SEGMENT_READ_BYTES_PER_SEC } from '../packages/log-cluster/src/storage/journal.ts';
import { TcpConnector } from '../packages/log-cluster/src/transport/tcp.ts';
import { mergeEncoded, summary } from '../packages/telemetry/src/histogram.ts';
import { METRIC_NAMES, type HistogramsJson } from '../packages/telemetry/src/metrics.ts';
import { NodeProcessCluster } from '../test/support/node-cluster.ts';
import { hostStealMeter, machineLine, stealCell, type HostSteal } from './machine.ts';
import { openLoop } from './open-loop.ts';
import { median } from './stats.ts';
import { positiveInteger, positiveNumber } from './args.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODES = 3;
const PARTITIONS = 12;
const RETURNING = 3;
const RATE = 1000;
const RECORD_BYTES = 1024;
/** The backlog goes in batches of this many records, this many batches outstanding. */
const BACKLOG_BATCH = 16;
const BACKLOG_OUTSTANDING = 48;
/** The load runs this long before node 3 starts again, so the stall of its start is inside it. */
const RESTART_AFTER_MS = 500;
/** Caught up: on every partition node 3 is at most this many entries behind its leader's commit (the load goes on). */
const CAUGHT_UP_ENTRIES = 10;

type Mode = 'embedded' | 'tcp';

interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  readonly loopStallMaxMs: number;
  /** The flushes (write + fdatasync) of the nodes that stay up, over the same seconds: what the disk did. */
  readonly flushP99Ms: number;
  readonly flushMaxMs: number;
}

interface Round {
  readonly before: Latency;
  readonly during: Latency;
  readonly backlogMB: number;
  readonly backlogSeconds: number;
  /** From the start of node 3 to holding every partition's commit; null if not within the load's time. */
  readonly caughtUpMs: number | null;
  /** Starting node 3: embedded, its journal's recovery, on the loop every node shares; TCP, spawn to ready. */
  readonly startMs: number;
  readonly hostSteal: HostSteal | null;
}

/** What a mode needs: a client, and stopping, starting and asking node 3 how far behind it is. */
interface Subject {
  readonly client: LogClient;
  stopReturning(): Promise<void>;
  startReturning(): Promise<void>;
  /** Partitions on which node 3 is more than CAUGHT_UP_ENTRIES behind (or unknown). */
  lagging(): Promise<number>;
  /** The 1 s histogram windows of every node but node 3 since `sinceMs` (wall clock). */
  histograms(sinceMs: number): Promise<HistogramsJson[]>;
  close(): Promise<void>;
}

/** Telemetry windows close every second: wait this long after a load for its last one. */
const WINDOW_CLOSE_WAIT_MS = 1_200;

async function measure(subject: Subject, seconds: number, during: (() => Promise<void>) | null): Promise<Latency> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const fromWallMs = Date.now();
  const load = openLoop(subject.client, PARTITIONS, RECORD_BYTES, RATE, seconds);
  await during?.();
  const result = await load;
  const untilWallMs = Date.now();
  loop.disable();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_CLOSE_WAIT_MS));
  // Windows that began within the load (the first may have begun up to a second before it).
  const flushes = (await subject.histograms(fromWallMs - 1_000)).flatMap((node) => node.windows.filter((w) => w.metric === 'fsync' && w.partition === null && w.startMs >= fromWallMs - 1_000 && w.startMs < untilWallMs));
  const flush = summary(mergeEncoded(flushes.map((w) => w.encoded)));
  const h = result.histogram;
  return {
    p50Ms: h.getValueAtPercentile(50) / 1000, p99Ms: h.getValueAtPercentile(99) / 1000, p999Ms: h.getValueAtPercentile(99.9) / 1000, maxMs: h.maxValue / 1000,
    errors: result.errors, loopStallMaxMs: loop.max / 1e6, flushP99Ms: flush.p99Micros / 1000, flushMaxMs: flush.maxMicros / 1000,
  };
}

export async function writeBacklog(client: LogClient, bytes: number): Promise<number> {
  const batch = Array.from({ length: BACKLOG_BATCH }, () => new Uint8Array(RECORD_BYTES).fill(7));
  const started = performance.now();
  let written = 0;
  let next = 0;
  const outstanding = new Set<Promise<unknown>>();
  while (written < bytes) {
    const p: Promise<unknown> = client.append({ partition: next++ % PARTITIONS }, batch).finally(() => outstanding.delete(p));
    outstanding.add(p);
    written += BACKLOG_BATCH * RECORD_BYTES;
    if (outstanding.size >= BACKLOG_OUTSTANDING) await Promise.race(outstanding);
  }
  await Promise.all(outstanding);
  return (performance.now() - started) / 1000;
}

async function round(subject: Subject, backlogBytes: number, seconds: number): Promise<Round> {
  const steal = hostStealMeter();
  const before = await measure(subject, seconds, null);
  await subject.stopReturning();
  const backlogSeconds = await writeBacklog(subject.client, backlogBytes);
  let caughtUpMs: number | null = null;
  let startMs = 0;
  const during = await measure(subject, seconds, async () => {
    await new Promise((resolve) => setTimeout(resolve, RESTART_AFTER_MS));
    const startedMs = performance.now();
    await subject.startReturning();
    startMs = performance.now() - startedMs;
    // Polled while the load runs, so its own cost is inside the figures (small: a status per partition).
    const deadline = startedMs + seconds * 1000 - RESTART_AFTER_MS;
    void (async () => {
      while (performance.now() < deadline) {
        if ((await subject.lagging()) === 0) {
          caughtUpMs = performance.now() - startedMs;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
  });
  return { before, during, backlogMB: backlogBytes / 1e6, backlogSeconds, caughtUpMs, startMs, hostSteal: steal() };
}

async function embeddedSubject(dataDir: string, reads: BackgroundReads): Promise<Subject> {
  const cluster = await EmbeddedCluster.start({ dataDir, nodeCount: NODES, partitionCount: PARTITIONS, node: { journal: { ...DEFAULT_NODE_CONFIG.journal, backgroundReads: reads } } });
  await cluster.waitForLeaders();
  const client = cluster.client({ appendTimeoutMs: 30_000 });
  return {
    client,
    stopReturning: async () => {
      await cluster.crash(RETURNING);
      await cluster.waitForLeaders();
    },
    startReturning: () => cluster.restart(RETURNING),
    lagging: async () => {
      const returning = cluster.node(RETURNING);
      if (returning === null) return PARTITIONS;
      let behind = 0;
      for (const [partition, replica] of returning.partitions()) {
        const leader = cluster.node(cluster.leaderOf(partition))?.partitions().get(partition);
        if (leader === undefined || replica.raft.status().lastIndex < leader.raft.status().commit - CAUGHT_UP_ENTRIES) behind++;
      }
      return behind;
    },
    histograms: async (sinceMs) => Array.from({ length: NODES }, (_, i) => i + 1).filter((id) => id !== RETURNING).map((id) => cluster.telemetry(id).histogramsJson(sinceMs)),
    close: () => cluster.stop(),
  };
}

/** Node 3's lag as its leaders see it, summed from their metrics: partitions where it is behind or unknown. */
function laggingFromMetrics(text: string): { partitions: Set<string>; behind: Set<string> } {
  const partitions = new Set<string>();
  const behind = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${METRIC_NAMES.replicaLagRecords}{`) || !line.includes(`replica="${RETURNING}"`)) continue;
    const partition = /partition="(\d+)"/.exec(line)?.[1];
    if (partition === undefined) continue;
    partitions.add(partition);
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!(value <= CAUGHT_UP_ENTRIES)) behind.add(partition);
  }
  return { partitions, behind };
}

async function tcpSubject(dataDir: string, reads: BackgroundReads): Promise<Subject> {
  const cluster = await NodeProcessCluster.start(dataDir, { nodeCount: NODES, partitionCount: PARTITIONS, nodeArgs: ['--background-reads', reads] });
  const client = new LogClient(new TcpConnector(cluster.peers), realScheduler, { appendTimeoutMs: 30_000 });
  const leaders = Array.from({ length: NODES }, (_, i) => i + 1).filter((id) => id !== RETURNING);
  const urls = leaders.map((id) => `${cluster.telemetryUrl(id)}/metrics`);
  const histogramUrls = leaders.map((id) => `${cluster.telemetryUrl(id)}/histograms`);
  return {
    client,
    stopReturning: async () => {
      cluster.kill(RETURNING);
      // Until the partitions it led have new leaders: a write there waits for the election otherwise.
      await writeBacklog(client, PARTITIONS * BACKLOG_BATCH * RECORD_BYTES);
    },
    startReturning: async () => {
      await cluster.startNode(RETURNING);
    },
    lagging: async () => {
      // Every partition is led by node 1 or 2 while 3 catches up (it led none since it stopped).
      const seen = new Set<string>();
      const behind = new Set<string>();
      for (const url of urls) {
        const lag = laggingFromMetrics(await (await fetch(url)).text());
        for (const p of lag.partitions) seen.add(p);
        for (const p of lag.behind) behind.add(p);
      }
      return behind.size + (PARTITIONS - seen.size);
    },
    histograms: async (sinceMs) => Promise.all(histogramUrls.map(async (url) => (await (await fetch(`${url}?since=${sinceMs}`)).json()) as HistogramsJson)),
    close: async () => {
      client.close();
      cluster.stop();
    },
  };
}

const row = (label: string, l: Latency): string => `| ${label} | ${l.p50Ms.toFixed(2)} | ${l.p99Ms.toFixed(2)} | ${l.p999Ms.toFixed(2)} | ${l.maxMs.toFixed(2)} | ${l.errors} | ${l.loopStallMaxMs.toFixed(1)} | ${l.flushP99Ms.toFixed(2)} / ${l.flushMaxMs.toFixed(1)} |`;

function medianLatency(ls: readonly Latency[]): Latency {
  const m = (f: (l: Latency) => number): number => median(ls.map(f));
  return { p50Ms: m((l) => l.p50Ms), p99Ms: m((l) => l.p99Ms), p999Ms: m((l) => l.p999Ms), maxMs: m((l) => l.maxMs), errors: m((l) => l.errors), loopStallMaxMs: m((l) => l.loopStallMaxMs), flushP99Ms: m((l) => l.flushP99Ms), flushMaxMs: m((l) => l.flushMaxMs) };
}

function report(mode: Mode, reads: BackgroundReads, rounds: readonly Round[]): string {
  const caught = rounds.map((r) => (r.caughtUpMs === null ? 'not within the load' : `${(r.caughtUpMs / 1000).toFixed(2)} s`));
  return [
    `${mode}, segment reads ${reads === 'always' ? 'in the pool (always)' : reads === 'never' ? 'blocking (never)' : 'in the pool once slow (when-slow)'}, ${NODES} × ${PARTITIONS}, ${RECORD_BYTES} B at ${RATE}/s; node ${RETURNING} back after ${rounds[0]?.backlogMB.toFixed(0)} MB written without it (median of ${rounds.length} rounds):`,
    '',
    `| load | p50 ms | p99 ms | p99.9 ms | max ms | errors | loop stall max ms | flushes of the other nodes: p99 / max ms |`,
    '|---|---|---|---|---|---|---|---|',
    row('before (reference)', medianLatency(rounds.map((r) => r.before))),
    row(`while node ${RETURNING} catches up`, medianLatency(rounds.map((r) => r.during))),
    '',
    `rounds, p99 before → during: ${rounds.map((r) => `${r.before.p99Ms.toFixed(2)} → ${r.during.p99Ms.toFixed(2)}`).join('; ')}; max during: ${rounds.map((r) => r.during.maxMs.toFixed(1)).join(', ')} ms`,
    `node ${RETURNING} caught up after: ${caught.join(', ')} (leaders read segments at ${SEGMENT_READ_BYTES_PER_SEC / 2 ** 20} MiB/s each); backlog written in ${rounds.map((r) => r.backlogSeconds.toFixed(1)).join(', ')} s`,
    `node ${RETURNING}'s start took ${rounds.map((r) => r.startMs.toFixed(0)).join(', ')} ms${mode === 'embedded' ? ' (its journal recovery, on the event loop all nodes share: in the loop stall)' : ' (spawn to ready, in its own process)'}`,
    `host steal: ${rounds.map((r) => stealCell(r.hostSteal)).join(', ')}`,
  ].join('\n');
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'backlog-mb': { type: 'string', default: '150' },
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '6' },
      mode: { type: 'string', default: 'both' },
      reads: { type: 'string', default: 'always' },
    },
  });
  const backlogMB = positiveNumber('--backlog-mb', values['backlog-mb']);
  const rounds = positiveInteger('--rounds', values.rounds);
  const seconds = positiveNumber('--seconds', values.seconds);
  if (!(seconds * 1000 > RESTART_AFTER_MS + 1000)) throw new Error(`--seconds must leave node ${RETURNING} at least a second to catch up (got ${values.seconds})`);
  if (!['both', 'embedded', 'tcp'].includes(values.mode)) throw new Error(`--mode is both, embedded or tcp (got ${values.mode})`);
  const modes: Mode[] = values.mode === 'both' ? ['embedded', 'tcp'] : [values.mode as Mode];
  const arms = values.reads.split(',').map((a) => a.trim());
  const isReads = (arm: string): arm is BackgroundReads => (BACKGROUND_READS as readonly string[]).includes(arm);
  if (!arms.every(isReads)) throw new Error(`--reads takes a comma list of ${BACKGROUND_READS.join(', ')} (got ${JSON.stringify(values.reads)})`);
  if (new Set(arms).size !== arms.length) throw new Error(`--reads names an arm twice (got ${JSON.stringify(values.reads)})`);
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-bench-catch-up-'));
  const subjects: Subject[] = [];
  process.once('SIGINT', () => {
    void Promise.all(subjects.map((s) => s.close())).finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
  const results: Record<string, Round[]> = {};
  try {
    console.log(`machine: ${machineLine(dataDir)}`);
    for (const mode of modes) {
      const done = new Map<BackgroundReads, Round[]>(arms.map((arm) => [arm, []]));
      for (let r = 0; r < rounds; r++) {
        // Every arm in every round, first in turn: drift in a noisy machine falls on each alike.
        for (let k = 0; k < arms.length; k++) {
          const arm = arms[(r + k) % arms.length]!;
          const subjectDir = join(dataDir, `${mode}-${arm}-${r}`);
          const subject = mode === 'embedded' ? await embeddedSubject(subjectDir, arm) : await tcpSubject(subjectDir, arm);
          subjects.push(subject);
          // Warm: the first seconds of a new cluster are JIT compiling, in both halves of the round alike after this.
          await measure(subject, 2, null);
          done.get(arm)!.push(await round(subject, backlogMB * 1e6, seconds));
          await subject.close();
          subjects.splice(subjects.indexOf(subject), 1);
          rmSync(subjectDir, { recursive: true, force: true });
        }
      }
      for (const [arm, armRounds] of done) {
        results[arms.length === 1 ? mode : `${mode} ${arm}`] = armRounds;
        console.log(`\n${report(mode, arm, armRounds)}`);
      }
    }
    const resultsDir = join(root, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `catch-up-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ machine: machineLine(dataDir), backlogMB, seconds, reads: arms, rate: RATE, recordBytes: RECORD_BYTES, nodes: NODES, partitions: PARTITIONS, segmentReadBytesPerSec: SEGMENT_READ_BYTES_PER_SEC, results }, null, 2));
    console.log(`\nresults: ${file}`);
  } finally {
    await Promise.all(subjects.map((s) => s.close()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
