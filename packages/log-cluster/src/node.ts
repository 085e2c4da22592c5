import type { Scheduler } from './clock.ts';
import { LogError, unknownPartition } from './errors.ts';
import { invariant } from './invariant.ts';
import { placement, type PlacementMap } from './placement.ts';
import type { ClientRequest, ClientResponse, PartitionMessage, Transport } from './protocol.ts';
import type { FaultyTailRepair, Message, MessageType, NodeId, Ready } from './raft/types.ts';
import { PRODUCER_EXPIRY_MS, Replica, type ReadMode, type WriteTiming } from './replica.ts';
import { NodeInflight } from './raft/node-inflight.ts';
import { behind, PeerProgressLog } from './peer-progress.ts';
import { RecoveredApplies } from './recovered-apply.ts';
import { writeMarker } from './storage/identifiers.ts';
import { Journal, type JournalOptions, type OpenedJournal } from './storage/journal.ts';
import { CorruptReadError, DiskReadError, type Disk, type RecoveryReport } from './storage/types.ts';

export interface NodeConfig {
  readonly id: NodeId;
  readonly nodeIds: readonly NodeId[];
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxBytesPerMessage: number;
  readonly maxInflightMessages: number;
  /** Entry bytes in flight to one follower of a partition (RaftConfig.maxInflightBytes). */
  readonly maxInflightBytes: number;
  /** Entry bytes in flight to one follower node over all the partitions this node leads (NodeInflight). */
  readonly maxNodeInflightBytes: number;
  readonly journal: Omit<JournalOptions, 'now'>;
  /** How often retention looks for whole segments to delete. */
  readonly retentionIntervalMs: number;
  /** Always 'linearizable' outside the simulator's own tests (see ReplicaContext.readMode). */
  readonly readMode?: ReadMode;
  /** Idle partitions stop ticking and heartbeating (RaftOptions.quiesce); node pairs then exchange one liveness heartbeat. */
  readonly quiesce: boolean;
  /** A producer with no batch committed on a partition for this long is forgotten there (ReplicaContext.producerExpiryMs). */
  readonly producerExpiryMs: number;
  /**
   * The operator's word that this start creates the cluster (`logscope node --new-cluster`, as
   * etcd's `--initial-cluster-state new`): a node with no log finds the cluster new once a majority
   * of the nodes, itself included, said they hold no entry and none said it does, instead of
   * waiting for every node (one down at the first start would hold the cluster back). Only for a
   * cluster's first start: see decideFresh for what it risks on a node whose disk was replaced.
   */
  readonly newCluster?: boolean;
}

export const DEFAULT_NODE_CONFIG: Omit<NodeConfig, 'id' | 'nodeIds' | 'partitionCount'> = {
  replicationFactor: 3,
  tickMs: 10,
  // 150–300 ms election timeout, 30 ms heartbeats: failover well under a second on loopback.
  electionTicks: 15,
  heartbeatTicks: 3,
  maxBytesPerMessage: 1 << 20,
  maxInflightMessages: 64,
  // Four pages: a follower catching up is sent 4 MiB per round trip (GB/s on loopback), and a leader
  // reads at most that much per partition in one turn when it comes back.
  maxInflightBytes: 4 << 20,
  // A few pages per follower node: a node that comes back holding hundreds of partitions is fed
  // this much at a time, not hundreds of pipelines at once. Normal load keeps far less in flight.
  maxNodeInflightBytes: 8 << 20,
  journal: { segmentBytes: 64 << 20, retentionBytes: 4 * 2 ** 30, retentionMs: 24 * 3600_000, cacheBytes: 64 << 20 },
  retentionIntervalMs: 10_000,
  quiesce: true,
  producerExpiryMs: PRODUCER_EXPIRY_MS,
};

/**
 * Node liveness (with quiescence): each node pair exchanges at least one envelope per interval, an
 * empty one when no partition has anything to say; a node not heard from for the timeout is silent
 * and every quiesced partition it holds a replica of wakes, so a dead leader's followers elect again.
 */
const LIVENESS_HEARTBEAT_TICKS = 3;
const LIVENESS_TIMEOUT_TICKS = 15;
/** A hello's `commit` when its node holds no entry at all (see LogNode.decideFresh). */
const HELLO_EMPTY = 1;
/** Hello flag, of the sender: its replicas abstain until caught up (it knows what it may lack). */
const HELLO_ABSTAINING = 2;
/**
 * A hello's `commit` holds the flags below HELLO_CATCH_UPS_UNIT, the sender's catch-up count times
 * it (below 2^16), and the receiver's count as the sender remembers it times HELLO_YOUR_CATCH_UPS_UNIT.
 */
const HELLO_CATCH_UPS_UNIT = 16;
const HELLO_YOUR_CATCH_UPS_UNIT = 2 ** 20;
/** `caught-up-<n>.marker`: n times this node was caught up after losing what it had (see maybeClearAbstain). */
const CAUGHT_UP_MARKER = /^caught-up-(\d+)\.marker$/;
/** Message types a rolled-back node's peers take nothing from until it knows (see onHello). */
const UNTRUSTED_WHEN_ROLLED_BACK: ReadonlySet<MessageType> = new Set<MessageType>(['preVote', 'vote', 'preVoteResp', 'voteResp', 'faultQueryResp']);

/** Whether an envelope carries a vote, a vote request or a faulty-tail answer (UNTRUSTED_WHEN_ROLLED_BACK). */
function carriesVotes(messages: readonly PartitionMessage[]): boolean {
  for (let i = 0; i < messages.length; i++) if (UNTRUSTED_WHEN_ROLLED_BACK.has(messages[i]!.message.type)) return true;
  return false;
}
/**
 * A busy link carries a hello with our durable progress at most this often once it grew (see
 * sendTo): what peers remember of us lags by up to this (and PEER_PROGRESS_PERSIST_MS on disk).
 */
const PROGRESS_HELLO_TICKS = 10;
/**
 * With NodeConfig.newCluster, for this long after this node found the cluster new, an empty node
 * it never heard of is told so too (see onHello): it started late, not on a replaced disk.
 */
const NEW_CLUSTER_LATE_JOIN_MS = 60_000;
/** For this long after start every envelope carries the node's incarnation (see onHello). */
const HELLO_EVERY_ENVELOPE_TICKS = 100;

/** What a node reports as it works; telemetry, tests and the simulator listen. */
export interface NodeObserver {
  appendCommitted?(partition: number, latencySeconds: number, records: number, bytes: number, timing: WriteTiming): void;
  appendFailed?(partition: number, code: string): void;
  fsync?(durationSeconds: number, bytes: number): void;
  replicationRtt?(partition: number, follower: NodeId, rttSeconds: number): void;
  leaderElected?(partition: number, leader: NodeId, term: number): void;
  /** A replica's faulty tail (records lost to a storage fault) ended, and how. */
  faultyTailRepaired?(partition: number, how: FaultyTailRepair): void;
  /**
   * Peer `by` remembers this node's disk further along than recovery found it: it was put back to
   * an older copy (a rollback), and its replicas abstain until caught up.
   */
  diskRolledBack?(by: NodeId): void;
  /** A retention pass deleted segments: their bytes (only called when it deleted some). */
  retentionDeleted?(bytes: number): void;
  /** This node, leading the partition, sent a snapshot to a replica behind its log start. */
  snapshotSent?(partition: number): void;
}

