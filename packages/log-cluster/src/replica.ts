import { LogError, notLeader } from './errors.ts';
import { invariant } from './invariant.ts';
import { AppendTimes } from './append-times.ts';
import { CommittedBatches } from './committed-batches.ts';
import { encodeProducerState, producersFromState } from './producer-state.ts';
import { IndexRing } from './index-ring.ts';
import { BATCH_BYTES_MAX, BATCH_RECORDS_MAX, PRODUCER_IN_FLIGHT_MAX, RECORD_BYTES_MAX, batchBytes, decodeHeader, decodeRecords, encodeBatch } from './payload.ts';
import type { ClientResponse, ReadRecord } from './protocol.ts';
import { Raft } from './raft/raft.ts';
import type { Entry, NodeId, RaftConfig, RaftLogStorage, Ready } from './raft/types.ts';
import type { RecoveredApply } from './recovered-apply.ts';
import type { PartitionLog } from './storage/journal.ts';

/** Reads answer at most this much, whatever the caller asked. */
export const READ_RECORDS_MAX = 10_000;
export const READ_BYTES_MAX = 8 << 20;
/** Proposals waiting for commit per partition; past it appends fail fast with Unavailable. */
export const PENDING_PROPOSALS_MAX = 4_096;
/** A follower lacking an entry the leader appended this long ago is out of sync. */
export const IN_SYNC_LAG_MS_MAX = 10_000;
/** Leader-side append times are kept at this resolution (one sample per 10 ms): lag seconds are exact to it. */
export const APPEND_TIME_RESOLUTION_MS = 10;
/** Bound on the append-time samples (≥ 10 min at full resolution); the oldest are dropped past it. */
export const APPEND_TIMES_MAX = 65_536;
/**
 * A producer with no batch committed on a partition for this long is forgotten there, as Kafka
 * expires producer ids: each client instance is a new producer, so a runbook or CLI that makes
 * one per append grew this state without end (~500 bytes a producer, on every replica). A client
 * retries a batch only until its append deadline (seconds), far inside this; a producer that comes
 * back after it continues with its next sequence as a new one.
 */
export const PRODUCER_EXPIRY_MS = 3_600_000;
/** The expiry sweep runs at most this often (or every quarter of the expiry, if shorter)… */
const PRODUCER_SWEEP_INTERVAL_MS = 60_000;
/** …and looks at this many producers per commit, so that a partition with many never stalls on it. */
const PRODUCER_SWEEP_SLICE = 256;

/** One follower's lag as its leader sees it; null = unknown (this leader has not learned its position yet). */
export interface FollowerLag {
  replica: NodeId;
  lagRecords: number | null;
  /** Age of the oldest entry the follower lacks (leader-side append time); 0 when caught up. */
  lagSeconds: number | null;
  inSync: boolean;
}

/** Timestamps of one write's path on the leader, for latency and spans. */
export interface WriteTiming {
  readonly proposedMs: number;
  persistedMs: number;
  readonly followerAckMs: Map<NodeId, number>;
  committedMs: number;
}

interface Waiter {
  readonly index: number;
  readonly term: number;
  readonly timing: WriteTiming;
  readonly recordBytes: number;
  readonly done: (response: ClientResponse, timing: WriteTiming | null) => void;
}

type ReadDone = (response: ClientResponse) => void;

interface ReadWaiter {
  readonly offset: number;
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly done: ReadDone;
}

interface PendingBatch {
  readonly index: number;
  readonly term: number;
}

/**
 * A producer's batches in this leader's uncommitted log, by sequence. An IndexRing, and kept when it
 * empties: a Map per producer made and dropped with nearly every append (and the outer map's table
 * with it) lived until the partition's next append, long enough to be promoted.
 */
type PendingProducer = IndexRing<PendingBatch>;

/** Answers a client append with an error (a function, not a closure made per append). */
function failWith(done: Waiter['done'], error: LogError): void {
  done({ kind: 'error', error: error.toJSON() }, null);
}

