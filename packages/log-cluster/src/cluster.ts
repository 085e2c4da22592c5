import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NodeTelemetry } from '@logscope/telemetry';
import { AutoRestart, type AutoRestartEvent } from './auto-restart.ts';
import { realScheduler, realWallClock, type Scheduler } from './clock.ts';
import { LogClient, type ClientOptions } from './client.ts';
import { LogError } from './errors.ts';
import type { Fault, FaultSurface, NodeHealth } from './faults.ts';
import { invariant } from './invariant.ts';
import { DEFAULT_NODE_CONFIG, LogNode, type NodeConfig } from './node.ts';
import { nodeObserver, refreshNodeGauges } from './node-telemetry.ts';
import { replicasFor } from './placement.ts';
import type { ClientRequest, ClientResponse, NodeConnector } from './protocol.ts';
import type { NodeId } from './raft/types.ts';
import { corruptNewestSegment, cutNewestSegmentTail } from './storage/corrupt.ts';
import { copyDiskAside, putBackDiskCopy, type DiskCopy } from './storage/disk-copy.ts';
import { FileDisk } from './storage/file-disk.ts';
import { InProcessNetwork } from './transport/in-process.ts';
import { startLoopDelaySampler } from './loop-delay.ts';

export interface EmbeddedClusterOptions {
  readonly dataDir: string;
  readonly nodeCount?: number;
  readonly partitionCount?: number;
  readonly replicationFactor?: number;
  readonly node?: Partial<Omit<NodeConfig, 'id' | 'nodeIds' | 'partitionCount' | 'replicationFactor'>>;
  /** A node that stopped on a corrupt record starts again by itself, to repair it (default true; see AutoRestart). */
  readonly autoRestart?: boolean;
}

interface NodeSlot {
  readonly id: NodeId;
  readonly disk: FileDisk;
  readonly telemetry: NodeTelemetry;
  node: LogNode | null;
  downReason: string | null;
  pausedUntilMs: number;
  /** See deferCampaigns: kept across the node's restarts. */
  campaignsDeferred: boolean;
  /** Ends once the disk is as the last crash leaves it (see crash). */
  powerCut: Promise<void>;
  /** A start under way (its journal's recovery, paced: see startNode), and whether a crash cut it short. */
  starting: Promise<boolean> | null;
  startCancelled: boolean;
}

/** A start that a crash cut short (see EmbeddedCluster.crash). */
class StartCancelled extends Error {}

/** A start under way has ended, however it did (its own caller hears how). */
const startEnded = async (slot: NodeSlot): Promise<void> => {
  await slot.starting?.catch(() => undefined);
};

/** Lets the other nodes' timers, messages and I/O in (see startNode). */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Histogram windows and spans are rotated on this period. */
const TELEMETRY_WINDOW_MS = 1_000;

/**
 * N nodes in one process (the embedded default): real files with fdatasync per node, the
 * in-process network with fault injection, real time. Implements the fault surface.
 */
export class EmbeddedCluster implements FaultSurface {
  readonly network: InProcessNetwork;
  readonly connector: NodeConnector;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  private readonly slots = new Map<NodeId, NodeSlot>();
  private readonly config: Omit<NodeConfig, 'id'>;
  private readonly faults: Fault[] = [];
  private readonly scheduler: Scheduler = realScheduler;
  private rotateTimer: NodeJS.Timeout | null = null;
  private stopLoopDelay: () => void = () => undefined;
  private readonly clients: LogClient[] = [];
  private readonly autoRestart: AutoRestart;

