// Exact latency recording with HdrHistogram, in rotating time windows.
//
// Prometheus buckets can only say "p99.9 is somewhere between 50 ms and 100 ms";
// the console needs exact high percentiles and max, so every latency is also
// recorded here at fixed relative precision and shipped as the standard
// compressed HdrHistogram encoding per window.

import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';

/** Values are recorded in whole microseconds. */
export const LOWEST_DISCERNIBLE_MICROS = 1;
/** 60 s: anything slower is clamped (and counted) rather than throwing. */
export const HIGHEST_TRACKABLE_MICROS = 60_000_000;
export const SIGNIFICANT_VALUE_DIGITS = 3;
export const DEFAULT_WINDOW_MS = 1_000;
/** Closed windows kept in the ring: one minute at the default window length. */
export const DEFAULT_MAX_CLOSED_WINDOWS = 60;

const MICROS_PER_SECOND = 1_000_000;

export type { Histogram };

export interface HistogramWindow {
  startMs: number;
  endMs: number;
  /** Standard compressed HdrHistogram encoding (`HISTFAAA...`), values in µs. */
  encoded: string;
}

export interface LatencyRecorderOptions {
  windowMs?: number;
  maxClosedWindows?: number;
  /** Start of the first window; defaults to Date.now(). */
  nowMs?: number;
}

/**
 * A JS histogram with the shared range; autoResize only where merging foreign data. A recorder's
 * windows count in 32 bits (one second never holds 2^32 values) and hold half the memory, so that
 * a recorder can keep a spare; merges of many windows count in 64. The encoding is the same for both.
 */
function newHistogram(autoResize: boolean, bitBucketSize: 32 | 64 = 64): Histogram {
  return build({
    bitBucketSize,
    autoResize,
    lowestDiscernibleValue: LOWEST_DISCERNIBLE_MICROS,
    highestTrackableValue: HIGHEST_TRACKABLE_MICROS,
    numberOfSignificantValueDigits: SIGNIFICANT_VALUE_DIGITS,
    useWebAssembly: false,
  });
}

/**
 * zlib level for window encodings: every busy recorder encodes one window a second, on the event
 * loop. Level 1 took 22–85 µs per window against 43–104 µs at the default (8 to 2 000 values),
 * for the same size within 3 %; any level decodes the same.
 */
const ENCODE_COMPRESSION_LEVEL = 1;

let emptyEncodedCache: string | null = null;

/** The encoding of an empty window (the same for every recorder). */
function emptyEncoded(): string {
  emptyEncodedCache ??= encodeIntoCompressedBase64(newHistogram(false), ENCODE_COMPRESSION_LEVEL);
  return emptyEncodedCache;
}

export class LatencyRecorder {
  readonly windowMs: number;
  readonly maxClosedWindows: number;
  /**
   * The open window's histogram, allocated at its first value (null until then). At 5 × 1 024 in one
   * process, the first rotation after start gave every led partition's recorder a new one at once
   * (~1 000 × 68 KiB): 60 ms of allocation and a 24 ms collection in one timer, p99 ~100 ms over
   * the first second of load. From then on a rotation swaps in the spare its last encoding left.
   */
  private current: Histogram | null = null;
  private currentStartMs: number;
  /** Oldest first; bounded by maxClosedWindows. */
  private closed: HistogramWindow[] = [];
  /** The window the last rotate() closed, not encoded yet (see encodeClosed). */
  private closing: { histogram: Histogram; startMs: number; endMs: number } | null = null;
  /** The emptied histogram of the last encoded window: the next rotation swaps it in. */
  private spare: Histogram | null = null;
  /** Values above HIGHEST_TRACKABLE_MICROS recorded as the highest value. */
  private clampedCount = 0;

  constructor(options: LatencyRecorderOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.maxClosedWindows = options.maxClosedWindows ?? DEFAULT_MAX_CLOSED_WINDOWS;
    this.currentStartMs = options.nowMs ?? Date.now();
  }

  recordSeconds(durationSeconds: number): void {
    this.recordMicros(durationSeconds * MICROS_PER_SECOND);
  }

  recordMicros(durationMicros: number): void {
    // A NaN/negative duration is a caller bug (clock went backwards); 0 keeps the count honest.
    if (!Number.isFinite(durationMicros) || durationMicros < 0) durationMicros = 0;
    let micros = Math.round(durationMicros);
    if (micros > HIGHEST_TRACKABLE_MICROS) {
      micros = HIGHEST_TRACKABLE_MICROS;
      this.clampedCount += 1;
    }
    let histogram = this.current;
    if (histogram === null) {
      histogram = this.current = this.spare ?? newHistogram(false, 32);
      this.spare = null;
    }
    histogram.recordValue(micros);
  }

