// What one node's restart costs the clients of the other nodes in an embedded cluster, where every
// node shares one event loop: `logscope up` with its load, a node crashed and restarted several
// times once its log holds a few minutes of appends. Per restart: how long the restart took (its
// journal's recovery), what the restarted node read back from its segments in the 5 s after, the
// nodes' longest loop stall, and the clients' p99 and max in the seconds of the restart; the
// reference is the same clients' seconds just before the crash.
//
// `npm run bench -- restart-tail [--nodes 5] [--partitions 256] [--rate 2000] [--load-seconds 120] [--restarts 3]`

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeHistogram, summary, type HistogramWindow } from '@logscope/telemetry';
import { EmbeddedCluster } from '../packages/log-cluster/src/cluster.ts';
import { createApp } from '../apps/server/src/app.ts';
import { positiveInteger } from './args.ts';
import { machineLine } from './machine.ts';
import { stallsOf } from './peers/systems.ts';
import { median } from './stats.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (micros: number): string => (micros / 1000).toFixed(1);

interface Restart {
  logMiB: number;
  restartMs: number;
  readBackMiB: number;
  loopMaxMs: number;
  before: HistogramWindow[];
  during: HistogramWindow[];
}

function p99s(windows: readonly HistogramWindow[]): number[] {
  return windows.map((w) => summary(decodeHistogram(w.encoded)).p99Micros);
}

function maxOf(windows: readonly HistogramWindow[]): number {
  return Math.max(0, ...windows.map((w) => summary(decodeHistogram(w.encoded)).maxMicros));
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { nodes: { type: 'string' }, partitions: { type: 'string' }, rate: { type: 'string' }, 'load-seconds': { type: 'string' }, restarts: { type: 'string' } } });
  const nodes = positiveInteger('--nodes', values.nodes ?? '5');
  const partitions = positiveInteger('--partitions', values.partitions ?? '256');
  const rate = positiveInteger('--rate', values.rate ?? '2000');
  const loadSeconds = positiveInteger('--load-seconds', values['load-seconds'] ?? '120');
  const restarts = positiveInteger('--restarts', values.restarts ?? '3');
  const dir = mkdtempSync(join(tmpdir(), 'logscope-restart-tail-'));
  console.log(machineLine(dir));
  const cluster = await EmbeddedCluster.start({ dataDir: join(dir, 'cluster'), nodeCount: nodes, partitionCount: partitions, replicationFactor: 3 });
  // Leadership stays where the crash put it: a return after the restart would be a second event.
  const app = await createApp({ cluster, dataDir: dir, port: 0, staticDir: null, rebalanceSettleMs: 0, load: { enabled: true, ratePerSec: rate } });
  const results: Restart[] = [];
  const victim = 2;
  try {
    if (!(await cluster.waitForLeaders(30_000))) throw new Error('not every partition has a leader after 30 s');
    const load = app.services.load;
    if (load === null) throw new Error('no load generator');
    console.log(`  loading for ${loadSeconds} s…`);
    await sleep(loadSeconds * 1000);
    for (let k = 0; k < restarts; k++) {
      const beforeFrom = Date.now() - 5_000;
      const crashAt = Date.now();
      await cluster.crash(victim);
      await sleep(3_000);
      const logMiB = directoryMiB(join(dir, 'cluster', `node-${victim}`));
      const startedAt = Date.now();
      const t0 = performance.now();
      await cluster.restart(victim);
      const restartMs = performance.now() - t0;
      const endedAt = Date.now();
      const node = cluster.node(victim);
      if (node === null) throw new Error(`node ${victim} did not start`);
      const readsBefore = node.catchUpStats().segmentReadBytes;
      await sleep(5_000);
      const readBackMiB = (node.catchUpStats().segmentReadBytes - readsBefore) / 2 ** 20;
      const windows = load.latency.windows();
      const before = windows.filter((w) => w.startMs >= beforeFrom && w.endMs <= crashAt);
      // The seconds the restart overlapped, and the one after it (the node catching up).
      const during = windows.filter((w) => w.endMs > startedAt && w.startMs < endedAt + 1_000);
      const stalls = stallsOf(cluster.nodeIds().filter((id) => id !== victim).map((id) => cluster.telemetry(id).histogramsJson(startedAt - 1_000)), startedAt, endedAt + 1_000);
      const loopMaxMs = Math.max(0, ...stalls.map((n) => n.loopMaxMs ?? 0));
      results.push({ logMiB, restartMs, readBackMiB, loopMaxMs, before, during });
      console.log(`  restart ${k + 1}: ${restartMs.toFixed(0)} ms (its directory ${logMiB.toFixed(0)} MiB); read back ${readBackMiB.toFixed(1)} MiB in 5 s; clients' p99 ${ms(Math.max(0, ...p99s(during)))} ms, max ${ms(maxOf(during))} ms in its seconds`);
      await sleep(10_000);
    }
  } finally {
    await app.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nEmbedded ${nodes} nodes × ${partitions} partitions, the console's load generator at ${rate} appends/s for ${loadSeconds} s, then node ${victim} crashed and restarted ${restarts} times (3 s down, 10 s apart); client latency (ms):\n`);
  console.log('| restart | the node\'s directory, MiB | restart took, ms | read back from segments in the 5 s after, MiB | other nodes\' longest loop stall, ms | p99 of the seconds before the crash (median) | p99 of the restart\'s seconds (worst) | max in the restart\'s seconds |');
  console.log('|---|---|---|---|---|---|---|---|');
  results.forEach((r, k) => {
    console.log(`| ${k + 1} | ${r.logMiB.toFixed(0)} | ${r.restartMs.toFixed(0)} | ${r.readBackMiB.toFixed(1)} | ${r.loopMaxMs.toFixed(1)} | ${ms(median(p99s(r.before)))} | ${ms(Math.max(0, ...p99s(r.during)))} | ${ms(maxOf(r.during))} |`);
  });
}

/** Bytes of the files in a node's directory (its journal), MiB. */
function directoryMiB(path: string): number {
  let bytes = 0;
  for (const name of readdirSync(path)) bytes += statSync(join(path, name)).size;
  return bytes / 2 ** 20;
}
