// What the console costs the tail of the embedded cluster it watches: `logscope up` runs the nodes,
// the load generator and the console's scraper on one event loop. The same running app is measured
// in alternating phases, with the scraper on (every second, as `logscope up` does) and off: the
// reference is the same cluster, load and process without the console's reads. Each phase also
// gives the nodes' longest event-loop stall and longest fsync (from their own windows), so a slow
// second is told to be the process's (loop) or the disk's.
//
// `npm run bench -- console-tail [--nodes 5] [--partitions 256] [--rate 2000] [--seconds 10] [--rounds 2]`

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeHistogram, mergeEncoded, summary, type HistogramWindow } from '@logscope/telemetry';
import { EmbeddedCluster } from '../packages/log-cluster/src/cluster.ts';
import { createApp } from '../apps/server/src/app.ts';
import { positiveInteger } from './args.ts';
import { hostStealMeter, machineLine, stealCell, type HostSteal } from './machine.ts';
import { stallsOf } from './peers/systems.ts';
import { median } from './stats.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (micros: number): string => (micros / 1000).toFixed(2);

interface Phase {
  scraping: boolean;
  windows: HistogramWindow[];
  /** The nodes' longest event-loop stall and longest fsync in the phase (µs): whose was a slow second. */
  loopMaxMicros: number;
  fsyncMaxMicros: number;
  /** Leader elections the nodes won during the phase: a stall long enough to start one costs an election timeout. */
  elections: number;
  /** CPU time the hypervisor took from this VM during the phase: a stall of neither the process nor the disk. */
  steal: HostSteal | null;
  /** Each second's client p99 and max beside the nodes' longest loop stall and fsync in their windows overlapping it (ms). */
  seconds: SlowSecond[];
}

interface SlowSecond {
  scraping: boolean;
  startMs: number;
  p99Ms: number;
  maxMs: number;
  loopMaxMs: number;
  fsyncMaxMs: number;
}

/** Whose a slow second was: the disk's if an fsync took half its max or more, the loop's if a stall did, else neither's. */
function whose(s: SlowSecond): string {
  if (s.fsyncMaxMs >= s.maxMs / 2) return 'the disk (an fsync as long)';
  if (s.loopMaxMs >= s.maxMs / 2) return 'the loop (a stall as long)';
  return 'neither (no fsync or loop stall of half its max)';
}

/** Elections won, summed over the nodes (logscope_leader_elections_total). */
async function electionsWon(cluster: EmbeddedCluster): Promise<number> {
  let total = 0;
  for (const id of cluster.nodeIds()) {
    for (const sample of await cluster.telemetry(id).metricsSamples()) if (sample.name === 'logscope_leader_elections_total') total += sample.value;
  }
  return total;
}

