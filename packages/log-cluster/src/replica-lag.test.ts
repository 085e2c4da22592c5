// Follower lag as the leader reports it (Replica.followerLag), on a real embedded cluster:
// seconds come from when the leader appended the oldest entry a follower lacks, and a leader
// that has not yet learned a follower's position says "unknown" instead of the whole log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';

const PARTITION = 0;
/** Bounds for waiting on the cluster (a loaded CI machine is slow), not timing assertions. */
const SETTLE_MS = 30_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('follower lag on the leader', () => {
  let dir: string;
  let cluster: EmbeddedCluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-lag-'));
    // A long election timeout: a busy machine must not move leadership in the middle of a measurement.
    cluster = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount: 1, node: { electionTicks: 150, heartbeatTicks: 5 } });
    expect(await cluster.waitForLeaders(SETTLE_MS)).toBe(true);
  });

  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const lagOf = (node: number) => {
    const leader = cluster.leaderOf(PARTITION);
    return cluster.node(leader)?.replica(PARTITION)?.followerLag().find((l) => l.replica === node);
  };

  /** Crashes a follower that holds everything so far: the next record is the first it misses. */
  async function crashCaughtUpFollower(client: ReturnType<EmbeddedCluster['client']>): Promise<{ leader: number; follower: number }> {
    await client.append({ partition: PARTITION }, [new TextEncoder().encode('warm-up')]);
    const leader = cluster.leaderOf(PARTITION);
    const follower = cluster.replicasOf(PARTITION).find((n) => n !== leader)!;
    await until(() => lagOf(follower)?.lagRecords === 0, 'the follower to catch up');
    cluster.crash(follower);
    return { leader, follower };
  }

  it('one record behind reads as that record\'s age, not a whole second', { timeout: 2 * SETTLE_MS }, async () => {
    const client = cluster.client();
    // Exactly the next record is missing.
    const { leader, follower } = await crashCaughtUpFollower(client);
    const beforeMs = Date.now();
    await client.append({ partition: PARTITION }, [new TextEncoder().encode('missed by the follower')]);
    await sleep(150);
    const lag = lagOf(follower);
    const elapsedS = (Date.now() - beforeMs) / 1000;
    expect(cluster.leaderOf(PARTITION)).toBe(leader);
    expect(lag?.lagRecords).toBe(1);
    // The missed record's age: at least the pause after its append, at most the time since before it.
    expect(lag?.lagSeconds).toBeGreaterThanOrEqual(0.15);
    expect(lag?.lagSeconds).toBeLessThanOrEqual(elapsedS + 0.02);
    await cluster.restart(follower);
    await until(() => lagOf(follower)?.lagRecords === 0, 'the restarted follower to catch up');
    expect(lagOf(follower)).toMatchObject({ lagRecords: 0, lagSeconds: 0 });
    client.close();
  });

  it('a down follower\'s lag still ages from the first record it missed when nobody read it while appends went on', { timeout: 2 * SETTLE_MS }, async () => {
    // The leader drops append-time samples the followers are past as it appends, not only when lag
    // is read: it must keep the one a down follower's lag is measured from.
    const client = cluster.client();
    const { leader, follower } = await crashCaughtUpFollower(client);
    const firstMissedMs = Date.now();
    for (let i = 0; i < 30; i++) {
      await client.append({ partition: PARTITION }, [new TextEncoder().encode(`missed ${i}`)]);
      await sleep(15); // more than the sampling resolution apart: every append is a sample
    }
    const lag = lagOf(follower);
    const sinceFirstS = (Date.now() - firstMissedMs) / 1000;
    expect(cluster.leaderOf(PARTITION)).toBe(leader);
    expect(lag?.lagRecords).toBe(30);
    // At least the 30 pauses since the first missed record (not the age of a later one), at most the time since before it.
    expect(lag?.lagSeconds).toBeGreaterThanOrEqual(0.45);
    expect(lag?.lagSeconds).toBeLessThanOrEqual(sinceFirstS + 0.02);
    await cluster.restart(follower);
    await until(() => lagOf(follower)?.lagRecords === 0, 'the restarted follower to catch up');
    client.close();
  });

  it('a new leader reports a follower it has not heard from as unknown, not as the whole log behind', { timeout: 3 * SETTLE_MS }, async () => {
    const client = cluster.client();
    for (let i = 0; i < 20; i++) await client.append({ partition: PARTITION }, [new TextEncoder().encode(`r${i}`)]);
    const oldLeader = cluster.leaderOf(PARTITION);
    cluster.crash(oldLeader);
    await until(() => cluster.leaderOf(PARTITION) !== 0 && cluster.leaderOf(PARTITION) !== oldLeader, 'a new leader');
    expect(cluster.leaderOf(PARTITION)).not.toBe(oldLeader);
    // The crashed node never answered this leader: its position is unknown.
    expect(lagOf(oldLeader)).toEqual({ replica: oldLeader, lagRecords: null, lagSeconds: null, inSync: false });
    await cluster.restart(oldLeader);
    await until(() => lagOf(oldLeader)?.lagRecords === 0, 'the old leader to catch up');
    expect(lagOf(oldLeader)).toMatchObject({ lagRecords: 0, lagSeconds: 0 });
    client.close();
  });
});
