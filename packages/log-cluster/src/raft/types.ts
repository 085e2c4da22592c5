/**
 * The consensus core's vocabulary (etcd/raft's shape). The core is pure: these values go in
 * and out of it; storage, transport and time are the caller's business.
 */

import type { NodeInflight } from './node-inflight.ts';

/** Node ids are small positive integers; 0 means "none" (no vote, no known leader). */
export type NodeId = number;
export const NONE: NodeId = 0;

/**
 * One log entry. A Logscope entry carries a batch of records: `offset` is the record offset of
 * the first record and `count` how many it holds (0 for the no-op a new leader appends), so record
 * offsets are dense and derived from the log itself: entry.offset = previous.offset + previous.count.
 */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly offset: number;
  readonly count: number;
  readonly data: Uint8Array;
}

/** What must be durable before the node answers any message of the term. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/**
 * The log before `index` is gone (retention deleted it, or a follower was reset to catch up).
 * `term` is the term of entry `index`; `nextOffset` the record offset of entry index + 1.
 */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly nextOffset: number;
  /**
   * What applying the entries up to `index` left that the application still needs once they are
   * gone (here: the producers' newest batches, see producer-state.ts). Opaque to raft: a snapshot
   * message carries it, a start record keeps it. Absent: nothing.
   */
  readonly state?: Uint8Array;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export type MessageType =
  | 'preVote'
  | 'preVoteResp'
  | 'vote'
  | 'voteResp'
  | 'append'
  | 'appendResp'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'snapshot'
  | 'timeoutNow'
  | 'faultQuery'
  | 'faultQueryResp'
  | 'diskFull'
  | 'hello';

/**
 * One message between replicas of the same group. Fields not used by a type are 0/empty.
 * - preVote/vote: index/logTerm = candidate's last entry; term = the (prospective) term.
 * - append: index/logTerm = entry preceding `entries`; commit = leader commit; rejectHint = the
 *   leader's last index when sent (an append without entries is not always sent at it: see stepFollower).
 * - appendResp: index = last index matched (or rejected index when reject); rejectHint = follower last index.
 * - heartbeat: commit = min(leader commit, follower match); index = the leader's latest read context
 *   (0 when none). heartbeatResp: index = the read context echoed back (confirms reads up to it).
 * - snapshot: snapshot = the leader's log start; the follower drops its log and restarts from there.
 * - timeoutNow: leadership transfer; the target campaigns at once (skipping pre-vote).
 * - faultQuery: a replica with a faulty tail asks whether peers hold entry (index, logTerm), its first
 *   faulty one; commit = the last entry of its lost record when it kept the rest aside (SetAsideTail),
 *   else 0. faultQueryResp: the same index/logTerm, rejectHint = the answer (FAULT_ANSWER_*); entries
 *   = entries index through commit, when asked for and held intact.
 *   Both are answered at any term and change no term.
 * - hello: node to node, never stepped into the core: the sender's incarnation (index), sent at start
 *   and with every liveness envelope, so peers learn a node restarted (and forgot what it led);
 *   commit = flags (1: the sender holds no entry at all; 2: it abstains until caught up) plus 16 ×
 *   the times it learned its disk had gone back; logTerm =
 *   the receiver's incarnation when the sender found the cluster new, else 0 (see LogNode.decideFresh),
 *   or, with reject, the receiver's incarnation the sender found rolled back (LogNode.checkProgress);
 *   term and rejectHint = the sender's durable progress (Journal.durableProgress: segments, states).
 * - diskFull: node to node, never stepped into the core: the sender's disk is full (index = its free
 *   bytes), so leaders can answer appends with DiskFull when that leaves them without a quorum.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly commit: number;
  readonly entries: readonly Entry[];
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly snapshot: SnapshotMeta | null;
}

/**
 * The read side of stable storage, as the core sees it (etcd's Storage interface).
 * The caller writes what a Ready says to persist, then makes it visible here before advance().
 */
export interface RaftLogStorage {
  /** HardState and snapshot as recovered at start. */
  initialState(): { hardState: HardState; snapshot: SnapshotMeta };
  /** Index of the first entry still held (snapshot.index + 1). */
  firstIndex(): number;
  /** Index of the last entry held (snapshot.index when empty). */
  lastIndex(): number;
  /** Term of entry `index`, for firstIndex-1 (the snapshot) through lastIndex; undefined outside. */
  term(index: number): number | undefined;
  /** Entries [lo, hi), at least one when lo < hi, at most maxBytes of data after the first. */
  /**
   * `rationed`: a read storage may cut short within its read budget (see readDeferred): appends a
   * leader sends, a client's reads, and a follower's apply; a leader's apply is never rationed.
   */
  entries(lo: number, hi: number, maxBytes: number, rationed?: boolean): Entry[];
  /**
   * Whether reading entry `index` now would go over the storage's read budget (optional): a leader
   * with appends in flight to a follower then waits for their answers before it reads more for it.
   */
  readDeferred?(index: number): boolean;
  /**
   * Whether entry `index` is being read into memory in the background (optional; reading it now
   * would block on the disk): a leader then sends a follower nothing until told it arrived
   * (Raft.entriesFetched). False: it can be read now.
   */
  fetching?(index: number): boolean;
  /**
   * Record offset just past entry `index`, firstIndex-1 through lastIndex, from metadata alone
   * (optional): without it raft reads the entry, which may mean a read from disk.
   */
  offsetEnd?(index: number): number;
  /** The current log start. */
  snapshot(): SnapshotMeta;
}

