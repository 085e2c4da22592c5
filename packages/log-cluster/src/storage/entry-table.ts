import { invariant } from '../invariant.ts';

const CAPACITY_INITIAL = 64;
/** Entries per chunk once a table outgrows its first one (a power of two: ~208 KiB of columns). */
export const CHUNK_ENTRIES_DEFAULT = 4096;
/** Bytes per entry across the columns below: 5 Float64 and 3 Uint32. */
const ENTRY_BYTES = 5 * 8 + 3 * 4;

/** One block of the columns, all views of one ArrayBuffer. */
class Chunk {
  readonly terms: Float64Array;
  readonly offsets: Float64Array;
  readonly segments: Float64Array;
  readonly positions: Float64Array;
  readonly cacheSlabs: Float64Array;
  readonly counts: Uint32Array;
  readonly dataBytes: Uint32Array;
  readonly cacheOffsets: Uint32Array;

  constructor(readonly capacity: number) {
    const buffer = new ArrayBuffer(capacity * ENTRY_BYTES);
    let at = 0;
    const f64 = (): Float64Array => {
      const column = new Float64Array(buffer, at, capacity);
      at += capacity * 8;
      return column;
    };
    const u32 = (): Uint32Array => {
      const column = new Uint32Array(buffer, at, capacity);
      at += capacity * 4;
      return column;
    };
    this.terms = f64();
    this.offsets = f64();
    this.segments = f64();
    this.positions = f64();
    this.cacheSlabs = f64();
    this.counts = u32();
    this.dataBytes = u32();
    this.cacheOffsets = u32();
  }

  /** Copies `n` entries from `from` (slots fromAt…) to this chunk's slots at…. */
  copyFrom(from: Chunk, fromAt: number, at: number, n: number): void {
    const move = <T extends Float64Array | Uint32Array>(to: T, source: T): void => to.set(source.subarray(fromAt, fromAt + n), at);
    move(this.terms, from.terms);
    move(this.offsets, from.offsets);
    move(this.segments, from.segments);
    move(this.positions, from.positions);
    move(this.cacheSlabs, from.cacheSlabs);
    move(this.counts, from.counts);
    move(this.dataBytes, from.dataBytes);
    move(this.cacheOffsets, from.cacheOffsets);
  }
}

/**
 * Metadata of one partition's entries, one column per field (no object per entry): entry i of
 * the table has log index start.index + 1 + i. `segment` is the segment sequence number holding
 * the entry, or minus the id of the journal batch that will write it; `position` is the byte
 * position of the entry's data in that segment (relative to the batch while pending).
 * `cacheSlab`/`cacheOffset` locate a durable entry's data in the journal's SlabCache (-1: not cached).
 *
 * A small table doubles one chunk; past `chunkEntries` it grows by whole chunks, and entries
 * dropped from the front free whole chunks. Doubling all the way copied every column at each step,
 * on the event loop of the node, stalling all its partitions: 24–28 ms at 1 M entries, 47–50 ms at
 * 2 M, 89–97 ms at 4 M (one push each, 2 runs; a partition of 100 B records holds millions within
 * the default retention), and each dropped copy counted as external memory until a mark-compact.
 */
export class EntryTable {
  /** chunks[0] holds slots 0…; slot s is in chunks[s >>> shift] at s & mask (one chunk: at s). */
  private chunks: Chunk[];
  /** Slot of entry 0 (inside chunks[0]). */
  private head = 0;
  private size = 0;
  private readonly shift: number;
  private readonly mask: number;

  constructor(private readonly chunkEntries = CHUNK_ENTRIES_DEFAULT) {
    invariant(Number.isInteger(Math.log2(chunkEntries)) && chunkEntries >= 1, () => `chunk entries ${chunkEntries} must be a power of two`);
    this.shift = Math.log2(chunkEntries);
    this.mask = chunkEntries - 1;
    this.chunks = [new Chunk(Math.min(CAPACITY_INITIAL, chunkEntries))];
  }

  get length(): number {
    return this.size;
  }

