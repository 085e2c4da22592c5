import { describe, expect, it } from 'vitest';
import { SpanRecorder, type Span } from './spans.ts';

const span = (traceId: string, durationMicros: number): Span => ({
  traceId,
  spanId: '00000000000000a1',
  parentSpanId: null,
  name: 'append',
  nodeId: 1,
  partition: 0,
  startUnixNano: '1800000000000000000',
  endUnixNano: '1800000000001000000',
  durationMicros,
  attributes: {},
});

describe('SpanRecorder.offerTrace', () => {
  it('builds spans only for traces it keeps: the slowest of the window, or those drawn for the sample', () => {
    const recorder = new SpanRecorder({ nodeId: 1, slowestPerWindow: 3, sampleRate: 0, random: () => 0.5 });
    let built = 0;
    const offer = (id: string, micros: number): void =>
      recorder.offerTrace(micros, 1_000, () => {
        built++;
        return [span(id.padStart(32, '0'), micros)];
      });
    offer('1', 500);
    offer('2', 400);
    offer('3', 300);
    expect(built).toBe(3); // the window's first three are its slowest so far
    offer('4', 100); // faster than all three and not sampled: never built
    expect(built).toBe(3);
    offer('5', 900); // slower than the slowest kept: built, and it displaces the fastest
    expect(built).toBe(4);
    recorder.rotate(2_000);
    expect(recorder.spansJson().traces.map((t) => t.totalMicros)).toEqual([900, 500, 400]);
  });
});