export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * A read registered with readIndex(): once `ok`, the leader confirmed with a quorum that it was
 * still leader after the read arrived, so serving the log up to `index` (once applied) is
 * linearizable. Not ok: leadership was lost before confirmation; the caller answers NotLeader.
 */
export interface ReadState {
  readonly id: number;
  readonly index: number;
  readonly ok: boolean;
}

export type ReadIndexResult =
  | { readonly ok: true; readonly id: number }
  | { readonly ok: false; readonly reason: 'not-leader' | 'not-ready'; readonly leaderHint: NodeId };

/** What the caller must do next, in order: persist hardState, snapshot and entries; send messages; apply committed entries; then advance(). */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: SnapshotMeta | null;
  /** Entries to append; when entries[0].index <= the stored last index, the stored suffix from there is replaced. */
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  /** Reads confirmed (or dropped) since the last Ready; serve each once applied reaches its index. */
  readonly readStates: readonly ReadState[];
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Every voter of the group, including id. */
  readonly peers: readonly NodeId[];
  /** Election timeout is randomized in [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly storage: RaftLogStorage;
  /** Deterministic randomness (the simulator seeds it). Returns [0, 1). */
  readonly random: () => number;
  /** Bytes of entry data per append message. */
  readonly maxBytesPerMessage: number;
  /** Append messages in flight per follower before waiting for acks. */
  readonly maxInflightMessages: number;
  /** Entry data bytes in flight per follower before waiting for acks; 0 for no limit. One append may take it past the limit. */
  readonly maxInflightBytes: number;
  /** Entry bytes in flight to each follower over all partitions of this node (shared; absent: no limit). */
  readonly nodeInflight?: NodeInflight;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /**
   * Idle partitions cost nothing (CockroachDB's quiescence): a leader with every follower caught up
   * and nothing pending stops heartbeating, and followers stop their election timers, until any
   * message, proposal or wake() (the node's liveness found a replica's node silent) wakes it.
   */
  readonly quiesce?: boolean;
  /** Told when a quiesced replica wakes, so the caller ticks it again (it may stop ticking quiesced ones). */
  readonly onWake?: () => void;
}

/**
 * Entries a replica acknowledged before a storage fault and can no longer read (record identifiers
 * name them): from (firstIndex, firstTerm) to (lastIndex, lastTerm), its true last entry.
 */
export interface FaultyTail {
  readonly firstIndex: number;
  readonly firstTerm: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

/**
 * A faulty tail of which only the first record was lost (bit rot in one record): the entries after
 * it were read back intact and kept aside by recovery. Filling the hole from any replica that
 * holds it intact (a peer answering a faultQuery) gives back the whole tail, with no leader
 * needed: two replicas that each lost a different record of the same entries repair each other,
 * where dropping the tail after the lost record left committed entries on neither.
 */
export interface SetAsideTail {
  /** The lost record's entries: (firstIndex, firstTerm) through (lastIndex, lastTerm). */
  readonly hole: FaultyTail;
  /** The intact entries after the hole, through the faulty tail's last one. */
  readonly entries: readonly Entry[];
  /** Whether entries a peer sent for the hole are the lost record, byte for byte (its CRC). */
  matchesHole(entries: readonly Entry[]): boolean;
}

/**
 * How a faulty tail ended: a peer sent the lost record (SetAsideTail), a leader's appends covered
 * it, or the answers showed it was never committed (discarded).
 */
export type FaultyTailRepair = 'peer' | 'leader' | 'discarded';

/**
 * Answers to a faultQuery: the peer holds the entry intact (abstaining or not), never held it, holds
 * it faulty itself (a named record it could not read back), or cannot tell (it does not hold it, and
 * abstains because it lost entries no identifier names, or its whole log: it may have held a copy).
 */
export const FAULT_ANSWER_HAVE = 0;
export const FAULT_ANSWER_DONT_HAVE = 1;
export const FAULT_ANSWER_HAVE_FAULTY = 2;
export const FAULT_ANSWER_CANNOT_TELL = 3;

export interface Progress {
  readonly match: number;
  readonly next: number;
  readonly recentActive: boolean;
  readonly state: 'probe' | 'replicate' | 'snapshot';
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: Role;
  readonly leader: NodeId;
  readonly commit: number;
  readonly lastIndex: number;
  /** Set on the leader only. */
  readonly progress: ReadonlyMap<NodeId, Progress> | null;
  /** Non-zero while a leadership transfer to that node is under way. */
  readonly transferee: NodeId;
}

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number; readonly offset: number }
  | { readonly ok: false; readonly reason: 'not-leader' | 'transferring'; readonly leaderHint: NodeId };
