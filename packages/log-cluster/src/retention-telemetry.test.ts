// What retention did, as a node's metrics show it: each replica's log start, the segment bytes
// deleted, and the snapshots a leader sent to a replica that fell behind its log start.
import { METRIC_NAMES, parseMetrics } from '@logscope/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedCluster } from './cluster.ts';
import { smallRetentionCluster, until } from './small-retention-cluster.ts';
import type { NodeId } from './raft/types.ts';

let cluster: Awaited<ReturnType<typeof smallRetentionCluster>> | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster?.removeDirectory();
  cluster = null;
});

/** One sample of a node's Prometheus text, read as a scraper would (undefined: not exported). */
async function metric(c: EmbeddedCluster, node: NodeId, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const samples = parseMetrics(await c.telemetry(node).metricsText());
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('retention telemetry', () => {
  it('exports each replica\'s log start, the bytes retention deleted, and the snapshots a leader sent to a follower left behind its start', async () => {
    // Small segments and retention, checked often: a few hundred KiB move every log start.
    const c = (cluster = await smallRetentionCluster('retention-telemetry'));
    expect(await c.waitForLeaders(20_000)).toBe(true);
    let sequence = 0;
    /** 256 KiB through the leader: 32 batches of 8 records of 1 KiB. */
    const write256KiB = async (): Promise<void> => {
      for (let k = 0; k < 32; k++) {
        const response = await c.connector.request(c.leaderOf(0), { kind: 'append', partition: 0, producerId: 1, sequence: sequence++, records: Array.from({ length: 8 }, () => new Uint8Array(1024)) });
        if (response.kind !== 'append') throw new Error(`append: ${JSON.stringify(response)}`);
      }
    };
    const startOf = (node: NodeId): number => c.node(node)?.replica(0)?.logStartOffset() ?? -1;
    const p0 = { partition: '0' };

    await write256KiB();
    await until(() => c.replicasOf(0).every((id) => startOf(id) > 0), 10_000);
    const leader = c.leaderOf(0);
    for (const id of c.replicasOf(0)) {
      // The gauge is the replica's own start, read at the scrape (retention may still move it on meanwhile).
      const before = startOf(id);
      const start = await metric(c, id, METRIC_NAMES.logStartOffset, p0);
      expect(start).toBeGreaterThanOrEqual(before);
      expect(start).toBeLessThanOrEqual(startOf(id));
      expect(start).toBeGreaterThan(0);
      expect(start).toBeLessThanOrEqual((await metric(c, id, METRIC_NAMES.logEndOffset, p0))!);
      // 256 KiB written against 64 KiB kept: at least one 32 KiB segment went on every node.
      expect(await metric(c, id, METRIC_NAMES.retentionDeletedBytes)).toBeGreaterThanOrEqual(32 << 10);
    }

    // A follower goes down; retention on the leader moves its start past everything the follower holds.
    const follower = c.replicasOf(0).find((id) => id !== leader)!;
    const followerEnd = c.node(follower)!.replica(0)!.logEndOffset();
    await c.crash(follower);
    await write256KiB();
    await until(() => startOf(leader) > followerEnd, 10_000);
    expect(c.leaderOf(0)).toBe(leader);

    // Back, it can only be caught up with a snapshot of the leader's start.
    await c.restart(follower);
    const leaderHw = c.node(leader)!.replica(0)!.hw;
    await until(() => (c.node(follower)?.replica(0)?.hw ?? -1) >= leaderHw, 10_000);
    expect(startOf(follower)).toBeGreaterThan(followerEnd);
    expect(await metric(c, leader, METRIC_NAMES.snapshotsSent)).toBeGreaterThan(0);
    expect(await metric(c, follower, METRIC_NAMES.logStartOffset, p0)).toBe(startOf(follower));
  }, 60_000);
});
