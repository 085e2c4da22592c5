// Follower lag as the leader reports it (Replica.followerLag), on a real embedded cluster:
// seconds come from when the leader appended the oldest entry a follower lacks, and a leader
// that has not yet learned a follower's position says "unknown" instead of the whole log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';

const PARTITION = 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('follower lag on the leader', () => {
  let dir: string;
  let cluster: EmbeddedCluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-lag-'));
    cluster = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount: 1 });
    expect(await cluster.waitForLeaders(10_000)).toBe(true);
  });

  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const lagOf = (node: number) => {
    const leader = cluster.leaderOf(PARTITION);
    return cluster.node(leader)?.replica(PARTITION)?.followerLag().find((l) => l.replica === node);
  };

  it('one record behind reads as that record\'s age, not a whole second', async () => {
    const client = cluster.client();
    await client.append({ partition: PARTITION }, [new TextEncoder().encode('warm-up')]);
    const leader = cluster.leaderOf(PARTITION);
    const follower = cluster.replicasOf(PARTITION).find((n) => n !== leader)!;
    cluster.crash(follower);
    const beforeMs = Date.now();
    await client.append({ partition: PARTITION }, [new TextEncoder().encode('missed by the follower')]);
    await sleep(150);
    const lag = lagOf(follower);
    const elapsedS = (Date.now() - beforeMs) / 1000;
    expect(lag?.lagRecords).toBe(1);
    // The missed record's age: at least the pause after its append, at most the time since before it.
    expect(lag?.lagSeconds).toBeGreaterThanOrEqual(0.15);
    expect(lag?.lagSeconds).toBeLessThanOrEqual(elapsedS + 0.02);
    await cluster.restart(follower);
    for (let i = 0; i < 100 && lagOf(follower)?.lagRecords !== 0; i++) await sleep(50);
    expect(lagOf(follower)).toMatchObject({ lagRecords: 0, lagSeconds: 0 });
    client.close();
  });

  it('a new leader reports a follower it has not heard from as unknown, not as the whole log behind', async () => {
    const client = cluster.client();
    for (let i = 0; i < 20; i++) await client.append({ partition: PARTITION }, [new TextEncoder().encode(`r${i}`)]);
    const oldLeader = cluster.leaderOf(PARTITION);
    cluster.crash(oldLeader);
    for (let i = 0; i < 200 && (cluster.leaderOf(PARTITION) === 0 || cluster.leaderOf(PARTITION) === oldLeader); i++) await sleep(25);
    expect(cluster.leaderOf(PARTITION)).not.toBe(oldLeader);
    // The crashed node never answered this leader: its position is unknown.
    expect(lagOf(oldLeader)).toEqual({ replica: oldLeader, lagRecords: null, lagSeconds: null, inSync: false });
    await cluster.restart(oldLeader);
    for (let i = 0; i < 200 && lagOf(oldLeader)?.lagRecords !== 0; i++) await sleep(25);
    expect(lagOf(oldLeader)).toMatchObject({ lagRecords: 0, lagSeconds: 0 });
    client.close();
  });
});
