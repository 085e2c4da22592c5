// What the Replication page shows at fleet scale: a lag heatmap (partition × time, worst follower
// per cell), the top-N laggards as lines, the under-replicated partitions with the replica that
// makes each one so, and the count of replicas per state. One request, bounded whatever the
// partition count.

import { partitionGrid } from './partition-map.ts';
import type { ReplicaState } from './replica-state.ts';
import type { Services } from './services.ts';
import { downsampleMax } from './store/series.ts';

/** Heatmap columns over the range. */
export const LAG_HEATMAP_COLUMNS = 60;
/** Heatmap rows at most (the laggiest partitions); the rest are counted. */
export const LAG_HEATMAP_ROWS_MAX = 200;
export const LAGGARDS_MAX = 20;

export interface ReplicationSummaryInput {
  fromMs: number;
  toMs: number;
  /** The state at this moment (scrubbing); null = now. */
  atMs: number | null;
  top: number;
  node: number | null;
  partition: number | null;
}

export function replicationSummary(services: Services, input: ReplicationSummaryInput, nowMs = Date.now()) {
  const { fromMs, toMs } = input;
  const columnMs = Math.max(1_000, Math.ceil((toMs - fromMs) / LAG_HEATMAP_COLUMNS / 1_000) * 1_000);
  const from = Math.floor(fromMs / columnMs) * columnMs;
  const columns = Math.ceil((toMs - from) / columnMs);
  const keep = (p: number, r: number) => (input.partition === null || p === input.partition) && (input.node === null || r === input.node);

  // Per (partition, follower): downsampled lag; per partition: the worst follower per column.
  const rows = new Map<number, number[]>();
  const lines: { partition: number; replica: number; peakRecords: number; records: [number, number][]; seconds: [number, number][] }[] = [];
  for (const key of services.series.keys('lag_records:')) {
    const [, ps, rs] = key.split(':');
    const p = Number(ps);
    const r = Number(rs);
    if (!keep(p, r)) continue;
    const pts = downsampleMax(services.series.range(key, fromMs, toMs), from, columnMs);
    if (pts.length === 0) continue;
    let row = rows.get(p);
    if (row === undefined) rows.set(p, (row = new Array<number>(columns).fill(0)));
    let peak = 0;
    for (const pt of pts) {
      const x = Math.floor((pt.tMs - from) / columnMs);
      if (x >= 0 && x < columns) row[x] = Math.max(row[x] ?? 0, pt.value);
      peak = Math.max(peak, pt.value);
    }
    if (peak > 0) {
      const secs = downsampleMax(services.series.range(`lag_seconds:${p}:${r}`, fromMs, toMs), from, columnMs);
      lines.push({ partition: p, replica: r, peakRecords: peak, records: pts.map((pt) => [pt.tMs, pt.value]), seconds: secs.map((pt) => [pt.tMs, pt.value]) });
    }
  }
  const ranked = [...rows].map(([p, row]) => ({ partition: p, row, peak: Math.max(0, ...row) })).filter((r) => r.peak > 0).sort((a, b) => b.peak - a.peak || a.partition - b.partition);
  const heatRows = ranked.slice(0, LAG_HEATMAP_ROWS_MAX);

  const grid = partitionGrid(services, { atMs: input.atMs ?? undefined }, nowMs);
  const stateCounts: Record<ReplicaState, number> = { leader: 0, 'in-sync': 0, lagging: 0, offline: 0, unknown: 0 };
  const under = [];
  for (const p of grid.partitions) {
    if (input.partition !== null && p.partition !== input.partition) continue;
    for (const r of p.replicas) if (input.node === null || r.node === input.node) stateCounts[r.state]++;
    if (p.underReplicated && (input.node === null || p.replicas.some((r) => r.node === input.node))) {
      under.push({ partition: p.partition, leader: p.leader, replicas: p.replicas.filter((r) => r.state === 'lagging' || r.state === 'offline') });
    }
  }
  return {
    range: { fromMs, toMs },
    atMs: grid.atMs,
    heatmap: {
      columnMs,
      timesMs: Array.from({ length: columns }, (_, i) => from + i * columnMs),
      partitions: heatRows.map((r) => r.partition),
      /** [column, row, worst lag records] for non-zero cells. */
      cells: heatRows.flatMap((r, y) => r.row.flatMap((v, x) => (v > 0 ? [[x, y, v] as [number, number, number]] : []))),
      rowsOmitted: ranked.length - heatRows.length,
    },
    laggards: lines.sort((a, b) => b.peakRecords - a.peakRecords || a.partition - b.partition).slice(0, Math.min(input.top, LAGGARDS_MAX)),
    underReplicated: under,
    stateCounts,
  };
}
