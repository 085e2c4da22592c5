import { describe, expect, it } from 'vitest';
import { build } from 'hdr-histogram-js';
import {
  HIGHEST_TRACKABLE_MICROS,
  HistogramDecodeError,
  LatencyRecorder,
  decodeHistogram,
  mergeEncoded,
  percentileSpectrum,
  summary,
} from './histogram.ts';

/** HDR with 3 significant digits: values are exact within 1 part in 1000. */
const withinHdrPrecision = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(1, expected / 1000));

describe('LatencyRecorder', () => {
  it('closes a window at the rotation instant, whenever it is encoded', () => {
    const recorder = new LatencyRecorder({ nowMs: 0 });
    for (const micros of [100, 200, 300]) recorder.recordMicros(micros);
    recorder.rotate(1_000);
    // Recorded after the rotation, before anyone encoded the closed window: the next window's.
    recorder.recordMicros(5_000);
    recorder.recordMicros(6_000);
    const [first] = recorder.windows(); // a reader gets the closed window though no one paced its encoding yet
    expect(first).toMatchObject({ startMs: 0, endMs: 1_000 });
    expect(summary(decodeHistogram(first!.encoded))).toMatchObject({ count: 3 });
    expect(recorder.encodeClosed()).toBe(false); // already encoded by that read
    recorder.rotate(2_000);
    expect(recorder.encodeClosed()).toBe(true);
    recorder.rotate(3_000); // reuses the emptied histogram of the first window: it must hold nothing old
    recorder.recordMicros(7_000);
    recorder.rotate(4_000);
    const windows = recorder.windows();
    expect(windows.map((w) => [w.startMs, summary(decodeHistogram(w.encoded)).count])).toEqual([[0, 3], [1_000, 2], [2_000, 0], [3_000, 1]]);
    withinHdrPrecision(summary(decodeHistogram(windows[1]!.encoded)).minMicros, 5_000);
    withinHdrPrecision(summary(decodeHistogram(windows[3]!.encoded)).maxMicros, 7_000);
  });

  it('keeps exact high percentiles and max, including a single outlier', () => {
    const recorder = new LatencyRecorder({ nowMs: 0 });
    // 9,999 fast writes 100..10098 µs, then one 2.5 s stall.
    for (let i = 0; i < 9_999; i++) recorder.recordMicros(100 + i);
    recorder.recordSeconds(2.5);
    recorder.rotate(1_000);

    const [window] = recorder.windows();
    expect(window).toMatchObject({ startMs: 0, endMs: 1_000 });
    const h = decodeHistogram(window!.encoded);
    const s = summary(h);
    expect(s.count).toBe(10_000);
    withinHdrPrecision(s.maxMicros, 2_500_000);
    withinHdrPrecision(s.minMicros, 100);
    withinHdrPrecision(s.p50Micros, 100 + 4_999);
    withinHdrPrecision(s.p99Micros, 100 + 9_898);
    // p99.99 is the last fast value, not the stall: 1 in 10,000 sits exactly above it.
    withinHdrPrecision(s.p9999Micros, 100 + 9_998);

    const spectrum = percentileSpectrum(h);
    expect(spectrum.map((p) => p.percentile)).toEqual([0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100]);
    withinHdrPrecision(spectrum.at(-1)!.valueMicros, 2_500_000);
    withinHdrPrecision(spectrum.at(-2)!.valueMicros, 2_500_000); // p99.999 of 10,000 values is the max
    for (let i = 1; i < spectrum.length; i++) {
      expect(spectrum[i]!.valueMicros).toBeGreaterThanOrEqual(spectrum[i - 1]!.valueMicros);
    }
  });

  it('encode → decode → merge of windows equals recording into one histogram', () => {
    const recorder = new LatencyRecorder({ nowMs: 0 });
    const reference = build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    let seed = 42;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let w = 0; w < 5; w++) {
      for (let i = 0; i < 2_000; i++) {
        const micros = Math.round(50 + next() ** 4 * 3_000_000);
        recorder.recordMicros(micros);
        reference.recordValue(micros);
      }
      recorder.rotate((w + 1) * 1_000);
    }
    const windows = recorder.windows();
    expect(windows).toHaveLength(5);
    const merged = mergeEncoded(windows.map((w) => w.encoded));
    expect(summary(merged)).toEqual(summary(reference));
    expect(percentileSpectrum(merged)).toEqual(percentileSpectrum(reference));
  });

  it('bounds the ring, filters by since and clamps values beyond 60 s', () => {
    const recorder = new LatencyRecorder({ nowMs: 0, maxClosedWindows: 3 });
    for (let t = 1; t <= 5; t++) {
      recorder.recordMicros(t);
      recorder.rotate(t * 1_000);
    }
    expect(recorder.windows().map((w) => w.startMs)).toEqual([2_000, 3_000, 4_000]);
    expect(recorder.windows(4_000).map((w) => w.endMs)).toEqual([5_000]);
    recorder.rotate(5_000); // zero-length: ignored
    expect(recorder.windows()).toHaveLength(3);

    recorder.recordSeconds(120);
    expect(recorder.clamped).toBe(1);
    recorder.rotate(6_000);
    withinHdrPrecision(summary(decodeHistogram(recorder.windows(5_000)[0]!.encoded)).maxMicros, HIGHEST_TRACKABLE_MICROS);
  });

  it('summarises an empty histogram as zeros and rejects garbage encodings', () => {
    expect(summary(mergeEncoded([])).count).toBe(0);
    expect(percentileSpectrum(mergeEncoded([])).every((p) => p.valueMicros === 0)).toBe(true);
    expect(() => decodeHistogram('not-a-histogram')).toThrow(HistogramDecodeError);
  });
});
