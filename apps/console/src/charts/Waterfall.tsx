import { useMemo } from 'react';
import { EChart } from './EChart.tsx';
import type { ChartOption } from './echarts.ts';
import { COLORS, GRID } from './theme.ts';
import { formatMs } from '../format.ts';

export interface WaterfallSpan {
  label: string;
  /** Offset from the trace start, ms. */
  startMs: number;
  durationMs: number;
  /** The span that made this write slow. */
  culprit?: boolean;
}

export interface WaterfallProps {
  spans: WaterfallSpan[];
  label: string;
  testId?: string;
}

/** Span waterfall as a stacked horizontal bar: an invisible offset, then the span itself. */
export function Waterfall({ spans, label, testId }: WaterfallProps) {
  const option = useMemo<ChartOption>(
    () => ({
      animation: false,
      grid: { ...GRID, left: 200 },
      tooltip: {
        trigger: 'axis',
        axisPointer: { type: 'shadow' },
        formatter: (p) => {
          const items = Array.isArray(p) ? p : [p];
          const i = items[0]?.dataIndex ?? 0;
          const s = spans[i];
          return s ? `${s.label}<br/>starts +${formatMs(s.startMs)}, lasts ${formatMs(s.durationMs)}` : '';
        },
      },
      xAxis: { type: 'value', name: 'ms since append', nameLocation: 'middle', nameGap: 28, min: 0 },
      yAxis: { type: 'category', inverse: true, data: spans.map((s) => (s.culprit ? `▲ ${s.label}` : s.label)) },
      series: [
        {
          type: 'bar',
          stack: 'w',
          silent: true,
          itemStyle: { color: 'transparent' },
          data: spans.map((s) => s.startMs),
        },
        {
          type: 'bar',
          stack: 'w',
          name: 'duration',
          label: { show: true, position: 'right', formatter: (p) => formatMs(Number(p.value)) },
          data: spans.map((s) => ({
            value: s.durationMs,
            itemStyle: { color: s.culprit ? COLORS.bad : COLORS.after },
          })),
        },
      ],
    }),
    [spans],
  );
  return <EChart option={option} label={label} testId={testId} height={Math.max(160, 36 * spans.length + 80)} />;
}
