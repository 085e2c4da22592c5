import { invariant } from '../invariant.ts';

const CAPACITY_INITIAL = 64;
/** Entries per chunk once a table outgrows its first one (a power of two: 52 KiB of columns plain, ~12 KiB sealed). */
export const CHUNK_ENTRIES_DEFAULT = 1024;
/** Bytes per entry across the columns below: 5 Float64 and 3 Uint32. */
export const PLAIN_ENTRY_BYTES = 5 * 8 + 3 * 4;

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
    const buffer = new ArrayBuffer(capacity * PLAIN_ENTRY_BYTES);
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
 * Full-size chunks no table holds any more (sealed, dropped, truncated), by capacity, for the next
 * table that grows by one: a table that keeps growing and sealing then lets go of no ArrayBuffer
 * (each counts as external memory until a mark-compact frees it, and V8 starts one for every
 * 64 MB of that). Stale contents are fine: a slot is written whole before it is read. Bounded, so a
 * burst of drops does not hold memory forever. Small chunks a table doubled past are not kept: all
 * tables double through the same sizes at about the same time, so nothing would take them.
 */
const spareChunks = new Map<number, Chunk[]>();
const SPARE_BYTES_PER_CAPACITY = 4 << 20;

function takeChunk(capacity: number): Chunk {
  return spareChunks.get(capacity)?.pop() ?? new Chunk(capacity);
}

function releaseChunk(chunk: Chunk | null): void {
  if (chunk === null) return;
  let spares = spareChunks.get(chunk.capacity);
  if (spares === undefined) spareChunks.set(chunk.capacity, (spares = []));
  if ((spares.length + 1) * chunk.capacity * PLAIN_ENTRY_BYTES <= SPARE_BYTES_PER_CAPACITY) spares.push(chunk);
}

/**
 * A full chunk whose entries are all written and out of the cache, in ~12 bytes an entry instead
 * of PLAIN_ENTRY_BYTES: offsets as u32 deltas from the chunk's first (counts are their differences), terms
 * and segments as runs (a chunk's entries share one or a few of each), positions and sizes as u32.
 * Slots before `from` (dropped from the front before sealing) hold nothing.
 */
class SealedChunk {
  /** deltas[k] = offset(k) - base; deltas[capacity] = the end of the last entry's records. */
  private readonly deltas: Uint32Array;
  private readonly positions: Uint32Array;
  private readonly dataBytes: Uint32Array;
  /** Runs: slots from termStarts[r] on have termValues[r] (the same for segments). */
  private readonly termStarts: Uint32Array;
  private readonly termValues: Float64Array;
  private readonly segmentStarts: Uint32Array;
  private readonly segmentValues: Float64Array;

  /** All columns are views of one buffer, sized for `termRuns` and `segmentRuns` runs. */
  private constructor(
    private readonly base: number,
    readonly capacity: number,
    termRuns: number,
    segmentRuns: number,
  ) {
    const n = capacity;
    const buffer = new ArrayBuffer((termRuns + segmentRuns) * 8 + (3 * n + 1 + termRuns + segmentRuns) * 4);
    let at = 0;
    const f64 = (length: number): Float64Array => {
      const column = new Float64Array(buffer, at, length);
      at += length * 8;
      return column;
    };
    const u32 = (length: number): Uint32Array => {
      const column = new Uint32Array(buffer, at, length);
      at += length * 4;
      return column;
    };
    this.termValues = f64(termRuns);
    this.segmentValues = f64(segmentRuns);
    this.deltas = u32(n + 1);
    this.positions = u32(n);
    this.dataBytes = u32(n);
    this.termStarts = u32(termRuns);
    this.segmentStarts = u32(segmentRuns);
  }

