import { invariant } from '../invariant.ts';
import {
  FAULT_ANSWER_CANNOT_TELL,
  FAULT_ANSWER_DONT_HAVE,
  FAULT_ANSWER_HAVE,
  FAULT_ANSWER_HAVE_FAULTY,
  NONE,
  type Entry,
  type FaultyTail,
  type FaultyTailRepair,
  type SetAsideTail,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type ProposeResult,
  type Progress,
  type RaftConfig,
  type RaftLogStorage,
  type RaftStatus,
  type ReadIndexResult,
  type ReadState,
  type Ready,
  type Role,
  type SnapshotMeta,
  type SoftState,
} from './types.ts';

/** Committed entries handed out per Ready: bounds the caller's apply batch (and memory). */
export const MAX_COMMITTED_ENTRIES_PER_READY = 4096;
export const MAX_COMMITTED_BYTES_PER_READY = 16 * 1024 * 1024;
/** Entries per append message, on top of config.maxBytesPerMessage (no-ops weigh 0 bytes). */
export const MAX_ENTRIES_PER_APPEND = 4096;
/** Entry data of a probe, or of an append past the node's share of bytes in flight (NodeInflight). */
export const SMALL_PAGE_BYTES = 64 * 1024;
/** Outgoing messages queued between Readys; more means the caller stopped draining Readys (a bug). */
export const MAX_PENDING_MESSAGES = 1 << 16;
/** One proposal's data; the node rejects larger batches before they get here (TooLarge). */
export const MAX_ENTRY_DATA_BYTES = 64 * 1024 * 1024;
/** Reads waiting for their leadership confirmation; past it readIndex() answers not-ready (back-pressure). */
export const MAX_PENDING_READS = 1 << 14;
/** Messages have no context field: a vote/preVote whose `commit` holds this mark was forced by timeoutNow. */
export const TRANSFER_CAMPAIGN = 1;
/** A heartbeat whose `logTerm` holds this mark asks caught-up followers to quiesce (heartbeats use no logTerm). */
export const QUIESCE_HEARTBEAT = 1;
/** The most entries a peer sends for another's lost record (one record of the journal holds fewer). */
const FILL_HOLE_ENTRIES_MAX = MAX_ENTRIES_PER_APPEND;
/**
 * Heartbeat intervals a leader stays idle, with every follower caught up, before it quiesces its
 * partition. One: the quiesce round carries the commit as a heartbeat would, so waiting longer only
 * adds heartbeats. With two, 5 nodes × 256 partitions at 2 000 appends/s (each partition idle
 * ~128 ms between appends) sent 1.3 heartbeat rounds per append besides its quiesce round: 25.9 k
 * raft messages/s, against 18.2 k with one.
 */
export const QUIESCE_IDLE_HEARTBEATS = 1;

/**
 * The outbox while nothing is to send; never pushed into (send() starts a fresh one). Not a new []
 * at each ready(): in a quiet partition that array would wait for the next message long enough to
 * be promoted, and once handed out and dropped, the scavenger still counts it as live (it is in
 * the old generation) and keeps the messages in it alive, with their entries and data, until the
 * next mark-compact.
 */
const NO_MESSAGES: Message[] = [];
Object.freeze(NO_MESSAGES); // a push into it by mistake throws, instead of sending to every partition

export interface RaftOptions extends RaftConfig {
  /**
   * Storage recovery found a corrupted segment: this replica may have lost entries it acknowledged, so
   * its vote could elect a leader missing committed entries. It grants no (pre)vote and does not campaign
   * until its commit reaches the leader commit carried by the first append it accepts after start.
   */
  readonly abstainFromVoting?: boolean;
  /** Last index the application already applied; committed entries after it are re-delivered. Default: the restored commit. */
  readonly applied?: number;
  /**
   * Asked, while committed entries wait to be applied, whether the application restored its state
   * past `applied` without them (a restarted replica's recovery read every entry already): returns
   * the index applied now (entries up to it are not delivered; at most `commit`), or null to apply
   * nothing until the commit moves.
   */
  readonly restoreApplied?: (applied: number, commit: number) => number | null;
  /**
   * Entries this replica may have acknowledged and could not read back (record identifiers name
   * them: a storage fault, or a crash that tore records whose identifiers were written; the log holds
   * what precedes them). Until repaired, the replica counts them as its last (term, index) when
   * granting votes, does not campaign, and answers faultQuery about them as "have faulty". Repaired
   * when a leader's appends cover them (or show that the leader's log ends before them), when a
   * majority of the replicas answer that they never had the first one, or when every other replica
   * answered and none holds it intact (see handleFaultAnswer).
   */
  readonly faultyTail?: FaultyTail | null;
  /** The faulty tail's intact entries after its one lost record (see SetAsideTail); null when none were kept. */
  readonly setAside?: SetAsideTail | null;
}

type MessageFields = Pick<Message, 'type' | 'to'> & Partial<Omit<Message, 'type' | 'to'>>;

/** Builds a complete Message: fields a type does not use are 0/empty/false/null. */
export function message(m: MessageFields & { from: NodeId; term: number }): Message {
  return outgoing(m, m.from, m.term);
}

/**
 * A message with every field set, built as one object from the fields given. Spreading them into
 * a copy first, as send() did, took V8's slow path for objects of many shapes: ~450 ns a message
 * against ~80 ns in a microbenchmark of the five common message shapes (Node 20).
 */
function outgoing(m: MessageFields, from: NodeId, term: number): Message {
  return {
    type: m.type,
    from,
    to: m.to,
    term,
    logTerm: m.logTerm ?? 0,
    index: m.index ?? 0,
    commit: m.commit ?? 0,
    entries: m.entries ?? [],
    reject: m.reject ?? false,
    rejectHint: m.rejectHint ?? 0,
    snapshot: m.snapshot ?? null,
  };
}

/** The leader's view of one replica (etcd's tracker.Progress). */
interface PeerProgress {
  readonly id: NodeId;
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  recentActive: boolean;
  /** Probe: one append is out; wait for its answer (or a heartbeat answer) before the next. */
  probeSent: boolean;
  /** Snapshot: the log start sent; the follower is caught up to it once match reaches it. */
  pendingSnapshot: number;
  /** Replicate: last index of each append in flight, oldest first. */
  inflights: number[];
  /** Replicate: entry data bytes of each append in `inflights`, and their sum. */
  inflightBytes: number[];
  inflightBytesTotal: number;
  /** An append went to it since the last heartbeat interval: that interval's heartbeat is not needed. */
  appendedSinceHeartbeat: boolean;
  /** Its match when its previous heartbeat answer arrived: no progress since means appends were lost. */
  matchAtHeartbeatResp: number;
}

type CampaignKind = 'pre' | 'election' | 'transfer';

