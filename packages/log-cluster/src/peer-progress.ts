// What a node remembers of its peers' durable progress (Journal.durableProgress, from their
// hellos), kept on its own disk as well: a peer restarted on an older copy of its disk is told so
// by whoever heard it get further (see LogNode.checkProgress), and a node that itself restarted
// since would otherwise have nothing to compare with.
import { invariant } from './invariant.ts';
import type { NodeId } from './raft/types.ts';
import { crc32c } from './storage/crc32c.ts';
import type { Disk, DiskFile } from './storage/types.ts';

export const PEER_PROGRESS_FILE = 'peers.progress';
/** A record: peer id (u32), segments and states progress (f64 each), catch-ups (u32), CRC32C of those 24 bytes (u32). */
const RECORD_BYTES = 28;
const CRC_AT = 24;
/** At most this often: each write is one append and one sync, off the event loop. */
export const PEER_PROGRESS_PERSIST_MS = 100;
/** Past this the file starts over with the latest of each peer (a crash in between forgets: never too much). */
const FILE_BYTES_MAX = 1 << 20;

export interface Progress {
  segments: number;
  states: number;
  /** How many times the node was caught up after losing what it had (LogNode.maybeClearAbstain). */
  catchUps: number;
}

/** Whether `a` is behind `b`: an older copy of the same disk (fewer catch-ups is older still). */
export function behind(a: Progress, b: Progress): boolean {
  if (a.catchUps !== b.catchUps) return a.catchUps < b.catchUps;
  return a.segments < b.segments || a.states < b.states;
}

export class PeerProgressLog {
  /** The furthest each peer reported, kept and heard. */
  readonly progress = new Map<NodeId, Progress>();
  private readonly file: DiskFile;
  private readonly dirty = new Set<NodeId>();
  private writing = false;
  private lastWriteMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  /** Reads what the file kept: whole records only (a torn last one is what a crash leaves). */
  constructor(disk: Disk) {
    this.file = disk.open(PEER_PROGRESS_FILE);
    const size = this.file.size();
    const bytes = size > 0 ? this.file.read(0, size) : new Uint8Array(0);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at + RECORD_BYTES <= size; at += RECORD_BYTES) {
      if (crc32c(bytes.subarray(at, at + CRC_AT)) !== view.getUint32(at + CRC_AT, true)) break;
      // Later records win: one written after a reset may be lower.
      this.reset(view.getUint32(at, true), { segments: view.getFloat64(at + 4, true), states: view.getFloat64(at + 12, true), catchUps: view.getUint32(at + 20, true) });
    }
    this.dirty.clear();
  }

  /**
   * Keeps the furthest of what is known and `progress` (of the same catch-up count: a node that
   * learned of a rollback since starts over from where it is; see behind).
   */
  raise(peer: NodeId, progress: Progress): void {
    const seen = this.progress.get(peer);
    if (seen === undefined || progress.catchUps > seen.catchUps) return this.reset(peer, progress);
    if (progress.catchUps < seen.catchUps || (progress.segments <= seen.segments && progress.states <= seen.states)) return;
    seen.segments = Math.max(seen.segments, progress.segments);
    seen.states = Math.max(seen.states, progress.states);
    this.dirty.add(peer);
  }

  /** Sets what is known of `peer` to `progress` (it abstains and says where it is now). */
  reset(peer: NodeId, progress: Progress): void {
    const seen = this.progress.get(peer);
    if (seen !== undefined && seen.segments === progress.segments && seen.states === progress.states && seen.catchUps === progress.catchUps) return;
    this.progress.set(peer, { ...progress });
    this.dirty.add(peer);
  }

  /** Writes what grew since the last write, if the last ended PEER_PROGRESS_PERSIST_MS ago. */
  persist(nowMs: number): void {
    if (this.closed || this.writing || this.dirty.size === 0 || nowMs - this.lastWriteMs < PEER_PROGRESS_PERSIST_MS) return;
    const restart = this.file.size() >= FILE_BYTES_MAX;
    const peers = restart ? [...this.progress.keys()] : [...this.dirty];
    this.dirty.clear();
    const data = new Uint8Array(peers.length * RECORD_BYTES);
    const view = new DataView(data.buffer);
    peers.forEach((peer, i) => {
      const at = i * RECORD_BYTES;
      const progress = this.progress.get(peer);
      invariant(progress !== undefined, () => `no progress of peer ${peer} to write`);
      view.setUint32(at, peer, true);
      view.setFloat64(at + 4, progress.segments, true);
      view.setFloat64(at + 12, progress.states, true);
      view.setUint32(at + 20, progress.catchUps, true);
      view.setUint32(at + CRC_AT, crc32c(data.subarray(at, at + CRC_AT)), true);
    });
    if (restart) this.file.truncate(0);
    this.writing = true;
    this.lastWriteMs = nowMs;
    // A failed write (a full disk) forgets nothing in memory and is tried again at the next persist.
    const failed = (): void => {
      this.writing = false;
      for (const peer of peers) this.dirty.add(peer);
    };
    this.file.append(data, (error) => {
      if (this.closed) return;
      if (error !== null) return failed();
      this.file.sync((syncError) => (syncError === null ? void (this.writing = false) : failed()));
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}
