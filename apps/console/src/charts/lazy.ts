// Charts load after the figures: echarts is most of the bundle, and the Overview's numbers
// should not wait for it to download and parse.
import { lazy } from 'react';

export const TimeSeriesChart = lazy(() => import('./TimeSeriesChart.tsx').then((m) => ({ default: m.TimeSeriesChart })));
export const PercentileSpectrum = lazy(() => import('./PercentileSpectrum.tsx').then((m) => ({ default: m.PercentileSpectrum })));
export const LatencyHeatmap = lazy(() => import('./LatencyHeatmap.tsx').then((m) => ({ default: m.LatencyHeatmap })));
export const Waterfall = lazy(() => import('./Waterfall.tsx').then((m) => ({ default: m.Waterfall })));
export const LagHeatmap = lazy(() => import('./LagHeatmap.tsx').then((m) => ({ default: m.LagHeatmap })));
