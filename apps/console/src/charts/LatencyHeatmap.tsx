import { useMemo } from 'react';
import { EChart } from './EChart.tsx';
import type { ChartOption } from './echarts.ts';
import { GRID } from './theme.ts';
import { formatCount, formatMs, formatTime } from '../format.ts';

export interface LatencyHeatmapProps {
  /** Start of each time column, unix ms. */
  timesMs: number[];
  /** Upper bound of each latency row, ms, ascending (log-spaced, so rows read as a log y axis). */
  bucketsMs: number[];
  /** [column, row, count] */
  cells: [number, number, number][];
  label: string;
  testId?: string;
  /** What a cell counts ("writes", "fsyncs", "round trips"): the colour scale's unit. */
  countUnit?: string;
}

export function LatencyHeatmap({ timesMs, bucketsMs, cells, label, testId, countUnit = 'writes' }: LatencyHeatmapProps) {
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
          return `${formatTime(timesMs[x] ?? 0)} · ≤ ${formatMs(bucketsMs[y])}: ${n} ${countUnit}`;
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
        // Numbers at both ends and the unit, so a colour reads as a count.
        calculable: true,
        orient: 'vertical',
        right: 0,
        top: 'middle',
        text: [`${formatCount(maxCount)} ${countUnit}`, `0 ${countUnit}`],
        formatter: (v: unknown) => formatCount(Number(v)),
        inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] },
      },
      series: [{ type: 'heatmap', data: cells, progressive: 0 }],
    };
  }, [timesMs, bucketsMs, cells, countUnit]);
  return <EChart option={option} label={label} testId={testId} height={320} />;
}
