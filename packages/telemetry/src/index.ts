export * from './histogram.ts';
export * from './metrics.ts';
export * from './spans.ts';
export * from './http.ts';
export * from './exposition.ts';