export interface NodeDeps {
  readonly disk: Disk;
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  readonly random: () => number;
  readonly observer?: NodeObserver;
}

/** Rounds in the pipeline before the node stops taking more (each holds its Readies until durable). */
const PIPELINE_ROUNDS_MAX = 256;
/** While the disk is full: how often the stopped flush is tried again, and peers are told. */
const DISK_FULL_RETRY_MS = 200;
/** A peer's disk-full notice holds this long unless renewed (it renews every DISK_FULL_RETRY_MS). */
const DISK_FULL_NOTICE_TTL_MS = 1_000;

interface Round {
  readonly readies: [Replica, Ready][];
  readonly late: Map<NodeId, PartitionMessage[]>;
  durable: boolean;
}

/** Present while the node's replicas abstain from voting after a corruption (see constructor). */
const ABSTAIN_MARKER = 'abstain.marker';
/**
 * Present from a start with no segment at all until the node knows whether the cluster is new: a
 * new node and one whose disk was replaced look the same (see constructor).
 */
const FRESH_MARKER = 'fresh.marker';


/**
 * One node: a replica of every partition placed on it, one journal (one group-committed
 * fdatasync for all of them), one transport. The loop: tick → step → take every replica's Ready
 * as a round → stage it in the journal and flush (rounds pipeline behind a running fdatasync) →
 * once durable, send acks and votes and advance, in order.
 */
export class LogNode {
  readonly id: NodeId;
  readonly config: NodeConfig;
  readonly recovery: RecoveryReport;
  /** Wall-clock start, for operators and drills (a restart is a new LogNode); the protocol never reads it. */
  readonly startedAtMs = Date.now();
  private readonly deps: NodeDeps;
  private readonly journal: Journal;
  private readonly replicas = new Map<number, Replica>();
  private readonly nodeInflight: NodeInflight;
  /** Every partition's replica set: derived once from the node ids, the same on every node. */
  private readonly placement: PlacementMap;
  private running = true;
  /** Rounds taken but not yet advanced, oldest first (see process). */
  private readonly rounds: Round[] = [];
  private syncsOutstanding = 0;
  private processScheduled = false;
  private cancelTick: (() => void) | null = null;
  private pausedUntilMs = 0;
  /** See deferCampaigns. */
  private campaignsDeferredNow = false;
  private readonly pausedInbox: { from: NodeId; messages: readonly PartitionMessage[] }[] = [];
  private lastRetentionMs = 0;
  /** Whether this node's replicas may still be missing entries they acknowledged. */
  private abstaining = false;
  /** Started with no log and does not yet know whether the cluster is new (FRESH_MARKER). */
  private fresh = false;
  /** Once any replica of this node held an entry (see holdsNoEntries). */
  private heldEntries = false;
  /** What each peer's latest hello said: whether it holds no entry at all. */
  private readonly peerEmpty = new Map<NodeId, boolean>();
  /** The furthest durable progress each peer's hellos reported (Journal.durableProgress; see checkProgress), kept on disk too. */
  private readonly peerProgress: PeerProgressLog;
  /** Peers (and the incarnation) whose disk went back, until their hello says they abstain. */
  private readonly rolledBackPeers = new Map<NodeId, number>();
  /** Of those, the ones to tell at the next tick (see onHello). */
  private readonly tellRolledBack = new Set<NodeId>();
  /** The progress this node's last hello to each peer reported, and the tick it went. */
  private readonly progressTold = new Map<NodeId, { segments: number; states: number; tick: number }>();
  /** A peer told this node its disk went back (see learnRolledBack); until caught up. */
  private rolledBack = false;
  /** The first peer that told it so since this node started (kept after it caught up). */
  private rolledBackBy: NodeId | null = null;
  /** How many times it was caught up after losing what it had, ever (CAUGHT_UP_MARKER): its hellos say it. */
  private catchUps = 0;
  /** The highest count of ours a peer remembers: a wiped disk forgot it (see maybeClearAbstain). */
  private catchUpsPeersSaw = 0;
  /** Whether each peer's last hello said it abstains: when it starts to, the partitions we lead probe it. */
  private readonly peerAbstaining = new Map<NodeId, boolean>();
  /** When this process found (or joined) the cluster new, NodeConfig.newCluster given (see NEW_CLUSTER_LATE_JOIN_MS). */
  private newClusterFoundMs: number | null = null;
  /** Each peer's incarnation when this node found the cluster new (see decideFresh): its hellos tell the peer. */
  private readonly newClusterWith = new Map<NodeId, number>();
  /** Every envelope carries a hello until this tick: after start, and after finding the cluster new. */
  private announceUntilTick = HELLO_EVERY_ENVELOPE_TICKS;
  /** Partitions with a faulty tail (acknowledged entries lost to a storage fault) not yet repaired. */
  private readonly faultyPartitions = new Set<number>();
  private lastDiskFullRetryMs = 0;
  /** Peers whose disk is full, as they told us: until when that holds, and their free bytes. */
  private readonly peerDiskFull = new Map<NodeId, { untilMs: number; freeBytes: number }>();
  /**
   * Node liveness, in ticks (like raft's timers, so a stalled event loop is not mistaken for a
   * silent peer): ticks since each other node was last heard from and last sent to.
   */
  private readonly ticksSinceHeard = new Map<NodeId, number>();
  private readonly ticksSinceSent = new Map<NodeId, number>();
  private readonly silentNodes = new Set<NodeId>();
  /** This process's incarnation (random per start) and the last one each peer announced. */
  private readonly incarnation: number;
  private readonly peerIncarnations = new Map<NodeId, number>();
  private ticksSinceStart = 0;
  /**
   * Replicas that are not quiesced: the only ones ticked (an idle partition costs nothing). A list
   * and a slot per partition (-1: not in it), not a Set, for the reason given for dirtyList below:
   * partitions fall quiet and wake again between appends at a few appends per second each.
   */
  private readonly awakeList: Replica[] = [];
  private awakeCount = 0;
  private readonly awakeSlots: Int32Array;
  /**
   * Replicas that may have a Ready; the next process() looks only at them, unless scanAll. A list
   * and a flag per partition, not a Set: clearing a Set each round and growing it again each tick
   * allocated a new hash table each time.
   */
  private readonly dirtyList: Replica[] = [];
  private dirtyCount = 0;
  private readonly dirtyFlags: Uint8Array;
  private scanAll = true;

