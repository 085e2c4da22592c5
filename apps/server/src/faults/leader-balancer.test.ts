import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeHealth } from '../../../../packages/log-cluster/src/faults.ts';
import { replicasFor } from '../../../../packages/log-cluster/src/placement.ts';
import { AuditTrail } from '../auth.ts';
import { describeEntry } from '../routers/audit.ts';
import type { ClusterHandle } from '../services.ts';
import { LeaderBalancer, REBALANCE_ACTION, type LeaderMove } from './leader-balancer.ts';

/**
 * A partition map without an engine: leaders, health and the transfers asked. A transfer takes
 * effect at once unless `transfersHang` (a target that never wins: the balancer must not ask
 * again and again).
 */
class MapCluster implements ClusterHandle {
  readonly leaders: number[];
  readonly up = new Map<number, boolean>();
  readonly deferred = new Set<number>();
  readonly asked: LeaderMove[] = [];
  transfersHang = false;

  constructor(readonly nodes: number[], readonly partitionCount: number) {
    // Every partition starts on its first replica: not the rotation the balancer prefers.
    this.leaders = Array.from({ length: partitionCount }, (_, p) => this.replicasOf(p)[0] ?? 0);
    for (const n of nodes) this.up.set(n, true);
  }

  replicasOf(partition: number): number[] {
    return replicasFor(partition, this.nodes, 3);
  }
  leaderOf(partition: number): number {
    return this.leaders[partition] ?? 0;
  }
  nodeIds(): readonly number[] {
    return this.nodes;
  }
  health(): readonly NodeHealth[] {
    return this.nodes.map((node) => ({ node, up: this.up.get(node) === true, reason: null, fsyncDelayMs: 0, diskFull: false, pausedUntilMs: 0, campaignsDeferred: this.deferred.has(node) }));
  }
  deferCampaigns(node: number, deferred: boolean): void {
    if (this.up.get(node) !== true) throw new Error(`node ${node} is down`);
    if (deferred) this.deferred.add(node);
    else this.deferred.delete(node);
  }
  transferLeadership(partition: number, to: number): void {
    this.asked.push({ partition, from: this.leaderOf(partition), to });
    if (!this.transfersHang) this.leaders[partition] = to;
  }
  /** A crash: its partitions elect the next live replica. A node process forgets a deferral. */
  crash(node: number): void {
    this.up.set(node, false);
    this.deferred.delete(node);
    for (let p = 0; p < this.partitionCount; p++) {
      if (this.leaders[p] === node) this.leaders[p] = this.replicasOf(p).find((r) => this.up.get(r) === true) ?? 0;
    }
  }
  async restart(node: number): Promise<void> {
    this.up.set(node, true);
  }
  activeFaults() {
    return [];
  }
  // The rest of the fault surface is not the balancer's business.
  isolate(): void {}
  cutLink(): void {}
  healLink(): void {}
  setLinkDelay(): void {}
  setLinkLoss(): void {}
  slowFsync(): void {}
  pause(): void {}
  corruptSegment(): { file: string; position: number } {
    throw new Error('not in this test');
  }
  startScrub(): { bytes: number; bytesPerSec: number } {
    throw new Error('not in this test');
  }
  cutSegmentTail(): { file: string; cutBytes: number } {
    throw new Error('not in this test');
  }
  copyDisk(): never {
    throw new Error('not in this test');
  }
  putBackDiskCopy(): never {
    throw new Error('not in this test');
  }
  setDiskFull(): void {}
  async healAll(): Promise<void> {}
}

const led = (c: MapCluster, node: number): number[] => Array.from({ length: c.partitionCount }, (_, p) => p).filter((p) => c.leaderOf(p) === node);

