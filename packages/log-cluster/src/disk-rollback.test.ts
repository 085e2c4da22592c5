// A node whose disk is put back to an older copy of itself (a restored backup or VM snapshot) comes
// back with a log and votes from the past, and nothing on its disk says so: its peers remember how
// far its durable writes had come, tell it, and it abstains until caught up. On simulated time,
// network and disks, so that who hears whom, and when, is set by the test.
import { describe, expect, it } from 'vitest';
import { LogClient } from './client.ts';
import { LogError } from './errors.ts';
import { DEFAULT_NODE_CONFIG, LogNode, type NodeConfig } from './node.ts';
import type { ClientRequest, ClientResponse, NodeConnector } from './protocol.ts';
import type { NodeId } from './raft/types.ts';
import { seededRandom } from './sim/random.ts';
import { SimScheduler } from './sim/scheduler.ts';
import { MemDisk } from './storage/mem-disk.ts';
import { InProcessNetwork } from './transport/in-process.ts';

const NODE_IDS: readonly NodeId[] = [1, 2, 3];
const BASE_LINK = { cut: false, delayMs: 0.2, jitterMs: 0.5, lossRate: 0 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Three nodes, one partition, on in-memory disks; a client; crash, rollback and isolation by hand. */
function simCluster(overrides: Partial<NodeConfig> = {}) {
  const scheduler = new SimScheduler();
  const random = seededRandom(7); // the same run every time
  const network = new InProcessNetwork(scheduler, random);
  for (const a of NODE_IDS) for (const b of NODE_IDS) if (a !== b) network.setLink(a, b, BASE_LINK);
  const config: Omit<NodeConfig, 'id'> = { ...DEFAULT_NODE_CONFIG, nodeIds: NODE_IDS, partitionCount: 1, replicationFactor: 3, ...overrides };
  const newDisk = (): MemDisk => new MemDisk({ random, schedule: (delayMs, fn) => void scheduler.setTimer(delayMs, fn), fsyncLatencyMs: () => 1 });
  const disks = new Map(NODE_IDS.map((id) => [id, newDisk()]));
  const nodes = new Map<NodeId, LogNode>();
  const rolledBackTold: NodeId[] = [];
  const start = (id: NodeId): void => {
    nodes.set(id, new LogNode({ ...config, id }, { disk: disks.get(id)!, transport: network.attach(id), scheduler, random, observer: { diskRolledBack: () => rolledBackTold.push(id) } }));
  };
  /** Power loss: the node stops, its disk keeps what was synced. */
  const crash = (id: NodeId): void => {
    nodes.get(id)?.stop();
    nodes.delete(id);
    disks.get(id)!.crash();
  };
  const isolate = (id: NodeId, cut: boolean): void => {
    for (const other of NODE_IDS) if (other !== id) network.setLinkBoth(id, other, cut ? { cut: true } : BASE_LINK);
  };
  const connector: NodeConnector = {
    nodeIds: () => NODE_IDS,
    request: (node: NodeId, request: ClientRequest) =>
      new Promise<ClientResponse>((resolve) => {
        scheduler.setTimer(0.1, () => {
          const target = nodes.get(node);
          if (target === undefined || !target.isRunning) resolve({ kind: 'error', error: new LogError('Unavailable', `node ${node} is down`).toJSON() });
          else void target.handle(request).then((response) => scheduler.setTimer(0.1, () => resolve(response)));
        });
      }),
  };
  const client = (): LogClient => new LogClient(connector, scheduler, { random, appendTimeoutMs: 3_000, attemptTimeoutMs: 300, retryBackoffMs: 10 });
  const run = (ms: number): Promise<void> => scheduler.runUntil(scheduler.now() + ms);
  /** Runs until `promise` settles (at most `ms`), then returns it. */
  const settle = async <T,>(promise: Promise<T>, ms = 5_000): Promise<T> => {
    let done = false;
    promise.then(() => (done = true), () => (done = true));
    await scheduler.runUntil(scheduler.now() + ms, () => done);
    return promise;
  };
  const leader = (): NodeId | undefined => [...nodes.entries()].find(([, node]) => node.replica(0)?.isLeader === true)?.[0];
  const abstains = (id: NodeId): boolean => nodes.get(id)?.replica(0)?.raft.abstainingFromVotes() === true;
  /** The node stops and its disk is replaced by an empty one (start it again to bring it back). */
  const wipe = (id: NodeId): void => {
    crash(id);
    disks.set(id, newDisk());
  };
  return { disks, nodes, start, crash, wipe, isolate, client, run, settle, leader, abstains, rolledBackTold, stop: () => nodes.forEach((node) => node.stop()) };
}

/**
 * A started cluster with a leader, one record acknowledged, and a backup of a follower's disk
 * taken then (`rolled`); `other` is the third node.
 */
async function withBackup(c: ReturnType<typeof simCluster>) {
  const nodes = await started(c);
  await appendAll(c, nodes.client, ['before-1']);
  return { ...nodes, backup: c.disks.get(nodes.rolled)!.snapshot() };
}

/** A started cluster with a leader; `rolled` and `other` are its followers. */
async function started(c: ReturnType<typeof simCluster>) {
  for (const id of NODE_IDS) c.start(id);
  await c.run(3_000);
  const leader = c.leader();
  expect(leader).toBeDefined();
  const [rolled, other] = NODE_IDS.filter((id) => id !== leader) as [NodeId, NodeId];
  return { leader: leader!, rolled, other, client: c.client() };
}

/** Every acknowledged record reads back at its offset through a fresh client. */
async function readsBack(c: ReturnType<typeof simCluster>, acked: ReadonlyMap<number, string>): Promise<void> {
  const read = new Map((await c.settle(c.client().readAll(0))).map((r) => [r.offset, decoder.decode(r.value)]));
  for (const [offset, value] of acked) expect(read.get(offset), `offset ${offset}`).toBe(value);
}

/** The leader's node is lost, `rolled` comes back on `backup`, `other` is reachable again; 3 s pass. */
async function leaderLostCopyBack(c: ReturnType<typeof simCluster>, leader: NodeId, rolled: NodeId, other: NodeId, backup: Map<string, Uint8Array>): Promise<void> {
  c.crash(leader);
  c.crash(rolled);
  c.disks.get(rolled)!.restore(backup);
  c.isolate(other, false);
  c.start(rolled);
  await c.run(3_000);
}

/** No leader while the old one is down; back, it is elected, and every acknowledged record reads back. */
async function noLeaderUntilItReturns(c: ReturnType<typeof simCluster>, leader: NodeId, acked: ReadonlyMap<number, string>): Promise<void> {
  expect(c.leader()).toBeUndefined();
  c.start(leader);
  await c.run(3_000);
  expect(c.leader()).toBeDefined();
  await readsBack(c, acked);
}

/** Appends `values` one by one through `client`; the offset each was acknowledged at. */
async function appendAll(c: ReturnType<typeof simCluster>, client: LogClient, values: readonly string[]): Promise<Map<number, string>> {
  const acked = new Map<number, string>();
  for (const value of values) {
    const { offsets } = await c.settle(client.append({ partition: 0 }, [encoder.encode(value)]));
    acked.set(offsets[0]!, value);
  }
  return acked;
}

describe('a node restarted on an older copy of its disk', () => {
  it('abstains once a peer tells it, so the two replicas that lack acknowledged records cannot elect each other', async () => {
    const c = simCluster();
    // The backup: what a crash of `rolled` would leave then.
    const { leader, rolled, other, client, backup } = await withBackup(c);
    // Everyone takes these; `other` hears `rolled` report its disk further along than the backup.
    const acked = await appendAll(c, client, ['a-1', 'a-2', 'a-3']);
    await c.run(200);
    // `other` is cut off: these are acknowledged by the leader and `rolled` alone.
    c.isolate(other, true);
    for (const [offset, value] of await appendAll(c, client, ['b-1', 'b-2', 'b-3'])) acked.set(offset, value);
    // The leader's machine dies; `rolled` comes back on its backup; `other` is reachable again.
    await leaderLostCopyBack(c, leader, rolled, other, backup);
    // `other` remembered more than `rolled` recovered and told it: it abstains, durably, so `other`
    // (which lacks b-*) cannot win its vote; without this the two elected one of themselves and
    // b-1..b-3, acknowledged, were gone.
    expect(c.rolledBackTold).toEqual([rolled]);
    expect(c.abstains(rolled)).toBe(true);
    expect(c.disks.get(rolled)!.list()).toContain('abstain.marker');
    // The leader's node comes back: it is elected, catches `rolled` up, and every acknowledged
    // record reads back at its offset through a fresh client.
    await noLeaderUntilItReturns(c, leader, acked);
    await c.run(1_000);
    expect(c.abstains(rolled)).toBe(false);
    expect(c.disks.get(rolled)!.list()).not.toContain('abstain.marker');
    c.stop();
  });

  it('is told by a peer that was down meanwhile: what peers heard is kept on their disks', async () => {
    const c = simCluster();
    const { leader, rolled, other, client, backup } = await withBackup(c);
    const acked = await appendAll(c, client, ['a-1', 'a-2', 'a-3']);
    await c.run(300);
    // `other` goes down: the leader and `rolled` acknowledge more.
    c.crash(other);
    for (const [offset, value] of await appendAll(c, client, ['b-1', 'b-2'])) acked.set(offset, value);
    c.crash(leader);
    c.crash(rolled);
    c.disks.get(rolled)!.restore(backup);
    c.start(rolled);
    // `other` comes back: all it knows of `rolled` is what it wrote down before (peers.progress).
    c.start(other);
    await c.run(3_000);
    // Without peers.progress, `other` had nothing to compare with, the two elected one of
    // themselves, and b-1, b-2 were gone.
    expect(c.rolledBackTold).toEqual([rolled]);
    await noLeaderUntilItReturns(c, leader, acked);
    c.stop();
  });

  it('is told once: a peer cut off while it was told and caught up does not tell it again (it counts catch-ups)', async () => {
    const c = simCluster();
    const { rolled, other, client, backup } = await withBackup(c);
    // One flush each (records and hard states): caught up later, `rolled` takes them in a few.
    await appendAll(c, client, Array.from({ length: 20 }, (_, i) => `a-${i}`));
    await c.run(300);
    // `other` is cut off, and remembers `rolled` as it was before the copy comes back.
    c.isolate(other, true);
    c.crash(rolled);
    c.disks.get(rolled)!.restore(backup);
    c.start(rolled);
    await c.run(2_000);
    // The leader told it; the partition, idle, probed it; it caught up and votes again.
    expect(c.rolledBackTold).toEqual([rolled]);
    expect(c.abstains(rolled)).toBe(false);
    // `other` comes back still remembering more than `rolled` holds: the count says it was told.
    c.isolate(other, false);
    await c.run(2_000);
    expect(c.rolledBackTold).toEqual([rolled]);
    expect(c.abstains(rolled)).toBe(false);
    expect(c.disks.get(rolled)!.list()).toContain('caught-up-1.marker');
    c.stop();
  });

  it('is told when the copy is from before its disk was replaced: the catch-up count does not start over with the new disk', async () => {
    const c = simCluster();
    const { leader, rolled, other, client } = await started(c);
    const replaceDisk = async (): Promise<void> => {
      c.wipe(rolled);
      c.start(rolled);
      await c.run(2_000);
      expect(c.abstains(rolled)).toBe(false);
    };
    // A first replaced disk, caught up: its count is 1. The copy is taken with that count.
    await replaceDisk();
    expect(c.disks.get(rolled)!.list()).toContain('caught-up-1.marker');
    const acked = await appendAll(c, client, ['a-1', 'a-2']);
    await c.run(300);
    c.crash(rolled);
    const backup = c.disks.get(rolled)!.snapshot();
    c.start(rolled);
    await c.run(500);
    // A second replaced disk starts with no count; caught up, it takes the peers' (1) + 1.
    await replaceDisk();
    expect(c.disks.get(rolled)!.list()).toContain('caught-up-2.marker');
    for (const [offset, value] of await appendAll(c, client, ['b-1', 'b-2'])) acked.set(offset, value);
    await c.run(300);
    // Cut off, the leader and `rolled` acknowledge more; then the leader is lost and the copy from
    // before the second disk comes back. With a count that started over (1 again) it looked as new
    // as what the peers remembered, further along than the new disk, and was not told.
    c.isolate(other, true);
    for (const [offset, value] of await appendAll(c, client, ['c-1', 'c-2'])) acked.set(offset, value);
    await leaderLostCopyBack(c, leader, rolled, other, backup);
    expect(c.rolledBackTold).toContain(rolled);
    await noLeaderUntilItReturns(c, leader, acked);
    c.stop();
  });

  it('is not told anything after an ordinary crash, or when nothing was written since the copy', async () => {
    const c = simCluster();
    const { rolled: follower, client } = await started(c);
    await appendAll(c, client, ['x-1', 'x-2']);
    await c.run(200);
    // A crash keeps everything synced: the restarted node is as far along as it said.
    c.crash(follower);
    c.start(follower);
    await c.run(1_000);
    // A copy taken while idle and put back: nothing the node promised since is missing.
    const copy = c.disks.get(follower)!.snapshot();
    c.crash(follower);
    c.disks.get(follower)!.restore(copy);
    c.start(follower);
    await c.run(1_000);
    expect(c.rolledBackTold).toEqual([]);
    expect(c.abstains(follower)).toBe(false);
    await appendAll(c, client, ['x-3']);
    c.stop();
  });
});
