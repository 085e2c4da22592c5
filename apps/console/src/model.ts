// Chart-ready view models the pages render. api.ts adapts the router's outputs into these, so the
// server's shapes are read in one place and the panels stay plain.
import type { PageId, ViewState } from './url-state.ts';
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
  lastScrapeMs: number | null;
  p99Series: Point[];
  appendsSeries: Point[];
  alerts: Alert[];
}

export interface SpectrumModel {
  points: { quantile: number; ms: number }[];
  maxMs: number | null;
  count: number;
}

export interface LatencyModel {
  spectrum: SpectrumModel;
  lines: { p50: Point[]; p99: Point[]; p999: Point[]; max: Point[] };
  heatmap: { timesMs: number[]; bucketsMs: number[]; cells: [number, number, number][] };
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
  culprit: string | null;
}

export interface TraceDetailModel {
  traceId: string;
  totalMs: number;
  partition: number;
  spans: WaterfallSpan[];
  culprit: string | null;
}

export interface AuditEntry {
  id: string;
  atMs: number;
  actor: string;
  action: string;
  detail: string;
  outcome: string;
}

export interface AuditPageModel {
  entries: AuditEntry[];
  hasMore: boolean;
  total: number | null;
}

/** Alerts the console raises from the health figures, each pointing at the page that explains it. */
export function deriveAlerts(m: Omit<OverviewModel, 'alerts'>): Alert[] {
  const alerts: Alert[] = [];
  const down = m.nodesTotal - m.nodesUp;
  if (down > 0)
    alerts.push({
      id: 'nodes-down',
      severity: 'critical',
      title: `${down} node${down === 1 ? '' : 's'} down`,
      detail: `${m.nodesUp} of ${m.nodesTotal} nodes answer scrapes. Their replicas show as offline on the partition map.`,
      page: 'partitions',
    });
  if (m.partitionsWithoutLeader > 0)
    alerts.push({
      id: 'no-leader',
      severity: 'critical',
      title: `${m.partitionsWithoutLeader} partition${m.partitionsWithoutLeader === 1 ? '' : 's'} without a leader`,
      detail: 'Appends to these partitions are unavailable until an election completes.',
      page: 'partitions',
    });
  if (m.underReplicated > 0)
    alerts.push({
      id: 'under-replicated',
      severity: 'warning',
      title: `${m.underReplicated} under-replicated partition${m.underReplicated === 1 ? '' : 's'}`,
      detail: 'Some followers are out of the in-sync set; one more failure may stall commits.',
      page: 'replication',
    });
  if (m.p99Ms !== null && m.p99Ms > m.sloP99Ms)
    alerts.push({
      id: 'p99-slo',
      severity: 'warning',
      title: `Append p99 above SLO`,
      detail: `p99 is ${m.p99Ms.toFixed(1)} ms against an SLO of ${m.sloP99Ms} ms.`,
      page: 'latency',
      params: { metric: 'append' },
    });
  return alerts;
}