  private constructor(options: EmbeddedClusterOptions) {
    const nodeCount = options.nodeCount ?? 3;
    this.partitionCount = options.partitionCount ?? 12;
    this.replicationFactor = Math.min(options.replicationFactor ?? 3, nodeCount);
    const nodeIds = Array.from({ length: nodeCount }, (_, i) => i + 1);
    this.config = { ...DEFAULT_NODE_CONFIG, ...options.node, nodeIds, partitionCount: this.partitionCount, replicationFactor: this.replicationFactor };
    this.network = new InProcessNetwork(this.scheduler, Math.random);
    this.autoRestart = new AutoRestart(options.autoRestart ?? true);
    for (const id of nodeIds) {
      const dir = join(options.dataDir, `node-${id}`);
      mkdirSync(dir, { recursive: true });
      this.slots.set(id, { id, disk: new FileDisk(dir), telemetry: new NodeTelemetry({ nodeId: id }), node: null, downReason: 'not started', pausedUntilMs: 0, campaignsDeferred: false, powerCut: Promise.resolve(), starting: null, startCancelled: false });
    }
    this.connector = {
      nodeIds: () => nodeIds,
      request: (node: NodeId, request: ClientRequest): Promise<ClientResponse> => {
        const target = this.slots.get(node)?.node;
        if (target === null || target === undefined || !target.isRunning) {
          return Promise.resolve({ kind: 'error', error: new LogError('Unavailable', `node ${node} is down`).toJSON() });
        }
        return target.handle(request);
      },
    };
  }

  static async start(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
    const cluster = new EmbeddedCluster(options);
    for (const id of cluster.slots.keys()) await cluster.startNode(id);
    cluster.rotateTimer = setInterval(() => {
      // Every node at the same instant, so windows line up across nodes: a rotation only swaps
      // histograms, and each node paces the encoding of what it closed (see ENCODE_SPREAD_MS).
      const now = realWallClock();
      for (const slot of cluster.slots.values()) slot.telemetry.rotate(now);
    }, TELEMETRY_WINDOW_MS);
    cluster.rotateTimer.unref();
    // One loop runs every node here: each running node's histogram shows the same stalls.
    cluster.stopLoopDelay = startLoopDelaySampler((seconds) => {
      for (const slot of cluster.slots.values()) if (slot.node !== null) slot.telemetry.recordEventLoopDelay(seconds);
    });
    return cluster;
  }

  nodeIds(): readonly NodeId[] {
    return [...this.slots.keys()];
  }

  node(id: NodeId): LogNode | null {
    return this.slots.get(id)?.node ?? null;
  }

  telemetry(id: NodeId): NodeTelemetry {
    const slot = this.slots.get(id);
    invariant(slot !== undefined, `no node ${id}`);
    return slot.telemetry;
  }

  replicasOf(partition: number): NodeId[] {
    return replicasFor(partition, this.nodeIds(), this.replicationFactor);
  }

  /** The leader of a partition as a majority of live replicas sees it (0 when none). */
  leaderOf(partition: number): NodeId {
    for (const id of this.replicasOf(partition)) {
      const replica = this.node(id)?.replica(partition);
      if (replica !== undefined && this.node(id)?.isRunning && replica.isLeader) return id;
    }
    return 0;
  }

  client(options: Partial<ClientOptions> = {}): LogClient {
    const client = new LogClient(this.connector, this.scheduler, options);
    this.clients.push(client);
    return client;
  }

  /** Waits until every partition has a leader (or the timeout passes). */
  async waitForLeaders(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let all = true;
      for (let p = 0; p < this.partitionCount; p++) if (this.leaderOf(p) === 0) all = false;
      if (all) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  }

  // ---- fault surface -------------------------------------------------------

  /** Stops the node at once; the returned promise ends once its disk is as a power cut leaves it. */
  crash(node: NodeId): Promise<void> {
    const slot = this.slot(node);
    if (slot.starting !== null && !slot.startCancelled) {
      // Crashed while it recovers: the recovery stops at its next pause, or the node as soon as it is made.
      slot.startCancelled = true;
      slot.downReason = 'crashed';
      this.faults.push({ kind: 'crash', node });
      slot.powerCut = startEnded(slot).then(() => slot.disk.settled()).then(() => slot.disk.dropUnsynced());
      return slot.powerCut;
    }
    if (slot.node === null) return slot.powerCut;
    slot.node.stop();
    slot.node = null;
    slot.downReason = 'crashed';
    this.faults.push({ kind: 'crash', node });
    // A process crash keeps the page cache; a power cut does not. Model the power cut, once the
    // writes the stopped node left in the thread pool have ended (one ending later would put bytes back).
    slot.powerCut = slot.disk.settled().then(() => slot.disk.dropUnsynced());
    return slot.powerCut;
  }