describe('leader balancer', () => {
  let dir = '';
  let trail: AuditTrail;
  let t = 0;
  const base = Date.now();
  const now = (): number => base + t;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-balancer-'));
    trail = AuditTrail.open(dir);
    t = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands a restarted node its preferred leaderships back once it has been up for the settle time, not before, and audits it as the system', async () => {
    const c = new MapCluster([1, 2, 3], 12);
    const b = new LeaderBalancer(c, trail, { settleMs: 10_000, now });
    await b.poll();
    // Nodes up when the console starts are not returns: their placement is left alone.
    expect(c.asked).toEqual([]);
    c.crash(2);
    t += 1_000;
    await b.poll();
    expect(led(c, 2)).toEqual([]);
    await c.restart(2);
    t += 1_000;
    await b.poll();
    t += 9_000;
    await b.poll();
    expect(c.asked).toEqual([]); // up 9 s: still settling
    expect(b.status().returning).toEqual([{ node: 2, reason: 'node 2 restarted', settlesAtMs: base + 12_000 }]);
    t += 1_000;
    await b.poll();
    expect(c.asked.length).toBeGreaterThan(0);
    expect(b.preferredLeaders().filter((x) => x.leader !== x.preferred)).toEqual([]);
    expect(led(c, 2).length).toBe(4); // 12 partitions over 3 nodes
    t += 1_000;
    await b.poll();
    expect(b.status().returning).toEqual([]); // the next round finds it balanced: the return is done
    const entries = trail.list(undefined, 10).entries;
    expect(entries).toHaveLength(1);
    const entry = entries[0]!;
    expect([entry.role, entry.action, entry.outcome]).toEqual(['system', REBALANCE_ACTION, 'ok']);
    expect(describeEntry(entry, [], new Map()).text).toMatch(/^node 2 restarted: leadership transfers to the preferred replicas \(p\d+ \d→\d/);
  });

  it('a node that goes down again while settling is handed nothing (a crash loop takes no leaders)', async () => {
    const c = new MapCluster([1, 2, 3], 12);
    const b = new LeaderBalancer(c, trail, { settleMs: 10_000, now });
    await b.poll();
    c.crash(3);
    await b.poll();
    for (let k = 0; k < 3; k++) {
      await c.restart(3);
      t += 6_000;
      await b.poll();
      c.crash(3);
      t += 1_000;
      await b.poll();
    }
    expect(c.asked).toEqual([]);
  });

  it('a drained node leads nothing while another replica can, takes none back from an election, and gets its share back when undrained', async () => {
    const c = new MapCluster([1, 2, 3, 4, 5], 40);
    const b = new LeaderBalancer(c, trail, { settleMs: 10_000, now, movesPerRound: 100 });
    await b.poll();
    t += 60_000;
    const plan = b.drainPlan(1);
    expect(plan.map((x) => x.partition)).toEqual(led(c, 1));
    expect(plan.every((x) => x.to !== null && x.to !== 1 && c.replicasOf(x.partition).includes(x.to))).toBe(true);
    await b.drain(1, 'op');
    expect(led(c, 1)).toEqual([]);
    expect(b.status().drained).toEqual([1]);
    // An election hands it one back: a later round undoes it (not within a transfer's own retry time).
    const p = c.asked[0]!.partition;
    c.leaders[p] = 1;
    t += 3_000;
    await b.poll();
    expect(led(c, 1)).toEqual([]);
    // Partitions node 1 does not replicate (5 nodes, 3 replicas) never had it as a candidate.
    expect(b.preferredLeaders().every((x) => x.preferred !== 1)).toBe(true);
    await b.undrain(1, 'op');
    expect(b.preferredLeaders().filter((x) => x.leader !== x.preferred)).toEqual([]);
    expect(led(c, 1).length).toBeGreaterThan(0);
    expect(led(c, 1).every((q) => c.replicasOf(q).includes(1))).toBe(true);
    const reasons = trail.list(undefined, 10).entries.map((e) => (e.input as { reason: string }).reason).reverse();
    expect(reasons).toEqual(['node 1 drained', 'node 1 drained', 'node 1 undrained']);
  });

  it('a drained node\'s campaigns are deferred, again after it restarts (a process forgets), and restored when undrained', async () => {
    const c = new MapCluster([1, 2, 3], 12);
    const b = new LeaderBalancer(c, trail, { settleMs: 10_000, now, movesPerRound: 100 });
    await b.poll();
    expect([...c.deferred]).toEqual([]);
    await b.drain(3, 'op');
    expect([...c.deferred]).toEqual([3]);
    c.crash(3);
    t += 1_000;
    await b.poll(); // down: nothing to tell it
    expect([...c.deferred]).toEqual([]);
    await c.restart(3);
    t += 1_000;
    await b.poll();
    expect([...c.deferred]).toEqual([3]);
    await b.undrain(3, 'op');
    expect([...c.deferred]).toEqual([]);
  });

  it('a node drained by two (the console and a drill) stays drained until both undrain it', async () => {
    const c = new MapCluster([1, 2, 3], 12);
    const b = new LeaderBalancer(c, trail, { settleMs: 10_000, now, movesPerRound: 100 });
    await b.poll();
    t += 60_000;
    await b.drain(2, 'the console');
    await b.drain(2, 'drill run r1');
    await b.drain(2, 'drill run r1'); // twice by one is once
    await b.undrain(2, 'drill run r1');
    expect(b.isDrained(2)).toBe(true);
    t += 3_000;
    await b.poll();
    expect(led(c, 2)).toEqual([]);
    await b.undrain(2, 'someone else'); // never drained it: nothing changes
    expect(b.isDrained(2)).toBe(true);
    await b.undrain(2, 'the console');
    expect(b.status().drained).toEqual([]);
    expect(led(c, 2).length).toBe(4);
  });

  it('a drain keeps a leader no other replica can replace: availability first', async () => {
    const c = new MapCluster([1, 2, 3], 6);
    const b = new LeaderBalancer(c, trail, { now });
    await b.poll();
    c.crash(2);
    c.crash(3);
    await b.poll();
    const before = [...c.leaders];
    expect(b.drainPlan(1).every((x) => x.to === null)).toBe(true);
    await b.drain(1, 'op');
    expect(c.leaders).toEqual(before);
    expect(c.asked).toEqual([]);
  });

  it('a running drill holds the return of a restarted node; its release lets it go ahead', async () => {
    const c = new MapCluster([1, 2, 3], 12);
    const b = new LeaderBalancer(c, trail, { settleMs: 10_000, now });
    await b.poll();
    const release = b.hold('drill "Leader failover" running');
    c.crash(1);
    await b.poll();
    await c.restart(1);
    t += 1_000;
    await b.poll();
    t += 30_000;
    await b.poll();
    expect(c.asked).toEqual([]);
    expect(b.status().heldBy).toEqual(['drill "Leader failover" running']);
    release();
    await b.poll();
    expect(led(c, 1).length).toBe(4);
  });

  it('an operator\'s transfer stays where it was put until a node returns', async () => {
    const c = new MapCluster([1, 2, 3], 12);
    const b = new LeaderBalancer(c, trail, { settleMs: 10_000, now });
    await b.poll();
    for (let p = 0; p < 12; p++) c.leaders[p] = 3;
    for (let k = 0; k < 5; k++) {
      t += 5_000;
      await b.poll();
    }
    expect(c.asked).toEqual([]);
  });

  it('asks a few transfers a round, does not ask one again before it had time to finish, and gives up (audited) when leadership never moves', async () => {
    const c = new MapCluster([1, 2, 3], 48);
    const b = new LeaderBalancer(c, trail, { settleMs: 1_000, now, movesPerRound: 5 });
    await b.poll();
    c.crash(2);
    await b.poll();
    await c.restart(2);
    t += 100;
    await b.poll();
    c.transfersHang = true;
    t += 1_000;
    await b.poll();
    expect(c.asked).toHaveLength(5);
    t += 1_000;
    await b.poll(); // the same five are still pending: five others are asked
    expect(new Set(c.asked.map((m) => m.partition)).size).toBe(10);
    for (let k = 0; k < 70; k++) {
      t += 1_000;
      await b.poll();
    }
    expect(b.status().returning).toEqual([]);
    const last = trail.list(undefined, 1).entries[0]!;
    expect(last.outcome).toBe('error');
    expect(last.message).toMatch(/still not on their preferred leader, none moved in 60 s/);
  });

  it('a return to hundreds of partitions takes many rounds and is not given up while it moves', async () => {
    const c = new MapCluster([1, 2, 3, 4, 5], 1024);
    const b = new LeaderBalancer(c, trail, { settleMs: 1_000, now, movesPerRound: 4 });
    await b.poll();
    c.crash(4);
    await b.poll();
    await c.restart(4);
    t += 100;
    await b.poll();
    let rounds = 0;
    while (b.preferredLeaders().some((x) => x.leader !== x.preferred) && rounds < 1_000) {
      t += 1_000;
      await b.poll();
      rounds++;
    }
    expect(rounds).toBeGreaterThan(60); // longer than the give-up time, at 4 transfers a round
    expect(b.preferredLeaders().filter((x) => x.leader !== x.preferred)).toEqual([]);
    expect(trail.list(undefined, 1_000).entries.every((e) => e.outcome === 'ok')).toBe(true);
  });
});
