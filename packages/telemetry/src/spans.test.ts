import { describe, expect, it } from 'vitest';
import { SpanRecorder, newSpanId, newTraceId, type Span } from './spans.ts';

/** Deterministic PRNG (mulberry32). */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function trace(random: () => number, totalMicros: number, startMs: number): Span[] {
  const traceId = newTraceId(random);
  const rootId = newSpanId(random);
  const startNano = BigInt(startMs) * 1_000_000n;
  const span = (spanId: string, parentSpanId: string | null, name: string, micros: number): Span => ({
    traceId, spanId, parentSpanId, name, nodeId: 1, partition: 3,
    startUnixNano: startNano.toString(),
    endUnixNano: (startNano + BigInt(micros) * 1_000n).toString(),
    durationMicros: micros,
    attributes: { 'logscope.records': 1 },
  });
  return [span(rootId, null, 'append', totalMicros), span(newSpanId(random), rootId, 'leader.persist', Math.floor(totalMicros / 2))];
}

describe('ids', () => {
  it('are lowercase hex of OpenTelemetry length and never all zero', () => {
    const random = seeded(1);
    expect(newTraceId(random)).toMatch(/^[0-9a-f]{32}$/);
    expect(newSpanId(random)).toMatch(/^[0-9a-f]{16}$/);
    expect(newTraceId(() => 0)).toBe('0'.repeat(31) + '1');
    expect(newSpanId(() => 0.999999)).toBe('ff'.repeat(8));
  });
});

describe('SpanRecorder tail sampling', () => {
  it('keeps every span of the K slowest traces per window and a bounded sample of the rest', () => {
    const random = seeded(7);
    const recorder = new SpanRecorder({ nodeId: 1, slowestPerWindow: 10, sampleRate: 0.5, maxSampledPerWindow: 20, random });
    const durations: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const totalMicros = Math.floor(random() * 100_000);
      durations.push(totalMicros);
      recorder.recordTrace(trace(random, totalMicros, 5_000 + (i % 1_000)), totalMicros, 5_000 + (i % 1_000));
    }
    expect(recorder.spansJson().traces).toEqual([]); // window still open
    recorder.rotate(6_000);

    const { nodeId, traces, untilMs } = recorder.spansJson();
    expect(nodeId).toBe(1);
    expect(untilMs).toBe(6_000);
    const slow = traces.filter((t) => t.slow);
    const sampled = traces.filter((t) => !t.slow);
    const tenSlowest = [...durations].sort((a, b) => b - a).slice(0, 10);
    expect(slow.map((t) => t.totalMicros)).toEqual(tenSlowest);
    expect(slow.every((t) => t.spans.length === 2 && t.spans.every((s) => s.traceId === t.traceId))).toBe(true);
    expect(sampled.length).toBe(20); // 50 % of 990 far exceeds the cap
    expect(sampled.every((t) => t.totalMicros <= tenSlowest.at(-1)!)).toBe(true);
    expect(new Set(traces.map((t) => t.traceId)).size).toBe(traces.length);
    expect(traces[0]).toMatchObject({ partition: 3 });
    expect(traces[0]!.startMs).toBeGreaterThanOrEqual(5_000);
  });

  it('samples about 1 % of the rest by default, per window, and bounds the window ring', () => {
    const random = seeded(3);
    const recorder = new SpanRecorder({ nodeId: 1, maxWindows: 5, random });
    for (let w = 0; w < 8; w++) {
      for (let i = 0; i < 1_000; i++) {
        const nowMs = w * 1_000 + i;
        recorder.recordTrace(trace(random, 100 + i, nowMs), 100 + i, nowMs);
      }
    }
    recorder.rotate(8_000);
    const all = recorder.spansJson().traces;
    const windows = new Set(all.map((t) => Math.floor(t.startMs / 1_000)));
    expect([...windows].sort()).toEqual([3, 4, 5, 6, 7]);
    const sampled = all.filter((t) => !t.slow).length;
    expect(all.filter((t) => t.slow)).toHaveLength(50);
    expect(sampled).toBeGreaterThan(20); // ~ 5 windows × 990 × 1 % ≈ 50
    expect(sampled).toBeLessThanOrEqual(5 * 20);
    expect(recorder.spansJson(6_000).traces.every((t) => t.startMs >= 6_000)).toBe(true);
    expect(recorder.spansJson(8_000)).toEqual({ nodeId: 1, untilMs: null, traces: [] });
  });
});
