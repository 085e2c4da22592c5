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
  it('builds spans only for traces it keeps (the slowest of the window, or those drawn for the sample), once, when first read', () => {
    const recorder = new SpanRecorder({ nodeId: 1, slowestPerWindow: 3, sampleRate: 0, random: () => 0.5 });
    const built: string[] = [];
    const offer = (id: string, micros: number): void =>
      recorder.offerTrace(micros, 1_000, () => {
        built.push(id);
        return [span(id.padStart(32, '0'), micros)];
      });
    offer('1', 500);
    offer('2', 400);
    offer('3', 300);
    offer('4', 100); // faster than all three kept and not sampled: dropped
    offer('5', 900); // slower than the slowest kept: displaces the fastest (3)
    expect(built).toEqual([]); // nothing is built on the write path
    recorder.rotate(2_000);
    const traces = recorder.spansJson().traces;
    expect(traces.map((t) => [t.traceId, t.totalMicros, t.slow])).toEqual([
      ['5'.padStart(32, '0'), 900, true],
      ['1'.padStart(32, '0'), 500, true],
      ['2'.padStart(32, '0'), 400, true],
    ]);
    expect(built.sort()).toEqual(['1', '2', '5']);
    expect(recorder.spansJson().traces).toEqual(traces); // read again: the same traces, not rebuilt
    expect(built).toHaveLength(3);
  });

  it('keeps a trace evicted from the slowest when it was drawn for the sample, and lists it as sampled', () => {
    let draws = 0;
    // The first offer is drawn for the sample, no other.
    const recorder = new SpanRecorder({ nodeId: 1, slowestPerWindow: 1, sampleRate: 0.5, random: () => (draws++ === 0 ? 0.1 : 0.9) });
    const offer = (id: string, micros: number): void => recorder.offerTrace(micros, 1_000, () => [span(id.padStart(32, '0'), micros)]);
    offer('1', 300); // the slowest so far, and sampled
    offer('2', 700); // evicts 1, which stays as a sample
    offer('3', 100); // neither
    recorder.rotate(2_000);
    expect(recorder.spansJson().traces.map((t) => [t.traceId, t.slow])).toEqual([
      ['2'.padStart(32, '0'), true],
      ['1'.padStart(32, '0'), false],
    ]);
  });

  it('lists nothing for a kept trace whose build gave no spans', () => {
    const recorder = new SpanRecorder({ nodeId: 1, slowestPerWindow: 2, sampleRate: 0 });
    recorder.offerTrace(500, 1_000, () => []);
    recorder.offerTrace(400, 1_000, () => [span('7'.padStart(32, '0'), 400)]);
    recorder.rotate(2_000);
    expect(recorder.spansJson().traces.map((t) => t.totalMicros)).toEqual([400]);
  });
});
