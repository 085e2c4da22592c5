import { NodeTelemetry, parseMetrics } from '@logscope/telemetry';
import { describe, expect, it } from 'vitest';
import { toSnapshot, type NodeSnapshot } from './snapshot.ts';
import { ClusterView, type SnapshotEntry } from './view.ts';

/** A node's snapshot as the scraper makes it: through its Prometheus text. */
async function scraped(nodeId: number, fill: (t: NodeTelemetry) => void): Promise<NodeSnapshot> {
  const t = new NodeTelemetry({ nodeId });
  fill(t);
  return toSnapshot(parseMetrics(await t.metricsText()));
}

describe('ClusterView', () => {
  it('carries each replica\'s own log start and end offsets; unknown when its node is down or does not report them', async () => {
    const leader = await scraped(1, (t) => {
      t.setPartitionState(0, { leaderId: 1, isLeader: true, term: 3, commitIndex: 90, highWatermark: 900, logEndOffset: 900, logStartOffset: 512 });
      t.setReplicaState(0, 2, { lagRecords: 0, lagSeconds: 0, inSync: true });
      t.setReplicaState(0, 3, { lagRecords: 0, lagSeconds: 0, inSync: true });
    });
    // Behind the leader's start: retention on the leader deleted what it lacked.
    const follower = await scraped(2, (t) => t.setPartitionState(0, { leaderId: 1, isLeader: false, term: 3, logEndOffset: 900, logStartOffset: 640 }));
    // A node of a build before logscope_log_start_offset.
    const older = await scraped(3, (t) => t.setPartitionState(0, { leaderId: 1, isLeader: false, term: 3, logEndOffset: 900 }));
    const entries: SnapshotEntry[] = [
      { nodeId: 1, up: true, snapshot: leader },
      { nodeId: 2, up: true, snapshot: follower },
      { nodeId: 3, up: true, snapshot: older },
    ];
    const view = new ClusterView({ partitionCount: 1, replicasOf: () => [1, 2, 3] });
    view.update(entries, 1_000);
    const offsets = (): { replica: number; logStartOffset: number | null; logEndOffset: number | null }[] =>
      view.partition(0)!.replicaLag.map((r) => ({ replica: r.replica, logStartOffset: r.logStartOffset, logEndOffset: r.logEndOffset }));
    expect(offsets()).toEqual([
      { replica: 1, logStartOffset: 512, logEndOffset: 900 },
      { replica: 2, logStartOffset: 640, logEndOffset: 900 },
      { replica: 3, logStartOffset: null, logEndOffset: 900 },
    ]);

    // Node 2 down: what it last reported is not shown as its state now.
    view.update([entries[0]!, { ...entries[1]!, up: false }, entries[2]!], 2_000);
    expect(offsets()[1]).toEqual({ replica: 2, logStartOffset: null, logEndOffset: null });
  });

  it('reads the node\'s retention totals, and says when a node does not report them', async () => {
    const snap = await scraped(1, (t) => {
      t.recordRetentionDeleted(5 << 20);
      t.recordSnapshotSent();
      t.recordSnapshotSent();
    });
    expect(snap).toMatchObject({ retentionDeletedBytesTotal: 5 << 20, snapshotsSentTotal: 2 });
    expect(toSnapshot(parseMetrics('logscope_node_up 1\n'))).toMatchObject({ retentionDeletedBytesTotal: -1, snapshotsSentTotal: -1 });
  });
});
