import { useMemo } from 'react';
import { EChart } from './EChart.tsx';
import type { ChartOption } from './echarts.ts';
import { GRID, PALETTE } from './theme.ts';
import { formatCount, formatMs } from '../format.ts';
import type { Annotation } from '../model.ts';
import { describeAnnotation, FaultTrack } from './FaultTrack.tsx';

export interface TimeSeries {
  name: string;
  /** [unix ms, value] */
  points: [number, number][];
  dashed?: boolean;
  emphasis?: boolean;
}

export interface TimeSeriesChartProps {
  series: TimeSeries[];
  /** Unit shown on the y axis name and in tooltips, e.g. "ms", "records", "s", "appends/s". */
  yUnit: string;
  logY?: boolean;
  threshold?: { value: number; label: string } | null;
  label: string;
  testId?: string;
  height?: number;
  /** The chosen range, so the x axis spans it even where data is missing. */
  xRange?: { fromMs: number; toMs: number };
  /** Fault windows shaded and drill steps marked on the plot, and listed under it (FaultTrack). */
  annotations?: Annotation[] | undefined;
}

export function TimeSeriesChart({ series, yUnit, logY, threshold, label, testId, height, xRange, annotations }: TimeSeriesChartProps) {
  const faults = useMemo(() => (annotations ?? []).filter((a) => a.kind === 'fault'), [annotations]);
  const steps = useMemo(() => (annotations ?? []).filter((a) => a.kind === 'step'), [annotations]);
  const option = useMemo<ChartOption>(() => {
    const fmt = (v: number) => (yUnit === 'ms' ? formatMs(v) : `${formatCount(v)} ${yUnit}`);
    const tick = (v: number) => (yUnit === 'ms' ? formatMs(v) : formatCount(v));
    return {
      animation: false,
      color: PALETTE,
      grid: GRID,
      legend: { top: 0, type: 'scroll' },
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmt(Number(v)) },
      xAxis: { type: 'time', name: 'time', nameLocation: 'middle', nameGap: 28, min: xRange?.fromMs, max: xRange?.toMs },
      // Tick labels carry the unit only for ms (µs/ms/s vary); otherwise the axis name states it once.
      yAxis: logY
        ? { type: 'log', name: yUnit, axisLabel: { formatter: tick } }
        : { type: 'value', name: yUnit, min: 0, axisLabel: { formatter: tick } },
      series: series.map((s, i) => ({
        type: 'line' as const,
        name: s.name,
        // A lone point draws no line: show symbols until there are a few.
        showSymbol: s.points.length <= 2,
        lineStyle: { width: s.emphasis ? 3 : 1.5, type: s.dashed ? ('dashed' as const) : ('solid' as const) },
        data: logY ? s.points.filter((p) => p[1] > 0) : s.points,
        markLine:
          i === 0 && (threshold || steps.length > 0)
            ? {
                symbol: 'none',
                silent: true,
                lineStyle: { color: '#d62728', type: 'dashed' as const },
                data: [
                  ...(threshold ? [{ yAxis: threshold.value, label: { position: 'insideEndTop' as const, formatter: threshold.label } }] : []),
                  ...steps.map((a) => ({ xAxis: a.startMs, lineStyle: { color: '#555', type: 'dotted' as const }, label: { show: false } })),
                ],
              }
            : undefined,
        markArea:
          i === 0 && faults.length > 0
            ? {
                itemStyle: { color: 'rgba(228, 87, 86, 0.12)' },
                label: { position: 'insideTop' as const, fontSize: 10, color: '#a33' },
                data: faults.map((a) => [
                  { xAxis: a.startMs, name: `⚡ ${a.label}`, tooltip: { formatter: describeAnnotation(a) } },
                  { xAxis: a.endMs ?? xRange?.toMs ?? Date.now() },
                ]),
              }
            : undefined,
      })),
    };
  }, [series, yUnit, logY, threshold, xRange?.fromMs, xRange?.toMs, faults, steps]);
  return (
    <>
      <EChart option={option} label={label} testId={testId} height={height} />
      {xRange && annotations && <FaultTrack annotations={annotations} range={xRange} />}
    </>
  );
}
