// Summaries the benches print over their alternated rounds.

/** The middle value (the upper of the two middle ones for an even count); 0 for none. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * Records the milliseconds from `fromMs` to `nowMs` (performance.now() by default) into a latency
 * histogram in whole microseconds, at least 1: the histograms' lowest discernible value.
 */
export function recordMsSince(histogram: { recordValue(value: number): void }, fromMs: number, nowMs = performance.now()): void {
  histogram.recordValue(Math.max(1, Math.round((nowMs - fromMs) * 1000)));
}
