import { describe, expect, it } from 'vitest';
import { groupStalls } from './stalls.ts';
import type { StoredTrace } from './traces.ts';

let next = 1;
const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0');

/** A write led by `leader`: each step lasts the given ms; follower steps name their replica. */
function write(leader: number, startMs: number, partition: number, steps: { name: string; ms: number; replica?: number }[]): StoredTrace {
  const traceId = hex(next++, 32);
  const totalMs = Math.max(...steps.map((s) => s.ms)) + 1;
  const span = (name: string, ms: number, parent: string | null, replica?: number) => ({
    traceId, spanId: hex(next++, 16), parentSpanId: parent, name, nodeId: leader, partition,
    startUnixNano: String(BigInt(startMs) * 1_000_000n), endUnixNano: String(BigInt(startMs + ms) * 1_000_000n), durationMicros: ms * 1000,
    attributes: (replica === undefined ? {} : { 'replica.id': replica }) as Record<string, number>,
  });
  const root = span('append', totalMs, null);
  return { traceId, totalMicros: totalMs * 1000, startMs, partition, slow: true, nodeId: leader, spans: [root, ...steps.map((s) => span(s.name, s.ms, root.spanId, s.replica))] };
}

describe('stall events', () => {
  it('overlapping slow writes on a paused node are one event: every step stalled on that node', () => {
    const stalled = [0, 20, 40, 60].map((t, i) => write(2, 1_000 + t, i, [
      { name: 'leader.persist', ms: 500 }, { name: 'replicate', ms: 480 }, { name: 'follower.append+fsync', ms: 470, replica: 3 }, { name: 'commit', ms: 300 }, { name: 'ack', ms: 290 },
    ]));
    const lone = write(1, 9_000, 5, [{ name: 'leader.persist', ms: 80 }, { name: 'replicate', ms: 5 }]);
    const events = groupStalls([...stalled, lone]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ writes: 4, node: 2, partitions: [0, 1, 2, 3], explanation: 'every step stalled on node 2' });
  });

  it('a slow follower disk is named by its replica, not by the leader', () => {
    const writes = [0, 10, 20].map((t) => write(1, 5_000 + t, 0, [
      { name: 'leader.persist', ms: 2 }, { name: 'replicate', ms: 60 }, { name: 'follower.append+fsync', ms: 200, replica: 3 }, { name: 'commit', ms: 1 },
    ]));
    expect(groupStalls(writes)[0]).toMatchObject({ node: 3, explanation: 'slowest step: follower.append+fsync on node 3' });
  });

  it('slow writes that do not overlap are not a stall', () => {
    const writes = [0, 1_000, 2_000].map((t) => write(1, t, 0, [{ name: 'leader.persist', ms: 100 }]));
    expect(groupStalls(writes)).toEqual([]);
  });
});
