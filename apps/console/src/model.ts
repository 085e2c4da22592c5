// Chart-ready view models the pages render. api.ts adapts the router's outputs into these, so the
// server's shapes are read in one place and the panels stay plain.
import type { RouterOutputs } from './api.ts';
import type { FixedRange, PageId, ViewState } from './url-state.ts';
import type { WaterfallSpan } from './charts/Waterfall.tsx';

export type Point = [tMs: number, value: number];

export interface Alert {
  id: string;
  severity: 'critical' | 'warning';
  title: string;
  detail: string;
  /** The page that explains it, with the filters that focus it. */
  page: PageId;
  params?: Partial<ViewState>;
}

export interface OverviewModel {
  nodesUp: number;
  nodesTotal: number;
  partitionsTotal: number;
  partitionsWithoutLeader: number;
  underReplicated: number;
  p99Ms: number | null;
  /** Samples behind the p99 (the trailing minute). */
  p99Samples: number;
  sloP99Ms: number;
  appendsPerSec: number | null;
  bytesPerSec: number;
  nodes: { id: number; up: boolean; downReason: string | null; partitionsLed: number; appendsPerSec: number }[];
  activeFaults: number;
  serverNowMs: number;
  alerts: Alert[];
}

export interface SpectrumModel {
  points: { quantile: number; ms: number }[];
  maxMs: number | null;
  count: number;
}

export interface LatencySeriesModel {
  /** The range as the server resolved it (a live window ends at the server's now). */
  range: FixedRange;
  resolutionMs: number;
  lines: { p50: Point[]; p99: Point[]; p999: Point[]; max: Point[] };
  /** Latency samples per second (one per acknowledged append request). */
  perSec: Point[];
}

export interface HeatmapModel {
  timesMs: number[];
  bucketsMs: number[];
  cells: [number, number, number][];
}

/** The server's one replica state (replica-state.ts), 'in-sync' shown as an in-sync follower. */
export type ReplicaRole = 'leader' | 'follower' | 'lagging' | 'offline' | 'unknown';

export type PartitionProblem = 'no leader' | 'under-replicated' | 'lagging' | 're-elected';

/** One replica as the console shows it; peakLag: the worst lag of a lagging episode (null otherwise or unknown). */
export interface ReplicaFigures {
  node: number;
  role: ReplicaRole;
  lagRecords: number | null;
  lagSeconds: number | null;
  peakLag: { records: number | null; seconds: number | null } | null;
}

/**
 * Why a follower whose lag now reads 0 is still "lagging": it caught up less than the hold ago
 * (the state has hysteresis so it does not flap), or the leader has not heard from it. Null when
 * the figures speak for themselves.
 */
export function heldLagText(r: ReplicaFigures): string | null {
  if (r.role !== 'lagging' || (r.lagRecords ?? 0) > 0 || (r.lagSeconds ?? 0) > 0) return null;
  const peak = r.peakLag;
  const was = [peak?.records ? `${peak.records} records` : null, peak?.seconds ? `${peak.seconds.toFixed(3)} s` : null].filter((x) => x !== null);
  if (was.length === 0) return 'no lag in figures, but its leader has not heard from it for over 10 s';
  return `caught up; was ${was.join(' / ')} behind (in sync again after 5 s without lag)`;
}

/** Replica figures from the server's shape (peakLag is absent at past moments of some answers). */
function replicaFigures(r: { node: number; state: ServerState; lagRecords: number | null; lagSeconds: number | null; peakLag?: { records: number | null; seconds: number | null } | null }): ReplicaFigures {
  return { node: r.node, role: roleOf(r), lagRecords: r.lagRecords, lagSeconds: r.lagSeconds, peakLag: r.peakLag ?? null };
}

export interface MapPartition {
  id: number;
  leader: number | null;
  term: number;
  replicas: ReplicaFigures[];
  problems: PartitionProblem[];
  elections: number;
  lagRecordsMax: number | null;
  lagSecondsMax: number | null;
  p99Ms: number | null;
  samples: number | null;
}

export interface PartitionMapModel {
  /** The moment shown; null = now. */
  atMs: number | null;
  earliestMs: number | null;
  serverNowMs: number;
  nodes: { id: number; up: boolean }[];
  partitions: MapPartition[];
}

