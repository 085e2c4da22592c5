// Pacing A/B (issue 12): one Logscope cluster of three TCP node processes, the peers bench's
// open-loop workload sent in 1 ms bursts ('tick', the peers bench's default) and evenly spread
// ('even', each write at its intended time), alternated round by round on the same cluster so the
// machine's drift hits both sides. Prints each round and the medians: client p50/p99/p99.9, the
// generator's own lateness, the servers' CPU and context switches per record, and the worst node's
// flush p99 over the round (what the one shared disk gave that load).
// `npm run bench -- pacing [--rate 4000] [--bytes 1024] [--seconds 5] [--rounds 4]`

import { parseArgs } from 'node:util';
import { positiveInteger, positiveNumber } from './args.ts';
import { machineLine } from './machine.ts';
import { ResourceSampler, cleanupSync, installCleanupHandlers } from './peers/procs.ts';
import { startLogscopeTcp } from './peers/systems.ts';
import { runPoint, type Pacing, type PointSpec } from './peers/workload.ts';
import { median } from './stats.ts';

interface Round {
  pacing: Pacing;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  sentLateP99Ms: number;
  cpuMicrosPerRecord: number;
  contextSwitchesPerRecord: number | null;
  worstFlushP99Ms: number | null;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { rate: { type: 'string' }, bytes: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } } });
  const rate = values.rate === undefined ? 4_000 : positiveInteger('--rate', values.rate);
  const recordBytes = values.bytes === undefined ? 1_024 : positiveInteger('--bytes', values.bytes);
  const seconds = values.seconds === undefined ? 5 : positiveNumber('--seconds', values.seconds);
  const rounds = values.rounds === undefined ? 4 : positiveInteger('--rounds', values.rounds);
  installCleanupHandlers();
  console.log(`pacing A/B — ${machineLine()}; Logscope TCP (3 node processes), ${recordBytes} B at ${rate}/s, ${seconds} s per round, ${rounds} rounds per pacing`);
  const system = await startLogscopeTcp();
  const results: Round[] = [];
  try {
    const spec = (pacing: Pacing, s: number): PointSpec => ({ recordBytes, producers: 12, rate, seconds: s, warmupSeconds: 1, inflightPerProducer: 8, outstandingMax: 50_000, drainTimeoutMs: 15_000, pacing });
    // The node processes' code is still being optimized at first (see peers.ts): not measured.
    for (const pacing of ['tick', 'even'] as const) await runPoint(system.target, spec(pacing, 5));
    for (let r = 0; r < rounds; r++) {
      // ABBA order: neither side always runs first.
      for (const pacing of r % 2 === 0 ? (['tick', 'even'] as const) : (['even', 'tick'] as const)) {
        const sampler = new ResourceSampler(system.pids);
        sampler.start();
        const fromMs = Date.now() + 1_000;
        const point = await runPoint(system.target, spec(pacing, seconds));
        const use = sampler.stop();
        await new Promise((resolve) => setTimeout(resolve, 1_100)); // the nodes close their last window
        const stalls = system.nodeStalls === undefined ? [] : await system.nodeStalls(fromMs, fromMs + seconds * 1_000);
        const flushes = stalls.map((s) => s.fsyncP99Ms).filter((v): v is number => v !== null);
        const round: Round = {
          pacing,
          p50Ms: point.latency.p50Ms,
          p99Ms: point.latency.p99Ms,
          p999Ms: point.latency.p999Ms,
          sentLateP99Ms: point.generatorLateness?.p99Ms ?? 0,
          cpuMicrosPerRecord: (use.cpuPercent * 1e4) / rate,
          contextSwitchesPerRecord: use.contextSwitchesPerSec === null ? null : use.contextSwitchesPerSec / rate,
          worstFlushP99Ms: flushes.length === 0 ? null : Math.max(...flushes),
        };
        results.push(round);
        console.log(`  round ${r + 1} ${pacing.padEnd(4)}: p50 ${round.p50Ms.toFixed(2)} ms, p99 ${round.p99Ms.toFixed(2)} ms, p99.9 ${round.p999Ms.toFixed(2)} ms, sent late p99 ${round.sentLateP99Ms.toFixed(2)} ms; servers ${round.cpuMicrosPerRecord.toFixed(0)} µs CPU and ${round.contextSwitchesPerRecord?.toFixed(1) ?? '—'} context switches per record; worst node's flush p99 ${round.worstFlushP99Ms?.toFixed(2) ?? '—'} ms; errors ${point.errors + point.unfinished}`);
      }
    }
  } finally {
    await system.stop();
    cleanupSync();
  }
  console.log(`\n| pacing | p50 ms | p99 ms | p99.9 ms | sent late p99 ms | server CPU µs / record | context switches / record | worst node's flush p99 ms |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const pacing of ['tick', 'even'] as const) {
    const of = results.filter((r) => r.pacing === pacing);
    const m = (pick: (r: Round) => number | null): string => {
      const xs = of.map(pick).filter((v): v is number => v !== null);
      return xs.length === 0 ? '—' : median(xs).toFixed(2);
    };
    console.log(`| ${pacing} | ${m((r) => r.p50Ms)} | ${m((r) => r.p99Ms)} (${of.map((r) => r.p99Ms.toFixed(1)).join(', ')}) | ${m((r) => r.p999Ms)} | ${m((r) => r.sentLateP99Ms)} | ${m((r) => r.cpuMicrosPerRecord)} | ${m((r) => r.contextSwitchesPerRecord)} | ${m((r) => r.worstFlushP99Ms)} |`);
  }
  console.log('\nMedians over the rounds (the upper middle one for an even count; each p99 in brackets). Same cluster, alternated: a difference between the rows is the pacing\'s, not the hour\'s.');
}