function entryEnd(e: Entry): number {
  return e.offset + e.count;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class Raft {
  readonly id: NodeId;
  private readonly config: RaftConfig;
  private readonly restoreApplied: RaftOptions['restoreApplied'];
  private readonly storage: RaftLogStorage;
  private readonly quorum: number;

  private term = 0;
  private vote: NodeId = NONE;
  private commit = 0;
  private role: Role = 'follower';
  private lead: NodeId = NONE;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  /** Ticks a deferred replica waits past its election timeout before it campaigns (see deferCampaigns). */
  private campaignDeferTicks = 0;
  private readonly votes = new Map<NodeId, boolean>();
  /** Leader only (empty otherwise). */
  private readonly progress = new Map<NodeId, PeerProgress>();
  /** A follower's apply waits for a background read of its next entry (see ready, entriesFetched). */
  private applyFetching = false;
  /** The same progress records as an array, for the per-answer commit check (no iterator per pass). */
  private progressList: PeerProgress[] = [];
  private transferee: NodeId = NONE;

  private abstaining: boolean;
  /** Quiesced: tick() does nothing (see RaftOptions.quiesce). */
  private quiesced = false;
  /** Leader ticks in a row with everything replicated and nothing pending. */
  private idleTicks = 0;
  /**
   * Highest index known to match the current leader's log (from an accepted append or snapshot
   * this term). A heartbeat may commit only up to it: the leader caps the heartbeat's commit at
   * its view of our match, which is stale after we restarted with fewer or different entries.
   */
  private verifiedIndex = 0;
  private abstainUntilCommit: number | null = null;
  private faulty: FaultyTail | null;
  /** While faulty: the intact rest of the tail, waiting for a peer to send the lost record. */
  private setAside: SetAsideTail | null;
  /** How the faulty tail this replica started with ended (null while it lasts, or when there was none). */
  private repair: FaultyTailRepair | null = null;
  /** faultQuery answers to the current round, by peer. */
  private readonly faultAnswers = new Map<NodeId, number>();
  private faultQueryElapsed: number;

  // The log: storage holds [firstIndex, unstableOffset); `unstable` holds [unstableOffset, lastIndex].
  // Stored entries at or past unstableOffset are stale (about to be replaced) and never read.
  private unstable: Entry[] = [];
  private unstableOffset: number;
  /** A log start received from the leader, not yet persisted; while set it replaces storage's. */
  private pendingSnapshot: SnapshotMeta | null = null;
  /** Record offset the next appended entry gets (offset + count of the last entry). */
  private nextOffset: number;

  // ReadIndex (Raft thesis §6.4): reads wait for a quorum to confirm our leadership after they arrived.
  /** Last read context id handed out; heartbeats carry it, followers echo it back. */
  private readSeq = 0;
  /** Reads registered, not yet confirmed, oldest (lowest id) first. */
  private pendingReads: { id: number; index: number }[] = [];
  /** Highest read context each peer echoed in this term. */
  private readonly readAcks = new Map<NodeId, number>();
  /** Whether reads arrived since the last heartbeat round that carries their context. */
  private readRoundNeeded = false;
  private readStates: ReadState[] = [];

  // Ready bookkeeping: what has been handed to the caller already.
  private msgs: Message[] = NO_MESSAGES;
  private handedOutIndex: number;
  private snapshotHandedOut = false;
  private applied: number;
  private prevHardState: HardState;
  private prevSoftState: SoftState = { leader: NONE, role: 'follower' };

  constructor(config: RaftOptions) {
    const peers = new Set(config.peers);
    invariant(Number.isInteger(config.id) && config.id > 0, () => `raft id ${config.id} must be a positive integer`);
    invariant(peers.has(config.id), () => `peers ${config.peers.join(',')} must include id ${config.id}`);
    invariant(peers.size === config.peers.length, 'peers must be unique');
    invariant(!peers.has(NONE), 'peer id 0 is reserved for "none"');
    invariant(config.heartbeatTicks >= 1, 'heartbeatTicks >= 1');
    invariant(config.electionTicks > config.heartbeatTicks, 'electionTicks must exceed heartbeatTicks');
    invariant(config.maxInflightMessages >= 1, 'maxInflightMessages >= 1');
    invariant(Number.isInteger(config.maxInflightBytes) && config.maxInflightBytes >= 0, 'maxInflightBytes >= 0');
    invariant(config.maxBytesPerMessage >= 1, 'maxBytesPerMessage >= 1');

    this.id = config.id;
    this.config = config;
    this.restoreApplied = config.restoreApplied;
    this.storage = config.storage;
    this.quorum = Math.floor(config.peers.length / 2) + 1;

    const { hardState, snapshot } = this.storage.initialState();
    const last = this.storage.lastIndex();
    invariant(this.storage.firstIndex() === snapshot.index + 1, 'storage firstIndex must follow its snapshot');
    invariant(last >= snapshot.index, 'storage lastIndex below its snapshot');
    invariant(hardState.vote === NONE || peers.has(hardState.vote), () => `persisted vote ${hardState.vote} is not a peer`);

    this.unstableOffset = last + 1;
    this.handedOutIndex = last;
    this.nextOffset = this.offsetEndAt(last);
    this.term = hardState.term;
    this.vote = hardState.vote;
    // A recovered-from-corruption log may end below the persisted commit; the snapshot is always committed.
    this.commit = Math.max(snapshot.index, Math.min(hardState.commit, last));
    this.applied = Math.min(this.commit, Math.max(snapshot.index, config.applied ?? this.commit));
    this.prevHardState = hardState;
    // One voter cannot be outvoted by its own lost entries; abstaining would only wedge it.
    this.abstaining = (config.abstainFromVoting ?? false) && config.peers.length > 1;
    // One voter has nobody to repair it from: what it lost is lost, and waiting would only wedge it.
    this.faulty = config.peers.length > 1 ? config.faultyTail ?? null : null;
    this.setAside = this.faulty !== null && config.setAside != null && config.setAside.hole.firstIndex === this.faulty.firstIndex ? config.setAside : null;
    // A single voter's faulty tail ends at once: what it lost is lost (the node still reports how it ended).
    if (config.faultyTail != null && this.faulty === null) this.repair = 'discarded';
    this.faultQueryElapsed = config.electionTicks; // ask at the first tick
    this.becomeFollower(this.term, NONE);
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.quiesced) return;
    if (this.role === 'leader') {
      this.tickLeader();
      return;
    }
    if (this.faulty !== null && ++this.faultQueryElapsed >= this.config.electionTicks) {
      this.faultQueryElapsed = 0;
      this.faultAnswers.clear();
      for (const to of this.config.peers) {
        if (to !== this.id) this.send({ type: 'faultQuery', to, index: this.faulty.firstIndex, logTerm: this.faulty.firstTerm, commit: this.setAside?.hole.lastIndex ?? 0 });
      }
    }
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks + this.campaignDeferTicks) {
      this.electionElapsed = 0;
      this.campaign(this.config.preVote ? 'pre' : 'election');
    }
  }

  step(m: Message): void {
    invariant(m.to === this.id, () => `message to ${m.to} stepped into ${this.id}`);
    invariant(m.from !== this.id && this.config.peers.includes(m.from), () => `message from non-peer ${m.from}`);
    // A side channel of storage repair: no term is learned or changed by it.
    if (m.type === 'faultQuery') {
      // A peer lost acknowledged entries and waits for a leader to repair it: not a time to sleep.
      this.wake();
      const answer = this.faultAnswer(m.index, m.logTerm);
      const entries = answer === FAULT_ANSWER_HAVE && m.commit >= m.index ? this.intactEntries(m.index, m.logTerm, m.commit) : [];
      this.send({ type: 'faultQueryResp', to: m.from, index: m.index, logTerm: m.logTerm, rejectHint: answer, entries });
      return;
    }
    if (m.type === 'faultQueryResp') {
      if (m.entries.length > 0) this.fillHole(m.entries);
      this.handleFaultAnswer(m);
      return;
    }
    // Anything but the quiesce round itself (its heartbeat and the answers) means there is work.
    if (this.quiesced && m.type !== 'heartbeatResp' && !(m.type === 'heartbeat' && m.logTerm === QUIESCE_HEARTBEAT)) this.wake();

    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const forced = m.commit === TRANSFER_CAMPAIGN;
        const inLease = this.config.checkQuorum && this.lead !== NONE && this.electionElapsed < this.config.electionTicks;
        // Leader lease: we heard from a live leader recently, so this candidate is disruptive, not needed.
        if (!forced && inLease) return;
      }
      if (m.type === 'preVote') {
        // A pre-vote never changes our term: that is its point.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // A granted pre-vote carries the term we would campaign at; the real vote will raise it.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      const answerStaleLeader = this.config.checkQuorum || this.config.preVote || this.abstaining;
      if (answerStaleLeader && (m.type === 'append' || m.type === 'heartbeat')) {
        // A stale leader (partitioned, then back) learns our term and steps down. Otherwise, with pre-vote
        // or check-quorum (or while we abstain), we never campaign past it and nobody ever would tell it.
        this.send({ type: 'appendResp', to: m.from });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', to: m.from, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  propose(data: Uint8Array, count: number): ProposeResult {
    invariant(Number.isInteger(count) && count >= 0, () => `propose: count ${count} must be a non-negative integer`);
    invariant(data.length <= MAX_ENTRY_DATA_BYTES, () => `propose: ${data.length} bytes exceeds ${MAX_ENTRY_DATA_BYTES}`);
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: this.lead };
    // New entries would keep the transfer target behind forever.
    if (this.transferee !== NONE) return { ok: false, reason: 'transferring', leaderHint: this.id };
    this.wake();
    this.idleTicks = 0;
    const e = this.appendLocal(data, count);
    this.bcastAppend();
    return { ok: true, index: e.index, term: e.term, offset: e.offset };
  }

  transferLeadership(to: NodeId): void {
    invariant(this.config.peers.includes(to), () => `transferLeadership: ${to} is not a peer`);
    if (this.role !== 'leader' || to === this.id || this.transferee === to) return;
    this.wake();
    this.transferee = to;
    // The transfer is aborted after one election timeout from now.
    this.electionElapsed = 0;
    const pr = this.peer(to);
    if (pr.match === this.lastIndex()) this.send({ type: 'timeoutNow', to });
    else this.sendAppend(to, true);
  }

  /**
   * Registers a linearizable read. The leader must have committed an entry of its term (so its
   * commit covers everything any earlier leader acknowledged) and then hear from a quorum after
   * the read arrived (so no newer leader can have committed more). No clock is involved: a heartbeat
   * round carries the read's context id; Ready.readStates says when it is confirmed.
   */
  readIndex(): ReadIndexResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: this.lead };
    if (this.termAt(this.commit) !== this.term || this.pendingReads.length >= MAX_PENDING_READS) {
      return { ok: false, reason: 'not-ready', leaderHint: this.id };
    }
    // A quiesced leader wakes: its read round wakes the followers, whose election timers need its heartbeats again.
    this.wake();
    const id = ++this.readSeq;
    if (this.quorum === 1) {
      this.readStates.push({ id, index: this.commit, ok: true });
    } else {
      this.pendingReads.push({ id, index: this.commit });
      this.readRoundNeeded = true;
    }
    return { ok: true, id };
  }

  // ---------------------------------------------------------------- outputs

  hasReady(): boolean {
    // Called for every replica of a node each round: compare fields, allocate nothing.
    const prev = this.prevHardState;
    return (
      this.term !== prev.term ||
      this.vote !== prev.vote ||
      this.commit !== prev.commit ||
      this.lead !== this.prevSoftState.leader ||
      this.role !== this.prevSoftState.role ||
      (this.pendingSnapshot !== null && !this.snapshotHandedOut) ||
      this.lastIndex() > this.handedOutIndex ||
      this.msgs.length > 0 ||
      (this.applied < this.commit && !this.applyFetching) ||
      this.readRoundNeeded ||
      this.readStates.length > 0
    );
  }

  ready(): Ready {
    // One heartbeat round confirms every read registered since the last one (reads batch per Ready).
    if (this.readRoundNeeded && this.role === 'leader') this.broadcastHeartbeat(false);
    this.readRoundNeeded = false;
    const hs = this.hardState();
    const soft: SoftState = { leader: this.lead, role: this.role };
    const softChanged = soft.leader !== this.prevSoftState.leader || soft.role !== this.prevSoftState.role;
    // A follower's apply reads are rationed like the appends a leader sends: a restarted node
    // re-applies its whole log, and at full speed that took its loop (in an embedded cluster,
    // every node's) for hundreds of ms. A leader's are not: its acknowledgements wait for them.
    // What it has to read from disk, a follower's apply waits for a background read of (see
    // RaftLogStorage.fetching): told by entriesFetched, it asks again.
    let holdApply = false;
    if (this.applied < this.commit && this.restoreApplied !== undefined) {
      const restored = this.restoreApplied(this.applied, this.commit);
      invariant(restored === null || restored <= this.commit, () => `restored applied ${restored} is past the commit ${this.commit}`);
      if (restored === null) holdApply = true;
      else this.applied = Math.max(this.applied, restored);
    }
    // A held apply waits as a fetching one does: hasReady asks again when the commit moves.
    this.applyFetching = holdApply || (this.role !== 'leader' && this.applied < this.commit && this.storage.fetching?.(this.applied + 1) === true);
    const committed =
      this.applied < this.commit && !this.applyFetching
        ? this.entriesBetween(
            this.applied + 1,
            Math.min(this.commit, this.applied + MAX_COMMITTED_ENTRIES_PER_READY) + 1,
            MAX_COMMITTED_BYTES_PER_READY,
            this.role !== 'leader',
          )
        : [];
    const rd: Ready = {
      softState: softChanged ? soft : null,
      hardState: sameHardState(hs, this.prevHardState) ? null : hs,
      snapshot: this.pendingSnapshot !== null && !this.snapshotHandedOut ? this.pendingSnapshot : null,
      entries: this.unstable.slice(this.handedOutIndex + 1 - this.unstableOffset),
      messages: this.msgs,
      committedEntries: committed,
      readStates: this.readStates,
    };
    this.readStates = [];
    if (softChanged) this.prevSoftState = soft;
    this.prevHardState = hs;
    this.snapshotHandedOut = this.pendingSnapshot !== null;
    this.handedOutIndex = this.lastIndex();
    this.msgs = NO_MESSAGES;
    const lastCommitted = committed.at(-1);
    if (lastCommitted !== undefined) this.applied = lastCommitted.index;
    return rd;
  }

  /** The caller persisted rd's hardState, snapshot and entries and made them visible through storage. */
  advance(rd: Ready): void {
    if (rd.snapshot !== null) {
      invariant(this.storage.snapshot().index >= rd.snapshot.index, 'advance: storage does not show the snapshot');
      if (this.pendingSnapshot !== null && this.pendingSnapshot.index === rd.snapshot.index) this.pendingSnapshot = null;
    }
    const last = rd.entries.at(-1);
    if (last !== undefined) this.stableTo(last.index, last.term);
    if (this.role === 'leader') {
      // Only now may the leader count its own copy toward the commit quorum.
      const self = this.peer(this.id);
      self.match = Math.max(self.match, this.unstableOffset - 1);
      self.next = self.match + 1;
      // A new commit reaches the followers with the next append or heartbeat (see handleAppendResp).
      this.maybeCommit();
    }
  }

  /** This replica's role, without the copy of the progress that status() makes (hot paths ask this). */
  currentRole(): Role {
    return this.role;
  }

  currentTerm(): number {
    return this.term;
  }

  /** The leader this replica knows of (NONE when it knows none). */
  currentLeader(): NodeId {
    return this.lead;
  }

  status(): RaftStatus {
    let progress: Map<NodeId, Progress> | null = null;
    if (this.role === 'leader') {
      progress = new Map();
      for (const [id, pr] of this.progress) {
        progress.set(id, { match: pr.match, next: pr.next, recentActive: pr.recentActive, state: pr.state });
      }
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leader: this.lead,
      commit: this.commit,
      lastIndex: this.lastIndex(),
      progress,
      transferee: this.transferee,
    };
  }

  /** Leader: the lowest match among the other replicas (its last index when there are none); 0 on any other replica. */
  lowestFollowerMatch(): number {
    if (this.role !== 'leader') return 0;
    const self = this.progress.get(this.id);
    let lowest = this.lastIndex();
    for (const pr of this.progressList) if (pr !== self && pr.match < lowest) lowest = pr.match;
    return lowest;
  }

  /** The faulty tail not yet repaired (null once a leader or a majority's answers repaired it). */
  faultyTail(): FaultyTail | null {
    return this.faulty;
  }

  isQuiesced(): boolean {
    return this.quiesced;
  }

  /**
   * Resumes ticking. The node calls it when a replica's node went silent (so a dead leader's
   * followers elect again); anything pending (proposals, reads, transfers) must call it too.
   */
  wake(): void {
    if (!this.quiesced) return;
    this.unquiesce();
    this.idleTicks = 0;
    this.electionElapsed = 0;
    if (this.role === 'leader') {
      // Heartbeat at the next tick; activity seen before quiescing says nothing about now.
      this.heartbeatElapsed = this.config.heartbeatTicks - 1;
      for (const pr of this.progressList) if (pr.id !== this.id) pr.recentActive = false;
    }
  }

  /**
   * A follower's node started again (a new incarnation). Until an append from us vouches for its
   * log, it takes no commit from heartbeats; on an idle partition none would come, and the leader,
   * whose progress still counts what the follower acknowledged before, would send nothing: the
   * follower would sit without a commit until the next proposal. (A log its recovery cut short
   * asks to be re-synced once a heartbeat's commit passes its end: handleHeartbeat.) So its
   * progress starts over as a probe at our end (lowering match is safe: commit never moves back),
   * re-sent each heartbeat round until answered: an intact log answers at once and learns the
   * commit, a cut one rejects with its end and is sent what it lacks.
   */
  peerRestarted(id: NodeId): void {
    if (this.role !== 'leader' || id === this.id) return;
    const pr = this.progress.get(id);
    if (pr === undefined) return;
    this.wake();
    pr.match = 0;
    this.becomeProbe(pr);
    pr.next = this.lastIndex() + 1;
    this.sendAppend(id, true);
  }

  private unquiesce(): void {
    this.quiesced = false;
    this.config.onWake?.();
  }

  /**
   * A deferred replica (its node is drained: a slow disk, a host about to be patched) campaigns
   * only two election timeouts after the others could have, as a low election priority does in
   * TiKV or SOFAJRaft: a live replica that can win is elected instead, and the partition is not
   * led by the drained node until someone moves it away again. It still campaigns when nobody
   * else wins (the others' logs are behind its own), so a partition never stays leaderless for
   * it; it still votes, and a transfer to it (timeoutNow) still elects it at once.
   */
  deferCampaigns(deferred: boolean): void {
    this.campaignDeferTicks = deferred ? 2 * this.config.electionTicks : 0;
  }

  /** Whether this replica still withholds votes after recovering from a corrupted segment. */
  abstainingFromVotes(): boolean {
    return this.abstaining;
  }

  /**
   * Votes and campaigns again without waiting to catch up: for a node that started with no log and
   * learned that the whole cluster is new (nothing it could have lost; see LogNode's fresh start).
   */
  stopAbstaining(): void {
    this.abstaining = false;
    this.abstainUntilCommit = null;
  }

  /**
   * Withholds votes (and campaigns) again until caught up, as after a corruption, and stops leading
   * or campaigning: the node learned that its disk was put back to an older copy of itself, so
   * acknowledgements and votes it gave may be gone (see LogNode.learnRolledBack).
   */
  startAbstaining(): void {
    if (this.config.peers.length <= 1) return; // see the constructor: a lone voter never abstains
    this.abstaining = true;
    this.abstainUntilCommit = null;
    if (this.role !== 'follower') this.becomeFollower(this.term, NONE);
  }

  /** Record offset the next proposed entry would get. */
  lastOffsetEnd(): number {
    return this.nextOffset;
  }

  /**
   * The core's view of the log, unstable suffix included: [lo, hi) clipped to what is held.
   * A new leader reads its uncommitted suffix through this (some of it may not be persisted yet).
   */
  logEntries(lo: number, hi: number, maxBytes: number): Entry[] {
    const from = Math.max(lo, this.firstIndex());
    const to = Math.min(hi, this.lastIndex() + 1);
    return from < to ? this.entriesBetween(from, to, maxBytes) : [];
  }

  /** Index of the last entry in the core's log, unstable suffix included. */
  logLastIndex(): number {
    return this.lastIndex();
  }

  // ---------------------------------------------------------------- roles

  private promotable(): boolean {
    return !this.abstaining && this.faulty === null;
  }

  private reset(term: number): void {
    this.verifiedIndex = 0;
    // Leadership (or the campaign) ends here: unconfirmed reads can no longer be confirmed.
    for (const read of this.pendingReads) this.readStates.push({ id: read.id, index: read.index, ok: false });
    this.pendingReads = [];
    this.readAcks.clear();
    this.readRoundNeeded = false;
    if (term !== this.term) {
      invariant(term > this.term, () => `term regressed ${this.term} -> ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    if (this.quiesced) this.unquiesce();
    this.idleTicks = 0;
    const r = this.config.random();
    invariant(r >= 0 && r < 1, () => `config.random() returned ${r}, outside [0, 1)`);
    this.randomizedElectionTicks = this.config.electionTicks + Math.floor(r * this.config.electionTicks);
    this.transferee = NONE;
    this.votes.clear();
    // What was in flight counts no more toward the node's share (the answers may still come; they are stale).
    for (const pr of this.progressList) this.clearInflights(pr);
    this.progress.clear();
    this.progressList = [];
  }

  private clearInflights(pr: PeerProgress): void {
    this.config.nodeInflight?.remove(pr.id, pr.inflightBytesTotal);
    pr.inflights = [];
    pr.inflightBytes = [];
    pr.inflightBytesTotal = 0;
  }

  private freeOldestInflight(pr: PeerProgress): void {
    pr.inflights.shift();
    const bytes = pr.inflightBytes.shift() ?? 0;
    pr.inflightBytesTotal -= bytes;
    this.config.nodeInflight?.remove(pr.id, bytes);
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'leader cannot become pre-candidate');
    // Term and vote stay: a pre-campaign must not disturb anyone if it fails.
    this.votes.clear();
    this.lead = NONE;
    this.role = 'pre-candidate';
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', () => `becomeLeader from ${this.role}`);
    invariant(this.vote === this.id, 'leader must have voted for itself');
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const next = this.lastIndex() + 1;
    for (const id of this.config.peers) {
      const pr: PeerProgress = {
        id,
        match: 0,
        next,
        state: 'probe',
        recentActive: false,
        probeSent: false,
        pendingSnapshot: 0,
        inflights: [],
        inflightBytes: [],
        inflightBytesTotal: 0,
        appendedSinceHeartbeat: false,
        matchAtHeartbeatResp: 0,
      };
      this.progress.set(id, pr);
      this.progressList.push(pr);
    }
    const self = this.peer(this.id);
    self.state = 'replicate';
    self.recentActive = true;
    self.match = this.unstableOffset - 1;
    // Entries of earlier terms commit only together with one of ours (Raft §5.4.2): append a no-op.
    this.appendLocal(new Uint8Array(0), 0);
    this.bcastAppend();
  }

  private campaign(kind: CampaignKind): void {
    let type: MessageType;
    let voteTerm: number;
    if (kind === 'pre') {
      this.becomePreCandidate();
      type = 'preVote';
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      type = 'vote';
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.won()) {
      if (kind === 'pre') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const index = this.lastIndex();
    const logTerm = this.lastTerm();
    for (const to of this.config.peers) {
      if (to === this.id) continue;
      this.send({ type, to, term: voteTerm, index, logTerm, commit: kind === 'transfer' ? TRANSFER_CAMPAIGN : 0 });
    }
  }

  private won(): boolean {
    let granted = 0;
    for (const v of this.votes.values()) if (v) granted++;
    return granted >= this.quorum;
  }

  private lost(): boolean {
    let rejected = 0;
    for (const v of this.votes.values()) if (!v) rejected++;
    return rejected >= this.quorum;
  }

  // ---------------------------------------------------------------- step, per role

  private handleVoteRequest(m: Message): void {
    const respType: MessageType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      // A pre-vote for a future term commits us to nothing.
      (m.type === 'preVote' && m.term > this.term);
    if (canVote && !this.abstaining && this.isUpToDate(m.index, m.logTerm)) {
      // Answer at the campaign's term so the (pre-)candidate counts it.
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === 'vote') {
        invariant(m.term === this.term, 'a granted vote is for our term');
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true });
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'appendResp':
        this.handleAppendResp(m);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResp(m);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        invariant(false, () => `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
        return;
      default:
        return; // stale vote answers, timeoutNow for a past transfer
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Someone won this term.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'preVoteResp':
      case 'voteResp': {
        const mine = this.role === 'pre-candidate' ? 'preVoteResp' : 'voteResp';
        if (m.type !== mine) return;
        // A grant must be for the term this campaign asks for, not an earlier pre-campaign's.
        if (!m.reject && m.term !== (this.role === 'pre-candidate' ? this.term + 1 : this.term)) return;
        if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
        if (this.won()) {
          if (this.role === 'pre-candidate') this.campaign('election');
          else this.becomeLeader();
        } else if (this.lost()) {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        if (m.type === 'append') {
          const matched = this.handleAppend(m);
          // Matched at the leader's last index (the append says which that is): our log then holds
          // the leader's whole log, hence every committed entry. Not every append without entries is
          // sent there: a probe goes without them while the leader reads them from disk, and matching
          // it at an earlier index proves nothing about the faulty tail (2026-11-29: a replica that
          // had lost its whole tail took such a probe for this, voted for a replica missing
          // committed entries, and they were lost; sim seed 700143 with --retention-kib 48
          // --storage-faults).
          if (matched && m.entries.length === 0 && m.index >= m.rejectHint) this.repaired('leader');
        } else if (m.type === 'heartbeat') this.handleHeartbeat(m);
        else this.handleSnapshot(m);
        // The leader's log matches ours through the faulty tail: it is repaired.
        if (this.faulty !== null && this.verifiedIndex >= this.faulty.lastIndex) this.repaired('leader');
        // Quiesce only holding everything the leader committed; otherwise stay awake (and time out).
        if (m.type === 'heartbeat' && m.logTerm === QUIESCE_HEARTBEAT && this.config.quiesce === true && this.commit >= m.commit && !this.abstaining && this.faulty === null) {
          this.quiesced = true;
        }
        if (this.abstaining && this.abstainUntilCommit !== null && this.commit >= this.abstainUntilCommit) {
          this.abstaining = false;
        }
        return;
      case 'timeoutNow':
        if (this.promotable()) this.campaign('transfer');
        return;
      default:
        return;
    }
  }

  /** Whether the append matched our log (and was taken). */
  private handleAppend(m: Message): boolean {
    if (m.index < this.commit) {
      // Everything up to our commit already matches; tell the leader where we are.
      if (this.abstaining && this.abstainUntilCommit === null) this.abstainUntilCommit = m.commit;
      this.send({ type: 'appendResp', to: m.from, index: this.commit });
      return false;
    }
    const prevTerm = this.termAt(m.index);
    if (prevTerm === undefined || prevTerm !== m.logTerm) {
      this.send({ type: 'appendResp', to: m.from, index: m.index, reject: true, rejectHint: this.lastIndex() });
      return false;
    }
    let expectIndex = m.index + 1;
    for (const e of m.entries) {
      invariant(e.index === expectIndex, () => `append from ${m.from}: index ${e.index} not contiguous`);
      invariant(e.term <= m.term, () => `append from ${m.from}: entry term ${e.term} above message term ${m.term}`);
      expectIndex++;
    }
    // The first append that matches our log fixes the commit we must reach before voting again. Not
    // a heartbeat: its commit is capped by the leader's (possibly stale, pre-crash) view of us. And
    // not a rejected append: until the leader has re-probed us, it may still count acks we lost.
    if (this.abstaining && this.abstainUntilCommit === null) this.abstainUntilCommit = m.commit;
    const lastNew = m.index + m.entries.length;
    const conflict = this.findConflict(m.entries);
    if (conflict !== 0) {
      const first = m.entries[0];
      invariant(first !== undefined, 'conflict implies entries');
      this.appendToLog(m.entries.slice(conflict - first.index));
    }
    this.verifiedIndex = Math.max(this.verifiedIndex, lastNew);
    this.commitTo(Math.min(m.commit, lastNew));
    this.send({ type: 'appendResp', to: m.from, index: lastNew });
    return true;
  }

  /**
   * Whether we hold entry (index, term). "Don't have" must be certain: if that entry was committed,
   * a majority holds it durably, so a majority of certain "don't have" answers proves it was not.
   */
  private faultAnswer(index: number, term: number): number {
    // Below our log start: compacted, hence committed; we cannot tell its term, so never deny it.
    if (index < this.firstIndex()) return FAULT_ANSWER_HAVE;
    // What we hold is intact (CRC-checked) even while we abstain: say so, the asker keeps its tail.
    if (this.termAt(index) === term) return FAULT_ANSWER_HAVE;
    // Kept aside after our own lost record: intact, so as good as held.
    if (this.setAsideAt(index)?.term === term) return FAULT_ANSWER_HAVE;
    // Abstaining (we lost entries no identifier names, or our whole log): we may have lost a copy.
    if (this.abstaining) return FAULT_ANSWER_CANNOT_TELL;
    const f = this.faulty;
    if (f !== null && index >= f.firstIndex) {
      // Our own lost entries span [firstIndex, lastIndex] with terms in [firstTerm, lastTerm].
      const impossible = index > f.lastIndex || term > f.lastTerm || term < f.firstTerm;
      return impossible ? FAULT_ANSWER_DONT_HAVE : FAULT_ANSWER_HAVE_FAULTY;
    }
    return FAULT_ANSWER_DONT_HAVE;
  }

  private handleFaultAnswer(m: Message): void {
    const f = this.faulty;
    if (f === null || m.index !== f.firstIndex || m.logTerm !== f.firstTerm) return;
    this.faultAnswers.set(m.from, m.rejectHint);
    let dontHave = 0;
    for (const answer of this.faultAnswers.values()) if (answer === FAULT_ANSWER_DONT_HAVE) dontHave++;
    // A majority (we are not one of them) never had our first faulty entry: it was never committed,
    // and by log matching neither was any entry after it. What we lost needs no repair.
    if (dontHave >= this.quorum) {
      this.repaired('discarded');
      return;
    }
    // Every other replica answered and none holds the entry intact: had it been committed, a majority
    // wrote it durably, and a crash damages nothing durable, so only storage faults on every one of
    // those copies could leave none intact. With faults on one replica at a time, it was never
    // committed: it is the torn record of a crash whose identifier was written in the same flush,
    // here or on every replica (a power cut of the whole cluster). Waiting would wedge the partition.
    // One replica that cannot tell (it abstains, holding no intact copy: it lost entries, or its whole
    // disk) is that one fault, so every faulty copy, ours included, is a crash's torn record, and its
    // lost copy alone was no majority: the same holds (seed 990 136: a leader's last entry torn by a
    // crash, the one follower that had it wiped; waiting wedged the partition for good). Two are more
    // faults than that: the partition waits.
    if (this.faultAnswers.size === this.config.peers.length - 1) {
      let intact = 0;
      let cannotTell = 0;
      for (const answer of this.faultAnswers.values()) {
        if (answer === FAULT_ANSWER_HAVE) intact++;
        else if (answer === FAULT_ANSWER_CANNOT_TELL) cannotTell++;
      }
      if (intact === 0 && cannotTell <= 1) this.repaired('discarded');
    }
  }

  /** The faulty tail needs nothing more: repaired, or shown never to have been committed. */
  private repaired(how: FaultyTailRepair): void {
    this.faulty = null;
    this.setAside = null;
    this.repair = how;
  }

  /** How the faulty tail ended, once it did (see FaultyTailRepair); null while it lasts or when there was none. */
  faultyTailRepair(): FaultyTailRepair | null {
    return this.repair;
  }

  /**
   * Entries lo through hi, when we hold them intact and entry lo has `term` (log matching: then they
   * are the entries a peer lost, whoever proposed them), from our log or the intact rest of our own
   * faulty tail; otherwise none.
   */
  private intactEntries(lo: number, term: number, hi: number): Entry[] {
    if (hi - lo + 1 > FILL_HOLE_ENTRIES_MAX) return [];
    if (lo >= this.firstIndex() && hi <= this.lastIndex() && this.termAt(lo) === term) {
      const entries = this.entriesBetween(lo, hi + 1, Number.MAX_SAFE_INTEGER);
      return entries.length === hi - lo + 1 ? entries : [];
    }
    if (this.setAsideAt(lo)?.term !== term || this.setAsideAt(hi) === undefined) return [];
    const aside = this.setAside?.entries ?? [];
    const first = aside[0]?.index ?? lo; // kept entries are dense from their first
    return aside.slice(lo - first, hi - first + 1);
  }

  /** Entry `index` of the intact rest of our own faulty tail, when we kept it aside. */
  private setAsideAt(index: number): Entry | undefined {
    const entries = this.setAside?.entries;
    const first = entries?.[0]?.index;
    return entries === undefined || first === undefined || index < first ? undefined : entries[index - first];
  }

  /**
   * A peer sent the record we lost: when it is that record byte for byte and follows our log, the
   * log takes it and the intact rest we kept aside, and holds again everything it acknowledged.
   */
  private fillHole(entries: readonly Entry[]): void {
    // Kept aside only while faulty (repaired() clears both).
    const aside = this.setAside;
    if (aside === null) return;
    const { hole } = aside;
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined || first.index !== hole.firstIndex || first.term !== hole.firstTerm || last.index !== hole.lastIndex || last.term !== hole.lastTerm) return;
    if (this.lastIndex() !== hole.firstIndex - 1 || first.offset !== this.nextOffset || first.term < this.lastTerm()) return;
    // Dense indexes and offsets through the hole and on into what we kept (the log would refuse a gap).
    const all = [...entries, ...aside.entries];
    for (let i = 1; i < all.length; i++) {
      const e = all[i]!;
      const prev = all[i - 1]!;
      if (e.index !== prev.index + 1 || e.offset !== entryEnd(prev) || e.term < prev.term) return;
    }
    if (!aside.matchesHole(entries)) return;
    this.appendToLog(all);
    this.repaired('peer');
  }

  private handleHeartbeat(m: Message): void {
    // The heartbeat's commit is capped at what the leader believes we hold. We may hold less only
    // after losing acknowledged entries (corruption): then ask the leader to re-sync us.
    this.commitTo(Math.min(m.commit, this.verifiedIndex, this.lastIndex()));
    this.send({ type: 'heartbeatResp', to: m.from, index: m.index });
    if (m.commit > this.lastIndex()) {
      this.send({ type: 'appendResp', to: m.from, index: m.commit, reject: true, rejectHint: this.lastIndex() });
    }
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    invariant(s !== null, 'snapshot message without snapshot');
    if (s.index <= this.commit) {
      this.send({ type: 'appendResp', to: m.from, index: this.commit });
      return;
    }
    if (this.termAt(s.index) === s.term) {
      // We hold the leader's log up to its start already; keep our entries and just commit.
      this.verifiedIndex = Math.max(this.verifiedIndex, s.index);
      this.commitTo(s.index);
      this.send({ type: 'appendResp', to: m.from, index: this.commit });
      return;
    }
    this.pendingSnapshot = s;
    this.snapshotHandedOut = false;
    this.unstable = [];
    this.unstableOffset = s.index + 1;
    this.handedOutIndex = s.index;
    this.nextOffset = s.nextOffset;
    this.commit = s.index;
    this.verifiedIndex = s.index;
    this.applied = Math.max(this.applied, s.index);
    this.send({ type: 'appendResp', to: m.from, index: s.index });
  }

  private handleAppendResp(m: Message): void {
    const pr = this.peer(m.from);
    pr.recentActive = true;
    if (m.reject) {
      if (m.rejectHint < pr.match) {
        // The follower's log now ends below what it acknowledged: recovery cut a corrupted segment
        // (or the message is a stale, reordered reject). Lowering match is always safe — commit
        // never moves back — and restarts replication from what the follower really holds.
        // Which prefix still matches is unknown (the cut may have resurrected overwritten entries):
        // probe back from the follower's end.
        pr.match = 0;
        this.becomeProbe(pr);
        pr.next = Math.max(1, Math.min(m.rejectHint + 1, this.lastIndex() + 1));
        this.sendAppend(m.from, true);
        return;
      }
      if (this.maybeDecrTo(pr, m.index, m.rejectHint)) this.sendAppend(m.from, true);
      return;
    }
    invariant(m.index <= this.lastIndex(), () => `${m.from} acknowledged ${m.index} beyond our last ${this.lastIndex()}`);
    const wasPaused = this.isPaused(pr);
    if (pr.match >= m.index) {
      pr.next = Math.max(pr.next, m.index + 1);
      return; // duplicate or stale ack
    }
    pr.match = m.index;
    pr.next = Math.max(pr.next, m.index + 1);
    pr.probeSent = false;
    if (pr.state === 'probe') {
      this.becomeReplicate(pr);
    } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      this.becomeReplicate(pr);
    } else if (pr.state === 'replicate') {
      while (pr.inflights.length > 0 && (pr.inflights[0] ?? 0) <= m.index) this.freeOldestInflight(pr);
    }
    // No append of its own for a new commit (etcd's bcastAppend): it rides on the next append or
    // heartbeat (every heartbeatTicks), which under load is soon. Followers need it for nothing
    // urgent (reads and acks are the leader's), and the extra round was two messages and two
    // answers per acknowledged append: about a third of a node's envelopes at 1 000 appends/s.
    this.maybeCommit();
    if (wasPaused) this.sendAppend(m.from, true);
    // Fill the pipeline up to the inflight limit.
    let sends = 0;
    while (this.sendAppend(m.from, false)) {
      invariant(++sends <= this.config.maxInflightMessages, 'append pipeline ignored the inflight limit');
    }
    if (m.from === this.transferee && pr.match === this.lastIndex()) this.send({ type: 'timeoutNow', to: m.from });
  }

  private handleHeartbeatResp(m: Message): void {
    const pr = this.peer(m.from);
    pr.recentActive = true;
    if (m.index > (this.readAcks.get(m.from) ?? 0)) {
      this.readAcks.set(m.from, m.index);
      this.confirmReads();
    }
    pr.probeSent = false;
    // Snapshot messages can be lost; re-probe, which re-sends it if still needed.
    if (pr.state === 'snapshot') this.becomeProbe(pr);
    // Behind: re-send what may have been lost. Not while appends are in flight and being answered
    // (match moved since the last heartbeat answer): the re-send was an empty append, and at 256
    // partitions and 2 000 appends/s one followed nearly every heartbeat answer, a fifth of all messages.
    const stalled = pr.state !== 'replicate' || pr.match === pr.matchAtHeartbeatResp;
    pr.matchAtHeartbeatResp = pr.match;
    // Lost appends would otherwise hold the window (or, with no progress, the node's share) forever;
    // free one slot per heartbeat round.
    if (pr.state === 'replicate' && (this.windowFull(pr) || (stalled && this.isPaused(pr)))) this.freeOldestInflight(pr);
    if (pr.match < this.lastIndex() && stalled) this.sendAppend(m.from, true);
  }

  // ---------------------------------------------------------------- leader replication

  private tickLeader(): void {
    this.electionElapsed++;
    this.heartbeatElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.quorumActive()) {
        // Partitioned from the majority: stop acting as leader (and serving stale reads).
        this.becomeFollower(this.term, NONE);
        return;
      }
      // The target did not take over within an election timeout.
      this.transferee = NONE;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(true);
    }
    if (this.config.quiesce === true) this.maybeQuiesce();
  }

  /**
   * Heartbeats to every peer, carrying the latest read context so their answers confirm pending
   * reads. The periodic round (`skipBusy`) skips a peer that got an append during the interval:
   * the append reset its election timer and carried the commit, and its answer marks it active,
   * so under load heartbeats were a third of a leader's messages for nothing. A read round goes to all.
   */
  private broadcastHeartbeat(skipBusy: boolean): void {
    for (const to of this.config.peers) {
      if (to === this.id) continue;
      const pr = this.peer(to);
      const busy = pr.appendedSinceHeartbeat;
      pr.appendedSinceHeartbeat = false;
      if (skipBusy && busy) continue;
      this.send({ type: 'heartbeat', to, index: this.readSeq, commit: Math.min(this.peer(to).match, this.commit) });
    }
  }

  /** Moves reads a quorum has confirmed (echoed a context >= their id this term) to readStates. */
  private confirmReads(): void {
    while (this.pendingReads.length > 0) {
      const read = this.pendingReads[0];
      invariant(read !== undefined, 'pending read');
      let acks = 1; // ourselves
      for (const [peer, acked] of this.readAcks) if (peer !== this.id && acked >= read.id) acks++;
      if (acks < this.quorum) return;
      this.pendingReads.shift();
      this.readStates.push({ id: read.id, index: read.index, ok: true });
    }
  }

  /** After QUIESCE_IDLE_HEARTBEATS idle heartbeat intervals with every follower caught up: tell them and stop ticking. */
  private maybeQuiesce(): void {
    if (!this.caughtUpAndIdle()) {
      this.idleTicks = 0;
      return;
    }
    if (++this.idleTicks < QUIESCE_IDLE_HEARTBEATS * this.config.heartbeatTicks) return;
    this.quiesced = true;
    this.idleTicks = 0;
    for (const to of this.config.peers) {
      if (to !== this.id) this.send({ type: 'heartbeat', to, commit: this.commit, logTerm: QUIESCE_HEARTBEAT });
    }
  }

  /** Everything committed and on every replica (each heard from lately), no transfer or snapshot pending. */
  private caughtUpAndIdle(): boolean {
    const last = this.lastIndex();
    if (this.transferee !== NONE || this.pendingSnapshot !== null || this.commit !== last || this.handedOutIndex !== last || this.pendingReads.length > 0) return false;
    // The array, not the map: a map's iterator and its [id, pr] pairs were garbage made at every
    // tick of every awake leader (~0.3–0.6 KB per append at 5 × 256 partitions and 2 000/s).
    for (const pr of this.progressList) {
      if (pr.match !== last || (pr.id !== this.id && (!pr.recentActive || pr.state !== 'replicate'))) return false;
    }
    return true;
  }

  /** Whether a quorum was heard from since the last check; starts the next check window. */
  private quorumActive(): boolean {
    let active = 0;
    for (const pr of this.progressList) {
      if (pr.id === this.id || pr.recentActive) active++;
      if (pr.id !== this.id) pr.recentActive = false;
    }
    return active >= this.quorum;
  }

  private peer(id: NodeId): PeerProgress {
    const pr = this.progress.get(id);
    invariant(pr !== undefined, () => `no progress for ${id} (role ${this.role})`);
    return pr;
  }

  private isPaused(pr: PeerProgress): boolean {
    switch (pr.state) {
      case 'probe':
        return pr.probeSent;
      case 'replicate':
        // Past the node's share of bytes in flight to this follower (over all its partitions), a
        // partition with an append in flight waits for its answer. One with none in flight always
        // sends, so none starves.
        return this.windowFull(pr) || (pr.inflights.length > 0 && this.config.nodeInflight?.full(pr.id) === true);
      case 'snapshot':
        return true;
    }
  }

  /**
   * The partition's own window to a replicating follower is full. Bytes as well as messages (etcd's
   * MaxInflightBytes): a follower far behind is sent pages of up to maxBytesPerMessage, and without
   * it a leader read maxInflightMessages of them from its segments in the turn the follower came back.
   */
  private windowFull(pr: PeerProgress): boolean {
    return pr.inflights.length >= this.config.maxInflightMessages || (this.config.maxInflightBytes > 0 && pr.inflightBytesTotal >= this.config.maxInflightBytes);
  }

  private becomeProbe(pr: PeerProgress): void {
    pr.next = pr.state === 'snapshot' ? Math.max(pr.match + 1, pr.pendingSnapshot + 1) : pr.match + 1;
    pr.state = 'probe';
    pr.probeSent = false;
    pr.pendingSnapshot = 0;
    this.clearInflights(pr);
  }

  private becomeReplicate(pr: PeerProgress): void {
    pr.state = 'replicate';
    pr.next = pr.match + 1;
    pr.probeSent = false;
    pr.pendingSnapshot = 0;
    this.clearInflights(pr);
  }

  /** Handles a rejected append; false when the rejection is stale. */
  private maybeDecrTo(pr: PeerProgress, rejected: number, hint: number): boolean {
    invariant(hint >= pr.match, 'a follower that lost acknowledged entries is handled before maybeDecrTo');
    if (pr.state === 'snapshot') return false;
    if (pr.state === 'replicate') {
      if (rejected <= pr.match) return false;
      this.becomeProbe(pr);
      return true;
    }
    if (pr.next - 1 !== rejected) return false;
    pr.next = Math.max(Math.min(rejected, hint + 1), pr.match + 1);
    pr.probeSent = false;
    return true;
  }

  private bcastAppend(): void {
    for (const to of this.config.peers) if (to !== this.id) this.sendAppend(to, true);
  }

  /**
   * The storage read entries into memory in the background (see RaftLogStorage.fetching): a
   * follower's apply that waited for them goes on; a leader's followers in replicate state that
   * waited get what their pipelines allow.
   */
  entriesFetched(): void {
    this.applyFetching = false;
    if (this.role !== 'leader') return;
    for (const to of this.config.peers) {
      if (to === this.id || this.peer(to).state !== 'replicate') continue;
      while (this.sendAppend(to, false)) {
        // Fills the pipeline, as an append's answer does.
      }
    }
  }

  /** Sends the next append (or the snapshot) to `to` if flow control allows; whether anything was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.peer(to);
    if (this.isPaused(pr)) return false;
    const last = this.lastIndex();
    invariant(pr.next >= 1 && pr.next <= last + 1, () => `progress of ${to}: next ${pr.next} outside [1, ${last + 1}]`);
    const prevIndex = pr.next - 1;
    const prevTerm = this.termAt(prevIndex);
    if (prevTerm === undefined || pr.next < this.firstIndex()) {
      // Retention removed what the follower needs: restart it from our log start.
      const snap = this.storage.snapshot();
      invariant(snap.index <= this.commit, () => `leader log start ${snap.index} above its commit ${this.commit}`);
      this.send({ type: 'snapshot', to, snapshot: snap });
      pr.state = 'snapshot';
      pr.pendingSnapshot = snap.index;
      pr.next = snap.index + 1;
      this.clearInflights(pr);
      pr.probeSent = false;
      return true;
    }
    // A follower far behind is fed from the leader's segments within their read budget: filling
    // the pipeline stops while an append is in flight, whose answer asks again. Re-sends (answers
    // to heartbeats, rejections) and new proposals still go: what is in flight may be lost.
    if (!sendIfEmpty && pr.state === 'replicate' && pr.inflights.length > 0 && pr.next <= last && this.storage.readDeferred?.(pr.next) === true) return false;
    // Entries on disk come from a read in the background; entriesFetched sends them once it arrived.
    // A probe goes without them: its answer says where the follower's log matches ours.
    const fetching = pr.state !== 'snapshot' && pr.next <= last && this.storage.fetching?.(pr.next) === true;
    if (fetching && pr.state === 'replicate') return false;
    const hi = Math.min(last + 1, pr.next + MAX_ENTRIES_PER_APPEND);
    // A probe (whose answer may be a rejection) and an append past the node's share carry a small
    // page: when a follower holding many partitions comes back, each of them sends one at once.
    const small = pr.state === 'probe' || this.config.nodeInflight?.full(to) === true;
    const pageBytes = small ? Math.min(this.config.maxBytesPerMessage, SMALL_PAGE_BYTES) : this.config.maxBytesPerMessage;
    const entries = pr.next <= last && !fetching ? this.entriesBetween(pr.next, hi, pageBytes, true) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'append', to, index: prevIndex, logTerm: prevTerm, entries, commit: this.commit, rejectHint: last });
    pr.appendedSinceHeartbeat = true;
    const lastSent = entries.at(-1);
    if (pr.state === 'replicate') {
      if (lastSent !== undefined) {
        // Optimistic: assume it arrives; a rejection moves us back to probing.
        pr.next = lastSent.index + 1;
        let bytes = 0;
        for (const entry of entries) bytes += entry.data.length;
        pr.inflights.push(lastSent.index);
        pr.inflightBytes.push(bytes);
        pr.inflightBytesTotal += bytes;
        this.config.nodeInflight?.add(to, bytes);
      }
    } else {
      pr.probeSent = true;
    }
    return true;
  }

  private maybeCommit(): boolean {
    invariant(this.progressList.length >= this.quorum, 'progress covers a quorum');
    const quorumMatch = this.quorumMatch();
    // Raft §5.4.2: counting replicas commits only entries of the current term.
    if (quorumMatch > this.commit && this.termAt(quorumMatch) === this.term) {
      this.commitTo(quorumMatch);
      return true;
    }
    return false;
  }

  /**
   * The highest index a quorum has matched: the quorum-th largest match. Counted in place rather
   * than sorted, since it runs on every append answer and a sort allocates (n is at most 7 or so).
   */
  private quorumMatch(): number {
    const list = this.progressList;
    let best = 0;
    for (let i = 0; i < list.length; i++) {
      const candidate = list[i]!.match;
      if (candidate <= best) continue;
      let count = 0;
      for (let j = 0; j < list.length; j++) if (list[j]!.match >= candidate) count++;
      if (count >= this.quorum) best = candidate;
    }
    return best;
  }

  // ---------------------------------------------------------------- the log

  private lastIndex(): number {
    return this.unstableOffset + this.unstable.length - 1;
  }

  private firstIndex(): number {
    return this.pendingSnapshot !== null ? this.pendingSnapshot.index + 1 : this.storage.firstIndex();
  }

  private termAt(index: number): number | undefined {
    if (index >= this.unstableOffset) return this.unstable[index - this.unstableOffset]?.term;
    if (this.pendingSnapshot !== null) {
      return index === this.pendingSnapshot.index ? this.pendingSnapshot.term : undefined;
    }
    return this.storage.term(index);
  }

  private lastTerm(): number {
    const t = this.termAt(this.lastIndex());
    invariant(t !== undefined, () => `no term for last index ${this.lastIndex()}`);
    return t;
  }

  private isUpToDate(index: number, logTerm: number): boolean {
    let lastTerm = this.lastTerm();
    let lastIndex = this.lastIndex();
    // Entries we acknowledged and lost still count: a candidate must hold at least what we held.
    const f = this.faulty;
    if (f !== null && (f.lastTerm > lastTerm || (f.lastTerm === lastTerm && f.lastIndex > lastIndex))) {
      lastTerm = f.lastTerm;
      lastIndex = f.lastIndex;
    }
    return logTerm > lastTerm || (logTerm === lastTerm && index >= lastIndex);
  }

  /** Record offset just past entry `index` (the log start's nextOffset when index is the log start). */
  private offsetEndAt(index: number): number {
    if (this.pendingSnapshot !== null && index === this.pendingSnapshot.index) return this.pendingSnapshot.nextOffset;
    if (index >= this.unstableOffset) {
      const e = this.unstable[index - this.unstableOffset];
      invariant(e !== undefined, () => `offsetEndAt(${index}) beyond the log`);
      return entryEnd(e);
    }
    const snap = this.storage.snapshot();
    if (index === snap.index) return snap.nextOffset;
    // Every partition asks this for its last entry when its node starts: from the index, not the disk.
    if (this.storage.offsetEnd !== undefined) return this.storage.offsetEnd(index);
    const [e] = this.storage.entries(index, index + 1, 0);
    invariant(e !== undefined && e.index === index, () => `offsetEndAt(${index}): storage has no such entry`);
    return entryEnd(e);
  }

  /** Entries [lo, hi) from storage then unstable: at least one when lo < hi, at most maxBytes of data after the first. */
  private entriesBetween(lo: number, hi: number, maxBytes: number, rationed = false): Entry[] {
    invariant(lo >= this.firstIndex() && lo <= hi && hi <= this.lastIndex() + 1, () => `entries [${lo}, ${hi}) outside the log`);
    if (lo === hi) return [];
    let out: Entry[] = [];
    let bytes = 0;
    if (lo < this.unstableOffset) {
      const stableHi = Math.min(hi, this.unstableOffset);
      out = this.storage.entries(lo, stableHi, maxBytes, rationed);
      invariant(out.length >= 1 && out[0]?.index === lo, () => `storage.entries(${lo}, ${stableHi}) did not start at ${lo}`);
      if (out.length < stableHi - lo) return out; // storage hit the byte budget
      for (const e of out) bytes += e.data.length;
    }
    for (let i = Math.max(lo, this.unstableOffset); i < hi; i++) {
      const e = this.unstable[i - this.unstableOffset];
      invariant(e !== undefined, () => `unstable entry ${i} missing`);
      if (out.length > 0 && bytes + e.data.length > maxBytes) break;
      out.push(e);
      bytes += e.data.length;
    }
    return out;
  }

  /** First entry whose index is missing or holds another term; 0 when we hold all of them already. */
  private findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (this.termAt(e.index) !== e.term) return e.index;
    }
    return 0;
  }

  private appendLocal(data: Uint8Array, count: number): Entry {
    const e: Entry = { index: this.lastIndex() + 1, term: this.term, offset: this.nextOffset, count, data };
    this.appendToLog([e]);
    return e;
  }

  /** Appends entries, replacing our log from entries[0].index on (log matching: the leader's log wins). */
  private appendToLog(entries: readonly Entry[]): void {
    const first = entries[0];
    const lastEntry = entries.at(-1);
    invariant(first !== undefined && lastEntry !== undefined, 'appendToLog: no entries');
    invariant(first.index > this.commit, () => `appendToLog at ${first.index} would overwrite committed ${this.commit}`);
    invariant(first.index <= this.lastIndex() + 1, () => `appendToLog at ${first.index} leaves a gap after ${this.lastIndex()}`);
    invariant(first.index >= this.firstIndex(), () => `appendToLog at ${first.index} below the log start`);
    // Offsets are dense: each entry starts where the previous one ended.
    let offset = first.index === this.lastIndex() + 1 ? this.nextOffset : this.offsetEndAt(first.index - 1);
    for (const e of entries) {
      invariant(e.offset === offset, () => `entry ${e.index} offset ${e.offset}, expected ${offset}`);
      offset = entryEnd(e);
    }
    if (first.index === this.lastIndex() + 1) {
      for (const e of entries) this.unstable.push(e);
    } else if (first.index <= this.unstableOffset) {
      this.unstable = [...entries];
      this.unstableOffset = first.index;
    } else {
      this.unstable = this.unstable.slice(0, first.index - this.unstableOffset).concat(entries);
    }
    this.handedOutIndex = Math.min(this.handedOutIndex, first.index - 1);
    this.nextOffset = entryEnd(lastEntry);
  }

  /** Entries through `index` (of `term`) are persisted and readable from storage. */
  private stableTo(index: number, term: number): void {
    // Superseded since that Ready (a newer leader replaced them): they stay unstable.
    if (index < this.unstableOffset || this.termAt(index) !== term) return;
    invariant(index <= this.handedOutIndex, () => `stableTo(${index}) past what was handed out (${this.handedOutIndex})`);
    invariant(this.storage.lastIndex() >= index && this.storage.term(index) === term, () => `advance: storage does not show entry ${index} of term ${term}`);
    // In place, not a new array: this one is long-lived, and a new one would wait for the
    // partition's next append, be promoted meanwhile, and then keep the entries pushed into it
    // alive from the old generation after it was dropped (see NO_MESSAGES).
    const drop = index + 1 - this.unstableOffset;
    if (drop >= this.unstable.length) this.unstable.length = 0;
    else this.unstable.splice(0, drop);
    this.unstableOffset = index + 1;
  }

  private commitTo(index: number): void {
    if (index <= this.commit) return;
    invariant(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}`);
    this.commit = index;
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.commit };
  }

  private send(m: MessageFields): void {
    invariant(this.msgs.length < MAX_PENDING_MESSAGES, 'outgoing messages not drained: call ready()');
    if (this.msgs === NO_MESSAGES) this.msgs = [];
    this.msgs.push(outgoing(m, this.id, m.term ?? this.term));
  }
}