  /** Starts a stopped node again; ends once it runs (its recovery done), or a crash cut the start short. */
  async restart(node: NodeId): Promise<void> {
    const slot = this.slot(node);
    if (slot.node !== null) return;
    if (slot.starting !== null && !slot.startCancelled) {
      await slot.starting;
      return;
    }
    await this.stoppedDiskQuiet(slot);
    if (slot.node !== null || (slot.starting !== null && !slot.startCancelled)) return this.restart(node);
    if (await this.startNode(node)) this.removeFaults((fault) => fault.kind === 'crash' && fault.node === node);
  }

  isolate(node: NodeId): void {
    this.slot(node);
    this.network.isolate(node, this.nodeIds());
    this.faults.push({ kind: 'isolate', node });
  }

  cutLink(source: NodeId, target: NodeId, bothWays = true): void {
    this.slot(source);
    this.slot(target);
    if (bothWays) this.network.setLinkBoth(source, target, { cut: true });
    else this.network.setLink(source, target, { cut: true });
    this.faults.push({ kind: 'cutLink', source, target });
    if (bothWays) this.faults.push({ kind: 'cutLink', source: target, target: source });
  }

  healLink(source: NodeId, target: NodeId, bothWays = true): void {
    const healthy = { cut: false, delayMs: 0, jitterMs: 0, lossRate: 0 };
    if (bothWays) this.network.setLinkBoth(source, target, healthy);
    else this.network.setLink(source, target, healthy);
    const matches = (a: NodeId, b: NodeId): boolean => (a === source && b === target) || (bothWays && a === target && b === source);
    this.removeFaults((fault) => 'source' in fault && matches(fault.source, fault.target));
    // An isolation is a set of cuts: healing one of its links leaves the rest in place.
  }

  setLinkDelay(source: NodeId, target: NodeId, delayMs: number, jitterMs = 0, bothWays = true): void {
    if (bothWays) this.network.setLinkBoth(source, target, { delayMs, jitterMs });
    else this.network.setLink(source, target, { delayMs, jitterMs });
    this.faults.push({ kind: 'linkDelay', source, target, delayMs, jitterMs });
  }

  setLinkLoss(source: NodeId, target: NodeId, lossRate: number, bothWays = true): void {
    invariant(lossRate >= 0 && lossRate <= 1, 'loss rate is a probability');
    if (bothWays) this.network.setLinkBoth(source, target, { lossRate });
    else this.network.setLink(source, target, { lossRate });
    this.faults.push({ kind: 'linkLoss', source, target, lossRate });
  }

  slowFsync(node: NodeId, delayMs: number): void {
    this.slot(node).disk.fsyncDelayMs = delayMs;
    this.removeFaults((fault) => fault.kind === 'slowFsync' && fault.node === node);
    if (delayMs > 0) this.faults.push({ kind: 'slowFsync', node, delayMs });
  }

  pause(node: NodeId, durationMs: number): void {
    const slot = this.slot(node);
    slot.node?.pause(durationMs);
    slot.pausedUntilMs = Date.now() + durationMs;
    this.faults.push({ kind: 'pause', node, durationMs });
  }

  async corruptSegment(node: NodeId): Promise<{ file: string; position: number }> {
    const slot = this.slot(node);
    await startEnded(slot);
    if (slot.node === null) await this.stoppedDiskQuiet(slot);
    const where = corruptNewestSegment(slot.disk, node, slot.node !== null);
    this.faults.push({ kind: 'corruptSegment', node });
    return where;
  }

  startScrub(node: NodeId): { bytes: number; bytesPerSec: number } {
    const running = this.slot(node).node;
    if (running === null) throw new LogError('Unavailable', `node ${node} is down: there is nothing to scrub until it restarts (its recovery checks every record)`);
    return running.startScrub();
  }

