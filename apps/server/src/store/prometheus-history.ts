// History beyond the ring buffers: with `--prometheus URL`, the part of a range older than the
// console's oldest tick is read from a Prometheus server that scrapes the same nodes
// (query_range). The targets carry a `node` label (README: the scrape config), so each console
// series key maps to one PromQL expression.

import type { SeriesPoint, SeriesStore } from './series.ts';

/** Window of rate() for per-second series: 4 scrape intervals at Prometheus's usual 15 s. */
const PROM_RATE_WINDOW = '1m';
/** Prometheus refuses more than 11 000 points per series; stay well below. */
const PROM_POINTS_MAX = 10_000;
const PROM_TIMEOUT_MS = 10_000;

/** The console's series key → PromQL, or null when Prometheus has no such series. */
export function promqlFor(key: string): string | null {
  let m = /^node:(\d+):(up|appends_per_s|bytes_per_s|records_appended_total)$/.exec(key);
  if (m !== null) {
    const node = `{node="${m[1]}"}`;
    switch (m[2]) {
      case 'up': return `logscope_node_up${node}`;
      case 'appends_per_s': return `rate(logscope_records_appended_total${node}[${PROM_RATE_WINDOW}])`;
      case 'bytes_per_s': return `rate(logscope_bytes_appended_total${node}[${PROM_RATE_WINDOW}])`;
      default: return `logscope_records_appended_total${node}`;
    }
  }
  m = /^cluster:(appends_per_s|bytes_per_s)$/.exec(key);
  if (m !== null) return `sum(rate(logscope_${m[1] === 'appends_per_s' ? 'records' : 'bytes'}_appended_total[${PROM_RATE_WINDOW}]))`;
  m = /^lag_(records|seconds):(\d+):(\d+)$/.exec(key);
  if (m !== null) return `max(logscope_replica_lag_${m[1]}{partition="${m[2]}",replica="${m[3]}"})`;
  return null;
}

export class PrometheusHistory {
  private readonly base: string;

  constructor(baseUrl: string) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  async range(key: string, fromMs: number, toMs: number, stepMs: number): Promise<SeriesPoint[]> {
    const query = promqlFor(key);
    if (query === null || toMs <= fromMs) return [];
    const step = Math.max(stepMs, Math.ceil((toMs - fromMs) / PROM_POINTS_MAX));
    const params = new URLSearchParams({ query, start: String(fromMs / 1000), end: String((toMs - 1) / 1000), step: `${step / 1000}s` });
    const response = await fetch(`${this.base}/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(PROM_TIMEOUT_MS) });
    const body = (await response.json()) as { status: string; error?: string; data?: { result: { values: [number, string][] }[] } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`Prometheus ${this.base}: ${body.error ?? `HTTP ${response.status}`}`);
    // One series per key (the expressions select or aggregate to one).
    const values = body.data.result[0]?.values ?? [];
    return values.map(([t, v]) => ({ tMs: Math.round(t * 1000), value: Number(v) })).filter((p) => Number.isFinite(p.value));
  }
}

export interface SeriesRange {
  points: SeriesPoint[];
  /** Where the points came from: the ring buffer covers from `ringFromMs` on. */
  fromPrometheus: number;
  fromRing: number;
  ringFromMs: number | null;
}

/** Ring buffer for what it holds, Prometheus (when configured) for what came before it. */
export async function seriesRange(series: SeriesStore, prometheus: PrometheusHistory | null, key: string, fromMs: number, toMs: number, stepMs: number): Promise<SeriesRange> {
  const ringFromMs = series.oldestMs();
  const older = prometheus !== null && (ringFromMs === null || fromMs < ringFromMs)
    ? await prometheus.range(key, fromMs, ringFromMs === null ? toMs : Math.min(toMs, ringFromMs), stepMs)
    : [];
  const ring = ringFromMs === null ? [] : series.range(key, Math.max(fromMs, ringFromMs), toMs);
  return { points: [...older, ...ring], fromPrometheus: older.length, fromRing: ring.length, ringFromMs };
}
