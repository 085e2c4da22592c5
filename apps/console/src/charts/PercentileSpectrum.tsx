import { useMemo } from 'react';
import { EChart } from './EChart.tsx';
import type { ChartOption } from './echarts.ts';
import { GRID, PALETTE } from './theme.ts';
import { formatMs, formatPercentile, labelOfNines, ninesOf } from '../format.ts';

export interface SpectrumSeries {
  name: string;
  /** quantile in [0, 1) and the latency at it. */
  points: { quantile: number; ms: number }[];
  maxMs: number | null;
}

export interface PercentileSpectrumProps {
  series: SpectrumSeries[];
  sloMs?: number | null;
  label: string;
  testId?: string;
}

/** The HdrHistogram percentile plot: x in nines (0%, 90%, 99% … 99.999%), y log-scale in ms, max marked. */
export function PercentileSpectrum({ series, sloMs, label, testId }: PercentileSpectrumProps) {
  const option = useMemo<ChartOption>(
    () => ({
      animation: false,
      color: PALETTE,
      grid: GRID,
      legend: { top: 0 },
      tooltip: {
        trigger: 'axis',
        valueFormatter: (v) => formatMs(Number(v)),
      },
      xAxis: {
        type: 'value',
        name: 'percentile',
        nameLocation: 'middle',
        nameGap: 28,
        min: 0,
        max: 5,
        interval: 1,
        axisLabel: { formatter: (v: number) => labelOfNines(v) },
        axisPointer: { label: { formatter: (p) => formatPercentile(1 - 10 ** -Number(p.value)) } },
      },
      yAxis: {
        type: 'log',
        name: 'latency (ms)',
        logBase: 10,
        axisLabel: { formatter: (v: number) => formatMs(v) },
      },
      series: series.map((s, i) => ({
        type: 'line' as const,
        name: s.name,
        showSymbol: false,
        lineStyle: { width: 2, type: i === 0 ? ('solid' as const) : ('dashed' as const) },
        data: s.points.filter((p) => p.ms > 0).map((p) => [ninesOf(p.quantile), p.ms]),
        markLine:
          s.maxMs !== null || (i === 0 && sloMs)
            ? {
                symbol: 'none',
                silent: true,
                data: [
                  ...(s.maxMs !== null && s.maxMs > 0
                    ? [{ yAxis: s.maxMs, name: 'max', label: { position: 'insideEndTop' as const, formatter: `max ${formatMs(s.maxMs)}` } }]
                    : []),
                  ...(i === 0 && sloMs
                    ? [{ yAxis: sloMs, name: 'SLO', lineStyle: { color: '#d62728' }, label: { position: 'insideStartTop' as const, formatter: `SLO ${formatMs(sloMs)}` } }]
                    : []),
                ],
              }
            : undefined,
      })),
    }),
    [series, sloMs],
  );
  return <EChart option={option} label={label} testId={testId} height={320} />;
}