export interface ReplicationSummaryModel {
  range: FixedRange;
  atMs: number | null;
  heatmap: { columnMs: number; timesMs: number[]; partitions: number[]; cells: [number, number, number][]; rowsOmitted: number };
  laggards: { partition: number; node: number; peakRecords: number; records: Point[]; seconds: Point[] }[];
  underReplicated: { partition: number; leader: number | null; replicas: ReplicaFigures[] }[];
  stateCounts: Record<ReplicaRole, number>;
}

export interface Annotation {
  id: string;
  kind: 'fault' | 'step';
  label: string;
  by: string | null;
  startMs: number;
  /** null = still open (fault not healed). Steps have endMs = startMs. */
  endMs: number | null;
  healedBy: string | null;
}

export interface EpochModel {
  range: FixedRange;
  epochs: { fromMs: number; toMs: number; leader: number | null; term: number }[];
}

/** A replica in the partition detail: its figures and the offsets its own node reports (null: down, not scraped, or not reported). */
export interface ReplicaDetail extends ReplicaFigures {
  /** The first offset it still holds: retention deleted the records before it, and a read below fails (OffsetOutOfRange). */
  logStartOffset: number | null;
  /** The offset its next record will take. */
  logEndOffset: number | null;
}

export interface PartitionDetailModel {
  id: number;
  leader: number | null;
  term: number | null;
  commitIndex: number | null;
  highWatermark: number | null;
  replicas: ReplicaDetail[];
  elections: { atMs: number; term: number | null; leader: number | null; detail?: string }[];
}

export interface TraceSummary {
  traceId: string;
  startMs: number;
  totalMs: number;
  partition: number;
  spanCount: number;
}

export interface TraceDetailModel {
  traceId: string;
  totalMs: number;
  partition: number;
  spans: WaterfallSpan[];
  culprit: string | null;
}

export interface AuditEntry {
  seq: number;
  atMs: number;
  actor: string;
  action: string;
  detail: string;
  outcome: string;
  /** The entry as an action ("crash node 2 for at most 60 s"). */
  text: string;
  /** The drill run this action belongs to, if any. */
  drillRunId: string | null;
}

export interface AuditPageModel {
  entries: AuditEntry[];
  nextCursor: number | null;
  total: number;
}

// ---- adapters: router output → view model ----

type Out = RouterOutputs;
const ms = (micros: number): number => micros / 1000;

export function adaptOverview(o: Out['cluster']['overview']): OverviewModel {
  return {
    nodesUp: o.nodes.filter((n) => n.up).length,
    nodesTotal: o.nodes.length,
    partitionsTotal: o.partitionCount,
    partitionsWithoutLeader: o.leaderlessPartitions.length,
    underReplicated: o.underReplicatedPartitions.length,
    p99Ms: o.appendLatency.count > 0 ? ms(o.appendLatency.p99Micros) : null,
    p99Samples: o.appendLatency.count,
    sloP99Ms: o.sloP99Ms,
    appendsPerSec: o.appendsPerSec,
    bytesPerSec: o.bytesPerSec,
    nodes: o.nodes.map((n) => ({ id: n.nodeId, up: n.up, downReason: n.downReason, partitionsLed: n.partitionsLed, appendsPerSec: n.appendsPerSec })),
    activeFaults: o.activeFaults.length,
    serverNowMs: o.nowMs,
    alerts: o.alerts.map((a, i) => {
      // A down node is explained by the partition map (its replicas read "off"), not by the Overview itself.
      const page: PageId = a.kind === 'node-down' ? 'partitions' : a.page;
      const params: Partial<ViewState> = {};
      if (a.partition !== undefined) params.partition = a.partition;
      if (a.node !== undefined && page !== 'partitions') params.node = a.node;
      return { id: `${a.kind}-${a.node ?? a.partition ?? i}`, severity: a.severity, title: a.kind.replace(/-/g, ' '), detail: a.message, page, params };
    }),
  };
}

export function adaptSpectrum(h: Out['latency']['histogram']): SpectrumModel {
  const max = h.spectrum.find((p) => p.percentile >= 100);
  return {
    points: h.count === 0 ? [] : h.spectrum.filter((p) => p.percentile < 100).map((p) => ({ quantile: p.percentile / 100, ms: ms(p.valueMicros) })),
    maxMs: h.count > 0 && max ? ms(max.valueMicros) : null,
    count: h.count,
  };
}