  /** Nodes that stopped on a disk error, and whether each restarted by itself (see AutoRestart). */
  autoRestarts(): readonly AutoRestartEvent[] {
    return this.autoRestart.recorded();
  }

  async cutSegmentTail(node: NodeId): Promise<{ file: string; cutBytes: number }> {
    const slot = this.slot(node);
    await startEnded(slot);
    if (slot.node === null) await this.stoppedDiskQuiet(slot);
    const where = cutNewestSegmentTail(slot.disk, node, slot.node !== null);
    this.faults.push({ kind: 'corruptSegment', node });
    return where;
  }

  async copyDisk(node: NodeId): Promise<DiskCopy> {
    const slot = this.slot(node);
    await startEnded(slot);
    await this.stoppedDiskQuiet(slot);
    if (slot.node !== null) throw new LogError('Unavailable', `node ${node} is running: crash it before copying its disk (a running node's files are no crash image)`);
    return copyDiskAside(slot.disk.directory);
  }

  async putBackDiskCopy(node: NodeId): Promise<DiskCopy> {
    const slot = this.slot(node);
    await startEnded(slot);
    await this.stoppedDiskQuiet(slot);
    if (slot.node !== null) throw new LogError('Unavailable', `node ${node} is running: crash it before putting a copy of its disk back`);
    await slot.disk.dropSpares();
    return putBackDiskCopy(slot.disk.directory);
  }

  setDiskFull(node: NodeId, full: boolean): void {
    const slot = this.slot(node);
    slot.disk.capacityBytes = full ? slot.disk.usedBytes() : Number.POSITIVE_INFINITY;
    this.removeFaults((fault) => fault.kind === 'diskFull' && fault.node === node);
    if (full) this.faults.push({ kind: 'diskFull', node });
  }

  deferCampaigns(node: NodeId, deferred: boolean): void {
    const slot = this.slot(node);
    slot.campaignsDeferred = deferred;
    slot.node?.deferCampaigns(deferred);
  }

  transferLeadership(partition: number, to: NodeId): void {
    const leader = this.leaderOf(partition);
    if (leader === 0) throw new LogError('Unavailable', `partition ${partition} has no leader to transfer from`, { partition });
    if (!this.replicasOf(partition).includes(to)) {
      throw new LogError('NotLeader', `node ${to} holds no replica of partition ${partition} (replicas: ${this.replicasOf(partition).join(', ')})`, { partition });
    }
    this.node(leader)?.transferLeadership(partition, to);
  }

  async healAll(): Promise<void> {
    this.network.healAll();
    for (const slot of this.slots.values()) {
      slot.disk.fsyncDelayMs = 0;
      slot.disk.capacityBytes = Number.POSITIVE_INFINITY;
      if (slot.node === null) await this.restart(slot.id);
    }
    this.faults.length = 0;
  }

  health(): readonly NodeHealth[] {
    return [...this.slots.values()].map((slot) => ({
      node: slot.id,
      up: slot.node !== null && slot.node.isRunning,
      reason: slot.node !== null && slot.node.isRunning ? null : slot.downReason,
      fsyncDelayMs: slot.disk.fsyncDelayMs,
      diskFull: Number.isFinite(slot.disk.capacityBytes),
      pausedUntilMs: slot.pausedUntilMs,
      campaignsDeferred: slot.campaignsDeferred,
    }));
  }

  activeFaults(): readonly Fault[] {
    const now = Date.now();
    return this.faults.filter((fault) => fault.kind !== 'pause' || (this.slots.get(fault.node)?.pausedUntilMs ?? 0) > now);
  }