  /**
   * The sealed form of `chunk`'s slots from…end; 'later' while an entry is pending or cached at or
   * after `liveCacheFrom`; 'never' when a value does not fit the u32 columns exactly (offsets that
   * are not each the last one's end, a position past 4 GiB), so the chunk stays plain.
   */
  static seal(chunk: Chunk, from: number, liveCacheFrom: number): SealedChunk | 'later' | 'never' {
    const n = chunk.capacity;
    const base = chunk.offsets[from]!;
    for (let k = from; k < n; k++) if (!(chunk.segments[k]! > 0) || chunk.cacheSlabs[k]! >= liveCacheFrom) return 'later';
    for (let k = from; k < n; k++) {
      if (k + 1 < n && chunk.offsets[k + 1] !== chunk.offsets[k]! + chunk.counts[k]!) return 'never';
      if (!fitsU32(chunk.positions[k]!)) return 'never';
    }
    const end = chunk.offsets[n - 1]! + chunk.counts[n - 1]! - base;
    if (!fitsU32(end)) return 'never';
    const sealed = new SealedChunk(base, n, countRuns(chunk.terms, from), countRuns(chunk.segments, from));
    for (let k = from; k < n; k++) sealed.deltas[k] = chunk.offsets[k]! - base;
    sealed.deltas[n] = end;
    sealed.positions.set(chunk.positions.subarray(from), from);
    sealed.dataBytes.set(chunk.dataBytes.subarray(from), from);
    fillRuns(chunk.terms, from, sealed.termStarts, sealed.termValues);
    fillRuns(chunk.segments, from, sealed.segmentStarts, sealed.segmentValues);
    return sealed;
  }

  term(k: number): number {
    return runAt(this.termStarts, this.termValues, k);
  }
  segment(k: number): number {
    return runAt(this.segmentStarts, this.segmentValues, k);
  }
  offset(k: number): number {
    return this.base + this.deltas[k]!;
  }
  count(k: number): number {
    return this.deltas[k + 1]! - this.deltas[k]!;
  }
  position(k: number): number {
    return this.positions[k]!;
  }
  bytes(k: number): number {
    return this.dataBytes[k]!;
  }

  /** Bytes of its columns. */
  get memoryBytes(): number {
    return this.deltas.buffer.byteLength;
  }

  /** Back to a plain chunk (slots before `from` left unset), to be written again. */
  unseal(from: number): Chunk {
    const chunk = takeChunk(this.capacity);
    for (let k = from; k < this.capacity; k++) {
      chunk.terms[k] = this.term(k);
      chunk.offsets[k] = this.offset(k);
      chunk.counts[k] = this.count(k);
      chunk.segments[k] = this.segment(k);
      chunk.positions[k] = this.positions[k]!;
      chunk.dataBytes[k] = this.dataBytes[k]!;
      chunk.cacheSlabs[k] = -1;
    }
    return chunk;
  }
}

function fitsU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

/** How many runs of equal values column[from…] holds. */
function countRuns(column: Float64Array, from: number): number {
  let runs = 1;
  for (let k = from + 1; k < column.length; k++) if (column[k] !== column[k - 1]) runs++;
  return runs;
}

/** Each run of equal values in column[from…]: its first slot and its value. */
function fillRuns(column: Float64Array, from: number, starts: Uint32Array, values: Float64Array): void {
  starts[0] = from;
  values[0] = column[from]!;
  let run = 1;
  for (let k = from + 1; k < column.length; k++) {
    if (column[k] === column[k - 1]) continue;
    starts[run] = k;
    values[run++] = column[k]!;
  }
}

/** The value of the run holding slot k (the last run starting at or before it). */
function runAt(starts: Uint32Array, values: Float64Array, k: number): number {
  if (starts.length === 1) return values[0]!;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= k) lo = mid;
    else hi = mid - 1;
  }
  return values[lo]!;
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
 *
 * Full chunks behind the last one are sealed (`seal`) once their entries are written and out of
 * the cache: ~12 bytes an entry instead of 52. A node keeps every entry of its retention here, so
 * that is most of its index memory. A sealed entry is never cached again (`setCached` refuses it;
 * reads of old entries go to the segment, as they would once the cache moved on).
 */
