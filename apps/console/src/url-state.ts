// The view's whole state lives in the URL query, so a pasted link restores page, range and filters.
// A query parameter (not the path) names the page: it works behind any static file server.

export const PAGES = ['overview', 'latency', 'replication', 'partitions', 'traces', 'faults', 'drills', 'audit'] as const;
export type PageId = (typeof PAGES)[number];

export const LATENCY_METRICS = ['append', 'fsync', 'replication-rtt'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

/** Live windows offered by the picker, shortest first. */
export const RANGE_WINDOWS = [
  { label: '1m', ms: 60_000 },
  { label: '5m', ms: 5 * 60_000 },
  { label: '15m', ms: 15 * 60_000 },
  { label: '1h', ms: 60 * 60_000 },
] as const;
export const DEFAULT_WINDOW_MS = 5 * 60_000;

export interface FixedRange {
  fromMs: number;
  toMs: number;
}

/** Live when `fixed` is null: the window ends now and moves; otherwise paused on `fixed`. */
export interface RangeSpec {
  windowMs: number;
  fixed: FixedRange | null;
}

export interface ViewState {
  page: PageId;
  range: RangeSpec;
  node: number | null;
  partition: number | null;
  metric: LatencyMetric;
  /** A second ("before") range drawn on the same latency chart. */
  compare: FixedRange | null;
  trace: string | null;
  /** Audit cursor: entries older than this sequence number (null = newest). */
  auditBefore: number | null;
  /** Time scrubbing: the partition map and replication state at this moment (null = now). */
  at: number | null;
}

export const DEFAULT_VIEW: ViewState = {
  page: 'overview',
  range: { windowMs: DEFAULT_WINDOW_MS, fixed: null },
  node: null,
  partition: null,
  metric: 'append',
  compare: null,
  trace: null,
  auditBefore: null,
  at: null,
};

function windowLabel(ms: number): string {
  const preset = RANGE_WINDOWS.find((w) => w.ms === ms);
  if (preset) return preset.label;
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

export function parseWindow(text: string | null): number | null {
  if (!text) return null;
  const m = /^(\d+)(s|m|h)$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unitMs = m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 3_600_000;
  return n > 0 ? n * unitMs : null;
}

function parseInt0(text: string | null): number | null {
  if (text === null || !/^\d+$/.test(text)) return null;
  return Number(text);
}

function parseFixed(from: string | null, to: string | null): FixedRange | null {
  const fromMs = parseInt0(from);
  const toMs = parseInt0(to);
  if (fromMs === null || toMs === null || toMs <= fromMs) return null;
  return { fromMs, toMs };
}

export function parseView(search: string): ViewState {
  const q = new URLSearchParams(search);
  const page = q.get('page');
  const metric = q.get('metric');
  return {
    page: (PAGES as readonly string[]).includes(page ?? '') ? (page as PageId) : DEFAULT_VIEW.page,
    range: {
      windowMs: parseWindow(q.get('range')) ?? DEFAULT_WINDOW_MS,
      fixed: parseFixed(q.get('from'), q.get('to')),
    },
    node: parseInt0(q.get('node')),
    partition: parseInt0(q.get('partition')),
    metric: (LATENCY_METRICS as readonly string[]).includes(metric ?? '') ? (metric as LatencyMetric) : 'append',
    compare: parseFixed(q.get('cfrom'), q.get('cto')),
    trace: q.get('trace') || null,
    auditBefore: parseInt0(q.get('before')),
    at: parseInt0(q.get('at')),
  };
}

/** Serializes only what differs from the defaults, in a stable order, so links stay short and comparable. */
export function serializeView(v: ViewState): string {
  const q = new URLSearchParams();
  q.set('page', v.page);
  if (v.range.windowMs !== DEFAULT_WINDOW_MS) q.set('range', windowLabel(v.range.windowMs));
  if (v.range.fixed) {
    q.set('from', String(v.range.fixed.fromMs));
    q.set('to', String(v.range.fixed.toMs));
  }
  if (v.node !== null) q.set('node', String(v.node));
  if (v.partition !== null) q.set('partition', String(v.partition));
  if (v.metric !== 'append') q.set('metric', v.metric);
  if (v.compare) {
    q.set('cfrom', String(v.compare.fromMs));
    q.set('cto', String(v.compare.toMs));
  }
  if (v.trace) q.set('trace', v.trace);
  if (v.auditBefore !== null) q.set('before', String(v.auditBefore));
  if (v.at !== null) q.set('at', String(v.at));
  return `?${q.toString()}`;
}

/** The concrete [from, to) of a range at a given instant. */
export function resolveRange(spec: RangeSpec, nowMs: number): FixedRange {
  return spec.fixed ?? { fromMs: nowMs - spec.windowMs, toMs: nowMs };
}
