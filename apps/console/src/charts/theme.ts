// Colour is never the only carrier of meaning (series also differ by dash/symbol), but keep it consistent.
export const COLORS = {
  p50: '#4c78a8',
  p99: '#f58518',
  p999: '#e45756',
  max: '#7f3c8d',
  before: '#9d9d9d',
  after: '#4c78a8',
  slo: '#d62728',
  ok: '#54a24b',
  warn: '#eeca3b',
  bad: '#e45756',
} as const;

export const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

// top leaves room for the legend row and, under it, the y axis name (its unit).
export const GRID = { left: 72, right: 32, top: 56, bottom: 48 } as const;
