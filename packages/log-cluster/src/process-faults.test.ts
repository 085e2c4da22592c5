import { afterEach, describe, expect, it, vi } from 'vitest';
import { secretMatches } from './admin.ts';
import { FaultyTransport } from './process-faults.ts';
import type { PartitionMessage, Transport } from './protocol.ts';

/** Records what reaches the wire. */
function wire(): Transport & { sent: { to: number; messages: readonly PartitionMessage[] }[] } {
  const sent: { to: number; messages: readonly PartitionMessage[] }[] = [];
  return { sent, send: (to, messages) => void sent.push({ to, messages }), setHandler: () => undefined, close: () => undefined };
}

const envelope: readonly PartitionMessage[] = [];

describe('FaultyTransport (the sending half of a node process\'s links)', () => {
  afterEach(() => vi.useRealTimers());

  it('drops what it sends on a cut link, and only on that link, until healed', () => {
    const inner = wire();
    const t = new FaultyTransport(inner);
    t.setLink(2, { cut: true });
    t.send(2, envelope);
    t.send(3, envelope);
    expect(inner.sent.map((s) => s.to)).toEqual([3]);
    t.setLink(2, { cut: false });
    t.send(2, envelope);
    expect(inner.sent.map((s) => s.to)).toEqual([3, 2]);
  });

  it('loses every envelope at loss rate 1 and none after healAll', () => {
    const inner = wire();
    const t = new FaultyTransport(inner, () => 0.5);
    t.setLink(2, { lossRate: 1 });
    for (let i = 0; i < 10; i++) t.send(2, envelope);
    expect(inner.sent).toHaveLength(0);
    t.healAll();
    t.send(2, envelope);
    expect(inner.sent).toHaveLength(1);
  });

  it('holds envelopes on a delayed link until the delay has passed', () => {
    vi.useFakeTimers();
    const inner = wire();
    const t = new FaultyTransport(inner, () => 0);
    t.setLink(2, { delayMs: 40 });
    t.send(2, envelope);
    expect(inner.sent).toHaveLength(0);
    vi.advanceTimersByTime(39);
    expect(inner.sent).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(inner.sent).toHaveLength(1);
  });
});

describe('cluster secret', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');
  it('matches only the exact secret', () => {
    expect(secretMatches(secret, '0123456789abcdef0123456789abcdef')).toBe(true);
    expect(secretMatches(secret, '0123456789abcdef0123456789abcdeX')).toBe(false);
    expect(secretMatches(secret, '0123456789abcdef')).toBe(false);
    expect(secretMatches(secret, '')).toBe(false);
    expect(secretMatches(secret, undefined)).toBe(false);
  });
});
