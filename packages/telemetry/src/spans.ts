// OpenTelemetry-shaped spans of the write path, with per-window tail sampling:
// the slowest writes of every window are kept whole (they are what on-call
// wants to open), the rest only as a small random sample.

export type AttributeValue = string | number | boolean;

export interface Span {
  /** 32 lowercase hex characters, never all zero. */
  traceId: string;
  /** 16 lowercase hex characters, never all zero. */
  spanId: string;
  parentSpanId: string | null;
  name: string;
  nodeId: number;
  partition: number;
  /** Nanoseconds since the Unix epoch, as a decimal string (exceeds 2^53). */
  startUnixNano: string;
  endUnixNano: string;
  durationMicros: number;
  attributes: Record<string, AttributeValue>;
}

export interface SampledTrace {
  traceId: string;
  totalMicros: number;
  startMs: number;
  partition: number;
  /** True when kept as one of the window's slowest traces, false when randomly sampled. */
  slow: boolean;
  spans: Span[];
}

export interface SpansJson {
  nodeId: number;
  /** End of the newest closed window included; pass as `since` on the next poll. */
  untilMs: number | null;
  traces: SampledTrace[];
}

export type RandomSource = () => number;

export const DEFAULT_SPAN_WINDOW_MS = 1_000;
/** Slowest traces kept whole per window. */
export const DEFAULT_SLOWEST_TRACES_PER_WINDOW = 10;
/** Probability of keeping any other trace. */
export const DEFAULT_SAMPLE_RATE = 0.01;
export const DEFAULT_MAX_SAMPLED_TRACES_PER_WINDOW = 20;
export const DEFAULT_MAX_SPAN_WINDOWS = 60;
/** A write path has ~6 spans per node; cap what one trace may hold. */
export const MAX_SPANS_PER_TRACE = 64;

function randomHex(random: RandomSource, bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++) {
    const byte = Math.floor(random() * 256) & 0xff;
    out += byte.toString(16).padStart(2, '0');
  }
  // An all-zero id is invalid in OpenTelemetry.
  return /^0+$/.test(out) ? out.slice(0, -1) + '1' : out;
}

export function newTraceId(random: RandomSource = Math.random): string {
  return randomHex(random, 16);
}

export function newSpanId(random: RandomSource = Math.random): string {
  return randomHex(random, 8);
}

/** Current wall clock in Unix nanoseconds, as OTel wants it (string, beyond 2^53). */
export function unixNanoNow(): string {
  const nowMs = BigInt(Date.now());
  return (nowMs * 1_000_000n).toString();
}

export interface SpanRecorderOptions {
  nodeId: number;
  windowMs?: number;
  slowestPerWindow?: number;
  sampleRate?: number;
  maxSampledPerWindow?: number;
  maxWindows?: number;
  random?: RandomSource;
}

interface Candidate {
  readonly totalMicros: number;
  readonly nowMs: number;
  /** Drawn once at arrival so a trace evicted from the slowest set is sampled fairly. */
  readonly sampled: boolean;
  /** Builds the spans; called once, when the trace is first read (see offerTrace). */
  readonly build: () => readonly Span[];
  /** The built trace (null: not read yet, undefined: built empty, never listed). */
  trace: SampledTrace | null | undefined;
}

interface SpanWindow {
  startMs: number;
  endMs: number;
  /** Sorted slowest first, at most slowestPerWindow. */
  slowest: Candidate[];
  sampled: Candidate[];
}

export class SpanRecorder {
  readonly nodeId: number;
  readonly windowMs: number;
  readonly slowestPerWindow: number;
  readonly sampleRate: number;
  readonly maxSampledPerWindow: number;
  readonly maxWindows: number;
  private readonly random: RandomSource;
  private current: SpanWindow | null = null;
  /** Oldest first. */
  private closed: SpanWindow[] = [];

  constructor(options: SpanRecorderOptions) {
    this.nodeId = options.nodeId;
    this.windowMs = options.windowMs ?? DEFAULT_SPAN_WINDOW_MS;
    this.slowestPerWindow = options.slowestPerWindow ?? DEFAULT_SLOWEST_TRACES_PER_WINDOW;
    this.sampleRate = options.sampleRate ?? DEFAULT_SAMPLE_RATE;
    this.maxSampledPerWindow = options.maxSampledPerWindow ?? DEFAULT_MAX_SAMPLED_TRACES_PER_WINDOW;
    this.maxWindows = options.maxWindows ?? DEFAULT_MAX_SPAN_WINDOWS;
    this.random = options.random ?? Math.random;
  }

