import type { NodeId } from './raft/types.ts';
import type { DiskCopy } from './storage/disk-copy.ts';

/**
 * The fault-injection surface. Drills, tests and the simulator all inject faults through it,
 * so what a drill does is exactly what the simulator checked.
 */
export type Fault =
  | { readonly kind: 'crash'; readonly node: NodeId }
  | { readonly kind: 'isolate'; readonly node: NodeId }
  | { readonly kind: 'cutLink'; readonly source: NodeId; readonly target: NodeId }
  | { readonly kind: 'linkDelay'; readonly source: NodeId; readonly target: NodeId; readonly delayMs: number; readonly jitterMs: number }
  | { readonly kind: 'linkLoss'; readonly source: NodeId; readonly target: NodeId; readonly lossRate: number }
  | { readonly kind: 'slowFsync'; readonly node: NodeId; readonly delayMs: number }
  | { readonly kind: 'pause'; readonly node: NodeId; readonly durationMs: number }
  | { readonly kind: 'corruptSegment'; readonly node: NodeId }
  | { readonly kind: 'diskFull'; readonly node: NodeId };

export type FaultKind = Fault['kind'];

export interface NodeHealth {
  readonly node: NodeId;
  readonly up: boolean;
  /** Why it is down, when it is (crashed, disk full, I/O error). */
  readonly reason: string | null;
  readonly fsyncDelayMs: number;
  readonly diskFull: boolean;
  readonly pausedUntilMs: number;
  /** Its replicas let the others win elections first (a drained node; see deferCampaigns). */
  readonly campaignsDeferred: boolean;
}

/**
 * An action is synchronous in the embedded cluster and a network call on a cluster of node
 * processes (apps/server/src/cluster/remote-cluster.ts); callers await either.
 */
export type MaybePromise<T> = T | Promise<T>;

export interface FaultSurface {
  nodeIds(): readonly NodeId[];
  /** Stops the node as a power cut would: unsynced writes are lost, the last one maybe torn. */
  crash(node: NodeId): MaybePromise<void>;
  /** Starts a stopped node again from its disk (recovery runs). */
  restart(node: NodeId): Promise<void>;
  /** Cuts every link to and from the node. */
  isolate(node: NodeId): MaybePromise<void>;
  cutLink(source: NodeId, target: NodeId, bothWays?: boolean): MaybePromise<void>;
  healLink(source: NodeId, target: NodeId, bothWays?: boolean): MaybePromise<void>;
  setLinkDelay(source: NodeId, target: NodeId, delayMs: number, jitterMs?: number, bothWays?: boolean): MaybePromise<void>;
  setLinkLoss(source: NodeId, target: NodeId, lossRate: number, bothWays?: boolean): MaybePromise<void>;
  /** Adds delayMs to every fdatasync of the node (0 heals). */
  slowFsync(node: NodeId, delayMs: number): MaybePromise<void>;
  /** Stalls the node (no ticks, no messages, no answers) for durationMs, like a GC pause. */
  pause(node: NodeId, durationMs: number): MaybePromise<void>;
  /**
   * Flips one byte inside a record of the node's newest segment. A stopped node's next recovery finds
   * it (CRC mismatch); a running node's scrub or a read of that record does, and the node stops and
   * restarts itself to repair it. Returns the file and position.
   */
  corruptSegment(node: NodeId): MaybePromise<{ file: string; position: number }>;
  /**
   * Starts a scrub pass over the node's whole log now, at its usual rate (not a fault: the runbook
   * action after a disk alert, and how a drill finds a rotted byte without waiting for the next
   * pass). Returns the bytes it will read and the rate; fails if the node is down or its scrub is off.
   */
  startScrub(node: NodeId): MaybePromise<{ bytes: number; bytesPerSec: number }>;
  /** Cuts the fdatasync'ed tail of the node's newest segment (keeping its record identifiers); takes effect at the next restart. */
  cutSegmentTail(node: NodeId): MaybePromise<{ file: string; cutBytes: number }>;
  /**
   * Copies a stopped node's files aside (a backup or VM snapshot of its disk), replacing an earlier
   * copy, for putBackDiskCopy. Fails while the node runs: its files are no crash image then.
   */
  copyDisk(node: NodeId): MaybePromise<DiskCopy>;
  /**
   * Puts the copy back in place of a stopped node's files: its disk went back to when the copy was
   * taken (a restored backup or snapshot). Its peers tell it at its restart (logscope_disk_rollbacks_total).
   */
  putBackDiskCopy(node: NodeId): MaybePromise<DiskCopy>;
  /** Makes the node's disk full (true) or gives the space back (false). */
  setDiskFull(node: NodeId, full: boolean): MaybePromise<void>;
  /**
   * Not a fault: the node's replicas campaign only once the others had two election timeouts to
   * win (a drained node: an election picks it only when no other replica can lead). A transfer to
   * it still works. The embedded cluster keeps it across the node's restarts; a node process
   * forgets it when it restarts, and health() says so.
   */
  deferCampaigns(node: NodeId, deferred: boolean): MaybePromise<void>;
  /** Moves a partition's leadership to another replica. */
  transferLeadership(partition: number, to: NodeId): MaybePromise<void>;
  /** Heals every network fault, slow disk and full disk; restarts crashed nodes. */
  healAll(): Promise<void>;
  health(): readonly NodeHealth[];
  activeFaults(): readonly Fault[];
}
