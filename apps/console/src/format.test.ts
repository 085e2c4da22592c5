import { describe, expect, it } from 'vitest';
import { formatCount, formatMs, formatPercentile, labelOfNines, ninesOf } from './format.ts';

describe('number formatting', () => {
  it('milliseconds carry a unit and sensible precision', () => {
    expect(formatMs(0.25)).toBe('250 µs');
    expect(formatMs(3.456)).toBe('3.46 ms');
    expect(formatMs(42.1)).toBe('42.1 ms');
    expect(formatMs(1500)).toBe('1.50 s');
    expect(formatMs(null)).toBe('—');
  });

  it('counts abbreviate large values', () => {
    expect(formatCount(12)).toBe('12');
    expect(formatCount(12_345)).toBe('12.3k');
    expect(formatCount(2_500_000)).toBe('2.5M');
  });

  it('the x axis is in nines, HdrHistogram style', () => {
    expect(ninesOf(0.9)).toBeCloseTo(1);
    expect(ninesOf(0.999)).toBeCloseTo(3);
    expect([0, 1, 2, 3, 4, 5].map(labelOfNines)).toEqual(['0%', '90%', '99%', '99.9%', '99.99%', '99.999%']);
    expect(formatPercentile(0.5)).toBe('50%');
  });
});