function report(label: string, phases: readonly Phase[]): string {
  const windows = phases.flatMap((p) => p.windows);
  const perSecond = windows.map((w) => summary(decodeHistogram(w.encoded)));
  const p99s = perSecond.map((s) => s.p99Micros).sort((a, b) => a - b);
  const all = summary(mergeEncoded(windows.map((w) => w.encoded)));
  const typical = median(p99s);
  const loop = Math.max(...phases.map((p) => p.loopMaxMicros));
  const fsync = Math.max(...phases.map((p) => p.fsyncMaxMicros));
  const elections = phases.reduce((sum, p) => sum + p.elections, 0);
  const steals = phases.map((p) => p.steal);
  const steal = steals.every((x): x is HostSteal => x !== null) ? { totalMs: steals.reduce((sum, x) => sum + x.totalMs, 0), worstSecondMs: Math.max(...steals.map((x) => x.worstSecondMs)) } : null;
  return `| ${label} | ${windows.length} | ${all.count} | ${ms(all.p50Micros)} | ${ms(all.p99Micros)} | ${ms(all.p999Micros)} | ${ms(all.maxMicros)} | ${ms(typical)} | ${ms(p99s.at(-1) ?? 0)} | ${ms(loop)} / ${ms(fsync)} | ${elections} | ${stealCell(steal)} |`;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { nodes: { type: 'string' }, partitions: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } } });
  const nodes = positiveInteger('--nodes', values.nodes ?? '5');
  const partitions = positiveInteger('--partitions', values.partitions ?? '256');
  const rate = positiveInteger('--rate', values.rate ?? '2000');
  const seconds = positiveInteger('--seconds', values.seconds ?? '10');
  const rounds = positiveInteger('--rounds', values.rounds ?? '2');
  const dir = mkdtempSync(join(tmpdir(), 'logscope-console-tail-'));
  console.log(machineLine(dir));
  const cluster = await EmbeddedCluster.start({ dataDir: join(dir, 'cluster'), nodeCount: nodes, partitionCount: partitions, replicationFactor: 3 });
  const app = await createApp({ cluster, dataDir: dir, port: 0, staticDir: null, load: { enabled: true, ratePerSec: rate } });
  const phases: Phase[] = [];
  try {
    if (!(await cluster.waitForLeaders(30_000))) throw new Error('not every partition has a leader after 30 s');
    // Warm-up: the nodes' code optimized, every partition written, the console's stores filled.
    await sleep(15_000);
    const load = app.services.load;
    if (load === null) throw new Error('no load generator');
    for (let round = 0; round < rounds; round++) {
      for (const scraping of [true, false]) {
        if (!scraping) await app.services.scraper.stop();
        else if (round > 0) app.services.scraper.start();
        // The first second after a switch straddles it: not counted. A scraper started again first
        // reads the seconds it missed (every node's windows and traces of the phase before: stalls
        // of up to ~130 ms for several seconds at 5 x 256), which no running console does: 10 s more.
        await sleep(scraping && round > 0 ? 10_000 : 1_000);
        const fromMs = Date.now();
        const electionsBefore = await electionsWon(cluster);
        const stopSteal = hostStealMeter();
        await sleep(seconds * 1000 + 1_100);
        const steal = stopSteal();
        const elections = (await electionsWon(cluster)) - electionsBefore;
        const toMs = fromMs + seconds * 1000 + 1_000;
        const windows = load.latency.windows().filter((w) => w.startMs >= fromMs && w.endMs <= toMs);
        // Read from the nodes themselves (the scraper is off in half the phases), as the peers bench does.
        const answers = cluster.nodeIds().map((id) => cluster.telemetry(id).histogramsJson(fromMs - 1_000));
        const stalls = stallsOf(answers, fromMs, toMs);
        const perSecond: SlowSecond[] = windows.map((w) => {
          const client = summary(decodeHistogram(w.encoded));
          const theirs = stallsOf(answers, w.startMs, w.endMs);
          return { scraping, startMs: w.startMs, p99Ms: client.p99Micros / 1000, maxMs: client.maxMicros / 1000, loopMaxMs: Math.max(0, ...theirs.map((n) => n.loopMaxMs ?? 0)), fsyncMaxMs: Math.max(0, ...theirs.map((n) => n.fsyncMaxMs ?? 0)) };
        });
        const loopMaxMicros = 1000 * Math.max(0, ...stalls.map((n) => n.loopMaxMs ?? 0));
        const fsyncMaxMicros = 1000 * Math.max(0, ...stalls.map((n) => n.fsyncMaxMs ?? 0));
        phases.push({ scraping, windows, loopMaxMicros, fsyncMaxMicros, elections, steal, seconds: perSecond });
        console.log(`  round ${round + 1}, scraper ${scraping ? 'on' : 'off'}: ${windows.length} windows; worst second's client p99 ${ms(Math.max(...windows.map((w) => summary(decodeHistogram(w.encoded)).p99Micros)))} ms, longest loop stall ${ms(loopMaxMicros)} ms, longest fsync ${ms(fsyncMaxMicros)} ms, ${elections} elections, host steal ${stealCell(steal)} ms`);
      }
    }
  } finally {
    await app.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nEmbedded ${nodes} nodes × ${partitions} partitions, the console's load generator at ${rate} appends/s (default record size), ${rounds} × ${seconds} s per phase, alternating; client latency from each append's intended time (ms):\n`);
  console.log('| console scraper | seconds | appends | p50 | p99 | p99.9 | max | median of the seconds\' p99 | worst second\'s p99 | nodes\' longest loop stall / fsync | elections | host steal total / worst 1 s, ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  console.log(report('on, every second', phases.filter((p) => p.scraping)));
  console.log(report('off (the reference)', phases.filter((p) => !p.scraping)));
  const slowest = phases.flatMap((p) => p.seconds).sort((a, b) => b.maxMs - a.maxMs).slice(0, 6);
  console.log('\nThe slowest seconds (by their max), beside the nodes\' longest loop stall and fsync in the node windows overlapping each:\n');
  console.log('| scraper | client p99 | client max | nodes\' longest loop stall | nodes\' longest fsync | whose |');
  console.log('|---|---|---|---|---|---|');
  for (const x of slowest) console.log(`| ${x.scraping ? 'on' : 'off'} | ${x.p99Ms.toFixed(2)} | ${x.maxMs.toFixed(2)} | ${x.loopMaxMs.toFixed(2)} | ${x.fsyncMaxMs.toFixed(2)} | ${whose(x)} |`);
}
