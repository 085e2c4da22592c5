import { describe, expect, it } from 'vitest';
import { formatCount, formatMs, formatPercentile, labelOfNines, ninesOf } from './format.ts';
import { deriveAlerts } from './model.ts';

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

describe('overview alerts', () => {
  const healthy = {
    nodesUp: 3,
    nodesTotal: 3,
    partitionsTotal: 8,
    partitionsWithoutLeader: 0,
    underReplicated: 0,
    p99Ms: 5,
    sloP99Ms: 50,
    appendsPerSec: 1000,
    lastScrapeMs: 0,
    p99Series: [],
    appendsSeries: [],
  };
  it('a healthy cluster raises none', () => {
    expect(deriveAlerts(healthy)).toEqual([]);
  });
  it('each problem links to the page that explains it', () => {
    const alerts = deriveAlerts({ ...healthy, nodesUp: 2, underReplicated: 4, p99Ms: 80 });
    expect(alerts.map((a) => [a.id, a.page])).toEqual([
      ['nodes-down', 'partitions'],
      ['under-replicated', 'replication'],
      ['p99-slo', 'latency'],
    ]);
  });
});
