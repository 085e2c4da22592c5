import { LogError } from './errors.ts';
import type { Fault, FaultSurface, NodeHealth } from './faults.ts';
import { invariant } from './invariant.ts';
import type { LogNode } from './node.ts';
import type { PartitionMessage, Transport } from './protocol.ts';
import type { NodeId } from './raft/types.ts';
import { corruptNewestSegment, cutNewestSegmentTail } from './storage/corrupt.ts';
import type { FileDisk } from './storage/file-disk.ts';
import type { LinkFaults } from './transport/in-process.ts';

const HEALTHY_LINK: LinkFaults = { cut: false, delayMs: 0, jitterMs: 0, lossRate: 0 };

/**
 * The sending half of a node's links, with the same faults as the in-process network (cut,
 * delay, jitter, loss) applied to what this node sends. A fault on the link a → b lives in
 * node a's process; a two-way fault is its two one-way halves, one in each process.
 */
export class FaultyTransport implements Transport {
  private readonly links = new Map<NodeId, LinkFaults>();

  constructor(
    private readonly inner: Transport,
    private readonly random: () => number = Math.random,
  ) {}

  link(target: NodeId): LinkFaults {
    return this.links.get(target) ?? HEALTHY_LINK;
  }

  setLink(target: NodeId, faults: Partial<LinkFaults>): void {
    const next = { ...this.link(target), ...faults };
    if (!next.cut && next.delayMs === 0 && next.jitterMs === 0 && next.lossRate === 0) this.links.delete(target);
    else this.links.set(target, next);
  }

  healAll(): void {
    this.links.clear();
  }

  send(to: NodeId, messages: readonly PartitionMessage[]): void {
    const link = this.links.get(to);
    if (link === undefined) {
      this.inner.send(to, messages);
      return;
    }
    if (link.cut || (link.lossRate > 0 && this.random() < link.lossRate)) return;
    const delayMs = link.delayMs + (link.jitterMs > 0 ? this.random() * link.jitterMs : 0);
    if (delayMs <= 0) this.inner.send(to, messages);
    else setTimeout(() => this.inner.send(to, messages), delayMs).unref();
  }

  setHandler(handler: (from: NodeId, messages: readonly PartitionMessage[]) => void): void {
    this.inner.setHandler(handler);
  }

  close(): void {
    this.inner.close();
  }
}

export interface ProcessFaultsDeps {
  readonly self: NodeId;
  readonly nodeIds: readonly NodeId[];
  readonly node: LogNode;
  readonly disk: FileDisk;
  readonly transport: FaultyTransport;
  /** Ends this process as a crash would (SIGKILL to itself), after the caller has answered. */
  readonly die: () => void;
}

/**
 * The fault surface as one node process sees it: it acts on its own disk, its own pauses and
 * the sending half of its own links, and refuses what only another process (or the supervisor)
 * can do. The node's admin API calls exactly these methods; a console spreads one cluster-wide
 * call over the processes concerned (apps/server/src/cluster/remote-cluster.ts).
 */
export class ProcessFaults implements FaultSurface {
  private readonly faults: Fault[] = [];
  private pausedUntilMs = 0;

  constructor(private readonly deps: ProcessFaultsDeps) {}

  nodeIds(): readonly NodeId[] {
    return this.deps.nodeIds;
  }

  crash(node: NodeId): void {
    this.own(node, 'crash');
    // Pending unsynced writes die with the process; the OS keeps what was written, as in a real crash.
    this.deps.die();
  }

  restart(node: NodeId): Promise<void> {
    return Promise.reject(new LogError('Unavailable', `node ${this.deps.self} cannot start node ${node}: the supervisor (logscope cluster up) restarts node processes`));
  }

  isolate(node: NodeId): void {
    this.known(node);
    for (const other of this.deps.nodeIds) {
      if (other === this.deps.self) continue;
      if (node === this.deps.self || other === node) this.deps.transport.setLink(other, { cut: true });
    }
    this.faults.push({ kind: 'isolate', node });
  }

  cutLink(source: NodeId, target: NodeId, bothWays = true): void {
    this.eachSendingHalf(source, target, bothWays, (peer) => this.deps.transport.setLink(peer, { cut: true }));
    this.faults.push({ kind: 'cutLink', source, target });
    if (bothWays) this.faults.push({ kind: 'cutLink', source: target, target: source });
  }

  healLink(source: NodeId, target: NodeId, bothWays = true): void {
    this.eachSendingHalf(source, target, bothWays, (peer) => this.deps.transport.setLink(peer, HEALTHY_LINK));
    const matches = (a: NodeId, b: NodeId): boolean => (a === source && b === target) || (bothWays && a === target && b === source);
    this.removeFaults((fault) => 'source' in fault && matches(fault.source, fault.target));
  }

  setLinkDelay(source: NodeId, target: NodeId, delayMs: number, jitterMs = 0, bothWays = true): void {
    this.eachSendingHalf(source, target, bothWays, (peer) => this.deps.transport.setLink(peer, { delayMs, jitterMs }));
    this.faults.push({ kind: 'linkDelay', source, target, delayMs, jitterMs });
  }

