// Time-series ring buffers. One shared timeline of scrape ticks (timestamps) and, per series,
// a Float64Array of values aligned to that timeline: 8 B per point per series, NaN where a
// series had no value at a tick. At the default 3600 points (1 h at 1 s) that is 28.8 KB per
// series plus 28.8 KB once for the timeline.

export const DEFAULT_SERIES_POINTS = 3_600;
/** Hard cap on distinct series: 5 nodes × 256 partitions × 2 followers × 2 lag series fits. */
export const MAX_SERIES = 16_384;

export interface SeriesPoint {
  tMs: number;
  value: number;
}

export class SeriesStore {
  readonly capacity: number;
  private readonly times: Float64Array;
  private readonly series = new Map<string, Float64Array>();
  /** Index of the next tick to write; ticks written so far (monotone, not wrapped). */
  private ticks = 0;
  private pending = new Map<string, number>();
  droppedSeries = 0;

  constructor(capacity = DEFAULT_SERIES_POINTS) {
    this.capacity = capacity;
    this.times = new Float64Array(capacity);
  }

  /** Stages a value for the tick being built; committed by commitTick. */
  set(key: string, value: number): void {
    this.pending.set(key, value);
  }

  /** The value staged for the tick being built, if any. */
  latestPending(key: string): number | undefined {
    return this.pending.get(key);
  }

  /** Closes one tick at tMs: every staged value lands in its series, the others get NaN. */
  commitTick(tMs: number): void {
    const slot = this.ticks % this.capacity;
    this.times[slot] = tMs;
    for (const [key, values] of this.series) values[slot] = this.pending.get(key) ?? Number.NaN;
    for (const [key, value] of this.pending) {
      if (this.series.has(key)) continue;
      if (this.series.size >= MAX_SERIES) {
        this.droppedSeries++;
        continue;
      }
      const values = new Float64Array(this.capacity).fill(Number.NaN);
      values[slot] = value;
      this.series.set(key, values);
    }
    this.pending = new Map();
    this.ticks++;
  }

  keys(prefix = ''): string[] {
    return [...this.series.keys()].filter((k) => k.startsWith(prefix));
  }

  get size(): number {
    return this.series.size;
  }

  /** Points of one series with fromMs <= t < toMs, oldest first, skipping gaps. */
  range(key: string, fromMs: number, toMs: number): SeriesPoint[] {
    const values = this.series.get(key);
    if (values === undefined) return [];
    const out: SeriesPoint[] = [];
    // Ticks are in time order: start at the first tick at or after fromMs (a 5-minute view of a
    // full hour then reads 300 slots, not 3 600, per series: the replication heatmap reads thousands).
    for (let i = this.firstTickAtOrAfter(fromMs); i < this.ticks; i++) {
      const slot = i % this.capacity;
      const tMs = this.times[slot] ?? 0;
      if (tMs >= toMs) break;
      const value = values[slot] ?? Number.NaN;
      if (tMs >= fromMs && !Number.isNaN(value)) out.push({ tMs, value });
    }
    return out;
  }

  /** Time of the oldest tick still held (null before the first): older ranges need another source. */
  oldestMs(): number | null {
    if (this.ticks === 0) return null;
    return this.times[Math.max(0, this.ticks - this.capacity) % this.capacity] ?? null;
  }

  /** The series' value at the newest tick at or before atMs, if that tick has one (binary search). */
  at(key: string, atMs: number): number | undefined {
    const values = this.series.get(key);
    if (values === undefined) return undefined;
    const slot = this.slotAt(atMs);
    if (slot === null) return undefined;
    const value = values[slot];
    return value === undefined || Number.isNaN(value) ? undefined : value;
  }

  /** The logical index of the oldest retained tick at or after fromMs (ticks when none). */
  private firstTickAtOrAfter(fromMs: number): number {
    let lo = this.ticks - Math.min(this.ticks, this.capacity);
    let hi = this.ticks;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((this.times[mid % this.capacity] ?? 0) < fromMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The ring slot of the newest tick at or before atMs, or null when none is retained. */
  private slotAt(atMs: number): number | null {
    const count = Math.min(this.ticks, this.capacity);
    let lo = this.ticks - count;
    let hi = this.ticks - 1;
    let found: number | null = null;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((this.times[mid % this.capacity] ?? Infinity) <= atMs) {
        found = mid % this.capacity;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The newest value of a series, if its newest tick has one. */
  latest(key: string): number | undefined {
    if (this.ticks === 0) return undefined;
    const value = this.series.get(key)?.[(this.ticks - 1) % this.capacity];
    return value === undefined || Number.isNaN(value) ? undefined : value;
  }

  bytes(): number {
    return this.times.byteLength + this.series.size * this.capacity * Float64Array.BYTES_PER_ELEMENT;
  }
}

/** Buckets points to at most maxPoints by resolution, keeping each bucket's max (lag: worst wins). */
export function downsampleMax(points: readonly SeriesPoint[], fromMs: number, resolutionMs: number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const p of points) {
    const tMs = fromMs + Math.floor((p.tMs - fromMs) / resolutionMs) * resolutionMs;
    const last = out[out.length - 1];
    if (last !== undefined && last.tMs === tMs) last.value = Math.max(last.value, p.value);
    else out.push({ tMs, value: p.value });
  }
  return out;
}