export interface ReplicaContext {
  readonly nodeId: NodeId;
  readonly partition: number;
  readonly replicas: readonly NodeId[];
  readonly log: PartitionLog;
  readonly now: () => number;
  readonly raft: Omit<RaftConfig, 'id' | 'peers' | 'storage'>;
  readonly abstainFromVoting: boolean;
  /**
   * 'linearizable' (always, in the product). 'unsafe-local' answers from this replica's own commit
   * whatever its role, as releases before ReadIndex did: it exists only so the simulator's tests can
   * show that its stale-read rule catches that read path.
   */
  readonly readMode?: ReadMode;
  /** See PRODUCER_EXPIRY_MS (the default). */
  readonly producerExpiryMs?: number;
  /** What re-applying the recovered log would rebuild, if the node's recovery gathered it (see restoreApplied). */
  readonly recovered?: RecoveredApply | null;
}

export type ReadMode = 'linearizable' | 'unsafe-local';

/**
 * One partition's replica on one node: the consensus core plus what the log adds on top of
 * it — client proposals waiting for commit, idempotent producer state, offsets and reads.
 */
export class Replica {
  readonly raft: Raft;
  readonly partition: number;
  readonly replicas: readonly NodeId[];
  private readonly log: PartitionLog;
  private readonly now: () => number;
  private readonly readMode: ReadMode;
  /** Appends waiting for commit, by log index (see IndexRing for why not a Map). */
  private readonly waiters = new IndexRing<Waiter>();
  /** Each producer's newest committed batches (PRODUCER_IN_FLIGHT_MAX of them). */
  private committedProducers: Map<number, CommittedBatches>;
  /** Until applied or found stale (see restoreApplied). */
  private recovered: RecoveredApply | null;
  private pendingProducers = new Map<number, PendingProducer>();
  private readonly producerExpiryMs: number;
  /** Where the expiry sweep stands in committedProducers (null between sweeps), and when the next starts. */
  private producerSweep: MapIterator<[number, CommittedBatches]> | null = null;
  private nextProducerSweepMs = 0;
  private commitIndex = 0;
  /** Record offset below which everything is committed. */
  private highWatermark = 0;
  private wasLeader = false;
  /** Reads waiting for their ReadIndex confirmation, by read context id. */
  private readonly readWaiters = new Map<number, ReadWaiter>();
  /** Confirmed reads whose index this replica has not applied yet, in index order. */
  private confirmedReads: { index: number; waiter: ReadWaiter }[] = [];
  /** Leader: sampled append times, for the followers' lag in seconds. */
  private readonly appendTimes = new AppendTimes(APPEND_TIMES_MAX, APPEND_TIME_RESOLUTION_MS);
  /** Leader: when each follower last accepted an append in this leadership (absent: position unknown). */
  private readonly lastAckMs = new Map<NodeId, number>();
  /**
   * Per follower: an append whose ack we time for replication RTT. One probe object per follower,
   * opened and closed in place: deleting and re-adding the entry each round trip made V8 reallocate
   * the map's table, which then outlived two scavenges and was promoted (~14 % of what reached the
   * old generation at 5 × 256 partitions).
   */
  private readonly rttProbe = new Map<NodeId, { open: boolean; index: number; sentMs: number }>();

  constructor(context: ReplicaContext) {
    this.partition = context.partition;
    this.replicas = context.replicas;
    this.log = context.log;
    this.now = context.now;
    this.readMode = context.readMode ?? 'linearizable';
    this.producerExpiryMs = context.producerExpiryMs ?? PRODUCER_EXPIRY_MS;
    invariant(this.producerExpiryMs > 0, () => `producer expiry ${this.producerExpiryMs} ms must be positive`);
    // The persisted commit index is not trusted at start: segments and the hard-state file are
    // synced separately, so after a crash (or a cut corrupted segment) the log may hold entries that
    // were overwritten before that commit was written. Commit is relearned from the leader (Raft
    // does not need it durable); the log start is always committed.
    const log = context.log;
    const storage: RaftLogStorage = {
      initialState: () => {
        const state = log.initialState();
        return { hardState: { ...state.hardState, commit: state.snapshot.index }, snapshot: state.snapshot };
      },
      firstIndex: () => log.firstIndex(),
      lastIndex: () => log.lastIndex(),
      term: (index) => log.term(index),
      entries: (lo, hi, maxBytes, rationed) => log.entries(lo, hi, maxBytes, rationed),
      readDeferred: (index) => log.readDeferred(index),
      fetching: (index) => log.fetching(index),
      offsetEnd: (index) => log.offsetEnd(index),
      snapshot: () => log.snapshot(),
    };
    this.recovered = context.recovered ?? null;
    this.raft = new Raft({
      ...context.raft,
      id: context.nodeId,
      peers: context.replicas,
      storage,
      abstainFromVoting: context.abstainFromVoting,
      faultyTail: log.faultyTail(),
      setAside: log.setAsideTail(),
      ...(this.recovered === null ? {} : { restoreApplied: (applied: number, commit: number) => this.restoreApplied(applied, commit) }),
    });
    const snapshot = log.snapshot();
    this.commitIndex = snapshot.index;
    this.highWatermark = snapshot.nextOffset;
    // Applying starts after the log start: the producers the entries before it left come with it.
    this.committedProducers = producersFromState(snapshot.state, this.now());
  }

