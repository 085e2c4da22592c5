import { describe, expect, it } from 'vitest';
import { MapHistory } from './map-history.ts';

describe('map history', () => {
  it('answers the leader at any past moment and stores only changes', () => {
    const h = new MapHistory();
    const rec = (tMs: number, leader: number, term: number) => ({ tMs, leader, term, replicas: [1, 2, 3], states: [leader === 1 ? 'leader' : 'in-sync', leader === 2 ? 'leader' : 'in-sync', 'in-sync'] as const });
    for (let t = 0; t < 10_000; t += 1_000) h.note(7, { ...rec(t, 1, 3), states: [...rec(t, 1, 3).states] });
    h.note(7, { ...rec(10_000, 2, 4), states: [...rec(10_000, 2, 4).states] });
    expect(h.changeCount()).toBe(2);
    expect(h.at(7, 9_999)?.leader).toBe(1);
    expect(h.at(7, 10_000)?.leader).toBe(2);
    expect(h.at(7, -1)).toBeUndefined();
    expect(h.range(7, 5_000, 20_000).map((r) => r.leader)).toEqual([1, 2]);
  });
});
