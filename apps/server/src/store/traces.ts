// Trace store: per window, every span of the slowest writes (across all nodes) and a small
// sample of the rest, for a bounded retention. Nodes already tail-sample; this keeps the
// server's own bound when many nodes report.

import type { SampledTrace } from '@logscope/telemetry';

export const TRACE_WINDOW_MS = 10_000;
export const SLOWEST_TRACES_PER_WINDOW = 20;
export const SAMPLED_TRACES_PER_WINDOW = 5;
export const TRACE_RETENTION_MS = 3_600_000;
/** 360 windows × 25 traces: at ~2 KB a trace (6–8 spans), ≤ ~18 MB. */
export const MAX_TRACES = (TRACE_RETENTION_MS / TRACE_WINDOW_MS) * (SLOWEST_TRACES_PER_WINDOW + SAMPLED_TRACES_PER_WINDOW);

export interface StoredTrace extends SampledTrace {
  nodeId: number;
}

interface TraceWindow {
  startMs: number;
  slowest: StoredTrace[];
  sampled: StoredTrace[];
}

export interface TraceQuery {
  fromMs: number;
  toMs: number;
  partition?: number | undefined;
  limit: number;
}

export class TraceStore {
  private readonly windows = new Map<number, TraceWindow>();
  private readonly byId = new Map<string, StoredTrace>();

  add(nodeId: number, trace: SampledTrace): void {
    if (this.byId.has(trace.traceId)) return;
    const startMs = Math.floor(trace.startMs / TRACE_WINDOW_MS) * TRACE_WINDOW_MS;
    let window = this.windows.get(startMs);
    if (window === undefined) {
      window = { startMs, slowest: [], sampled: [] };
      this.windows.set(startMs, window);
      this.evict(startMs);
    }
    const stored: StoredTrace = { ...trace, nodeId };
    if (trace.slow) {
      const at = window.slowest.findIndex((t) => t.totalMicros < stored.totalMicros);
      if (at === -1 && window.slowest.length >= SLOWEST_TRACES_PER_WINDOW) {
        this.offerSample(window, stored);
        return;
      }
      window.slowest.splice(at === -1 ? window.slowest.length : at, 0, stored);
      this.byId.set(stored.traceId, stored);
      if (window.slowest.length > SLOWEST_TRACES_PER_WINDOW) {
        const evicted = window.slowest.pop();
        if (evicted !== undefined) {
          this.byId.delete(evicted.traceId);
          this.offerSample(window, evicted);
        }
      }
    } else {
      this.offerSample(window, stored);
    }
  }

  private offerSample(window: TraceWindow, trace: StoredTrace): void {
    // Nodes sampled these at random already; keep the first few per window.
    if (window.sampled.length >= SAMPLED_TRACES_PER_WINDOW) return;
    const sampled = { ...trace, slow: false };
    window.sampled.push(sampled);
    this.byId.set(sampled.traceId, sampled);
  }

  private evict(newestStartMs: number): void {
    for (const [startMs, window] of this.windows) {
      if (startMs >= newestStartMs - TRACE_RETENTION_MS) continue;
      for (const t of [...window.slowest, ...window.sampled]) this.byId.delete(t.traceId);
      this.windows.delete(startMs);
    }
  }

  get(traceId: string): StoredTrace | undefined {
    return this.byId.get(traceId);
  }

  slowest(query: TraceQuery): StoredTrace[] {
    const out: StoredTrace[] = [];
    for (const trace of this.byId.values()) {
      if (trace.startMs < query.fromMs || trace.startMs >= query.toMs) continue;
      if (query.partition !== undefined && trace.partition !== query.partition) continue;
      out.push(trace);
    }
    out.sort((a, b) => b.totalMicros - a.totalMicros);
    return out.slice(0, query.limit);
  }

  /** Every stored trace that started in the range (for grouping into stall events). */
  inRange(fromMs: number, toMs: number): StoredTrace[] {
    const out: StoredTrace[] = [];
    for (const [startMs, window] of this.windows) {
      if (startMs + TRACE_WINDOW_MS <= fromMs || startMs >= toMs) continue;
      for (const t of window.slowest) if (t.startMs >= fromMs && t.startMs < toMs) out.push(t);
    }
    return out;
  }

  get size(): number {
    return this.byId.size;
  }
}