  setLinkLoss(source: NodeId, target: NodeId, lossRate: number, bothWays = true): void {
    invariant(lossRate >= 0 && lossRate <= 1, 'loss rate is a probability');
    this.eachSendingHalf(source, target, bothWays, (peer) => this.deps.transport.setLink(peer, { lossRate }));
    this.faults.push({ kind: 'linkLoss', source, target, lossRate });
  }

  slowFsync(node: NodeId, delayMs: number): void {
    this.own(node, 'slow the fsync of');
    this.deps.disk.fsyncDelayMs = delayMs;
    this.removeFaults((fault) => fault.kind === 'slowFsync');
    if (delayMs > 0) this.faults.push({ kind: 'slowFsync', node, delayMs });
  }

  pause(node: NodeId, durationMs: number): void {
    this.own(node, 'pause');
    this.deps.node.pause(durationMs);
    this.pausedUntilMs = Date.now() + durationMs;
    this.faults.push({ kind: 'pause', node, durationMs });
  }

  corruptSegment(node: NodeId): { file: string; position: number } {
    this.own(node, 'corrupt a segment of');
    const where = corruptNewestSegment(this.deps.disk, node, true);
    this.faults.push({ kind: 'corruptSegment', node });
    return where;
  }

  startScrub(node: NodeId): { bytes: number; bytesPerSec: number } {
    this.own(node, 'scrub');
    return this.deps.node.startScrub();
  }

  cutSegmentTail(node: NodeId): { file: string; cutBytes: number } {
    this.own(node, 'cut the segment tail of');
    const where = cutNewestSegmentTail(this.deps.disk, node, true);
    this.faults.push({ kind: 'corruptSegment', node });
    return where;
  }

  copyDisk(node: NodeId): never {
    this.own(node, 'copy the disk of');
    throw new LogError('Unavailable', `node ${node} is running: its files are no crash image; crash it and ask the supervisor (logscope cluster) to copy its disk`);
  }

  putBackDiskCopy(node: NodeId): never {
    this.own(node, 'put back a copy of the disk of');
    throw new LogError('Unavailable', `node ${node} is running: crash it and ask the supervisor (logscope cluster) to put a copy of its disk back`);
  }

  setDiskFull(node: NodeId, full: boolean): void {
    this.own(node, 'fill the disk of');
    this.deps.disk.capacityBytes = full ? this.deps.disk.usedBytes() : Number.POSITIVE_INFINITY;
    this.removeFaults((fault) => fault.kind === 'diskFull');
    if (full) this.faults.push({ kind: 'diskFull', node });
  }

  deferCampaigns(node: NodeId, deferred: boolean): void {
    this.own(node, 'defer the campaigns of');
    this.deps.node.deferCampaigns(deferred);
  }

  /** Only the leader's process can hand leadership over; anywhere else this answers NotLeader with a hint. */
  transferLeadership(partition: number, to: NodeId): void {
    const replica = this.deps.node.replica(partition);
    if (replica === undefined) throw new LogError('NotLeader', `node ${this.deps.self} holds no replica of partition ${partition}`, { partition, leaderHint: 0 });
    const status = replica.raft.status();
    if (status.role !== 'leader') throw new LogError('NotLeader', `node ${this.deps.self} does not lead partition ${partition}`, { partition, leaderHint: status.leader });
    this.known(to);
    this.deps.node.transferLeadership(partition, to);
  }

  async healAll(): Promise<void> {
    this.deps.transport.healAll();
    this.deps.disk.fsyncDelayMs = 0;
    this.deps.disk.capacityBytes = Number.POSITIVE_INFINITY;
    this.faults.length = 0;
  }

  health(): readonly NodeHealth[] {
    const { node, disk, self } = this.deps;
    return [{
      node: self,
      up: node.isRunning,
      reason: node.isRunning ? null : 'stopped (disk error or shutdown)',
      fsyncDelayMs: disk.fsyncDelayMs,
      diskFull: Number.isFinite(disk.capacityBytes),
      pausedUntilMs: this.pausedUntilMs,
      campaignsDeferred: node.campaignsDeferred,
    }];
  }

  activeFaults(): readonly Fault[] {
    const now = Date.now();
    return this.faults.filter((fault) => fault.kind !== 'pause' || this.pausedUntilMs > now);
  }

  private known(node: NodeId): void {
    if (!this.deps.nodeIds.includes(node)) throw new LogError('Unavailable', `no node ${node} in this cluster (nodes: ${this.deps.nodeIds.join(', ')})`);
  }

  private own(node: NodeId, what: string): void {
    this.known(node);
    if (node !== this.deps.self) throw new LogError('Unavailable', `node ${this.deps.self} cannot ${what} node ${node}: send it to node ${node}'s admin API`);
  }

  /** The halves of a link fault this process sends on: source → target here if source is us, and the way back if two-way. */
  private eachSendingHalf(source: NodeId, target: NodeId, bothWays: boolean, apply: (peer: NodeId) => void): void {
    this.known(source);
    this.known(target);
    if (source === this.deps.self) apply(target);
    if (bothWays && target === this.deps.self) apply(source);
  }

  private removeFaults(predicate: (fault: Fault) => boolean): void {
    for (let i = this.faults.length - 1; i >= 0; i--) {
      const fault = this.faults[i];
      if (fault !== undefined && predicate(fault)) this.faults.splice(i, 1);
    }
  }
}
