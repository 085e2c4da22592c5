import { useMemo } from 'react';
import { EChart } from './EChart.tsx';
import type { ChartOption } from './echarts.ts';
import { GRID } from './theme.ts';
import { formatMs, formatTime } from '../format.ts';

export interface LatencyHeatmapProps {
  /** Start of each time column, unix ms. */
  timesMs: number[];
  /** Upper bound of each latency row, ms, ascending (log-spaced, so rows read as a log y axis). */
  bucketsMs: number[];
  /** [column, row, count] */
  cells: [number, number, number][];
  label: string;
  testId?: string;
}

export function LatencyHeatmap({ timesMs, bucketsMs, cells, label, testId }: LatencyHeatmapProps) {
  const option = useMemo<ChartOption>(() => {
    const maxCount = cells.reduce((m, c) => Math.max(m, c[2]), 1);
    return {
      animation: false,
      grid: { ...GRID, right: 90 },
      tooltip: {
        formatter: (p) => {
          const item = Array.isArray(p) ? p[0] : p;
          const v = (item?.value ?? []) as number[];
          const [x = 0, y = 0, n = 0] = v;
          return `${formatTime(timesMs[x] ?? 0)} · ≤ ${formatMs(bucketsMs[y])}: ${n} writes`;
        },
      },
      xAxis: {
        type: 'category',
        name: 'time',
        nameLocation: 'middle',
        nameGap: 28,
        data: timesMs.map((t) => formatTime(t)),
      },
      yAxis: {
        type: 'category',
        name: 'latency (ms, log buckets)',
        data: bucketsMs.map((b) => `≤ ${formatMs(b)}`),
      },
      visualMap: {
        min: 0,
        max: maxCount,
        calculable: false,
        orient: 'vertical',
        right: 0,
        top: 'middle',
        text: ['writes', ''],
        inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] },
      },
      series: [{ type: 'heatmap', data: cells, progressive: 0 }],
    };
  }, [timesMs, bucketsMs, cells]);
  return <EChart option={option} label={label} testId={testId} height={320} />;
}
