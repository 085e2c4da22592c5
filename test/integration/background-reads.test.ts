// A follower catching up and a consumer reading history are fed from the leaders' segments by
// background reads (Journal.fetchInBackground), not by reads that block the event loop serving
// appends. Embedded clusters on real files, with no entry cache, so every durable entry a leader
// sends or serves comes from disk; at 3 nodes and at 5 (where placement leaves nodes without a
// replica of a partition). Background reads 'always', the default, said here: the test is of them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from '../../packages/log-cluster/src/cluster.ts';
import type { LogClient } from '../../packages/log-cluster/src/client.ts';
import { DEFAULT_NODE_CONFIG } from '../../packages/log-cluster/src/node.ts';
import { until } from '../support/until.ts';

const RECORD_BYTES = 1000;

/** `batches` appends of 10 records to every partition; the acknowledged values, by partition and offset. */
async function appendAll(client: LogClient, partitions: number, batches: number, tag: string, into: string[][]): Promise<void> {
  await Promise.all(Array.from({ length: partitions }, async (_, partition) => {
    const values = (into[partition] ??= []);
    for (let b = 0; b < batches; b++) {
      const batch = Array.from({ length: 10 }, (_, k) => `${tag}-${partition}-${b}-${k}-`.padEnd(RECORD_BYTES, 'x'));
      const result = await client.append({ partition }, batch.map((value) => new TextEncoder().encode(value)));
      batch.forEach((value, k) => (values[result.baseOffset + k] = value));
    }
  }));
}

describe.each([
  { nodes: 3, partitions: 3 },
  { nodes: 5, partitions: 8 },
])('background log reads, $nodes nodes × $partitions partitions (embedded, real files, no entry cache)', ({ nodes, partitions }) => {
  let dataDir = '';
  let cluster: EmbeddedCluster | null = null;
  afterEach(async () => {
    await cluster?.stop();
    cluster = null;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('feed a restarted follower and a fresh consumer every acknowledged record, read from the leaders\' segments in the background', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'logscope-background-reads-'));
    cluster = await EmbeddedCluster.start({ dataDir, nodeCount: nodes, partitionCount: partitions, node: { journal: { ...DEFAULT_NODE_CONFIG.journal, cacheBytes: 0, backgroundReads: 'always' } }, autoRestart: false });
    expect(await cluster.waitForLeaders()).toBe(true);
    const values: string[][] = [];
    await appendAll(cluster.client(), partitions, 20, 'before', values);

    // A node with replicas of the most partitions misses 300 KB of each while down.
    const c = cluster;
    const follower = c.nodeIds().map((id) => ({ id, held: Array.from({ length: partitions }, (_, p) => p).filter((p) => c.replicasOf(p).includes(id) && c.leaderOf(p) !== id).length })).sort((a, b) => b.held - a.held)[0]!.id;
    await cluster.crash(follower);
    await appendAll(cluster.client(), partitions, 30, 'while-down', values);
    const stats = (): { segment: number; background: number } => {
      let segment = 0;
      let background = 0;
      for (const id of c.nodeIds()) {
        const s = c.node(id)?.catchUpStats();
        segment += s?.segmentReadBytes ?? 0;
        background += s?.backgroundReadBytes ?? 0;
      }
      return { segment, background };
    };
    const before = stats();

    await cluster.restart(follower);
    const held = Array.from({ length: partitions }, (_, p) => p).filter((p) => c.replicasOf(p).includes(follower));
    await until('the restarted node caught up', () => held.every((p) => {
      const hw = c.node(c.leaderOf(p))?.replica(p)?.hw ?? -1;
      return hw === values[p]!.length && c.node(follower)?.replica(p)?.hw === hw;
    }));
    const caughtUp = stats();
    // Its leaders sent it what it missed from their segments, read in the background (a read may
    // still block for the rest of a record whose end a cut log no longer knows).
    const caughtUpBytes = caughtUp.segment - before.segment;
    expect(caughtUpBytes).toBeGreaterThanOrEqual(held.length * 300 * RECORD_BYTES);
    expect(caughtUp.background - before.background).toBeGreaterThanOrEqual(0.99 * caughtUpBytes);

    // A fresh consumer reads every partition from the start: every acknowledged record, in order.
    const reader = cluster.client({ appendTimeoutMs: 15_000 });
    for (let p = 0; p < partitions; p++) {
      const read = await reader.readAll(p, 0);
      expect(read.map((r) => r.offset)).toEqual(values[p]!.map((_, offset) => offset));
      expect(read.map((r) => new TextDecoder().decode(r.value))).toEqual(values[p]);
    }
    const read = stats();
    const readBytes = read.segment - caughtUp.segment;
    expect(readBytes).toBeGreaterThanOrEqual(partitions * 500 * RECORD_BYTES);
    expect(read.background - caughtUp.background).toBeGreaterThanOrEqual(0.99 * readBytes);
    // The follower, now leading, serves the same from its own segments.
    for (const p of held) cluster.transferLeadership(p, follower);
    await until('the caught-up node leads its partitions', () => held.every((p) => c.leaderOf(p) === follower));
    for (const p of held) expect((await cluster.client({ appendTimeoutMs: 15_000 }).readAll(p, 0)).map((r) => new TextDecoder().decode(r.value))).toEqual(values[p]);
  });
});
