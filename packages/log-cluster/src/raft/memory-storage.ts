import { invariant } from '../invariant.ts';
import type { Entry, HardState, RaftLogStorage, SnapshotMeta } from './types.ts';

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };
const EMPTY_SNAPSHOT: SnapshotMeta = { index: 0, term: 0, nextOffset: 0 };

/**
 * RaftLogStorage held in memory: what tests and the simulator persist Ready contents into.
 * "Durable" here means "survives a Raft restart built from this object".
 */
export class MemoryRaftStorage implements RaftLogStorage {
  private hard: HardState;
  private snap: SnapshotMeta;
  /** entries[i].index === snap.index + 1 + i. */
  private log: Entry[] = [];

  constructor(init: { hardState?: HardState; snapshot?: SnapshotMeta; entries?: readonly Entry[] } = {}) {
    this.hard = init.hardState ?? EMPTY_HARD_STATE;
    this.snap = init.snapshot ?? EMPTY_SNAPSHOT;
    if (init.entries !== undefined) this.append(init.entries);
  }

  initialState(): { hardState: HardState; snapshot: SnapshotMeta } {
    return { hardState: this.hard, snapshot: this.snap };
  }

  hardState(): HardState {
    return this.hard;
  }

  firstIndex(): number {
    return this.snap.index + 1;
  }

  lastIndex(): number {
    return this.snap.index + this.log.length;
  }

  term(index: number): number | undefined {
    if (index === this.snap.index) return this.snap.term;
    if (index < this.snap.index) return undefined;
    return this.log[index - this.snap.index - 1]?.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    invariant(lo >= this.firstIndex(), () => `entries(${lo}) below firstIndex ${this.firstIndex()}`);
    invariant(hi <= this.lastIndex() + 1 && lo <= hi, () => `entries(${lo}, ${hi}) beyond lastIndex ${this.lastIndex()}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - this.snap.index - 1];
      invariant(e !== undefined && e.index === i, () => `entry ${i} missing`);
      // Always at least one entry, so a single oversized entry still makes progress.
      if (out.length > 0 && bytes + e.data.length > maxBytes) break;
      out.push(e);
      bytes += e.data.length;
    }
    return out;
  }

  snapshot(): SnapshotMeta {
    return this.snap;
  }

  /** Appends entries; a stored suffix from entries[0].index on is replaced (the leader overrode it). */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    invariant(first.index > this.snap.index, () => `append at ${first.index} at or below snapshot ${this.snap.index}`);
    invariant(first.index <= this.lastIndex() + 1, () => `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    this.log.length = first.index - this.snap.index - 1;
    let expectedOffset = this.endOffsetOf(first.index - 1);
    for (const e of entries) {
      invariant(e.index === this.lastIndex() + 1, () => `append: index ${e.index} not contiguous`);
      invariant(e.offset === expectedOffset, () => `append: entry ${e.index} offset ${e.offset} != ${expectedOffset}`);
      this.log.push(e);
      expectedOffset = e.offset + e.count;
    }
  }

  setHardState(hs: HardState): void {
    invariant(hs.term >= this.hard.term, () => `hard state term regressed ${this.hard.term} -> ${hs.term}`);
    this.hard = hs;
  }

  /** Drops the whole log and restarts it at `meta` (a follower reset to the leader's log start). */
  applySnapshot(meta: SnapshotMeta): void {
    this.snap = meta;
    this.log = [];
  }

  /** Retention: forgets entries up to and including `index`, which becomes the log start. */
  compact(index: number): void {
    if (index <= this.snap.index) return;
    invariant(index <= this.lastIndex(), () => `compact(${index}) beyond lastIndex ${this.lastIndex()}`);
    const e = this.log[index - this.snap.index - 1];
    invariant(e !== undefined, () => `compact: entry ${index} missing`);
    this.log = this.log.slice(index - this.snap.index);
    this.snap = { index, term: e.term, nextOffset: e.offset + e.count };
  }

  /** Record offset just past entry `index` (the snapshot's nextOffset when index is the log start). */
  private endOffsetOf(index: number): number {
    if (index === this.snap.index) return this.snap.nextOffset;
    const e = this.log[index - this.snap.index - 1];
    invariant(e !== undefined, () => `endOffsetOf: entry ${index} missing`);
    return e.offset + e.count;
  }
}