  get isLeader(): boolean {
    return this.raft.currentRole() === 'leader';
  }

  get hw(): number {
    return this.highWatermark;
  }

  get committed(): number {
    return this.commitIndex;
  }

  logStartOffset(): number {
    return this.log.snapshot().nextOffset;
  }

  logEndOffset(): number {
    return this.raft.lastOffsetEnd();
  }

  /** Client append: resolves once the batch is committed on a majority (done is called exactly once). */
  propose(producerId: number, sequence: number, records: readonly Uint8Array[], done: Waiter['done']): void {
    // The batch header stores a u32 (the TCP codec reads one); an in-process caller could pass anything.
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > 0xffff_ffff) {
      return failWith(done, new LogError('OutOfOrderSequence', `sequence ${sequence} is not an unsigned 32-bit integer`, { partition: this.partition }));
    }
    if (records.length === 0 || records.length > BATCH_RECORDS_MAX) {
      return failWith(done, new LogError('TooLarge', `a batch holds 1..${BATCH_RECORDS_MAX} records (got ${records.length})`, { partition: this.partition }));
    }
    for (const record of records) {
      if (record.byteLength > RECORD_BYTES_MAX) {
        return failWith(done, new LogError('TooLarge', `record of ${record.byteLength} bytes exceeds the ${RECORD_BYTES_MAX}-byte limit`, { partition: this.partition }));
      }
    }
    const recordBytes = batchBytes(records);
    if (recordBytes > BATCH_BYTES_MAX) {
      return failWith(done, new LogError('TooLarge', `batch of ${recordBytes} bytes exceeds the ${BATCH_BYTES_MAX}-byte limit`, { partition: this.partition }));
    }
    // Not status(): it copies the leader's progress, and this runs for every append.
    if (this.raft.currentRole() !== 'leader') return failWith(done, notLeader(this.partition, this.raft.currentLeader()));
    // The core may have become leader in a step whose Ready the node has not processed yet.
    const term = this.raft.currentTerm();
    if (this.leaderTerm !== term) this.startLeading(term);
    if (this.waiters.size >= PENDING_PROPOSALS_MAX) {
      return failWith(done, new LogError('Unavailable', `partition ${this.partition}: ${PENDING_PROPOSALS_MAX} appends already wait for commit`, { partition: this.partition }));
    }
    const timing: WriteTiming = { proposedMs: this.now(), persistedMs: 0, followerAckMs: new Map(), committedMs: 0 };

    // Idempotence: the same (producer, sequence) is never appended twice, and a producer's batches
    // are appended in sequence order, so several may be in flight (retried in any order).
    const pending = this.pendingProducers.get(producerId);
    const inLog = pending?.get(sequence);
    if (inLog !== undefined) {
      this.waiters.set(inLog.index, { index: inLog.index, term: inLog.term, timing, recordBytes, done });
      return;
    }
    const committed = this.committedProducers.get(producerId);
    const answered = committed?.find(sequence) ?? -1;
    if (committed !== undefined && answered >= 0) return done({ kind: 'append', baseOffset: committed.offsetAt(answered), count: committed.countAt(answered) }, null);
    let lastSequence = committed?.lastSequence() ?? -1;
    if (pending !== undefined && pending.size > 0) lastSequence = Math.max(lastSequence, pending.end - 1);
    if (lastSequence >= 0 && sequence > lastSequence + 1) {
      // An earlier batch of this producer has not arrived yet (it is being retried): ask again shortly.
      return failWith(done, new LogError('Unavailable', `producer ${producerId} sent sequence ${sequence} before ${lastSequence + 1} on partition ${this.partition}; retry shortly`, { partition: this.partition }));
    }
    if (lastSequence >= 0 && sequence <= lastSequence) {
      return failWith(done, new LogError('OutOfOrderSequence', `producer ${producerId} sent sequence ${sequence} after ${lastSequence} on partition ${this.partition}, older than the ${PRODUCER_IN_FLIGHT_MAX} batches remembered`, { partition: this.partition }));
    }

