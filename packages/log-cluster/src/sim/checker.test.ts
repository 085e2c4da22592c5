// The history checker's order rule on small hand-made histories (the simulator runs it on real ones).
import { describe, expect, it } from 'vitest';
import { checkHistory, type AckedAppend, type ReplicaLog } from './checker.ts';

const log = (values: string[]): ReplicaLog => ({ node: 1, partition: 0, startOffset: 0, values });
const ack = (value: string, offset: number, client: number, n: number): AckedAppend => ({ partition: 0, offset, value, issued: { client, n } });

describe('the order rule', () => {
  it('passes one client’s appends at rising offsets, whatever other clients did in between', () => {
    const final = log(['a0', 'b0', 'a1', 'b1']);
    const acked = [ack('a0', 0, 1, 0), ack('b0', 1, 2, 0), ack('a1', 2, 1, 1), ack('b1', 3, 2, 1)];
    expect(checkHistory(acked, [], new Map([[0, final]]), [final]).violations).toEqual([]);
  });

  it('names a client whose later append landed before an earlier one', () => {
    const final = log(['a1', 'a0']);
    const acked = [ack('a0', 1, 1, 0), ack('a1', 0, 1, 1)];
    const { violations } = checkHistory(acked, [], new Map([[0, final]]), [final]);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/^reordered: partition\/client 0\/1 issued "a0" before "a1", acknowledged at offsets 1 and 0/);
  });
});
