import { useEffect, useRef } from 'react';
import { echarts, type ChartOption } from './echarts.ts';

export interface EChartProps {
  option: ChartOption;
  /** Accessible summary of the chart: canvas content is invisible to screen readers. */
  label: string;
  height?: number;
  testId?: string;
}

/** Owns one echarts instance for the lifetime of the element; options replace, never merge. */
export function EChart({ option, label, height = 280, testId }: EChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!el.current) return;
    const instance = echarts.init(el.current, undefined, { renderer: 'canvas' });
    chart.current = instance;
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(el.current);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true, lazyUpdate: true });
  }, [option]);

  return <div ref={el} role="img" aria-label={label} data-testid={testId} style={{ width: '100%', height }} />;
}
