// Failover benchmark: crash the leader of a busy partition, time until a new leader commits
// (write failover: a replica other than the crashed one, leading, with its high watermark past the
// one at the crash) and until a reader that was reading from the old leader gets its first answer
// (read failover: a read begun after the crash, of the newest offset acknowledged before it,
// answered with that record). RUNS (default 25) crashes on an EmbeddedCluster (3 nodes, real files)
// in a temp dir, under a steady closed-loop load on that partition; prints median, p90, p99, max.
// `npm run bench -- drills` or `npx tsx bench/drills.ts [runs]`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedCluster } from '../packages/log-cluster/src/cluster.ts';

export interface Distribution {
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface FailoverBenchResult extends Distribution {
  runs: number;
  failoverMs: number[];
  readFailoverMs: number[];
  read: Distribution;
}

function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return { medianMs: pct(sorted, 0.5), p90Ms: pct(sorted, 0.9), p99Ms: pct(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? 0 };
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
  let lastAcked = -1;
  const producers = Array.from({ length: PRODUCERS }, async () => {
    while (!stop) {
      try {
        const result = await client.append({ partition: PARTITION }, [record]);
        lastAcked = Math.max(lastAcked, result.baseOffset);
      } catch {
        await sleep(5);
      }
    }
  });
  // One reader reads the newest acknowledged offset back to back, as a tailing consumer would.
  const reader = cluster.client({ appendTimeoutMs: 20_000 });
  // Shared with the reader loop (a holder, so narrowing does not assume it never changes).
  const timing: { crashAtMs: number | null; readAfterCrashMs: number | null } = { crashAtMs: null, readAfterCrashMs: null };
  let staleReads = 0;
  const readerLoop = (async () => {
    while (!stop) {
      const target = lastAcked;
      const startedMs = performance.now();
      if (target < 0) {
        await sleep(2);
        continue;
      }
      try {
        const page = await reader.read(PARTITION, target, 1);
        if (page.highWatermark <= target || page.records[0]?.offset !== target) staleReads++;
        else if (timing.crashAtMs !== null && timing.readAfterCrashMs === null && startedMs >= timing.crashAtMs) timing.readAfterCrashMs = performance.now() - timing.crashAtMs;
      } catch {
        await sleep(1);
      }
    }
  })();
  const failoverMs: number[] = [];
  const readFailoverMs: number[] = [];
  try {
    if (!(await cluster.waitForLeaders(15_000))) throw new Error('no leaders after 15 s');
    await sleep(500);
    for (let i = 0; i < runs; i++) {
      const leader = cluster.leaderOf(PARTITION);
      if (leader === 0) throw new Error('no leader before the crash');
      const hwBefore = hwOf(cluster);
      const t0 = performance.now();
      timing.readAfterCrashMs = null;
      timing.crashAtMs = t0;
      cluster.crash(leader);
      // Poll tightly: 1 ms of resolution is plenty against elections of hundreds of ms.
      while (!committingLeader(cluster, leader, hwBefore)) {
        if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`run ${i + 1}: no committing leader ${TIMEOUT_MS} ms after the crash`);
        await sleep(1);
      }
      const took = performance.now() - t0;
      failoverMs.push(took);
      const readAfterCrash = (): number | null => timing.readAfterCrashMs;
      let readMs = readAfterCrash();
      while (readMs === null) {
        if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`run ${i + 1}: no read answered ${TIMEOUT_MS} ms after the crash`);
        await sleep(1);
        readMs = readAfterCrash();
      }
      readFailoverMs.push(readMs);
      timing.crashAtMs = null;
      process.stdout.write(`run ${String(i + 1).padStart(2)}: crashed node ${leader}, new leader committing after ${took.toFixed(1)} ms, first read answered after ${readMs.toFixed(1)} ms\n`);
      await cluster.restart(leader);
      await cluster.waitForLeaders(10_000);
      await sleep(300); // let the restarted node catch up before the next crash
    }
  } finally {
    stop = true;
    await Promise.race([Promise.allSettled([...producers, readerLoop]), sleep(3_000)]);
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const read = distribution(readFailoverMs);
  const result: FailoverBenchResult = { runs: failoverMs.length, failoverMs, readFailoverMs, ...distribution(failoverMs), read };
  const line = (d: Distribution): string => `median ${d.medianMs.toFixed(1)} ms, p90 ${d.p90Ms.toFixed(1)} ms, p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms`;
  process.stdout.write(`\nwrite failover (crash leader → first commit by the new leader), ${result.runs} runs: ${line(result)}\n`);
  process.stdout.write(`read failover  (crash leader → first read answered with the newest acknowledged record), ${readFailoverMs.length} runs: ${line(read)}\n`);
  process.stdout.write(`stale reads during the runs: ${staleReads}\n`);
  if (staleReads > 0) throw new Error(`${staleReads} stale reads`);
  return result;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