export function adaptSeries(s: Out['latency']['series']): LatencySeriesModel {
  const pts = s.points;
  return {
    range: s.range,
    resolutionMs: s.resolutionMs,
    lines: {
      p50: pts.map((p) => [p.tMs, ms(p.p50Micros)]),
      p99: pts.map((p) => [p.tMs, ms(p.p99Micros)]),
      p999: pts.map((p) => [p.tMs, ms(p.p999Micros)]),
      max: pts.map((p) => [p.tMs, ms(p.maxMicros)]),
    },
    perSec: pts.map((p) => [p.tMs, p.count / (s.resolutionMs / 1000)]),
  };
}

/** Upper bounds of the heatmap's latency rows, log-spaced 1-2-5 from 50 µs to 10 s. */
export const HEATMAP_BUCKETS_MS = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000];
export const HEATMAP_COLUMNS_MAX = 30;

export function heatmapColumns(r: FixedRange): FixedRange[] {
  const widthMs = Math.max(10_000, Math.ceil((r.toMs - r.fromMs) / HEATMAP_COLUMNS_MAX / 10_000) * 10_000);
  const out: FixedRange[] = [];
  for (let t = Math.floor(r.fromMs / widthMs) * widthMs; t < r.toMs; t += widthMs) out.push({ fromMs: t, toMs: t + widthMs });
  return out;
}

/**
 * Spreads each column's exact percentile spectrum over the log buckets: the writes between two
 * neighbouring percentiles lie at or below the upper one's value (HDR's convention), so they are
 * counted in that value's bucket.
 */
export function adaptHeatmap(columns: FixedRange[], hists: Out['latency']['histogram'][]): HeatmapModel {
  const cells: [number, number, number][] = [];
  hists.forEach((h, x) => {
    if (h.count === 0) return;
    const perBucket = new Map<number, number>();
    let prev = 0;
    for (const p of h.spectrum) {
      const mass = ((p.percentile - prev) / 100) * h.count;
      prev = p.percentile;
      if (mass <= 0) continue;
      const v = ms(p.valueMicros);
      let y = HEATMAP_BUCKETS_MS.findIndex((b) => v <= b);
      if (y < 0) y = HEATMAP_BUCKETS_MS.length - 1;
      perBucket.set(y, (perBucket.get(y) ?? 0) + mass);
    }
    for (const [y, n] of perBucket) cells.push([x, y, Math.round(n)]);
  });
  return { timesMs: columns.map((c) => c.fromMs), bucketsMs: HEATMAP_BUCKETS_MS, cells };
}

type ServerState = 'leader' | 'in-sync' | 'lagging' | 'offline' | 'unknown';

/** The server decides the state; the console only names it. */
export function roleOf(r: { state: ServerState }): ReplicaRole {
  return r.state === 'in-sync' ? 'follower' : r.state;
}

export function problemsOf(p: { leader: number; underReplicated: boolean; recentlyElected: boolean; replicas: { state: ServerState }[] }): PartitionProblem[] {
  const out: PartitionProblem[] = [];
  if (p.leader === 0) out.push('no leader');
  if (p.underReplicated) out.push('under-replicated');
  if (p.replicas.some((r) => r.state === 'lagging')) out.push('lagging');
  if (p.recentlyElected) out.push('re-elected');
  return out;
}

export function adaptPartitionMap(m: Out['partitions']['grid']): PartitionMapModel {
  return {
    atMs: m.atMs,
    earliestMs: m.earliestMs,
    serverNowMs: m.nowMs,
    nodes: m.nodes.map((n) => ({ id: n.node, up: n.up })),
    partitions: m.partitions.map((p) => ({
      id: p.partition,
      leader: p.leader === 0 ? null : p.leader,
      term: p.term,
      replicas: p.replicas.map(replicaFigures),
      problems: problemsOf(p),
      elections: p.elections,
      lagRecordsMax: p.lagRecordsMax,
      lagSecondsMax: p.lagSecondsMax,
      p99Ms: p.p99Micros === null ? null : ms(p.p99Micros),
      samples: p.appendSamples,
    })),
  };
}

export function adaptReplicationSummary(s: Out['replication']['summary']): ReplicationSummaryModel {
  const counts: Record<ReplicaRole, number> = { leader: 0, follower: 0, lagging: 0, offline: 0, unknown: 0 };
  for (const [state, n] of Object.entries(s.stateCounts)) counts[roleOf({ state: state as ServerState })] += n;
  return {
    range: s.range,
    atMs: s.atMs,
    heatmap: s.heatmap,
    laggards: s.laggards.map((l) => ({ partition: l.partition, node: l.replica, peakRecords: l.peakRecords, records: l.records, seconds: l.seconds })),
    underReplicated: s.underReplicated.map((u) => ({
      partition: u.partition,
      leader: u.leader === 0 ? null : u.leader,
      replicas: u.replicas.map(replicaFigures),
    })),
    stateCounts: counts,
  };
}

