const SLOTS_INITIAL = 16;

/**
 * A leader's samples of when its entries were appended, ascending by log index: the entries from
 * a sample's index on were appended at or after its time. A follower's lag in seconds is the age
 * of the first entry it lacks, read from here.
 *
 * Held in two typed rings, not as one object per sample: at 5 × 256 partitions a node leads ~50
 * partitions, each sampled up to every 10 ms, and objects (each with a boxed double for its time)
 * were ~80 % of the objects a mark-compact had to trace in a heap snapshot after 35 s.
 */
export class AppendTimes {
  private indexes = new Float64Array(SLOTS_INITIAL);
  private times = new Float64Array(SLOTS_INITIAL);
  /** Slot of the oldest sample; samples run from here for `count` slots, modulo the length. */
  private head = 0;
  private count = 0;
  /** The time assumed for entries older than every sample (inherited from an earlier leader, or dropped). */
  private floorMs = 0;

  /** `max`: past this many samples the older half is dropped (its time becomes the floor). */
  constructor(private readonly max: number, private readonly resolutionMs: number) {
    if (!Number.isInteger(max) || max < 2) throw new RangeError(`AppendTimes max must be an integer ≥ 2 (got ${max})`);
  }

  get size(): number {
    return this.count;
  }

  /** Forgets every sample; entries before the next one count as appended at `floorMs`. */
  reset(floorMs: number): void {
    this.head = 0;
    this.count = 0;
    this.floorMs = floorMs;
    if (this.indexes.length > SLOTS_INITIAL) {
      this.indexes = new Float64Array(SLOTS_INITIAL);
      this.times = new Float64Array(SLOTS_INITIAL);
    }
  }

  /** The entry at `index` was appended at `ms`: kept unless the last sample is newer than the resolution. */
  note(index: number, ms: number): void {
    if (this.count > 0) {
      const last = this.slot(this.count - 1);
      if (index <= this.indexes[last]! || ms - this.times[last]! < this.resolutionMs) return;
    }
    if (this.count === this.max) {
      // Drop the older half at once (amortized): what it covered is now assumed as old as its last sample.
      const drop = this.max >> 1;
      this.floorMs = this.times[this.slot(drop - 1)]!;
      this.advance(drop);
    }
    if (this.count === this.indexes.length) this.grow();
    const slot = this.slot(this.count);
    this.indexes[slot] = index;
    this.times[slot] = ms;
    this.count++;
  }

  /** When the entry at `index` was appended: the latest sample at or below it, else the floor. */
  appendedMs(index: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.indexes[this.slot(mid)]! <= index) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? this.floorMs : this.times[this.slot(found)]!;
  }

  /** Every follower holds entries through `index`: drops the samples no lag can need, keeping the one that covers index + 1. */
  dropThrough(index: number): void {
    let drop = 0;
    while (drop + 1 < this.count && this.indexes[this.slot(drop + 1)]! <= index + 1) drop++;
    if (drop > 0) this.advance(drop);
  }

  private slot(i: number): number {
    return (this.head + i) & (this.indexes.length - 1);
  }

  private advance(n: number): void {
    this.head = (this.head + n) & (this.indexes.length - 1);
    this.count -= n;
  }

  private grow(): void {
    const length = this.indexes.length * 2;
    const indexes = new Float64Array(length);
    const times = new Float64Array(length);
    for (let i = 0; i < this.count; i++) {
      const from = this.slot(i);
      indexes[i] = this.indexes[from]!;
      times[i] = this.times[from]!;
    }
    this.indexes = indexes;
    this.times = times;
    this.head = 0;
  }
}
