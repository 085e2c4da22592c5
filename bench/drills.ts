// Failover benchmark: crash the leader of a busy partition, time until a new leader commits
// (a replica other than the crashed one, leading, with its high watermark past the one at the
// crash). RUNS (default 25) crashes on an EmbeddedCluster (3 nodes, real files) in a temp dir,
// under a steady closed-loop load on that partition; prints median, p90, p99 and max.
// `npm run bench -- drills` or `npx tsx bench/drills.ts [runs]`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedCluster } from '../packages/log-cluster/src/cluster.ts';

export interface FailoverBenchResult {
  runs: number;
  failoverMs: number[];
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

const PARTITION = 0;
const PRODUCERS = 8;
const TIMEOUT_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;

function hwOf(cluster: EmbeddedCluster): number {
  let max = 0;
  for (const n of cluster.nodeIds()) max = Math.max(max, cluster.node(n)?.replica(PARTITION)?.hw ?? 0);
  return max;
}

function committingLeader(cluster: EmbeddedCluster, crashed: number, hwBefore: number): boolean {
  for (const n of cluster.replicasOf(PARTITION)) {
    if (n === crashed) continue;
    const r = cluster.node(n)?.replica(PARTITION);
    if (r !== undefined && r.isLeader && r.hw > hwBefore) return true;
  }
  return false;
}

export async function run(args: readonly string[] = []): Promise<FailoverBenchResult> {
  const runs = Math.max(20, Number(args[0] ?? process.env.RUNS ?? 25) || 25);
  const dir = mkdtempSync(join(tmpdir(), 'logscope-bench-failover-'));
  const cluster = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount: 3 });
  const client = cluster.client({ appendTimeoutMs: 20_000 });
  let stop = false;
  const record = new Uint8Array(128);
  const producers = Array.from({ length: PRODUCERS }, async () => {
    while (!stop) {
      try {
        await client.append({ partition: PARTITION }, [record]);
      } catch {
        await sleep(5);
      }
    }
  });
  const failoverMs: number[] = [];
  try {
    if (!(await cluster.waitForLeaders(15_000))) throw new Error('no leaders after 15 s');
    await sleep(500);
    for (let i = 0; i < runs; i++) {
      const leader = cluster.leaderOf(PARTITION);
      if (leader === 0) throw new Error('no leader before the crash');
      const hwBefore = hwOf(cluster);
      const t0 = performance.now();
      cluster.crash(leader);
      // Poll tightly: 1 ms of resolution is plenty against elections of hundreds of ms.
      while (!committingLeader(cluster, leader, hwBefore)) {
        if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`run ${i + 1}: no committing leader ${TIMEOUT_MS} ms after the crash`);
        await sleep(1);
      }
      const took = performance.now() - t0;
      failoverMs.push(took);
      process.stdout.write(`run ${String(i + 1).padStart(2)}: crashed node ${leader}, new leader committing after ${took.toFixed(1)} ms\n`);
      await cluster.restart(leader);
      await cluster.waitForLeaders(10_000);
      await sleep(300); // let the restarted node catch up before the next crash
    }
  } finally {
    stop = true;
    await Promise.race([Promise.allSettled(producers), sleep(3_000)]);
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const sorted = [...failoverMs].sort((a, b) => a - b);
  const result: FailoverBenchResult = {
    runs: sorted.length,
    failoverMs,
    medianMs: pct(sorted, 0.5),
    p90Ms: pct(sorted, 0.9),
    p99Ms: pct(sorted, 0.99),
    maxMs: sorted[sorted.length - 1] ?? 0,
  };
  process.stdout.write(`\nfailover (crash leader → first commit by the new leader), ${result.runs} runs: median ${result.medianMs.toFixed(1)} ms, p90 ${result.p90Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, max ${result.maxMs.toFixed(1)} ms\n`);
  return result;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