  /**
   * A node whose recovery pauses (awaits `pause`) every few milliseconds, for nodes that share an
   * event loop (see Journal.openPaced); the constructor recovers at once.
   */
  static async open(config: NodeConfig, deps: NodeDeps, pause: () => Promise<void>): Promise<LogNode> {
    let node: LogNode | null = null;
    const applies = new RecoveredApplies();
    const opened = await Journal.openPaced(deps.disk, LogNode.journalOptions(config, deps, () => node), pause, applies.observe);
    node = new LogNode(config, deps, { opened, applies });
    return node;
  }

  /** The journal's options; its callbacks reach the node through `node()`, which a paced open sets only after it. */
  private static journalOptions(config: NodeConfig, deps: NodeDeps, node: () => LogNode | null): JournalOptions {
    return {
      ...config.journal,
      now: () => deps.scheduler.now(),
      onDiskFull: (full) => node()?.onJournalDiskFull(full),
      // Timed where the flush really starts and ends: rounds that join a running flush cannot tell.
      onFlushed: (durationMs, bytes) => deps.observer?.fsync?.(durationMs / 1000, bytes),
      onFetched: (partition, failure) => node()?.entriesFetched(partition, failure),
    };
  }

  constructor(config: NodeConfig, deps: NodeDeps, paced?: { opened: OpenedJournal; applies: RecoveredApplies }) {
    invariant(config.nodeIds.includes(config.id), 'node id must be one of the cluster node ids');
    this.id = config.id;
    this.incarnation = Math.floor(deps.random() * 2 ** 48) + 1;
    this.config = config;
    this.deps = deps;
    this.nodeInflight = new NodeInflight(config.maxNodeInflightBytes);
    const applies = paced?.applies ?? new RecoveredApplies();
    const { journal, report } = paced?.opened ?? Journal.open(deps.disk, LogNode.journalOptions(config, deps, () => this), applies.observe);
    this.journal = journal;
    this.recovery = report;
    this.peerProgress = new PeerProgressLog(deps.disk);
    // A replica that lost acknowledged entries must not vote until it caught up; the marker keeps
    // that true across another crash before then (recovery would find nothing wrong the second time).
    const names = deps.disk.list();
    for (const name of names) this.catchUps = Math.max(this.catchUps, Number(CAUGHT_UP_MARKER.exec(name)?.[1] ?? 0));
    const markerPresent = names.includes(ABSTAIN_MARKER);
    if ((report.uncertain || report.stateLost) && !markerPresent) writeMarker(deps.disk, ABSTAIN_MARKER);
    // No segment at all: a new node, or one whose whole log is gone (a replaced disk, a wiped data
    // directory). The second must not vote before it caught up: it would vote again in terms it
    // voted in, and for a candidate missing entries it had acknowledged (2026-11-29: the simulator's
    // wipeDisk fault, 89 violations in 200 seeds). It abstains until a leader caught it up, or until
    // every other node says it holds no entry either: then the cluster has nothing to lose (see decideFresh).
    const freshMarker = names.includes(FRESH_MARKER);
    this.fresh = (report.segmentsScanned === 0 || freshMarker) && config.nodeIds.length > 1;
    if (this.fresh && !freshMarker) writeMarker(deps.disk, FRESH_MARKER);
    this.abstaining = report.uncertain || report.stateLost || markerPresent || this.fresh;
    for (const { partition } of report.faulty) this.faultyPartitions.add(partition);
    this.placement = placement(config.partitionCount, config.nodeIds, config.replicationFactor);
    this.dirtyFlags = new Uint8Array(config.partitionCount);
    this.awakeSlots = new Int32Array(config.partitionCount).fill(-1);
    for (const [partition, replicas] of this.placement) {
      if (!replicas.includes(config.id)) continue;
      const replica: Replica = new Replica({
          nodeId: config.id,
          partition,
          replicas,
          log: journal.log(partition),
          recovered: applies.take(partition, journal.log(partition)),
          now: () => deps.scheduler.now(),
          abstainFromVoting: this.abstaining,
          readMode: config.readMode ?? 'linearizable',
          producerExpiryMs: config.producerExpiryMs,
          raft: {
            electionTicks: config.electionTicks,
            heartbeatTicks: config.heartbeatTicks,
            random: deps.random,
            maxBytesPerMessage: config.maxBytesPerMessage,
            maxInflightMessages: config.maxInflightMessages,
            maxInflightBytes: config.maxInflightBytes,
            nodeInflight: this.nodeInflight,
            preVote: true,
            checkQuorum: true,
            quiesce: config.quiesce,
            onWake: () => this.markAwake(replica),
          },
        });
      this.replicas.set(partition, replica);
      this.markAwake(replica);
    }
    deps.transport.setHandler((from, messages) => this.receive(from, messages));
    // Peers learn at once that this is a new process (see onHello), and whether it holds entries.
    if (config.quiesce || this.fresh) for (const other of config.nodeIds) if (other !== this.id) this.sendTo(other, [this.hello(other)]);
    this.scheduleTick();
  }

  get campaignsDeferred(): boolean {
    return this.campaignsDeferredNow;
  }

  get isRunning(): boolean {
    return this.running;
  }

  partitions(): ReadonlyMap<number, Replica> {
    return this.replicas;
  }

  replica(partition: number): Replica | undefined {
    return this.replicas.get(partition);
  }

  diskUsedBytes(): number {
    return this.journal.usedBytes();
  }

  /** The journal's per-entry index (see EntryTable): entries and bytes of memory. */
  journalIndex(): { entries: number; bytes: number } {
    return this.journal.indexStats();
  }

  /** What the journal's scrub checked since this node started, and the passes over the whole log it finished. */
  scrubStats(): { bytes: number; passes: number } {
    return this.journal.scrubStats();
  }

