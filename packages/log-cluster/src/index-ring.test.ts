import { describe, expect, it } from 'vitest';
import { IndexRing } from './index-ring.ts';
import { seededRandom } from './sim/random.ts';

/** The ring against a Map of the same operations: every observable answer must match. */
function expectSame(ring: IndexRing<string>, model: Map<number, string>, probes: readonly number[]): void {
  expect(ring.size).toBe(model.size);
  const keys = [...model.keys()].sort((a, b) => a - b);
  expect(ring.values()).toEqual(keys.map((key) => model.get(key)));
  expect(ring.first).toBe(keys[0] ?? 0);
  expect(ring.end).toBe(keys.length === 0 ? 0 : keys[keys.length - 1]! + 1);
  for (const key of probes) expect(ring.get(key)).toBe(model.get(key));
}

describe('IndexRing', () => {
  it('answers like a Map under random sets, deletes, prefix deletes and clears', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const random = seededRandom(seed);
      const ring = new IndexRing<string>();
      const model = new Map<number, string>();
      // Keys like log indexes: a window that moves up, now and then a key far from it, and for
      // some seeds keys past 2^32 (slots come from the low bits).
      let base = seed % 3 === 0 ? 2 ** 32 - 40 : 1;
      for (let step = 0; step < 3000; step++) {
        const roll = random();
        if (roll < 0.03) base += Math.floor(random() * 50);
        const key = roll < 0.01 ? base + 2000 + Math.floor(random() * 3000) : base + Math.floor(random() * 24);
        if (roll < 0.5) {
          ring.set(key, `v${step}`);
          model.set(key, `v${step}`);
        } else if (roll < 0.95) {
          expect(ring.delete(key)).toBe(model.delete(key));
        } else if (roll < 0.99) {
          ring.deleteThrough(key);
          for (const k of [...model.keys()]) if (k <= key) model.delete(k);
        } else {
          ring.clear();
          model.clear();
        }
        expectSame(ring, model, [key, key - 1, key + 1, base, base + 23]);
      }
    }
  });

  it('keeps the values of a window that outgrows it, and works again from empty', () => {
    const ring = new IndexRing<number>();
    for (let k = 100; k < 5100; k++) ring.set(k, k * 2);
    expect(ring.size).toBe(5000);
    expect(ring.get(100)).toBe(200);
    expect(ring.get(5099)).toBe(10198);
    // Deleted from the front, as commits and flushes do.
    for (let k = 100; k < 5100; k++) expect(ring.delete(k)).toBe(true);
    expect(ring.size).toBe(0);
    expect(ring.values()).toEqual([]);
    ring.set(7, 1);
    expect([ring.first, ring.end, ring.get(7)]).toEqual([7, 8, 1]);
  });

  it('refuses a key that is not a non-negative integer, and loses nothing', () => {
    const ring = new IndexRing<string>();
    ring.set(3, 'a');
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => ring.set(bad, 'b')).toThrow(RangeError);
    expect(ring.values()).toEqual(['a']);
    expect(ring.get(-1)).toBeUndefined();
  });
});
