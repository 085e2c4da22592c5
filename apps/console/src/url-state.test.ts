import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW, parseView, resolveRange, serializeView, type ViewState } from './url-state.ts';

describe('URL view state', () => {
  it('a serialized view parses back to the same view (a pasted link restores it)', () => {
    const view: ViewState = {
      page: 'latency',
      range: { windowMs: 15 * 60_000, fixed: { fromMs: 1_700_000_000_000, toMs: 1_700_000_300_000 } },
      node: 2,
      partition: 7,
      metric: 'fsync',
      compare: { fromMs: 1_699_999_700_000, toMs: 1_700_000_000_000 },
      trace: 'abc123',
      auditBefore: 42,
      at: 1_700_000_100_000,
    };
    expect(parseView(serializeView(view))).toEqual(view);
  });

  it('defaults serialize to just the page', () => {
    expect(serializeView(DEFAULT_VIEW)).toBe('?page=overview');
    expect(parseView('')).toEqual(DEFAULT_VIEW);
  });

  it('ignores malformed values instead of failing', () => {
    const v = parseView('?page=nope&range=banana&node=-1&from=5&to=2&metric=cpu&before=x');
    expect(v.page).toBe('overview');
    expect(v.range).toEqual(DEFAULT_VIEW.range);
    expect(v.node).toBeNull();
    expect(v.metric).toBe('append');
    expect(v.auditBefore).toBeNull();
  });

  it('a live range ends now; a paused range stays fixed', () => {
    expect(resolveRange({ windowMs: 60_000, fixed: null }, 1_000_000)).toEqual({ fromMs: 940_000, toMs: 1_000_000 });
    expect(resolveRange({ windowMs: 60_000, fixed: { fromMs: 1, toMs: 2 } }, 1_000_000)).toEqual({ fromMs: 1, toMs: 2 });
  });

  it('parses range windows in s, m and h', () => {
    expect(parseView('?range=30s').range.windowMs).toBe(30_000);
    expect(parseView('?range=1h').range.windowMs).toBe(3_600_000);
  });
});