  /** Number of values that exceeded the trackable range since creation. */
  get clamped(): number {
    return this.clampedCount;
  }

  /** Values recorded in the still-open window. */
  get currentCount(): number {
    return this.current?.totalCount ?? 0;
  }

  /**
   * Closes the current window at nowMs and opens the next one. Only swaps histograms: a value
   * recorded from now on counts in the next window whenever the closed one is encoded (see
   * encodeClosed), so a node can close all its windows at one instant and pace their encoding.
   */
  rotate(nowMs: number): void {
    // A zero-length window carries no time; keep recording into the current one.
    if (nowMs <= this.currentStartMs) return;
    this.encodeClosed();
    // Most windows of most partitions are empty: encoding (deflate, on the event loop) and clearing
    // the counts of each, every second, was most of an idle node's CPU and stalled every write with it.
    if (this.current === null || this.current.totalCount === 0) {
      this.keep({ startMs: this.currentStartMs, endMs: nowMs, encoded: emptyEncoded() });
    } else {
      this.closing = { histogram: this.current, startMs: this.currentStartMs, endMs: nowMs };
      this.current = null;
    }
    this.currentStartMs = nowMs;
  }

  /**
   * Encodes the window the last rotate() closed, if it is not yet; false when there was none.
   * Windows() does it first, so a reader never misses a closed window.
   */
  encodeClosed(): boolean {
    const closing = this.closing;
    if (closing === null) return false;
    this.closing = null;
    this.keep({ startMs: closing.startMs, endMs: closing.endMs, encoded: encodeIntoCompressedBase64(closing.histogram, ENCODE_COMPRESSION_LEVEL) });
    closing.histogram.reset();
    this.spare = closing.histogram;
    return true;
  }

  private keep(window: HistogramWindow): void {
    this.closed.push(window);
    if (this.closed.length > this.maxClosedWindows) {
      this.closed.splice(0, this.closed.length - this.maxClosedWindows);
    }
  }

  /** Closed windows that ended after sinceMs (all when omitted), oldest first. */
  windows(sinceMs?: number): HistogramWindow[] {
    this.encodeClosed();
    const since = sinceMs ?? Number.NEGATIVE_INFINITY;
    return this.closed.filter((w) => w.endMs > since).map((w) => ({ ...w }));
  }
}

export class HistogramDecodeError extends Error {
  override readonly name = 'HistogramDecodeError';
}

/** Decodes one window's `encoded` string. */
export function decodeHistogram(encoded: string): Histogram {
  try {
    return decodeFromCompressedBase64(encoded, 64, false);
  } catch (cause) {
    throw new HistogramDecodeError(
      `cannot decode HdrHistogram (${encoded.slice(0, 24)}…): ${String(cause)}`,
      { cause },
    );
  }
}

/** Merges windows (from one node over time, or many nodes) into one histogram. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  // autoResize so that a histogram from a peer with a wider range still merges.
  const merged = newHistogram(true);
  for (const e of encoded) merged.add(decodeHistogram(e));
  return merged;
}

/** Percentiles of the spectrum view (x axis in nines). */
export const SPECTRUM_PERCENTILES: readonly number[] = [
  0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100,
];

export interface PercentilePoint {
  percentile: number;
  valueMicros: number;
}

export function percentileSpectrum(h: Histogram): PercentilePoint[] {
  return SPECTRUM_PERCENTILES.map((percentile) => ({
    percentile,
    valueMicros: h.totalCount === 0 ? 0 : valueAt(h, percentile),
  }));
}

export interface LatencySummary {
  count: number;
  minMicros: number;
  p50Micros: number;
  p90Micros: number;
  p99Micros: number;
  p999Micros: number;
  p9999Micros: number;
  maxMicros: number;
  meanMicros: number;
}

export function summary(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) {
    return {
      count: 0, minMicros: 0, p50Micros: 0, p90Micros: 0, p99Micros: 0,
      p999Micros: 0, p9999Micros: 0, maxMicros: 0, meanMicros: 0,
    };
  }
  return {
    count,
    minMicros: valueAt(h, 0),
    p50Micros: valueAt(h, 50),
    p90Micros: valueAt(h, 90),
    p99Micros: valueAt(h, 99),
    p999Micros: valueAt(h, 99.9),
    p9999Micros: valueAt(h, 99.99),
    maxMicros: valueAt(h, 100),
    meanMicros: h.mean,
  };
}

function valueAt(h: Histogram, percentile: number): number {
  // Always the highest value equivalent to the bucket (HDR convention), also for p100:
  // a live histogram's maxValue is the raw value but a decoded one's is the bucket's
  // top, so using it would make max depend on whether the data went over the wire.
  return h.getValueAtPercentile(percentile);
}