export function adaptAnnotations(a: Out['annotations']['list']): Annotation[] {
  return [
    ...a.windows.map((w) => ({ id: w.id, kind: 'fault' as const, label: w.label, by: w.by, startMs: w.startMs, endMs: w.endMs, healedBy: w.healedBy })),
    ...a.steps.map((st) => ({ id: st.id, kind: 'step' as const, label: st.label, by: null, startMs: st.tMs, endMs: st.tMs, healedBy: null })),
  ];
}

export function adaptEpochs(e: Out['partitions']['epochs']): EpochModel {
  return { range: e.range, epochs: e.epochs.map((x) => ({ ...x, leader: x.leader === 0 ? null : x.leader })) };
}

export function adaptPartitionDetail(p: Out['partitions']['get']): PartitionDetailModel {
  return {
    id: p.partition,
    leader: p.leader === 0 ? null : p.leader,
    term: p.term,
    commitIndex: p.commitIndex,
    highWatermark: p.highWatermark,
    replicas: p.replicaLag.map((r) => ({ ...replicaFigures({ ...r, node: r.replica }), logStartOffset: r.logStartOffset, logEndOffset: r.logEndOffset })),
    elections: p.elections.map((e) => ({ atMs: e.atMs, term: e.term, leader: e.leader })),
  };
}

export function adaptTraceSummaries(list: Out['traces']['slowest']): TraceSummary[] {
  return list.map((t) => ({ traceId: t.traceId, startMs: t.startMs, totalMs: ms(t.totalMicros), partition: t.partition, spanCount: t.spanCount }));
}

interface SpanLike {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  nodeId: number;
  startUnixNano: string;
  endUnixNano: string;
  durationMicros: number;
  attributes: Record<string, string | number | boolean>;
}

export function spanLabel(s: SpanLike): string {
  const replica = s.attributes['replica.id'];
  if (replica !== undefined) return `${s.name} (replica ${replica})`;
  return `${s.name} (node ${s.nodeId})`;
}

/**
 * The span that made the write slow: the longest leaf on the critical path, i.e. among leaves
 * that end before the commit began (a follower slower than the quorum did not delay the ack),
 * plus commit and ack themselves.
 */
export function culpritOf(spans: SpanLike[]): SpanLike | null {
  const parents = new Set(spans.map((s) => s.parentSpanId).filter((p) => p !== null));
  const commit = spans.find((s) => s.name === 'commit');
  const commitStart = commit ? BigInt(commit.startUnixNano) : null;
  let best: SpanLike | null = null;
  for (const s of spans) {
    if (parents.has(s.spanId) || s.parentSpanId === null) continue;
    const onPath = commitStart === null || s === commit || s.name === 'ack' || BigInt(s.endUnixNano) <= commitStart + 1_000n;
    if (onPath && (best === null || s.durationMicros > best.durationMicros)) best = s;
  }
  return best;
}

export function adaptTrace(t: Out['traces']['get']): TraceDetailModel {
  const spans = [...t.spans].sort((a, b) => (BigInt(a.startUnixNano) < BigInt(b.startUnixNano) ? -1 : 1));
  const t0 = spans.length > 0 ? spans.reduce((m, s) => (BigInt(s.startUnixNano) < m ? BigInt(s.startUnixNano) : m), BigInt(spans[0]!.startUnixNano)) : 0n;
  const culprit = culpritOf(spans);
  return {
    traceId: t.traceId,
    totalMs: ms(t.totalMicros),
    partition: t.partition,
    culprit: culprit ? spanLabel(culprit) : null,
    spans: spans.map((s) => ({
      label: spanLabel(s),
      startMs: Number(BigInt(s.startUnixNano) - t0) / 1e6,
      durationMs: ms(s.durationMicros),
      culprit: s === culprit,
    })),
  };
}

export function adaptAudit(p: Out['audit']['list']): AuditPageModel {
  return {
    entries: p.entries.map((e) => ({
      seq: e.seq,
      atMs: e.timeMs,
      actor: e.role,
      action: e.action,
      detail: e.input === undefined ? '' : JSON.stringify(e.input),
      outcome: e.message ? `${e.outcome}: ${e.message}` : e.outcome,
      text: e.text,
      drillRunId: e.drillRunId,
    })),
    nextCursor: p.nextCursor,
    total: p.total,
  };
}
