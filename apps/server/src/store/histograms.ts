// Exact HDR windows per (node, metric, partition|null, windowStart), merged for any range.
//
// Two tiers: the scraped 1 s windows (kept 1 h node-wide, 5 min per partition: there can be
// hundreds of partitions) and per-minute rollups (merged once when the minute closes, kept
// 1 h for every key). A 1 h query merges ~60 rollups per key instead of 3600 windows.

import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { decodeHistogram, LatencyRecorder, mergeEncoded, summary, type Histogram, type HistogramMetric, type LatencySummary } from '@logscope/telemetry';

export type LatencyMetric = HistogramMetric | 'client';

export const ROLLUP_MS = 60_000;
export const NODE_WINDOW_RETENTION_MS = 3_600_000;
export const PARTITION_WINDOW_RETENTION_MS = 5 * 60_000;
export const ROLLUP_RETENTION_MS = 3_600_000;
/** Hard cap on encoded bytes held; past it the oldest rollups of the fullest key go first. */
export const MAX_HISTOGRAM_BYTES = 256 << 20;

/** The encoding of an empty window: such windows are not stored (idle partitions cost nothing). */
const EMPTY_ENCODED = ((): string => {
  const r = new LatencyRecorder({ nowMs: 0 });
  r.rotate(1);
  return r.windows()[0]?.encoded ?? '';
})();

/** Compressed HdrHistogram encodings are base64 starting with the HISTF cookie. */
const ENCODED_SHAPE = /^HISTF[A-Za-z0-9+/]+=*$/;

interface Window {
  startMs: number;
  endMs: number;
  encoded: string;
}

interface KeyState {
  node: number;
  metric: LatencyMetric;
  partition: number | null;
  /** Sorted by startMs. */
  windows: Window[];
  /** minuteStart → merged encoding of that minute's windows. */
  rollups: Map<number, string>;
  /** Minute of the newest stored window; earlier minutes are closed. */
  openMinute: number | null;
  latestEndMs: number;
}

export interface HistogramFilter {
  metric: LatencyMetric;
  node?: number | undefined;
  partition?: number | undefined;
}

const keyOf = (node: number, metric: string, partition: number | null): string => `${node}|${metric}|${partition ?? '-'}`;
const minuteOf = (ms: number): number => Math.floor(ms / ROLLUP_MS) * ROLLUP_MS;

/** Bucket summaries kept for series queries: groups (filter × resolution), each at most a day of buckets. */
const SUMMARY_GROUPS_MAX = 64;
const SUMMARY_BUCKETS_PER_GROUP_MAX = 8_640;

interface SummaryGroup {
  readonly filter: HistogramFilter;
  readonly resolutionMs: number;
  /** bucketStartMs → summary of every window starting in the bucket. */
  readonly buckets: Map<number, LatencySummary>;
}

const matches = (filter: HistogramFilter, node: number, metric: LatencyMetric, partition: number | null): boolean =>
  filter.metric === metric && (filter.node === undefined || filter.node === node) && (filter.partition ?? null) === partition;

export class HistogramStore {
  private readonly keys = new Map<string, KeyState>();
  /**
   * Series queries poll every second over the same buckets; decoding and merging every window of
   * every bucket each time cost ~0.8 s for 5 minutes. A bucket's summary is kept until a window
   * that starts in it arrives (exact invalidation), so a poll merges only the newest bucket.
   */
  private readonly summaryGroups = new Map<string, SummaryGroup>();
  private encodedBytes = 0;
  windowsStored = 0;
  windowsSkippedEmpty = 0;
  windowsRejected = 0;

  add(node: number, metric: LatencyMetric, partition: number | null, window: Window): void {
    if (!ENCODED_SHAPE.test(window.encoded)) {
      this.windowsRejected++;
      return;
    }
    if (window.encoded === EMPTY_ENCODED) {
      this.windowsSkippedEmpty++;
      return;
    }
    const key = keyOf(node, metric, partition);
    let state = this.keys.get(key);
    if (state === undefined) {
      state = { node, metric, partition, windows: [], rollups: new Map(), openMinute: null, latestEndMs: 0 };
      this.keys.set(key, state);
      this.summaryGroups.clear();
    }
    const last = state.windows[state.windows.length - 1];
    if (last !== undefined && window.startMs <= last.startMs) return; // duplicate or out of order: scrapes ask `since`
    const minute = minuteOf(window.startMs);
    if (state.openMinute !== null && minute > state.openMinute) this.closeMinute(state, state.openMinute);
    state.openMinute = minute;
    state.windows.push({ ...window });
    state.latestEndMs = Math.max(state.latestEndMs, window.endMs);
    for (const group of this.summaryGroups.values()) {
      if (matches(group.filter, node, metric, partition)) group.buckets.delete(Math.floor(window.startMs / group.resolutionMs) * group.resolutionMs);
    }
    this.encodedBytes += window.encoded.length;
    this.windowsStored++;
    this.evict(state, window.endMs);
  }

