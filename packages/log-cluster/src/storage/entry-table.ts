import { invariant } from '../invariant.ts';

const TABLE_CAPACITY_INITIAL = 64;

/**
 * Metadata of one partition's entries, one column per field (no object per entry): entry i of
 * the table has log index start.index + 1 + i. `segment` is the segment sequence number holding
 * the entry, or minus the id of the journal batch that will write it; `position` is the byte
 * position of the entry's data in that segment (relative to the batch while pending).
 * `cacheSlab`/`cacheOffset` locate a durable entry's data in the journal's SlabCache (-1: not cached).
 */
export class EntryTable {
  private capacity = TABLE_CAPACITY_INITIAL;
  private head = 0;
  private size = 0;
  private terms = new Float64Array(TABLE_CAPACITY_INITIAL);
  private offsets = new Float64Array(TABLE_CAPACITY_INITIAL);
  private counts = new Uint32Array(TABLE_CAPACITY_INITIAL);
  private segments = new Float64Array(TABLE_CAPACITY_INITIAL);
  private positions = new Float64Array(TABLE_CAPACITY_INITIAL);
  private dataBytes = new Uint32Array(TABLE_CAPACITY_INITIAL);
  private cacheSlabs = new Float64Array(TABLE_CAPACITY_INITIAL);
  private cacheOffsets = new Uint32Array(TABLE_CAPACITY_INITIAL);

  get length(): number {
    return this.size;
  }

  term(i: number): number {
    return this.terms[this.at(i)]!;
  }
  offset(i: number): number {
    return this.offsets[this.at(i)]!;
  }
  count(i: number): number {
    return this.counts[this.at(i)]!;
  }
  segment(i: number): number {
    return this.segments[this.at(i)]!;
  }
  position(i: number): number {
    return this.positions[this.at(i)]!;
  }
  bytes(i: number): number {
    return this.dataBytes[this.at(i)]!;
  }

  cacheSlab(i: number): number {
    return this.cacheSlabs[this.at(i)]!;
  }
  cacheOffset(i: number): number {
    return this.cacheOffsets[this.at(i)]!;
  }

  setCached(i: number, slab: number, offset: number): void {
    const k = this.at(i);
    this.cacheSlabs[k] = slab;
    this.cacheOffsets[k] = offset;
  }

  setLocation(i: number, segment: number, position: number): void {
    const k = this.at(i);
    this.segments[k] = segment;
    this.positions[k] = position;
  }

  push(term: number, offset: number, count: number, segment: number, position: number, dataBytes: number): void {
    if (this.head + this.size === this.capacity) this.makeRoom();
    const k = this.head + this.size;
    this.terms[k] = term;
    this.offsets[k] = offset;
    this.counts[k] = count;
    this.segments[k] = segment;
    this.positions[k] = position;
    this.dataBytes[k] = dataBytes;
    this.cacheSlabs[k] = -1;
    this.size++;
  }

  /** Keeps the first `length` entries. */
  truncate(length: number): void {
    invariant(length >= 0 && length <= this.size, `truncate to ${length} of ${this.size}`);
    this.size = length;
    if (length === 0) this.head = 0;
  }

  /** Drops the first `n` entries. */
  dropFront(n: number): void {
    invariant(n >= 0 && n <= this.size, `dropFront ${n} of ${this.size}`);
    this.head += n;
    this.size -= n;
    if (this.size === 0) this.head = 0;
  }

  /** Last i with offset(i) <= offset, or -1. Offsets are non-decreasing. */
  lastAtOrBelowOffset(offset: number): number {
    let lo = 0;
    let hi = this.size - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[this.head + mid]! <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** How many leading entries live in segments with sequence <= `segment` (written entries only). */
  countInSegmentsUpTo(segment: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.segments[this.head + mid]!;
      // Pending entries (negative) sit only at the tail, after every written one.
      if (s >= 0 && s <= segment) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private at(i: number): number {
    invariant(i >= 0 && i < this.size, () => `entry ${i} outside table of ${this.size}`);
    return this.head + i;
  }

  private makeRoom(): void {
    if (this.head > this.capacity >>> 1) {
      // Mostly dropped from the front: slide down instead of growing.
      for (const column of this.columns()) column.copyWithin(0, this.head, this.head + this.size);
      this.head = 0;
      return;
    }
    this.capacity *= 2;
    const grow = <T extends Float64Array | Uint32Array>(column: T, make: (n: number) => T): T => {
      const next = make(this.capacity);
      next.set(column.subarray(0, this.head + this.size));
      return next;
    };
    this.terms = grow(this.terms, (n) => new Float64Array(n));
    this.offsets = grow(this.offsets, (n) => new Float64Array(n));
    this.counts = grow(this.counts, (n) => new Uint32Array(n));
    this.segments = grow(this.segments, (n) => new Float64Array(n));
    this.positions = grow(this.positions, (n) => new Float64Array(n));
    this.dataBytes = grow(this.dataBytes, (n) => new Uint32Array(n));
    this.cacheSlabs = grow(this.cacheSlabs, (n) => new Float64Array(n));
    this.cacheOffsets = grow(this.cacheOffsets, (n) => new Uint32Array(n));
  }

  private columns(): (Float64Array | Uint32Array)[] {
    return [this.terms, this.offsets, this.counts, this.segments, this.positions, this.dataBytes, this.cacheSlabs, this.cacheOffsets];
  }
}
