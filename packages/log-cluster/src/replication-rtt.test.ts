// Replication round trips as the leader times them (Replica.onReadyTaken / onFollowerAck), on a
// real embedded cluster: one probe per follower at a time, reopened by the next append once the
// follower acknowledged the last one, so sequential appends each give a round trip per follower.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';

const SETTLE_MS = 30_000;
const APPENDS = 20;

describe('replication round trips on the leader', () => {
  let dir: string;
  let cluster: EmbeddedCluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-rtt-'));
    // A long election timeout: a busy machine must not move leadership in the middle of the count.
    cluster = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount: 1, node: { electionTicks: 150, heartbeatTicks: 5 } });
    expect(await cluster.waitForLeaders(SETTLE_MS)).toBe(true);
  });

  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const rtts = async (node: number): Promise<{ count: number; sumSeconds: number }> => {
    const metric = cluster.telemetry(node).registry.getSingleMetric('logscope_replication_rtt_seconds');
    const values = (await metric!.get()).values;
    const get = (name: string): number => values.find((v) => 'metricName' in v && v.metricName === name)?.value ?? 0;
    return { count: get('logscope_replication_rtt_seconds_count'), sumSeconds: get('logscope_replication_rtt_seconds_sum') };
  };

  it('times a round trip per follower for each of sequential appends, and reopens its probes', async () => {
    const client = cluster.client();
    await client.append({ partition: 0 }, [new Uint8Array(16)]);
    const leader = cluster.leaderOf(0);
    expect(leader).not.toBeNull();
    // Each follower's last probe closes with its ack, which may come after the quorum answered.
    await new Promise((r) => setTimeout(r, 200));
    const before = await rtts(leader!);
    const startedMs = performance.now();
    for (let i = 0; i < APPENDS; i++) {
      await client.append({ partition: 0 }, [new Uint8Array(16)]);
      // Both followers acknowledge before the next append: the quorum needs one, the other follows.
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    const elapsedSeconds = (performance.now() - startedMs) / 1000;
    expect(cluster.leaderOf(0)).toBe(leader);
    const after = await rtts(leader!);
    const measured = after.count - before.count;
    // Two followers, a probe each per append (a follower still unacknowledged skips one at most).
    expect(measured).toBeGreaterThanOrEqual(APPENDS);
    expect(measured).toBeLessThanOrEqual(2 * APPENDS);
    // A follower's probes never overlap, so its round trips add up to less than the time they
    // spanned: a probe left open would time every later ack from its own send.
    expect(after.sumSeconds - before.sumSeconds).toBeLessThanOrEqual(2 * elapsedSeconds);
    client.close();
  });
});
