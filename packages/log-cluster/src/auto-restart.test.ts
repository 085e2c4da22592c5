import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AUTO_RESTART_DELAY_MS, AUTO_RESTARTS_MAX, AUTO_RESTART_WINDOW_MS, AutoRestart } from './auto-restart.ts';

describe('AutoRestart', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('restarts a node that stopped on a corrupt record after the delay, records it, and says when it ran', async () => {
    let changes = 0;
    const auto = new AutoRestart(true, Date.now, () => changes++);
    let restarts = 0;
    const decision = auto.schedule(2, 'CorruptReadError', 'disk error: corrupt record in seg-1.log at 10', async () => {
      restarts++;
    });
    expect(decision).toMatchObject({ restart: true, delayMs: AUTO_RESTART_DELAY_MS });
    expect(decision.note).toBe('restarting by itself in 1 s to repair it (automatic restart 1 of at most 3 in 10 min)');
    expect(auto.recorded()).toEqual([{ seq: 1, node: 2, stoppedAtMs: 1_000_000, reason: 'disk error: corrupt record in seg-1.log at 10', note: decision.note, restart: true, restarted: null }]);
    expect(changes).toBe(1);
    await vi.advanceTimersByTimeAsync(AUTO_RESTART_DELAY_MS - 1);
    expect(restarts).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(restarts).toBe(1);
    expect(auto.recorded()[0]?.restarted).toEqual({ atMs: 1_000_000 + AUTO_RESTART_DELAY_MS, error: null });
    expect(changes).toBe(2);
  });

  it('records a restart that failed, and leaves a failed flush and a node past its cap down, saying why', async () => {
    const auto = new AutoRestart(true);
    auto.schedule(1, 'CorruptReadError', 'disk error: a', () => Promise.reject(new Error('port in use')));
    await vi.advanceTimersByTimeAsync(AUTO_RESTART_DELAY_MS);
    expect(auto.recorded()[0]?.restarted).toEqual({ atMs: Date.now(), error: 'port in use' });

    expect(auto.schedule(3, 'DiskReadError', 'disk error: read of seg-1.log at 0 failed: EIO', async () => undefined)).toEqual({ restart: false, note: 'not restarted until told (a failed write or read: check the disk)' });
    for (let i = 1; i < AUTO_RESTARTS_MAX; i++) expect(auto.schedule(1, 'CorruptReadError', 'disk error: b', async () => undefined).restart).toBe(true);
    const capped = auto.schedule(1, 'CorruptReadError', 'disk error: c', async () => undefined);
    expect(capped).toEqual({ restart: false, note: 'not restarted: 3 automatic restarts in 10 min already; the disk may be failing, so it waits to be told' });
    expect(auto.recorded().map((e) => [e.node, e.restart])).toEqual([[1, true], [3, false], [1, true], [1, true], [1, false]]);
    // The window slides: ten minutes later node 1 may restart again.
    await vi.advanceTimersByTimeAsync(AUTO_RESTART_WINDOW_MS);
    expect(auto.schedule(1, 'CorruptReadError', 'disk error: d', async () => undefined).restart).toBe(true);
  });

  it('runs nothing after stop(), and is off when disabled', async () => {
    const auto = new AutoRestart(true);
    let restarts = 0;
    auto.schedule(1, 'CorruptReadError', 'disk error: a', async () => {
      restarts++;
    });
    auto.stop();
    await vi.advanceTimersByTimeAsync(10 * AUTO_RESTART_DELAY_MS);
    expect(restarts).toBe(0);
    expect(new AutoRestart(false).schedule(1, 'CorruptReadError', 'disk error: a', async () => undefined)).toEqual({ restart: false, note: 'not restarted until told (automatic restarts are off)' });
  });
});