  term(i: number): number {
    const s = this.slot(i);
    return this.chunkOf(s).terms[s & this.mask]!;
  }
  offset(i: number): number {
    const s = this.slot(i);
    return this.chunkOf(s).offsets[s & this.mask]!;
  }
  count(i: number): number {
    const s = this.slot(i);
    return this.chunkOf(s).counts[s & this.mask]!;
  }
  segment(i: number): number {
    const s = this.slot(i);
    return this.chunkOf(s).segments[s & this.mask]!;
  }
  position(i: number): number {
    const s = this.slot(i);
    return this.chunkOf(s).positions[s & this.mask]!;
  }
  bytes(i: number): number {
    const s = this.slot(i);
    return this.chunkOf(s).dataBytes[s & this.mask]!;
  }

  cacheSlab(i: number): number {
    const s = this.slot(i);
    return this.chunkOf(s).cacheSlabs[s & this.mask]!;
  }
  cacheOffset(i: number): number {
    const s = this.slot(i);
    return this.chunkOf(s).cacheOffsets[s & this.mask]!;
  }

  setCached(i: number, slab: number, offset: number): void {
    const s = this.slot(i);
    const chunk = this.chunkOf(s);
    chunk.cacheSlabs[s & this.mask] = slab;
    chunk.cacheOffsets[s & this.mask] = offset;
  }

  setLocation(i: number, segment: number, position: number): void {
    const s = this.slot(i);
    const chunk = this.chunkOf(s);
    chunk.segments[s & this.mask] = segment;
    chunk.positions[s & this.mask] = position;
  }

  push(term: number, offset: number, count: number, segment: number, position: number, dataBytes: number): void {
    if (this.head + this.size === this.capacity()) this.makeRoom(); // may move the head
    const s = this.head + this.size;
    const chunk = this.chunkOf(s);
    const k = s & this.mask;
    chunk.terms[k] = term;
    chunk.offsets[k] = offset;
    chunk.counts[k] = count;
    chunk.segments[k] = segment;
    chunk.positions[k] = position;
    chunk.dataBytes[k] = dataBytes;
    chunk.cacheSlabs[k] = -1;
    this.size++;
  }

  /** Keeps the first `length` entries. */
  truncate(length: number): void {
    invariant(length >= 0 && length <= this.size, `truncate to ${length} of ${this.size}`);
    this.size = length;
    if (length === 0) this.head = 0;
    // Chunks wholly past the end go (the first stays).
    const keep = Math.max(1, ((this.head + this.size + this.chunkEntries - 1) >>> this.shift));
    if (this.chunks.length > keep) this.chunks.length = keep;
  }

  /** Drops the first `n` entries. */
  dropFront(n: number): void {
    invariant(n >= 0 && n <= this.size, `dropFront ${n} of ${this.size}`);
    this.head += n;
    this.size -= n;
    if (this.size === 0) {
      this.head = 0;
      if (this.chunks.length > 1) this.chunks = [this.chunks[this.chunks.length - 1]!];
      return;
    }
    // Whole chunks before the head go (only full-size chunks follow the first one).
    if (this.chunks.length > 1 && this.head >= this.chunkEntries) {
      const whole = this.head >>> this.shift;
      this.chunks.splice(0, whole);
      this.head -= whole << this.shift;
    }
  }

  /** Last i with offset(i) <= offset, or -1. Offsets are non-decreasing. */
  lastAtOrBelowOffset(offset: number): number {
    let lo = 0;
    let hi = this.size - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offset(mid) <= offset) {
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
      const s = this.segment(mid);
      // Pending entries (negative) sit only at the tail, after every written one.
      if (s >= 0 && s <= segment) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private slot(i: number): number {
    invariant(i >= 0 && i < this.size, () => `entry ${i} outside table of ${this.size}`);
    return this.head + i;
  }

  private chunkOf(slot: number): Chunk {
    return this.chunks[slot >>> this.shift]!;
  }

  private capacity(): number {
    const first = this.chunks[0]!;
    return first.capacity < this.chunkEntries ? first.capacity : this.chunks.length << this.shift;
  }

  /** The slot after the last one is taken: make it free. */
  private makeRoom(): void {
    const first = this.chunks[0]!;
    if (first.capacity < this.chunkEntries) {
      // Still one small chunk: slide down when mostly dropped from the front, else double it.
      if (this.head > first.capacity >>> 1) {
        first.copyFrom(first, this.head, 0, this.size);
        this.head = 0;
        return;
      }
      const next = new Chunk(Math.min(first.capacity * 2, this.chunkEntries));
      next.copyFrom(first, this.head, 0, this.size);
      this.chunks = [next];
      this.head = 0;
      return;
    }
    this.chunks.push(new Chunk(this.chunkEntries));
  }
}