export class EntryTable {
  /** chunks[x] holds slots x << shift…; slot s is in chunks[s >>> shift] at s & mask (one chunk: at s). */
  private chunks: (Chunk | null)[];
  /** sealed[x] is set exactly where chunks[x] is null. */
  private sealed: (SealedChunk | null)[];
  /** Slot of entry 0 (inside chunks[0]). */
  private head = 0;
  private size = 0;
  private readonly shift: number;
  private readonly mask: number;
  /**
   * Chunks before this one are sealed, or cannot be ('never'); this one is tried again once the
   * cache's oldest live slab reaches `sealRetryCacheFrom` (it held an entry cached at or after it).
   */
  private sealFrom = 0;
  private sealRetryCacheFrom = 0;

  constructor(private readonly chunkEntries = CHUNK_ENTRIES_DEFAULT) {
    invariant(Number.isInteger(Math.log2(chunkEntries)) && chunkEntries >= 1, () => `chunk entries ${chunkEntries} must be a power of two`);
    this.shift = Math.log2(chunkEntries);
    this.mask = chunkEntries - 1;
    this.chunks = [takeChunk(Math.min(CAPACITY_INITIAL, chunkEntries))];
    this.sealed = [null];
  }

  get length(): number {
    return this.size;
  }

  term(i: number): number {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    return chunk !== null ? chunk.terms[s & this.mask]! : this.sealedAt(s).term(s & this.mask);
  }
  offset(i: number): number {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    return chunk !== null ? chunk.offsets[s & this.mask]! : this.sealedAt(s).offset(s & this.mask);
  }
  count(i: number): number {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    return chunk !== null ? chunk.counts[s & this.mask]! : this.sealedAt(s).count(s & this.mask);
  }
  segment(i: number): number {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    return chunk !== null ? chunk.segments[s & this.mask]! : this.sealedAt(s).segment(s & this.mask);
  }
  position(i: number): number {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    return chunk !== null ? chunk.positions[s & this.mask]! : this.sealedAt(s).position(s & this.mask);
  }
  bytes(i: number): number {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    return chunk !== null ? chunk.dataBytes[s & this.mask]! : this.sealedAt(s).bytes(s & this.mask);
  }

  cacheSlab(i: number): number {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    return chunk !== null ? chunk.cacheSlabs[s & this.mask]! : -1;
  }
  cacheOffset(i: number): number {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    return chunk !== null ? chunk.cacheOffsets[s & this.mask]! : 0;
  }

  /** Whether setCached(i, …) would record anything: not once entry i's chunk is sealed. */
  cacheable(i: number): boolean {
    return this.chunks[this.slot(i) >>> this.shift] !== null;
  }

  /** Records where entry i's data sits in the cache; false (nothing recorded) when its chunk is sealed. */
  setCached(i: number, slab: number, offset: number): boolean {
    const s = this.slot(i);
    const chunk = this.chunks[s >>> this.shift]!;
    if (chunk === null) return false;
    chunk.cacheSlabs[s & this.mask] = slab;
    chunk.cacheOffsets[s & this.mask] = offset;
    return true;
  }

  setLocation(i: number, segment: number, position: number): void {
    const s = this.slot(i);
    const chunk = this.plainAt(s >>> this.shift);
    chunk.segments[s & this.mask] = segment;
    chunk.positions[s & this.mask] = position;
  }

  push(term: number, offset: number, count: number, segment: number, position: number, dataBytes: number): void {
    if (this.head + this.size === this.capacity()) this.makeRoom(); // may move the head
    const s = this.head + this.size;
    const chunk = this.chunks[s >>> this.shift]!;
    invariant(chunk !== null, 'the last chunk is never sealed');
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
    // Chunks wholly past the end go (the first stays); the new last one takes pushes, so it is plain.
    const keep = Math.max(1, ((this.head + this.size + this.chunkEntries - 1) >>> this.shift));
    if (this.chunks.length > keep) {
      for (let x = keep; x < this.chunks.length; x++) releaseChunk(this.chunks[x]!);
      this.chunks.length = keep;
      this.sealed.length = keep;
    }
    this.plainAt(this.chunks.length - 1);
  }

