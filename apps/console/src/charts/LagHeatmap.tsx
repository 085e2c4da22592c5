import { useMemo } from 'react';
import { EChart } from './EChart.tsx';
import type { ChartOption } from './echarts.ts';
import { GRID } from './theme.ts';
import { formatCount, formatTime } from '../format.ts';
import type { Annotation } from '../model.ts';
import { FaultTrack } from './FaultTrack.tsx';

export interface LagHeatmapProps {
  timesMs: number[];
  columnMs: number;
  /** Row labels: the laggiest partitions first. */
  partitions: number[];
  /** [column, row, worst follower lag in records] */
  cells: [number, number, number][];
  annotations?: Annotation[] | undefined;
  label: string;
  testId?: string;
}

/** Replication lag as partition × time: one row per partition (worst follower), one cell per column. */
export function LagHeatmap({ timesMs, columnMs, partitions, cells, annotations, label, testId }: LagHeatmapProps) {
  const option = useMemo<ChartOption>(() => {
    const maxLag = cells.reduce((m, c) => Math.max(m, c[2]), 1);
    return {
      animation: false,
      grid: { ...GRID, right: 90 },
      tooltip: {
        formatter: (p) => {
          const item = Array.isArray(p) ? p[0] : p;
          const [x = 0, y = 0, n = 0] = (item?.value ?? []) as number[];
          return `partition ${partitions[y] ?? '?'} · ${formatTime(timesMs[x] ?? 0)}: worst follower ${formatCount(n)} records behind`;
        },
      },
      xAxis: { type: 'category', name: 'time', nameLocation: 'middle', nameGap: 28, data: timesMs.map((t) => formatTime(t)) },
      yAxis: { type: 'category', name: 'partition (laggiest first)', inverse: true, data: partitions.map((p) => `p${p}`) },
      visualMap: {
        type: 'piecewise',
        // Log-spaced bands (1, 10, 100 … records) keep a small lag visible next to a crashed follower's.
        pieces: [
          { min: 0, max: 9, label: '1–9 records', color: '#fde0c5' },
          { min: 10, max: 99, label: '10–99', color: '#facba6' },
          { min: 100, max: 999, label: '100–999', color: '#f59e72' },
          { min: 1_000, max: 9_999, label: '1k–10k', color: '#e4574e' },
          { min: 10_000, label: '≥ 10k', color: '#8b1e2d' },
        ],
        orient: 'vertical',
        right: 0,
        top: 'middle',
        text: ['records', ''],
        show: maxLag > 0,
      },
      series: [{ type: 'heatmap', data: cells, progressive: 0 }],
    };
  }, [timesMs, partitions, cells]);
  const height = Math.min(520, 120 + partitions.length * 14);
  const last = timesMs[timesMs.length - 1];
  return (
    <>
      <EChart option={option} label={label} testId={testId} height={height} />
      {annotations && timesMs[0] !== undefined && last !== undefined && <FaultTrack annotations={annotations} range={{ fromMs: timesMs[0], toMs: last + columnMs }} />}
    </>
  );
}