    const result = this.raft.propose(encodeBatch(producerId, sequence, records), records.length);
    if (!result.ok) {
      return failWith(done, result.reason === 'transferring'
        ? new LogError('Unavailable', `partition ${this.partition}: leadership is moving; retry shortly`, { partition: this.partition, leaderHint: result.leaderHint })
        : notLeader(this.partition, result.leaderHint));
    }
    this.notePendingBatch(producerId, sequence, result.index, result.term);
    this.waiters.set(result.index, { index: result.index, term: result.term, timing, recordBytes, done });
    // Samples every follower is past go here as well as when lag is read: a node nobody scrapes
    // (a bench, an unwatched process) kept up to APPEND_TIMES_MAX of them per partition.
    this.appendTimes.dropThrough(this.raft.lowestFollowerMatch());
    this.appendTimes.note(result.index, timing.proposedMs);
  }

  /**
   * Linearizable read: only the leader answers, and only once a quorum confirmed its leadership
   * after the read arrived (ReadIndex); then the committed prefix is served. Everyone else answers
   * NotLeader with its best hint, never a high watermark it is not sure of.
   */
  read(offset: number, maxRecords: number, maxBytes: number, done: ReadDone): void {
    if (this.readMode === 'unsafe-local') return this.serveRead({ offset, maxRecords, maxBytes, done });
    const result = this.raft.readIndex();
    if (!result.ok) {
      // A new leader's commit can trail what the previous leader acknowledged until it commits an
      // entry of its own term (its no-op): retry shortly.
      const error = result.reason === 'not-leader'
        ? notLeader(this.partition, result.leaderHint)
        : new LogError('Unavailable', `partition ${this.partition}: the leader is not ready to serve reads yet; retry shortly`, { partition: this.partition, leaderHint: result.leaderHint });
      return done({ kind: 'error', error: error.toJSON() });
    }
    this.readWaiters.set(result.id, { offset, maxRecords, maxBytes, done });
  }

  /** Serves the committed prefix from `offset` as this replica has applied it (no leadership check: callers do that). */
  readCommitted(offset: number, maxRecords: number, maxBytes: number): ClientResponse {
    const start = this.logStartOffset();
    if (offset < start) {
      const error = new LogError('OffsetOutOfRange', `offset ${offset} of partition ${this.partition} was deleted by retention; the log starts at ${start}`, { partition: this.partition, earliestOffset: start });
      return { kind: 'error', error: error.toJSON() };
    }
    const records: ReadRecord[] = [];
    const limitRecords = Math.min(maxRecords, READ_RECORDS_MAX);
    const limitBytes = Math.min(maxBytes, READ_BYTES_MAX);
    // Only the committed prefix is served: below the high watermark.
    if (offset < this.highWatermark) {
      let index = this.log.indexForOffset(offset);
      let bytes = 0;
      while (index !== undefined && index <= this.commitIndex && records.length < limitRecords && bytes < limitBytes) {
        // A consumer far behind reads from segments within the node's read budget, as followers do;
        // past the first page, what is on disk is read ahead in the background for its next read.
        if (records.length > 0 && this.log.fetching(index)) break;
        const batch = this.log.entries(index, Math.min(this.commitIndex + 1, index + 64), limitBytes, true);
        if (batch.length === 0) break;
        for (const entry of batch) {
          const values = decodeRecords(entry.data);
          for (let i = 0; i < values.length; i++) {
            const recordOffset = entry.offset + i;
            if (recordOffset < offset) continue;
            if (records.length >= limitRecords || bytes >= limitBytes) break;
            const value = values[i];
            invariant(value !== undefined, 'decoded record missing');
            records.push({ offset: recordOffset, value });
            bytes += value.byteLength;
          }
          index = entry.index + 1;
        }
      }
    }
    return { kind: 'read', records, highWatermark: this.highWatermark, logStartOffset: start };
  }

  /** Called by the node when it takes a Ready (its data is staged, not yet durable); true when it made this replica leader. */
  onReadyTaken(ready: Ready): boolean {
    const becameLeader = ready.softState !== null && this.onSoftState(ready.softState.leader, ready.softState.role === 'leader');
    for (const message of ready.messages) {
      if (message.type === 'append' && message.entries.length > 0) {
        let probe = this.rttProbe.get(message.to);
        if (probe === undefined) this.rttProbe.set(message.to, (probe = { open: false, index: 0, sentMs: 0 }));
        const last = message.entries[message.entries.length - 1];
        if (!probe.open && last !== undefined) {
          probe.open = true;
          probe.index = last.index;
          probe.sentMs = this.now();
        }
      }
    }
    // Committed entries are durable on a majority already; the staged journal serves them.
    if (ready.committedEntries.length > 0) this.applyCommitted(ready.committedEntries);
    if (ready.snapshot !== null && ready.snapshot.index > this.commitIndex) {
      this.commitIndex = ready.snapshot.index;
      this.highWatermark = ready.snapshot.nextOffset;
      // Caught up past entries it never applied: their producers come with the leader's log start.
      this.committedProducers = producersFromState(ready.snapshot.state, this.now());
      this.producerSweep = null;
    }
    for (const state of ready.readStates) {
      const waiter = this.readWaiters.get(state.id);
      if (waiter === undefined) continue;
      this.readWaiters.delete(state.id);
      if (!state.ok) waiter.done({ kind: 'error', error: notLeader(this.partition, this.raft.currentLeader()).toJSON() });
      else this.confirmedReads.push({ index: state.index, waiter });
    }
    this.serveConfirmedReads();
    return becameLeader;
  }

  /** Called by the node once the Ready's data is durable (just before advance). */
  onReadyPersisted(ready: Ready, persistedMs: number): void {
    if (ready.entries.length === 0 || !this.wasLeader) return;
    for (const entry of ready.entries) {
      const waiter = this.waiters.get(entry.index);
      if (waiter !== undefined && waiter.timing.persistedMs === 0) waiter.timing.persistedMs = persistedMs;
    }
  }

  /** A follower acked up to `index`: returns the replication RTT (ms) when it closes a probe. */
  onFollowerAck(follower: NodeId, index: number): number | null {
    const now = this.now();
    this.lastAckMs.set(follower, now);
    const last = Math.min(index, this.waiters.end - 1);
    for (let i = this.waiters.first; i <= last; i++) {
      const waiter = this.waiters.get(i);
      if (waiter !== undefined && !waiter.timing.followerAckMs.has(follower)) waiter.timing.followerAckMs.set(follower, now);
    }
    const probe = this.rttProbe.get(follower);
    if (probe !== undefined && probe.open && index >= probe.index) {
      probe.open = false;
      return now - probe.sentMs;
    }
    return null;
  }

  /**
   * Per-follower lag on the leader: records behind, and seconds since the leader appended the
   * oldest entry the follower lacks. Unknown (null) until this leadership has heard where the
   * follower's log ends: a new leader's match is 0 for everyone, which is not a lag.
   */
  followerLag(): FollowerLag[] {
    const status = this.raft.status();
    if (status.role !== 'leader' || status.progress === null) return [];
    const now = this.now();
    const endOffset = this.raft.lastOffsetEnd();
    const result: FollowerLag[] = [];
    for (const [replica, progress] of status.progress) {
      if (replica === status.id) continue;
      const ackMs = this.lastAckMs.get(replica);
      if (ackMs === undefined) {
        result.push({ replica, lagRecords: null, lagSeconds: null, inSync: false });
        continue;
      }
      // match can trail our log start (a follower being caught up): it then holds nothing past it.
      const matchOffsetEnd = this.log.offsetEnd(Math.min(progress.match, this.log.lastIndex()));
      const lagRecords = Math.max(0, endOffset - matchOffsetEnd);
      const lagMs = progress.match >= status.lastIndex ? 0 : Math.max(0, now - this.appendTimes.appendedMs(progress.match + 1));
      // recentActive alone flaps (check-quorum clears it every election timeout until the next
      // response); an accepted append within the window counts as heard from too.
      const heard = progress.recentActive || now - ackMs < IN_SYNC_LAG_MS_MAX;
      result.push({ replica, lagRecords, lagSeconds: lagMs / 1000, inSync: heard && lagMs < IN_SYNC_LAG_MS_MAX });
    }
    this.appendTimes.dropThrough(this.raft.lowestFollowerMatch());
    return result;
  }

  /** Fails every waiting append and read: the node is stopping or lost leadership. Retries are safe (idempotent). */
  failWaiters(error: LogError): void {
    const waiters = this.waiters.values();
    this.waiters.clear();
    for (const waiter of waiters) waiter.done({ kind: 'error', error: error.toJSON() }, null);
    const reads = [...this.readWaiters.values(), ...this.confirmedReads.map((read) => read.waiter)];
    this.readWaiters.clear();
    this.confirmedReads = [];
    for (const read of reads) read.done({ kind: 'error', error: error.toJSON() });
  }

  /**
   * Answers a read from the committed prefix. Entries it needs from disk are read in the background
   * first (PartitionLog.prefetch), so a consumer far behind never holds up the event loop; committed
   * entries never change, so answering after the read is as correct as before it.
   */
  private serveRead(read: ReadWaiter): void {
    const index = read.offset < this.highWatermark && read.offset >= this.logStartOffset() ? this.log.indexForOffset(read.offset) : undefined;
    const waits = index !== undefined && index <= this.commitIndex && this.log.prefetch(index, Math.min(read.maxBytes, READ_BYTES_MAX), (failure) => {
      // A failed read stops the node (see Node's onFetched), which fails this one too.
      if (failure !== null) read.done({ kind: 'error', error: new LogError('Unavailable', `partition ${this.partition}: ${failure.message}`).toJSON() });
      else this.serveRead(read);
    });
    if (!waits) read.done(this.readCommitted(read.offset, read.maxRecords, read.maxBytes));
  }

  /** Entries of this log were read into memory in the background (Journal's onFetched): apply or send them. */
  entriesFetched(): void {
    this.raft.entriesFetched();
  }

  /** Reads confirmed at an index this replica has applied are answered from its committed prefix. */
  private serveConfirmedReads(): void {
    if (this.confirmedReads.length === 0) return;
    let served = 0;
    for (const read of this.confirmedReads) {
      if (read.index > this.commitIndex) break;
      served++;
      this.serveRead(read.waiter);
    }
    if (served > 0) this.confirmedReads = this.confirmedReads.slice(served);
  }

  /** Returns whether this replica just became leader. */
  private onSoftState(leader: NodeId, isLeader: boolean): boolean {
    const becameLeader = isLeader && !this.wasLeader;
    if (becameLeader) {
      const term = this.raft.currentTerm();
      if (this.leaderTerm !== term) this.startLeading(term);
    }
    if (!isLeader && this.wasLeader) {
      this.leaderTerm = -1;
      this.pendingProducers = new Map();
      this.failWaiters(notLeader(this.partition, leader));
    }
    this.wasLeader = isLeader;
    return becameLeader;
  }

  /** Term this replica set up leadership for (-1 when not leading). */
  private leaderTerm = -1;

  /**
   * A new leader learns the producers of its uncommitted suffix (unstable entries included),
   * so a retry of one of them waits for that entry instead of appending it twice.
   */
  private startLeading(term: number): void {
    this.leaderTerm = term;
    // Entries inherited from earlier leaders are at least as old as this leadership.
    this.appendTimes.reset(this.now());
    this.lastAckMs.clear();
    this.rttProbe.clear();
    this.pendingProducers = new Map();
    let next = this.commitIndex + 1;
    const last = this.raft.logLastIndex();
    while (next <= last) {
      const batch = this.raft.logEntries(next, last + 1, 8 << 20);
      if (batch.length === 0) break;
      for (const entry of batch) this.notePending(entry);
      next += batch.length;
    }
  }

  private notePending(entry: Entry): void {
    const header = decodeHeader(entry.data);
    if (header !== null) this.notePendingBatch(header.producerId, header.sequence, entry.index, entry.term);
  }

  private notePendingBatch(producerId: number, sequence: number, index: number, term: number): void {
    let pending = this.pendingProducers.get(producerId);
    if (pending === undefined) this.pendingProducers.set(producerId, (pending = new IndexRing()));
    pending.set(sequence, { index, term });
  }

  /**
   * Raft's restoreApplied: once the commit reaches the last recovered entry, the state that
   * re-applying every entry up to it would build is taken from the recovery (RecoveredApply)
   * instead of reading the log again; until then nothing is applied (it would only be replaced).
   * Sound because a commit at or past that index means this log matches the leader's up to it,
   * and an entry there with the recovered term means every entry before it is the one recovered
   * (raft's log matching). A rewrite of that entry, or a snapshot past it, drops it: re-applied as before.
   */
  private restoreApplied(applied: number, commit: number): number | null {
    const recovered = this.recovered;
    if (recovered === null) return applied;
    if (applied >= recovered.index || this.log.term(recovered.index) !== recovered.term) {
      this.recovered = null;
      return applied;
    }
    if (commit < recovered.index) return null;
    this.recovered = null;
    const now = this.now();
    // Recovery's times are relative to its end (0: a batch in the log; below: idle in the start's state).
    for (const batches of recovered.producers.values()) batches.lastCommittedMs += now;
    this.committedProducers = recovered.producers;
    this.producerSweep = null;
    this.commitIndex = recovered.index;
    this.highWatermark = recovered.offsetEnd;
    return recovered.index;
  }

  private applyCommitted(entries: readonly Entry[]): void {
    const now = this.now();
    for (const entry of entries) {
      if (entry.index <= this.commitIndex) continue;
      invariant(entry.index === this.commitIndex + 1 || this.commitIndex === 0 || entry.index > this.commitIndex, 'commits are applied in order');
      this.commitIndex = entry.index;
      this.highWatermark = entry.offset + entry.count;
      const header = decodeHeader(entry.data);
      if (header !== null) {
        this.noteCommittedBatch(header.producerId, header.sequence, entry.offset, entry.count, now);
        const pending = this.pendingProducers.get(header.producerId);
        if (pending?.get(header.sequence)?.index === entry.index) pending.delete(header.sequence);
      }
      const waiter = this.waiters.get(entry.index);
      if (waiter !== undefined) {
        this.waiters.delete(entry.index);
        if (waiter.term === entry.term) {
          waiter.timing.committedMs = now;
          waiter.done({ kind: 'append', baseOffset: entry.offset, count: entry.count }, waiter.timing);
        } else {
          // The slot was taken by another leader's entry: ours was never committed there.
          waiter.done({ kind: 'error', error: notLeader(this.partition, this.raft.currentLeader()).toJSON() }, null);
        }
      }
    }
    this.sweepProducers(now);
  }

  private noteCommittedBatch(producerId: number, sequence: number, offset: number, count: number, now: number): void {
    let committed = this.committedProducers.get(producerId);
    if (committed === undefined) this.committedProducers.set(producerId, (committed = new CommittedBatches(PRODUCER_IN_FLIGHT_MAX)));
    committed.add(sequence, offset, count);
    committed.lastCommittedMs = now;
  }

  /**
   * The producers' remembered batches before `nextOffset`, for a log start there that retention
   * records (SnapshotMeta.state); retention cuts only applied entries, so this replica has them all.
   */
  producerStateBefore(nextOffset: number): Uint8Array | undefined {
    return encodeProducerState(this.committedProducers, nextOffset, this.now());
  }

  /** Producers this replica remembers (committed batches, or batches in flight while it leads). */
  producerCount(): number {
    let count = this.committedProducers.size;
    for (const producerId of this.pendingProducers.keys()) if (!this.committedProducers.has(producerId)) count++;
    return count;
  }

  /**
   * Forgets producers idle past the expiry, a slice per call (see PRODUCER_EXPIRY_MS). Runs where
   * producers are added, on applying commits: a partition that commits nothing adds none.
   */
  private sweepProducers(now: number): void {
    if (this.producerSweep === null && now < this.nextProducerSweepMs) return;
    this.producerSweep ??= this.committedProducers.entries();
    for (let k = 0; k < PRODUCER_SWEEP_SLICE; k++) {
      const next = this.producerSweep.next();
      if (next.done === true) {
        this.producerSweep = null;
        this.nextProducerSweepMs = now + Math.min(PRODUCER_SWEEP_INTERVAL_MS, this.producerExpiryMs / 4);
        return;
      }
      const [producerId, committed] = next.value;
      if (now - committed.lastCommittedMs < this.producerExpiryMs) continue;
      // A batch of it still waits for commit here (this replica leads): not idle.
      if ((this.pendingProducers.get(producerId)?.size ?? 0) > 0) continue;
      // Deleting the entry just visited leaves the iterator valid (Map iteration is live).
      this.committedProducers.delete(producerId);
      this.pendingProducers.delete(producerId);
    }
  }

  private readEntries(lo: number, hi: number): Entry[] {
    const out: Entry[] = [];
    let next = Math.max(lo, this.log.firstIndex());
    while (next < hi) {
      const batch = this.log.entries(next, hi, 8 << 20);
      if (batch.length === 0) break;
      out.push(...batch);
      next += batch.length;
    }
    return out;
  }
}