  /** Starts a scrub pass over the whole log now (Journal.startScrubPass): what it will read, and how fast. */
  startScrub(): { bytes: number; bytesPerSec: number } {
    if (!this.running) throw new LogError('Unavailable', `node ${this.id} is not running`);
    try {
      return this.journal.startScrubPass();
    } catch (error) {
      throw new LogError('Unavailable', `node ${this.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * A follower's catch-up as this node feeds it: bytes its log reads took from segments (of them,
   * those read in the background) and times the read budget held them back (all since start), and
   * entry bytes in flight to followers now.
   */
  catchUpStats(): { segmentReadBytes: number; backgroundReadBytes: number; readsThrottled: number; inflightBytes: number } {
    const reads = this.journal.readStats();
    return { segmentReadBytes: reads.segmentBytes, backgroundReadBytes: reads.backgroundBytes, readsThrottled: reads.throttled, inflightBytes: this.nodeInflight.total() };
  }

  /** The peer that found this node's disk put back to an older copy since it started (null: none). */
  get diskRolledBackBy(): NodeId | null {
    return this.rolledBackBy;
  }

  /** Whether a flush waits for disk space (the node keeps serving; nothing new becomes durable here). */
  get diskFull(): boolean {
    return this.journal.isBlocked();
  }

  diskFreeBytes(): number {
    return this.deps.disk.freeBytes();
  }

  /** Set by the owner to hear that the disk filled up (true) or has room again (false), to log it. */
  onDiskFull: ((full: boolean, freeBytes: number) => void) | null = null;

  /** Client entry point (in-process call or a TCP frame). */
  handle(request: ClientRequest): Promise<ClientResponse> {
    if (!this.running) return Promise.resolve(errorResponse(new LogError('Unavailable', `node ${this.id} is down`)));
    if (this.now() < this.pausedUntilMs) {
      // A paused process answers nothing until it resumes.
      return new Promise((resolve) => this.deps.scheduler.setTimer(this.pausedUntilMs - this.now(), () => void this.handle(request).then(resolve)));
    }
    switch (request.kind) {
      case 'metadata':
        return Promise.resolve({
          kind: 'metadata',
          nodeId: this.id,
          partitionCount: this.config.partitionCount,
          partitions: [...Array(this.config.partitionCount).keys()].map((partition) => {
            const replica = this.replicas.get(partition);
            const status = replica?.raft.status();
            return { partition, replicas: this.placement.get(partition) ?? [], leader: status?.leader ?? 0, term: status?.term ?? 0 };
          }),
        });
      case 'read': {
        const replica = this.replicaFor(request.partition);
        if (replica instanceof LogError) return Promise.resolve(errorResponse(replica));
        return new Promise((resolve) => {
          try {
            replica.read(request.offset, request.maxRecords, request.maxBytes, resolve);
          } catch (error) {
            this.readFailed(error);
            resolve(errorResponse(new LogError('Unavailable', `node ${this.id} is down`)));
            return;
          }
          // The read's confirmation round goes out with the next Ready.
          this.scheduleProcess(replica);
        });
      }
      case 'append': {
        const replica = this.replicaFor(request.partition);
        if (replica instanceof LogError) return Promise.resolve(errorResponse(replica));
        const diskFull = this.diskFullBlocksQuorum(request.partition, replica);
        if (diskFull !== null) {
          this.deps.observer?.appendFailed?.(request.partition, diskFull.code);
          return Promise.resolve(errorResponse(diskFull));
        }
        return new Promise((resolve) => {
          try {
            replica.propose(request.producerId, request.sequence, request.records, (response, timing) => {
              if (response.kind === 'append' && timing !== null) {
                const bytes = request.records.reduce((sum, record) => sum + record.byteLength, 0);
                this.deps.observer?.appendCommitted?.(request.partition, (this.now() - timing.proposedMs) / 1000, response.count, bytes, timing);
              } else if (response.kind === 'error') {
                this.deps.observer?.appendFailed?.(request.partition, response.error.code);
              }
              resolve(response);
            });
          } catch (error) {
            // A proposal sends appends at once, which may read a follower's next entries from disk
            // and find a rotted record there (CorruptReadError): the node stops, as on any bad read.
            this.readFailed(error);
            resolve(errorResponse(new LogError('Unavailable', `node ${this.id} is down`)));
            return;
          }
          this.scheduleProcess(replica);
        });
      }
    }
  }

  /** Hand leadership of a partition to another replica (drills drain a node this way). */
  transferLeadership(partition: number, to: NodeId): void {
    const replica = this.replicas.get(partition);
    if (replica === undefined) throw unknownPartition(partition, this.config.partitionCount);
    try {
      replica.raft.transferLeadership(to);
    } catch (error) {
      return this.readFailed(error);
    }
    this.scheduleProcess(replica);
  }

  /**
   * A drained node's replicas campaign only after the other replicas had two election timeouts to
   * win (Raft.deferCampaigns): an election then picks it only when no other replica can lead.
   * Not kept on disk: whoever drains the node says it again after a restart (the console's leader
   * balancer does, from health()).
   */
  deferCampaigns(deferred: boolean): void {
    this.campaignsDeferredNow = deferred;
    for (const replica of this.replicas.values()) replica.raft.deferCampaigns(deferred);
  }

  /** A GC-like stall: no ticks, no messages handled, no client answers until it ends. */
  pause(durationMs: number): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, this.now() + durationMs);
  }

  /** Stops at once, as a crash would: timers off, in-flight I/O abandoned; the disk decides what survived. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.cancelTick?.();
    this.deps.transport.close();
    for (const replica of this.replicas.values()) replica.failWaiters(new LogError('Unavailable', `node ${this.id} stopped`));
    this.journal.close();
    this.peerProgress.close();
  }

  /** Clean shutdown: wait for the flush in progress, then stop. */
  async shutdown(): Promise<void> {
    for (let i = 0; i < 500 && this.syncsOutstanding > 0; i++) await new Promise((resolve) => this.deps.scheduler.setTimer(2, () => resolve(undefined)));
    this.stop();
  }

  private now(): number {
    return this.deps.scheduler.now();
  }

  private replicaFor(partition: number): Replica | LogError {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.config.partitionCount) return unknownPartition(partition, this.config.partitionCount);
    const replica = this.replicas.get(partition);
    if (replica === undefined) {
      const replicas = this.placement.get(partition) ?? [];
      // No hint: this node does not know the partition's leader, and a guess could name a dead node.
      return new LogError('NotLeader', `node ${this.id} holds no replica of partition ${partition}; its replicas are on nodes ${replicas.join(', ')}`, { partition, leaderHint: 0 });
    }
    return replica;
  }

  private scheduleTick(): void {
    this.cancelTick = this.deps.scheduler.setTimer(this.config.tickMs, () => {
      if (!this.running) return;
      if (this.now() >= this.pausedUntilMs) {
        try {
          this.tickAll();
        } catch (error) {
          return this.readFailed(error);
        }
        this.scheduleProcess(null);
      }
      this.scheduleTick();
    });
  }

  /** One tick of every awake replica, and the node's periodic chores. */
  private tickAll(): void {
    // From the end, so the replica a removal moves into slot k was ticked already.
    for (let k = this.awakeCount - 1; k >= 0; k--) {
      const replica = this.awakeList[k]!;
      replica.raft.tick();
      this.markDirty(replica);
      if (replica.raft.isQuiesced()) this.unmarkAwake(k);
    }
    this.ticksSinceStart++;
    if (this.config.quiesce || this.fresh) this.tickLiveness();
    this.maybeEnforceRetention();
    this.maybeClearAbstain();
    for (const peer of this.tellRolledBack) if (this.rolledBackPeers.has(peer)) this.sendTo(peer, [this.hello(peer)]);
    this.tellRolledBack.clear();
    this.peerProgress.persist(this.now());
    this.maybeRetryDiskFull();
    this.journal.startWaitingFetches();
    // Last: a rotted record it finds stops the node (CorruptReadError, see readFailed); so does a
    // read the device failed, like a failed flush (the disk is in doubt).
    try {
      this.journal.scrub();
    } catch (error) {
      if (!(error instanceof DiskReadError)) throw error;
      this.onDiskError?.(error);
      this.stop();
    }
  }

  /** A background read of a partition's entries ended (Journal's onFetched): send or serve what it read. */
  private entriesFetched(partition: number, failure: Error | null): void {
    if (!this.running) return;
    if (failure !== null) {
      // As a blocking read's: a bad record or a failed device read stops the node.
      if (!(failure instanceof CorruptReadError) && !(failure instanceof DiskReadError)) throw failure;
      this.onDiskError?.(failure);
      this.stop();
      return;
    }
    const replica = this.replicas.get(partition);
    if (replica === undefined) return;
    try {
      replica.entriesFetched();
    } catch (error) {
      return this.readFailed(error);
    }
    this.scheduleProcess(replica);
  }

  /**
   * What every entry point (a message, a tick, a round, a client call) does with what it threw: a log
   * read that found a corrupt record (CorruptReadError) stops the node, as a failed flush does;
   * anything else is a bug and goes on up.
   */
  private readFailed(error: unknown): void {
    if (!(error instanceof CorruptReadError)) throw error;
    if (!this.running) return;
    this.onDiskError?.(error);
    this.stop();
  }

  private receive(from: NodeId, messages: readonly PartitionMessage[]): void {
    try {
      this.receiveNow(from, messages);
    } catch (error) {
      this.readFailed(error);
    }
  }

  private receiveNow(from: NodeId, messages: readonly PartitionMessage[]): void {
    if (!this.running) return;
    this.ticksSinceHeard.set(from, 0);
    this.silentNodes.delete(from);
    if (this.now() < this.pausedUntilMs) {
      if (this.pausedInbox.length === 0) this.deps.scheduler.setTimer(this.pausedUntilMs - this.now(), () => this.drainPausedInbox());
      this.pausedInbox.push({ from, messages });
      return;
    }
    for (const { partition, message } of messages) {
      if (message.type === 'hello') {
        this.onHello(from, message);
        continue;
      }
      // Until a rolled-back peer knows it, its votes and answers may rest on what it lost.
      if (UNTRUSTED_WHEN_ROLLED_BACK.has(message.type) && this.rolledBackPeers.has(from) && this.rolledBackPeers.get(from) === this.peerIncarnations.get(from)) continue;
      if (message.type === 'diskFull') {
        this.peerDiskFull.set(from, { untilMs: this.now() + DISK_FULL_NOTICE_TTL_MS, freeBytes: message.index });
        continue;
      }
      // A peer's raft traffic can show it holds entries long after its last hello (a busy pair
      // sends no liveness hellos): a fresh node must not take it for empty on a stale hello.
      if (this.fresh && sendsEntries(message)) this.peerEmpty.set(from, false);
      const replica = this.replicas.get(partition);
      if (replica === undefined || message.to !== this.id) continue;
      if (message.type === 'appendResp' && !message.reject) {
        const rttMs = replica.onFollowerAck(message.from, message.index);
        if (rttMs !== null) this.deps.observer?.replicationRtt?.(partition, message.from, rttMs / 1000);
      }
      replica.raft.step(message);
      this.markDirty(replica);
    }
    this.scheduleProcess(null);
  }

  private drainPausedInbox(): void {
    if (this.now() < this.pausedUntilMs) {
      this.deps.scheduler.setTimer(this.pausedUntilMs - this.now(), () => this.drainPausedInbox());
      return;
    }
    const inbox = this.pausedInbox.splice(0);
    for (const { from, messages } of inbox) this.receive(from, messages);
  }

  /**
   * Runs process() soon. `replica`: the one that got work (null: only those already marked);
   * without an argument every replica is looked at (always correct, costs O(replicas)).
   */
  private scheduleProcess(replica?: Replica | null): void {
    if (replica === undefined) this.scanAll = true;
    else if (replica !== null) this.markDirty(replica);
    if (this.processScheduled || !this.running) return;
    this.processScheduled = true;
    this.deps.scheduler.setTimer(0, () => {
      this.processScheduled = false;
      try {
        this.process();
      } catch (error) {
        this.readFailed(error);
      }
    });
  }

  /**
   * One round of group commit. While a flush is in flight, new proposals and messages pile
   * up in the cores; the next round takes them all with one more fdatasync.
   */
  /**
   * One round of group commit, pipelined: a round is taken as soon as there is work, even while
   * earlier rounds wait for their fdatasync; its data joins the next flush (many rounds, one sync).
   * What needs no durability goes at once — a leader's appends and heartbeats, and committed
   * entries (already durable on a majority) — while acks and votes wait for their round's flush.
   * Rounds complete, and are advanced, strictly in order.
   */
  private process(): void {
    if (!this.running || this.now() < this.pausedUntilMs || this.rounds.length >= PIPELINE_ROUNDS_MAX) return;
    const readies: [Replica, Ready][] = [];
    if (this.scanAll) {
      for (const replica of this.replicas.values()) if (replica.raft.hasReady()) readies.push([replica, replica.raft.ready()]);
    }
    for (let k = 0; k < this.dirtyCount; k++) {
      const replica = this.dirtyList[k];
      if (replica === undefined) continue;
      this.dirtyFlags[replica.partition] = 0;
      if (!this.scanAll && replica.raft.hasReady()) readies.push([replica, replica.raft.ready()]);
    }
    this.scanAll = false;
    this.dirtyCount = 0;
    // Staged before this round's flush, so a marker goes only once the entries that repaired it are durable.
    const repaired = this.stageRepairedTails();
    if (readies.length === 0 && !repaired) return;
    let needsSync = repaired;
    const early = new Map<NodeId, PartitionMessage[]>();
    const late = new Map<NodeId, PartitionMessage[]>();
    for (const [replica, ready] of readies) {
      if (ready.snapshot !== null) {
        this.journal.applySnapshot(replica.partition, ready.snapshot);
        needsSync = true;
      }
      if (ready.entries.length > 0) {
        this.journal.appendEntries(replica.partition, ready.entries);
        needsSync = true;
      }
      if (ready.hardState !== null) {
        // Only term and vote must be durable before answering; commit is relearned from the
        // leader after a restart (see Replica), so a commit-only change costs no fsync.
        const staged = this.journal.log(replica.partition).hardState();
        if (staged.term !== ready.hardState.term || staged.vote !== ready.hardState.vote) {
          this.journal.setHardState(replica.partition, ready.hardState);
          needsSync = true;
        }
      }
      for (const message of ready.messages) {
        // A leader may send appends before its own fsync (Raft thesis §10.2.1): it counts itself
        // only after advance. A heartbeat answer promises nothing durable either, and must not wait
        // behind a flush stopped by a full disk (the leader would lose its quorum and nobody could
        // say DiskFull). Everything else (votes, acks) waits until what it promises is durable.
        const target = message.type === 'append' || message.type === 'heartbeat' || message.type === 'heartbeatResp' ? early : late;
        addMessage(target, replica.partition, message);
        if (message.type === 'snapshot') this.deps.observer?.snapshotSent?.(replica.partition);
      }
      if (replica.onReadyTaken(ready)) this.deps.observer?.leaderElected?.(replica.partition, this.id, replica.raft.currentTerm());
    }
    this.sendAll(early);
    const round: Round = { readies, late, durable: !needsSync };
    this.rounds.push(round);
    if (needsSync) {
      this.syncsOutstanding++;
      this.journal.flush((error) => {
        this.syncsOutstanding--;
        if (!this.running) return;
        if (error !== null) {
          // Nothing staged since the last good flush is durable: a replica that cannot persist
          // must not answer. Stop the node like a crash; the disk keeps what was synced before.
          for (const [replica] of readies) replica.failWaiters(new LogError(error.name === 'DiskFullError' ? 'DiskFull' : 'Unavailable', `node ${this.id}: ${error.message}`));
          this.onDiskError?.(error);
          this.stop();
          return;
        }
        round.durable = true;
        try {
          this.completeRounds();
        } catch (error) {
          this.readFailed(error);
        }
      });
    } else {
      this.completeRounds();
    }
    this.scheduleProcess(null);
  }

  private markAwake(replica: Replica): void {
    if (this.awakeSlots[replica.partition] !== -1) return;
    this.awakeSlots[replica.partition] = this.awakeCount;
    this.awakeList[this.awakeCount++] = replica;
  }

  /** Removes the replica in slot k: the last one takes its place. */
  private unmarkAwake(k: number): void {
    const removed = this.awakeList[k]!;
    const last = this.awakeList[--this.awakeCount]!;
    this.awakeList[k] = last;
    this.awakeSlots[last.partition] = k;
    this.awakeSlots[removed.partition] = -1;
  }

  private markDirty(replica: Replica): void {
    if (this.dirtyFlags[replica.partition] === 1) return;
    this.dirtyFlags[replica.partition] = 1;
    this.dirtyList[this.dirtyCount++] = replica;
  }

  /** Completes durable rounds from the head, in order: late messages out, then advance. */
  private completeRounds(): void {
    let completed = false;
    while (this.running && this.rounds[0]?.durable === true) {
      const round = this.rounds.shift();
      if (round === undefined) break;
      const persistedMs = this.now();
      for (const [replica, ready] of round.readies) replica.onReadyPersisted(ready, persistedMs);
      this.sendAll(round.late);
      for (const [replica, ready] of round.readies) {
        replica.raft.advance(ready);
        this.markDirty(replica);
      }
      completed = true;
    }
    if (completed) this.scheduleProcess(null);
  }

  /** Set by the owner to learn that the node stopped on a disk error (disk full, I/O error, a corrupt record read: CorruptReadError). */
  onDiskError: ((error: Error) => void) | null = null;

  private sendAll(byNode: Map<NodeId, PartitionMessage[]>): void {
    for (const [to, messages] of byNode) this.sendTo(to, messages);
    byNode.clear();
  }

  private onJournalDiskFull(full: boolean): void {
    this.lastDiskFullRetryMs = this.now();
    if (full) this.tellPeersDiskFull();
    this.onDiskFull?.(full, this.diskFreeBytes());
  }

  /** A full disk does not stop the node: the stopped flush is retried until space comes back. */
  private maybeRetryDiskFull(): void {
    if (!this.journal.isBlocked() || this.now() - this.lastDiskFullRetryMs < DISK_FULL_RETRY_MS) return;
    this.lastDiskFullRetryMs = this.now();
    this.tellPeersDiskFull();
    this.journal.retryBlockedFlush();
  }

  private tellPeersDiskFull(): void {
    const freeBytes = this.diskFreeBytes();
    for (const to of this.config.nodeIds) {
      if (to === this.id) continue;
      this.sendTo(to, [{ partition: 0, message: { type: 'diskFull', from: this.id, to, term: 0, logTerm: 0, index: freeBytes, commit: 0, entries: [], reject: false, rejectHint: 0, snapshot: null } }]);
    }
  }

  /**
   * On a leader: DiskFull when full disks (ours or peers') leave fewer live replicas than a quorum,
   * so the client learns it at once instead of waiting out its timeout. Names each full node.
   */
  private diskFullBlocksQuorum(partition: number, replica: Replica): LogError | null {
    if (!this.journal.isBlocked() && this.peerDiskFull.size === 0) return null;
    const status = replica.raft.status();
    if (status.role !== 'leader' || status.progress === null) return null;
    const nowMs = this.now();
    const full: string[] = [];
    let available = 0;
    for (const id of replica.replicas) {
      const notice = this.peerDiskFull.get(id);
      if (id === this.id ? this.journal.isBlocked() : notice !== undefined && notice.untilMs > nowMs) {
        full.push(`node ${id} (${id === this.id ? this.diskFreeBytes() : notice?.freeBytes ?? 0} bytes free)`);
      } else if (id === this.id || status.progress.get(id)?.recentActive === true) {
        available++;
      }
    }
    const quorum = Math.floor(replica.replicas.length / 2) + 1;
    if (full.length === 0 || available >= quorum) return null;
    return new LogError('DiskFull', `partition ${partition}: the disk of ${full.join(', ')} is full; ${available} of ${replica.replicas.length} replicas can persist, a quorum needs ${quorum}`, { partition });
  }

  /** Lets the journal forget faulty tails the consensus core saw repaired; whether any was. */
  private stageRepairedTails(): boolean {
    let repaired = false;
    for (const partition of this.faultyPartitions) {
      const raft = this.replicas.get(partition)?.raft;
      if (raft === undefined || raft.faultyTail() !== null) continue;
      this.journal.clearFaulty(partition);
      const how = raft.faultyTailRepair();
      if (how !== null) this.deps.observer?.faultyTailRepaired?.(partition, how);
      this.faultyPartitions.delete(partition);
      repaired = true;
    }
    return repaired;
  }

  private sendTo(to: NodeId, messages: readonly PartitionMessage[]): void {
    this.ticksSinceSent.set(to, 0);
    // Early on every envelope says who we are: a busy link never carries an idle liveness envelope,
    // and the first sends of a TCP link may be dropped while it connects.
    // A hello always goes alone (every caller sends [this.hello(to)]): no envelope needs a second.
    const onlyHello = messages.length === 1 && messages[0]!.message.type === 'hello';
    const announce = (this.config.quiesce || this.newClusterWith.size > 0) && this.ticksSinceStart < this.announceUntilTick && !onlyHello;
    // The peer hears our durable progress before any vote or answer of ours (it checks them against
    // what it saw before: see onHello), and soon after it grew (PROGRESS_HELLO_TICKS): what it
    // remembers of us is what a rollback of our disk would lose.
    if (!onlyHello && (this.progressGrewFor(to) || carriesVotes(messages))) {
      this.deps.transport.send(to, [this.hello(to), ...messages]);
      return;
    }
    this.deps.transport.send(to, announce ? [...messages, this.hello(to)] : messages);
  }

  /** Whether our durable progress grew since the last hello to `to`, PROGRESS_HELLO_TICKS or more ago. */
  private progressGrewFor(to: NodeId): boolean {
    const told = this.progressTold.get(to);
    if (told === undefined) return true;
    if (this.ticksSinceStart - told.tick < PROGRESS_HELLO_TICKS) return false;
    const progress = this.journal.durableProgress();
    return progress.segments > told.segments || progress.states > told.states;
  }

  /** Sends the node-pair heartbeats that are due; wakes the partitions of nodes that fell silent. */
  private tickLiveness(): void {
    for (const other of this.config.nodeIds) {
      if (other === this.id) continue;
      const sinceSent = (this.ticksSinceSent.get(other) ?? 0) + 1;
      this.ticksSinceSent.set(other, sinceSent);
      if (sinceSent >= LIVENESS_HEARTBEAT_TICKS) this.sendTo(other, [this.hello(other)]);
      const sinceHeard = (this.ticksSinceHeard.get(other) ?? 0) + 1;
      this.ticksSinceHeard.set(other, sinceHeard);
      if (sinceHeard < LIVENESS_TIMEOUT_TICKS || this.silentNodes.has(other)) continue;
      this.silentNodes.add(other);
      for (const replica of this.replicas.values()) {
        if (replica.raft.isQuiesced() && replica.replicas.includes(other)) replica.raft.wake();
      }
    }
  }

  private hello(to: NodeId): PartitionMessage {
    const progress = this.journal.durableProgress();
    const told = this.progressTold.get(to);
    if (told === undefined) this.progressTold.set(to, { segments: progress.segments, states: progress.states, tick: this.ticksSinceStart });
    else {
      told.segments = progress.segments;
      told.states = progress.states;
      told.tick = this.ticksSinceStart;
    }
    const rolledBack = this.rolledBackPeers.get(to);
    const flags = (this.holdsNoEntries() ? HELLO_EMPTY : 0) + (this.abstaining ? HELLO_ABSTAINING : 0) + this.catchUps * HELLO_CATCH_UPS_UNIT + (this.peerProgress.progress.get(to)?.catchUps ?? 0) * HELLO_YOUR_CATCH_UPS_UNIT;
    // term, rejectHint, commit / HELLO_CATCH_UPS_UNIT: our durable progress (segments, hard states,
    // catch-ups; see Journal.durableProgress). logTerm: with reject, the
    // peer's incarnation we found rolled back (see checkProgress); else its incarnation when this
    // node found the cluster new, if it did (see decideFresh).
    const logTerm = rolledBack ?? this.newClusterWith.get(to) ?? 0;
    return { partition: 0, message: { type: 'hello', from: this.id, to, term: progress.segments, index: this.incarnation, commit: flags, entries: [], reject: rolledBack !== undefined, rejectHint: progress.states, snapshot: null, logTerm } };
  }

  /**
   * A peer announced its incarnation. A new one (or the first we hear) means it may have restarted
   * and forgotten that it led: quiesced partitions it replicates would otherwise wait for its
   * heartbeats forever, since a quick restart never looks silent. They wake and elect if needed.
   * Partitions this node leads probe what the peer still holds (Raft.peerRestarted).
   */
  private onHello(from: NodeId, hello: Message): void {
    const incarnation = hello.index;
    const empty = (hello.commit & HELLO_EMPTY) !== 0;
    const abstaining = (hello.commit & HELLO_ABSTAINING) !== 0;
    const startedAbstaining = abstaining && this.peerAbstaining.get(from) === false;
    this.peerAbstaining.set(from, abstaining);
    const newClusterWithMe = !hello.reject && hello.logTerm === this.incarnation;
    this.peerEmpty.set(from, empty);
    const known = this.peerIncarnations.get(from) === incarnation;
    const restarted = !known && this.peerIncarnations.has(from);
    if (!known) this.peerIncarnations.set(from, incarnation);
    // A node this one never heard of (nothing remembered, on disk either), empty and waiting, soon
    // after this one found the cluster new with the operator's --new-cluster: a node of the first
    // start that came late. Without this, two late nodes left the partitions they share with one
    // early node without a leader for good (five nodes, two started 3 s late: 5 of 16 partitions;
    // a `cluster up` under CI load did it once).
    const lateFounder = !known && empty && abstaining && this.peerProgress.progress.get(from) === undefined && this.newClusterFoundMs !== null && this.now() - this.newClusterFoundMs < NEW_CLUSTER_LATE_JOIN_MS;
    if (lateFounder) {
      this.newClusterWith.set(from, incarnation);
      this.sendTo(from, [this.hello(from)]);
    }
    const rolledBack = this.checkProgress(from, hello, known);
    if (hello.reject && hello.logTerm === this.incarnation) this.learnRolledBack(from);
    if (this.fresh && !this.rolledBack) {
      // The peer found the cluster new while this very process held nothing: so it is new to us too.
      if (newClusterWithMe) this.joinNewCluster();
      else this.decideFresh();
    }
    // Told at the next tick, not at once: hellos of a paused node's inbox come all together, and a
    // later one of them may say the peer has caught up since (see checkProgress).
    if (rolledBack) this.tellRolledBack.add(from);
    if (known) {
      // It learned that its disk went back: the partitions we lead probe it, as after a restart,
      // so it is caught up (and votes again) without waiting for a proposal on an idle one.
      if (startedAbstaining) for (const replica of this.replicas.values()) if (replica.replicas.includes(from)) {
        replica.raft.peerRestarted(from);
        this.markDirty(replica);
      }
      return;
    }
    // A peer holding nothing may be fresh, waiting to hear what this node holds: answer its first hello at once.
    if (empty && !rolledBack) this.sendTo(from, [this.hello(from)]);
    for (const replica of this.replicas.values()) {
      if (!replica.replicas.includes(from)) continue;
      if (replica.raft.isQuiesced()) replica.raft.wake();
      if (restarted) replica.raft.peerRestarted(from);
      this.markDirty(replica);
    }
  }

  /**
   * Keeps the furthest durable progress a peer reported. A new process of it reporting less was
   * started on an older copy of its disk (restored from a backup or snapshot, or a volume that
   * lost its last writes): acknowledgements and votes it gave may be gone from it, and nothing on
   * its disk says so. Until it says it abstains, its votes, vote requests and answers about faulty
   * tails count for nothing here, and our hellos tell it (reject, with its incarnation): it abstains
   * until caught up, as after a corruption. A peer that abstains already reports where it is now.
   * Returns whether it was found rolled back just now.
   */
  private checkProgress(from: NodeId, hello: Message, known: boolean): boolean {
    const progress = { segments: hello.term, states: hello.rejectHint, catchUps: Math.floor(hello.commit / HELLO_CATCH_UPS_UNIT) % (HELLO_YOUR_CATCH_UPS_UNIT / HELLO_CATCH_UPS_UNIT) };
    const seen = this.peerProgress.progress.get(from);
    this.catchUpsPeersSaw = Math.max(this.catchUpsPeersSaw, Math.floor(hello.commit / HELLO_YOUR_CATCH_UPS_UNIT));
    if ((hello.commit & HELLO_ABSTAINING) !== 0 || seen === undefined) {
      // Where it is now; its count stays the highest seen (a wiped disk reports none: see maybeClearAbstain).
      this.rolledBackPeers.delete(from);
      this.peerProgress.reset(from, { ...progress, catchUps: Math.max(progress.catchUps, seen?.catchUps ?? 0) });
      return false;
    }
    const wentBack = !known && behind(progress, seen);
    // The same process, caught up since the hello that showed it behind: nothing to tell it.
    if (known && progress.catchUps > seen.catchUps) this.rolledBackPeers.delete(from);
    this.peerProgress.raise(from, progress);
    if (wentBack) this.rolledBackPeers.set(from, hello.index);
    else if (!known) this.rolledBackPeers.delete(from);
    return wentBack;
  }

  /**
   * A peer remembers this node's disk further along than it is (see checkProgress): its replicas
   * abstain until a leader has caught each up, durably (ABSTAIN_MARKER), and stop leading.
   */
  private learnRolledBack(by: NodeId): void {
    if (this.rolledBack) return;
    this.rolledBack = true;
    this.rolledBackBy ??= by;
    if (!this.deps.disk.list().includes(ABSTAIN_MARKER)) writeMarker(this.deps.disk, ABSTAIN_MARKER);
    this.abstaining = true;
    for (const replica of this.replicas.values()) {
      replica.raft.startAbstaining();
      this.markDirty(replica);
    }
    this.deps.observer?.diskRolledBack?.(by);
    for (const id of this.config.nodeIds) if (id !== this.id) this.sendTo(id, [this.hello(id)]);
  }

  /**
   * Whether no replica of this node holds or held an entry (a leader's first entry, its no-op,
   * comes with the first election): what its hellos tell a fresh peer. Checked until the first.
   */
  private holdsNoEntries(): boolean {
    if (!this.heldEntries) {
      for (const replica of this.replicas.values()) {
        if (this.journal.log(replica.partition).lastIndex() > 0 || replica.raft.faultyTail() !== null) {
          this.heldEntries = true;
          break;
        }
      }
    }
    return !this.heldEntries;
  }

  /**
   * A fresh node (see constructor) learns that the cluster is new: every other node says it holds
   * no entry either, so nothing was ever acknowledged that this node could have lost, and its
   * replicas vote and campaign at once. Not a majority: a node that never caught up holds nothing
   * too, and with it a replaced disk would make one, while the entries live on the rest. A node
   * that missed this (a hello lost, or late) hears that others hold entries, and abstains until a
   * leader, which a majority elected meanwhile, has caught it up. With NodeConfig.newCluster a
   * majority does, but no node may have said it holds entries.
   */
  private decideFresh(): void {
    let empty = 1; // this node
    for (const id of this.config.nodeIds) {
      if (id === this.id) continue;
      const peerEmpty = this.peerEmpty.get(id);
      // A peer that holds entries: the cluster is not new, whatever the operator said.
      if (peerEmpty === false) return;
      if (peerEmpty === true) empty++;
      else if (this.config.newCluster !== true) return;
    }
    // With the operator's word, a majority of empty nodes and no other heard from. Were this a
    // replaced disk started with --new-cluster left on, it is safe while any node that holds
    // entries answers first; it loses them only if enough other nodes never caught up to make
    // that majority with it (nodes down since the cluster's first start) — the reason this is
    // the operator's choice, not the default.
    if (empty <= this.config.nodeIds.length / 2) return;
    // Each peer learns it from our hellos, with the incarnation we saw it empty in: one that is still
    // that process joins at once, instead of abstaining until caught up (the first election ends the
    // moment when every node is empty: a peer whose hellos were slow would miss it, and a node
    // killed early would then leave some partitions with one voter).
    for (const id of this.config.nodeIds) {
      const incarnation = this.peerIncarnations.get(id);
      if (id !== this.id && incarnation !== undefined) this.newClusterWith.set(id, incarnation);
    }
    this.announceUntilTick = this.ticksSinceStart + HELLO_EVERY_ENVELOPE_TICKS;
    for (const id of this.newClusterWith.keys()) this.sendTo(id, [this.hello(id)]);
    this.joinNewCluster();
  }

  /** This fresh node's replicas vote and campaign at once: the cluster is new (see decideFresh). */
  private joinNewCluster(): void {
    this.fresh = false;
    if (this.config.newCluster === true) this.newClusterFoundMs = this.now();
    for (const replica of this.replicas.values()) {
      replica.raft.stopAbstaining();
      this.markDirty(replica);
    }
    this.maybeClearAbstain(false);
  }

  /** Votes again once every replica has: caught up by its leaders, or (`caughtUp` false) the cluster is new. */
  private maybeClearAbstain(caughtUp = true): void {
    if (!this.abstaining) return;
    for (const replica of this.replicas.values()) if (replica.raft.abstainingFromVotes()) return;
    // Caught up after losing what it had (a disk put back or replaced, a corruption): counted,
    // durably, before anything else. Its durable progress started over lower; a peer that still
    // remembers more from before (cut off, or down, meanwhile) sees the higher count and takes the
    // progress as it is, instead of telling it again that its disk went back. A copy of the disk
    // put back later holds a lower count, or the same and less progress.
    if (caughtUp) {
      // Above what any peer remembers: a replaced disk starts from none, and an older copy of the
      // disk from before it must still look older.
      this.catchUps = Math.max(this.catchUps, this.catchUpsPeersSaw) + 1;
      writeMarker(this.deps.disk, `caught-up-${this.catchUps}.marker`);
      for (const name of this.deps.disk.list()) if (CAUGHT_UP_MARKER.test(name) && name !== `caught-up-${this.catchUps}.marker`) this.deps.disk.remove(name);
    }
    this.abstaining = false;
    this.rolledBack = false;
    // Caught up (or the cluster is new): a crash from here on leaves a log that recovery can trust.
    this.fresh = false;
    this.deps.disk.remove(FRESH_MARKER);
    this.deps.disk.remove(ABSTAIN_MARKER);
  }

  private maybeEnforceRetention(): void {
    const now = this.now();
    if (now - this.lastRetentionMs < this.config.retentionIntervalMs) return;
    this.lastRetentionMs = now;
    const deletedBytes = this.journal.enforceRetention(
      (partition) => this.replicas.get(partition)?.committed ?? 0,
      (partition, start) => this.replicas.get(partition)?.producerStateBefore(start.nextOffset),
    );
    if (deletedBytes > 0) this.deps.observer?.retentionDeleted?.(deletedBytes);
  }
}

/** Whether a raft message shows that its sender holds (or held) an entry: an index, a term, a commit, entries or a log start. */
function sendsEntries(message: Message): boolean {
  if (message.type === 'appendResp' && message.reject) return false; // index is the leader's probe
  return message.index > 0 || message.logTerm > 0 || message.commit > 0 || message.entries.length > 0 || message.snapshot !== null || message.type === 'faultQuery';
}

function addMessage(byNode: Map<NodeId, PartitionMessage[]>, partition: number, message: Message): void {
  let list = byNode.get(message.to);
  if (list === undefined) {
    list = [];
    byNode.set(message.to, list);
  }
  list.push({ partition, message });
}

function errorResponse(error: LogError): ClientResponse {
  return { kind: 'error', error: error.toJSON() };
}
