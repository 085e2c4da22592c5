import { describe, expect, it } from 'vitest';
import { SeriesStore } from './series.ts';

describe('series ring buffer', () => {
  it('range and at read the right ticks after the ring wrapped', () => {
    const s = new SeriesStore(10);
    for (let t = 0; t < 25; t++) {
      if (t % 3 !== 0) s.set('a', t * 10);
      s.commitTick(t * 1_000);
    }
    // Retained ticks: 15..24; gaps where t % 3 === 0.
    expect(s.range('a', 0, 100_000).map((p) => p.tMs / 1_000)).toEqual([16, 17, 19, 20, 22, 23]);
    expect(s.range('a', 17_000, 22_000).map((p) => p.value)).toEqual([170, 190, 200]);
    expect(s.at('a', 20_500)).toBe(200);
    expect(s.at('a', 21_000)).toBeUndefined(); // a gap at that tick
    expect(s.at('a', 14_000)).toBeUndefined(); // before the retained range
  });
});