  private closeMinute(state: KeyState, minute: number): void {
    const encoded = state.windows.filter((w) => minuteOf(w.startMs) === minute).map((w) => w.encoded);
    if (encoded.length === 0 || state.rollups.has(minute)) return;
    const rollup = encodeHistogram(mergeEncoded(encoded));
    state.rollups.set(minute, rollup);
    this.encodedBytes += rollup.length;
  }

  private evict(state: KeyState, nowMs: number): void {
    const windowRetention = state.partition === null ? NODE_WINDOW_RETENTION_MS : PARTITION_WINDOW_RETENTION_MS;
    let drop = 0;
    while (drop < state.windows.length && (state.windows[drop]?.endMs ?? 0) < nowMs - windowRetention) {
      this.encodedBytes -= state.windows[drop]?.encoded.length ?? 0;
      drop++;
    }
    if (drop > 0) state.windows.splice(0, drop);
    for (const [minute, encoded] of state.rollups) {
      if (minute + ROLLUP_MS >= nowMs - ROLLUP_RETENTION_MS && this.encodedBytes <= MAX_HISTOGRAM_BYTES) break;
      state.rollups.delete(minute);
      this.encodedBytes -= encoded.length;
    }
  }

  /** The encodings covering [fromMs, toMs) for the matching keys: rollups for whole minutes, windows for the edges. */
  select(filter: HistogramFilter, fromMs: number, toMs: number): string[] {
    const out: string[] = [];
    for (const state of this.keys.values()) {
      if (state.metric !== filter.metric) continue;
      if (filter.node !== undefined && state.node !== filter.node) continue;
      // Node-wide and per-partition windows overlap: a query takes one or the other, never both.
      if ((filter.partition ?? null) !== state.partition) continue;
      const usedMinutes = new Set<number>();
      for (const [minute, encoded] of state.rollups) {
        if (minute >= fromMs && minute + ROLLUP_MS <= toMs) {
          out.push(encoded);
          usedMinutes.add(minute);
        }
      }
      for (const w of state.windows) {
        if (w.startMs < fromMs || w.startMs >= toMs || usedMinutes.has(minuteOf(w.startMs))) continue;
        out.push(w.encoded);
      }
    }
    return out;
  }

  merge(filter: HistogramFilter, fromMs: number, toMs: number): { histogram: Histogram; parts: number } {
    const parts = this.select(filter, fromMs, toMs);
    try {
      return { histogram: mergeEncoded(parts), parts: parts.length };
    } catch {
      // A window that passed the ingest check but does not decode: skip it, never fail the query.
      const good = parts.filter((p) => {
        try {
          decodeHistogram(p);
          return true;
        } catch {
          return false;
        }
      });
      return { histogram: mergeEncoded(good), parts: good.length };
    }
  }

  /** Summaries of each bucket [t, t + resolutionMs) with windows, for t from the bucket holding fromMs to toMs. */
  bucketSummaries(filter: HistogramFilter, fromMs: number, toMs: number, resolutionMs: number): { tMs: number; summary: LatencySummary }[] {
    const groupKey = `${filter.metric}|${filter.node ?? '*'}|${filter.partition ?? '-'}|${resolutionMs}`;
    let group = this.summaryGroups.get(groupKey);
    if (group === undefined) {
      group = { filter: { ...filter }, resolutionMs, buckets: new Map() };
      this.summaryGroups.set(groupKey, group);
      if (this.summaryGroups.size > SUMMARY_GROUPS_MAX) this.summaryGroups.delete(this.summaryGroups.keys().next().value ?? groupKey);
    }
    const out: { tMs: number; summary: LatencySummary }[] = [];
    for (let t = Math.floor(fromMs / resolutionMs) * resolutionMs; t < toMs; t += resolutionMs) {
      let bucket = group.buckets.get(t);
      if (bucket === undefined) {
        bucket = summary(this.merge(filter, t, t + resolutionMs).histogram);
        group.buckets.set(t, bucket);
        if (group.buckets.size > SUMMARY_BUCKETS_PER_GROUP_MAX) group.buckets.delete(group.buckets.keys().next().value ?? t);
      }
      if (bucket.count > 0) out.push({ tMs: t, summary: bucket });
    }
    return out;
  }

  /** Newest window end over the matching keys (0 when none). */
  latestEndMs(filter: HistogramFilter): number {
    let latest = 0;
    for (const s of this.keys.values()) {
      if (s.metric === filter.metric && (filter.node === undefined || s.node === filter.node)) latest = Math.max(latest, s.latestEndMs);
    }
    return latest;
  }

  stats(): { keys: number; windows: number; rollups: number; bytes: number } {
    let windows = 0;
    let rollups = 0;
    for (const s of this.keys.values()) {
      windows += s.windows.length;
      rollups += s.rollups.size;
    }
    return { keys: this.keys.size, windows, rollups, bytes: this.encodedBytes };
  }
}

function encodeHistogram(h: Histogram): string {
  return encodeIntoCompressedBase64(h);
}
