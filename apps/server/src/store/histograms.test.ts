import { LatencyRecorder, summary } from '@logscope/telemetry';
import { describe, expect, it } from 'vitest';
import { HistogramStore } from './histograms.ts';

/** One 1 s window per call, holding the given latencies (µs). */
function windowOf(recorder: LatencyRecorder, startMs: number, micros: readonly number[]): { startMs: number; endMs: number; encoded: string } {
  for (const value of micros) recorder.recordMicros(value);
  recorder.rotate(startMs + 1_000);
  const window = recorder.windows(startMs).at(-1);
  if (window === undefined) throw new Error('no window');
  return window;
}

describe('HistogramStore bucket summaries', () => {
  it('equal a fresh merge of the bucket, and a late window invalidates exactly its bucket', () => {
    const store = new HistogramStore();
    const t0 = 1_800_000_000_000;
    const recorders = [new LatencyRecorder({ nowMs: t0 }), new LatencyRecorder({ nowMs: t0 })];
    for (let second = 0; second < 20; second++) {
      recorders.forEach((recorder, i) => store.add(i + 1, 'append', null, windowOf(recorder, t0 + second * 1_000, [100 + second, 1_000 * (i + 1) + second])));
    }
    const filter = { metric: 'append' as const };
    const first = store.bucketSummaries(filter, t0, t0 + 20_000, 5_000);
    expect(first.map((b) => b.tMs)).toEqual([t0, t0 + 5_000, t0 + 10_000, t0 + 15_000]);
    for (const bucket of first) expect(bucket.summary).toEqual(summary(store.merge(filter, bucket.tMs, bucket.tMs + 5_000).histogram));
    expect(first[0]?.summary.count).toBe(20); // 5 windows × 2 nodes × 2 values

    // Node 1's next second lands in a new bucket; node 2 adds a 9 ms outlier to it too.
    store.add(1, 'append', null, windowOf(recorders[0]!, t0 + 20_000, [150]));
    const beforeLate = store.bucketSummaries(filter, t0, t0 + 25_000, 5_000);
    expect(beforeLate[4]?.summary.maxMicros).toBeLessThan(1_000); // cached with node 1's window only
    store.add(2, 'append', null, windowOf(recorders[1]!, t0 + 20_000, [9_000]));
    const second = store.bucketSummaries(filter, t0, t0 + 25_000, 5_000);
    expect(second.slice(0, 4)).toEqual(first); // closed buckets unchanged (served from the cache)
    expect(second[4]?.summary).toEqual(summary(store.merge(filter, t0 + 20_000, t0 + 25_000).histogram));
    expect(second[4]?.summary.maxMicros).toBeGreaterThanOrEqual(9_000);
  });
});