  /** Clean shutdown: clients stop, in-flight flushes finish, files are synced and closed. */
  async stop(): Promise<void> {
    this.autoRestart.stop();
    if (this.rotateTimer !== null) clearInterval(this.rotateTimer);
    this.stopLoopDelay();
    for (const client of this.clients) client.close();
    await Promise.all([...this.slots.values()].map(async (slot) => {
      await startEnded(slot);
      await slot.node?.shutdown();
      slot.node = null;
      slot.downReason = 'stopped';
      // Resolved once no spare's fill or removal is left to touch the node's directory.
      await slot.disk.dropSpares();
    }));
  }

  private slot(node: NodeId): NodeSlot {
    const slot = this.slots.get(node);
    if (slot === undefined) throw new LogError('Unavailable', `no node ${node} in this cluster (nodes: ${this.nodeIds().join(', ')})`);
    return slot;
  }

  /**
   * A stopped node's disk once nothing of it is in flight: the last crash's power cut done, and
   * (after a disk error, which stops a node without one) every write it left in the thread pool ended.
   */
  private async stoppedDiskQuiet(slot: NodeSlot): Promise<void> {
    await startEnded(slot);
    await slot.powerCut;
    await slot.disk.settled();
  }

  private removeFaults(predicate: (fault: Fault) => boolean): void {
    for (let i = this.faults.length - 1; i >= 0; i--) {
      const fault = this.faults[i];
      if (fault !== undefined && predicate(fault)) this.faults.splice(i, 1);
    }
  }

  /**
   * Starts a node; true once it runs, false when a crash cut its start short. Its recovery reads
   * every record it kept, on the loop every node here shares, so it pauses every few milliseconds
   * (LogNode.open) and the other nodes go on serving meanwhile. The node is down until it ends.
   */
  private startNode(id: NodeId): Promise<boolean> {
    const slot = this.slot(id);
    invariant(slot.node === null && slot.starting === null, `node ${id} already runs or starts`);
    slot.startCancelled = false;
    const downReason = slot.downReason;
    slot.downReason = 'starting: recovering its journal';
    const pause = async (): Promise<void> => {
      await yieldToLoop();
      if (slot.startCancelled) throw new StartCancelled(`node ${id} crashed while it recovered`);
    };
    const random = Math.random;
    const started = LogNode.open({ ...this.config, id }, {
      disk: slot.disk,
      transport: this.network.attach(id),
      scheduler: this.scheduler,
      random,
      observer: nodeObserver(slot.telemetry, realWallClock, () => this.scheduler.now(), random),
    }, pause).then((node) => {
      if (slot.startCancelled) {
        node.stop();
        return false;
      }
      this.attachNode(slot, node);
      return true;
    }, (error: unknown) => {
      if (error instanceof StartCancelled) return false;
      slot.downReason = downReason;
      throw error;
    }).finally(() => {
      slot.starting = null;
    });
    slot.starting = started;
    return started;
  }

  private attachNode(slot: NodeSlot, node: LogNode): void {
    const id = slot.id;
    if (node.recovery.corruption !== null) slot.telemetry.recordRecoveryCorruption();
    node.onDiskFull = (full, freeBytes) => console.warn(JSON.stringify({ event: full ? 'disk-full' : 'disk-space-back', node: node.id, freeBytes }));
    node.onDiskError = (error) => {
      slot.node = null;
      // Restarted, its recovery finds the record and drops that record's partition from there (the
      // other partitions keep their records), and that partition's leader sends the rest again.
      const decision = this.autoRestart.schedule(id, error.name, `disk error: ${error.message}`, () => this.restart(id).catch((restartError: unknown) => {
        slot.downReason = `disk error: ${error.message}; the automatic restart failed: ${restartError instanceof Error ? restartError.message : String(restartError)}`;
        throw restartError;
      }));
      slot.downReason = `disk error: ${error.message}; ${decision.note}`;
      console.warn(JSON.stringify({ event: 'disk-error', node: id, error: error.message, kind: error.name, note: decision.note }));
    };
    slot.telemetry.onCollect(() => {
      if (slot.node === node) refreshNodeGauges(slot.telemetry, node);
    });
    if (slot.campaignsDeferred) node.deferCampaigns(true);
    slot.node = node;
    slot.downReason = null;
  }
}