  /** Offers one finished write (all its spans) to the window containing nowMs. */
  recordTrace(spans: readonly Span[], totalMicros: number, nowMs: number): void {
    this.offerTrace(totalMicros, nowMs, () => spans);
  }

  /**
   * Like recordTrace, but builds the spans only when a kept trace (one of the window's slowest, or
   * drawn for the sample) is first read. On the write path most traces are dropped, and building
   * seven spans with random ids for each was the bulk of the tracing cost. The traces kept are the
   * slowest, so they arrive together when writes are slow: built as they completed, 16–50 µs each
   * on the event loop, they added to the very writes still waiting (5 × 256 at 2 000/s without
   * building: p99 median 4.60 against 5.20 ms, lower in 5 of 5 alternated pairs; 4.18 against
   * 4.49 ms, 3 of 5, in another series). `build` must read only what no longer changes.
   */
  offerTrace(totalMicros: number, nowMs: number, build: () => readonly Span[]): void {
    this.rotate(nowMs);
    const window = this.windowFor(nowMs);
    const sampled = this.random() < this.sampleRate;
    const slowest = window.slowest;
    const last = slowest[slowest.length - 1];
    const entersSlowest = slowest.length < this.slowestPerWindow || (last !== undefined && totalMicros > last.totalMicros);
    if (!entersSlowest && (!sampled || window.sampled.length >= this.maxSampledPerWindow)) return;
    const candidate: Candidate = { totalMicros, nowMs, sampled, build, trace: null };
    if (entersSlowest) {
      // Insert keeping slowest-first order; K is small so a linear scan is fine.
      let at = slowest.findIndex((c) => c.totalMicros < totalMicros);
      if (at === -1) at = slowest.length;
      slowest.splice(at, 0, candidate);
      if (slowest.length > this.slowestPerWindow) {
        const evicted = slowest.pop();
        if (evicted !== undefined) this.offerSample(window, evicted);
      }
    } else {
      this.offerSample(window, candidate);
    }
  }

  private offerSample(window: SpanWindow, candidate: Candidate): void {
    if (!candidate.sampled || window.sampled.length >= this.maxSampledPerWindow) return;
    window.sampled.push(candidate);
  }

  private windowFor(nowMs: number): SpanWindow {
    if (this.current === null) {
      const startMs = Math.floor(nowMs / this.windowMs) * this.windowMs;
      this.current = { startMs, endMs: startMs + this.windowMs, slowest: [], sampled: [] };
    }
    // A trace finishing "before" the open window (clock step back) still lands in it.
    return this.current;
  }

  /** Closes the open window once nowMs has passed its end. */
  rotate(nowMs: number): void {
    if (this.current === null || nowMs < this.current.endMs) return;
    this.closed.push(this.current);
    this.current = null;
    if (this.closed.length > this.maxWindows) {
      this.closed.splice(0, this.closed.length - this.maxWindows);
    }
  }

  /** Traces of closed windows that ended after sinceMs, oldest window first, slowest first within. */
  spansJson(sinceMs?: number): SpansJson {
    const since = sinceMs ?? Number.NEGATIVE_INFINITY;
    const traces: SampledTrace[] = [];
    let untilMs: number | null = null;
    for (const w of this.closed) {
      if (w.endMs <= since) continue;
      untilMs = w.endMs;
      for (const c of w.slowest) {
        const trace = traceOf(c);
        if (trace !== undefined) traces.push(trace);
      }
      for (const c of w.sampled) {
        const trace = traceOf(c);
        if (trace !== undefined) traces.push({ ...trace, slow: false });
      }
    }
    return { nodeId: this.nodeId, untilMs, traces };
  }
}

/** A kept candidate's trace, built on first read; undefined when its build gave no spans. */
function traceOf(candidate: Candidate): SampledTrace | undefined {
  if (candidate.trace === null) {
    const kept = candidate.build().slice(0, MAX_SPANS_PER_TRACE);
    const first = kept[0];
    if (first === undefined) {
      candidate.trace = undefined;
    } else {
      const startMs = Math.min(...kept.map((s) => nanoStringToMs(s.startUnixNano)));
      candidate.trace = {
        traceId: first.traceId,
        totalMicros: candidate.totalMicros,
        startMs: Number.isFinite(startMs) ? startMs : candidate.nowMs,
        partition: first.partition,
        slow: true,
        spans: kept,
      };
    }
  }
  return candidate.trace;
}

function nanoStringToMs(unixNano: string): number {
  // Drop the last 6 digits instead of Number(): nanoseconds exceed 2^53.
  if (!/^\d+$/.test(unixNano)) return Number.NaN;
  return unixNano.length <= 6 ? 0 : Number(unixNano.slice(0, -6));
}