  /** Drops the first `n` entries. */
  dropFront(n: number): void {
    invariant(n >= 0 && n <= this.size, `dropFront ${n} of ${this.size}`);
    this.head += n;
    this.size -= n;
    if (this.size === 0) {
      this.head = 0;
      if (this.chunks.length > 1) {
        for (let x = 0; x < this.chunks.length - 1; x++) releaseChunk(this.chunks[x]!);
        this.chunks = [this.chunks[this.chunks.length - 1]!];
        this.sealed = [null];
        this.sealFrom = 0;
      }
      return;
    }
    // Whole chunks before the head go (only full-size chunks follow the first one).
    if (this.chunks.length > 1 && this.head >= this.chunkEntries) {
      const whole = this.head >>> this.shift;
      for (const chunk of this.chunks.splice(0, whole)) releaseChunk(chunk);
      this.sealed.splice(0, whole);
      this.head -= whole << this.shift;
      this.sealFrom = Math.max(0, this.sealFrom - whole);
    }
  }

  /**
   * Seals the full chunks behind the last one whose entries are all written and none cached at or
   * after `liveCacheFrom` (the cache's oldest live slab). Cheap when there is nothing new to seal:
   * a journal calls it after each flush.
   */
  seal(liveCacheFrom: number): void {
    const last = this.chunks.length - 1;
    if (this.sealFrom >= last || liveCacheFrom < this.sealRetryCacheFrom) return;
    this.sealRetryCacheFrom = 0;
    while (this.sealFrom < last) {
      const x = this.sealFrom;
      const chunk = this.chunks[x]!;
      if (chunk !== null) {
        const from = x === 0 ? this.head : 0;
        const sealed = SealedChunk.seal(chunk, from, liveCacheFrom);
        if (sealed === 'later') {
          // Again once the cache has moved past what this chunk holds (at once if it holds none).
          let newest = -1;
          for (let k = from; k < chunk.capacity; k++) newest = Math.max(newest, chunk.cacheSlabs[k]!);
          this.sealRetryCacheFrom = newest + 1;
          return;
        }
        if (sealed !== 'never') {
          this.chunks[x] = null;
          this.sealed[x] = sealed;
          releaseChunk(chunk);
        }
      }
      this.sealFrom++;
    }
  }

  /** Bytes of the columns held (plain and sealed chunks). */
  get memoryBytes(): number {
    let total = 0;
    for (let x = 0; x < this.chunks.length; x++) {
      const chunk = this.chunks[x]!;
      total += chunk !== null ? chunk.capacity * PLAIN_ENTRY_BYTES : this.sealed[x]!.memoryBytes;
    }
    return total;
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

  private sealedAt(slot: number): SealedChunk {
    return this.sealed[slot >>> this.shift]!;
  }

  /** Chunk x, unsealed first if it was sealed (a write to an old entry: rare). */
  private plainAt(x: number): Chunk {
    const chunk = this.chunks[x]!;
    if (chunk !== null) return chunk;
    const plain = this.sealed[x]!.unseal(x === 0 ? this.head : 0);
    this.chunks[x] = plain;
    this.sealed[x] = null;
    this.sealFrom = Math.min(this.sealFrom, x);
    this.sealRetryCacheFrom = 0;
    return plain;
  }

  private capacity(): number {
    const first = this.chunks[0] ?? null;
    return first !== null && first.capacity < this.chunkEntries ? first.capacity : this.chunks.length << this.shift;
  }

  /** The slot after the last one is taken: make it free. */
  private makeRoom(): void {
    const first = this.chunks[0] ?? null;
    if (first !== null && first.capacity < this.chunkEntries) {
      // Still one small chunk: slide down when mostly dropped from the front, else double it.
      if (this.head > first.capacity >>> 1) {
        first.copyFrom(first, this.head, 0, this.size);
        this.head = 0;
        return;
      }
      const next = takeChunk(Math.min(first.capacity * 2, this.chunkEntries));
      next.copyFrom(first, this.head, 0, this.size);
      this.chunks = [next];
      this.head = 0;
      return;
    }
    this.chunks.push(takeChunk(this.chunkEntries));
    this.sealed.push(null);
  }
}
