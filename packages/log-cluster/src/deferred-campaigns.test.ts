// A drained node's replicas let the others win elections first (deferCampaigns): when a leader
// dies, its partitions elect another live replica, not the drained one; and when only the drained
// one can lead (the others' logs are behind), it still takes over, so nothing stays leaderless.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';

let cluster: EmbeddedCluster | null = null;
let directory = '';
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
  fs.rmSync(directory, { recursive: true, force: true });
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(20);
  return condition();
}

interface Acked {
  partition: number;
  offset: number;
  value: string;
}

async function appendEach(c: EmbeddedCluster, partitions: readonly number[], tag: string, acked: Acked[]): Promise<void> {
  const client = c.client();
  try {
    await Promise.all(partitions.map(async (partition) => {
      const value = `${tag}-p${partition}`;
      const result = await client.append({ partition }, [encoder.encode(value)]);
      acked.push({ partition, offset: result.baseOffset, value });
    }));
  } finally {
    client.close();
  }
}

/** Every acknowledged record, read back through a client that never wrote. */
async function expectReadBack(c: EmbeddedCluster, acked: readonly Acked[]): Promise<void> {
  const fresh = c.client();
  try {
    for (const { partition, offset, value } of acked) {
      const read = await fresh.read(partition, offset, 1);
      expect(read.records[0]?.offset).toBe(offset);
      expect(decoder.decode(read.records[0]?.value)).toBe(value);
    }
  } finally {
    fresh.close();
  }
}

describe('deferred campaigns (a drained node)', () => {
  it.each([3, 5])('at %i nodes, a dead leader\'s partitions elect a live replica that is not drained', async (nodeCount) => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-deferred-'));
    const c = (cluster = await EmbeddedCluster.start({ dataDir: directory, nodeCount, partitionCount: 24 }));
    expect(await c.waitForLeaders(20_000)).toBe(true);
    const dying = 1;
    const drained = 2;
    // Every partition node 1 holds is led by it: its death makes each of them elect.
    const mine = Array.from({ length: 24 }, (_, p) => p).filter((p) => c.replicasOf(p).includes(dying));
    for (const p of mine) if (c.leaderOf(p) !== dying) c.transferLeadership(p, dying);
    expect(await until(() => mine.every((p) => c.leaderOf(p) === dying), 10_000)).toBe(true);
    const contested = mine.filter((p) => c.replicasOf(p).includes(drained));
    expect(contested.length).toBeGreaterThanOrEqual(nodeCount === 3 ? 24 : 4);

    const acked: Acked[] = [];
    await appendEach(c, Array.from({ length: 24 }, (_, p) => p), 'before', acked);
    c.deferCampaigns(drained, true);
    expect(c.health().find((h) => h.node === drained)?.campaignsDeferred).toBe(true);
    await c.crash(dying);
    expect(await until(() => mine.every((p) => ![0, dying].includes(c.leaderOf(p))), 15_000)).toBe(true);
    // Each contested partition had one other live replica besides the drained one: it won every time.
    expect(contested.filter((p) => c.leaderOf(p) === drained)).toEqual([]);

    await appendEach(c, Array.from({ length: 24 }, (_, p) => p), 'after', acked);
    // The embedded cluster keeps the deferral across the drained node's own restart.
    await c.crash(drained);
    await c.restart(drained);
    expect(c.node(drained)?.campaignsDeferred).toBe(true);
    await c.restart(dying);
    c.deferCampaigns(drained, false);
    expect(c.node(drained)?.campaignsDeferred).toBe(false);
    expect(c.health().find((h) => h.node === drained)?.campaignsDeferred).toBe(false);
    await expectReadBack(c, acked);
  });

  it('still leads when no other live replica can: the others\' logs are behind its own', async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-deferred-'));
    const c = (cluster = await EmbeddedCluster.start({ dataDir: directory, nodeCount: 3, partitionCount: 2 }));
    expect(await c.waitForLeaders(20_000)).toBe(true);
    for (const p of [0, 1]) if (c.leaderOf(p) !== 1) c.transferLeadership(p, 1);
    expect(await until(() => [0, 1].every((p) => c.leaderOf(p) === 1), 10_000)).toBe(true);
    const acked: Acked[] = [];
    await appendEach(c, [0, 1], 'all three', acked);
    // Node 2 misses what nodes 1 and 3 commit; then node 1 dies and node 2 hears from node 3 again.
    c.cutLink(2, 1);
    c.cutLink(2, 3);
    await appendEach(c, [0, 1], 'without node 2', acked);
    c.deferCampaigns(3, true);
    await c.crash(1);
    c.healLink(2, 3);
    // Node 3 refuses node 2 its vote (its log is behind), so only node 3 can lead: after waiting, it does.
    expect(await until(() => [0, 1].every((p) => c.leaderOf(p) === 3), 15_000)).toBe(true);
    await appendEach(c, [0, 1], 'led by the drained node', acked);
    await expectReadBack(c, acked);
  });
});
