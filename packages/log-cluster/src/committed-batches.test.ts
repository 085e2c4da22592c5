import { describe, expect, it } from 'vitest';
import { CommittedBatches } from './committed-batches.ts';
import { seededRandom } from './sim/random.ts';

describe('CommittedBatches', () => {
  it('remembers the newest batches like an array that drops its oldest', () => {
    for (const capacity of [1, 3, 4, 7]) {
      const random = seededRandom(capacity);
      const batches = new CommittedBatches(capacity);
      const model: { sequence: number; offset: number; count: number }[] = [];
      let sequence = capacity === 3 ? 2 ** 32 - 10 : 0;
      let offset = 0;
      for (let step = 0; step < 500; step++) {
        const count = 1 + Math.floor(random() * 5);
        batches.add(sequence, offset, count);
        model.push({ sequence, offset, count });
        if (model.length > capacity) model.shift();
        sequence++;
        offset += count;
        expect(batches.size).toBe(model.length);
        expect(batches.lastSequence()).toBe(model.at(-1)!.sequence);
        for (const probe of [sequence - 1, sequence - capacity, sequence - capacity - 1, sequence, sequence - Math.floor(random() * 10)]) {
          const slot = batches.find(probe);
          const expected = model.find((b) => b.sequence === probe);
          if (expected === undefined) expect(slot).toBe(-1);
          else expect([batches.offsetAt(slot), batches.countAt(slot)]).toEqual([expected.offset, expected.count]);
        }
      }
    }
  });

  it('has no last sequence before the first batch, and refuses a capacity it cannot hold', () => {
    expect(new CommittedBatches(4).lastSequence()).toBe(-1);
    expect(new CommittedBatches(4).find(0)).toBe(-1);
    expect(() => new CommittedBatches(0)).toThrow(RangeError);
  });
});
