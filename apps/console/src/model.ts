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

export type ReplicaRole = 'leader' | 'follower' | 'lagging' | 'offline';

export interface ReplicaLag {
  partition: number;
  node: number;
  role: ReplicaRole;
  lagRecords: number | null;
  lagSeconds: number | null;
  lagRecordsSeries: Point[];
  lagSecondsSeries: Point[];
}

export interface ReplicationModel {
  range: FixedRange;
  underReplicated: number[];
  replicas: ReplicaLag[];
}

export interface PartitionMapModel {
  nodes: { id: number; up: boolean }[];
  partitions: { id: number; leader: number | null; replicas: { node: number; role: ReplicaRole }[] }[];
}

export interface PartitionDetailModel {
  id: number;
  leader: number | null;
  term: number | null;
  commitIndex: number | null;
  highWatermark: number | null;
  replicas: { node: number; role: ReplicaRole; lagRecords: number | null; lagSeconds: number | null }[];
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

export function roleOf(r: { isLeader: boolean; inSync: boolean; up: boolean }): ReplicaRole {
  if (!r.up) return 'offline';
  if (r.isLeader) return 'leader';
  return r.inSync ? 'follower' : 'lagging';
}

export function adaptPartitionMap(m: Out['partitions']['map']): PartitionMapModel {
  const nodes = new Map<number, boolean>();
  for (const p of m.partitions) for (const r of p.replicaLag) nodes.set(r.replica, (nodes.get(r.replica) ?? false) || r.up);
  return {
    nodes: [...nodes].sort((a, b) => a[0] - b[0]).map(([id, up]) => ({ id, up })),
    partitions: m.partitions.map((p) => ({
      id: p.partition,
      leader: p.leader === 0 ? null : p.leader,
      replicas: p.replicaLag.map((r) => ({ node: r.replica, role: roleOf(r) })),
    })),
  };
}

export function adaptPartitionDetail(p: Out['partitions']['get']): PartitionDetailModel {
  return {
    id: p.partition,
    leader: p.leader === 0 ? null : p.leader,
    term: p.term,
    commitIndex: p.commitIndex,
    highWatermark: p.highWatermark,
    replicas: p.replicaLag.map((r) => ({
      node: r.replica,
      role: roleOf(r),
      lagRecords: r.isLeader ? 0 : r.lagRecords,
      lagSeconds: r.isLeader ? 0 : r.lagSeconds,
    })),
    elections: p.elections.map((e) => ({ atMs: e.atMs, term: e.term, leader: e.leader })),
  };
}

export function adaptReplication(l: Out['replication']['lag'], node: number | null): ReplicationModel {
  const replicas = l.replicas.filter((r) => node === null || r.replica === node);
  return {
    range: l.range,
    // The server's definition: a partition with a leader and a follower outside the in-sync set.
    underReplicated: [...new Set(l.replicas.filter((r) => !r.inSync && r.leader !== 0).map((r) => r.partition))].sort((a, b) => a - b),
    replicas: replicas.map((r) => ({
      partition: r.partition,
      node: r.replica,
      role: r.inSync ? 'follower' : 'lagging',
      lagRecords: r.lagRecords,
      lagSeconds: r.lagSeconds,
      lagRecordsSeries: r.points.map((p) => [p.tMs, p.lagRecords]),
      lagSecondsSeries: r.points.map((p) => [p.tMs, p.lagSeconds]),
    })),
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
