import { describe, expect, it } from 'vitest';
import { AttemptDeadlines } from './attempt-deadlines.ts';
import type { Scheduler } from './clock.ts';

/** A clock moved by hand; timers run when advance() passes them. Counts the timers live. */
function manualScheduler(): Scheduler & { advance(ms: number): void; live(): number; armed: number[] } {
  let nowMs = 0;
  let timers: { atMs: number; fn: () => void }[] = [];
  const armed: number[] = [];
  return {
    armed,
    now: () => nowMs,
    setTimer(delayMs, fn) {
      armed.push(delayMs);
      const timer = { atMs: nowMs + delayMs, fn };
      timers.push(timer);
      return () => {
        timers = timers.filter((t) => t !== timer);
      };
    },
    advance(ms) {
      const until = nowMs + ms;
      for (;;) {
        const due = timers.filter((t) => t.atMs <= until).sort((a, b) => a.atMs - b.atMs)[0];
        if (due === undefined) break;
        timers = timers.filter((t) => t !== due);
        nowMs = due.atMs;
        due.fn();
      }
      nowMs = until;
    },
    live: () => timers.length,
  };
}

describe('attempt deadlines', () => {
  it('expires each unsettled deadline at its own time, in order, with one timer at a time', () => {
    const scheduler = manualScheduler();
    const deadlines = new AttemptDeadlines(scheduler, 100);
    const expired: string[] = [];
    deadlines.add(() => expired.push('a'));
    scheduler.advance(30);
    const b = deadlines.add(() => expired.push('b'));
    scheduler.advance(30);
    deadlines.add(() => expired.push('c'));
    expect(scheduler.live()).toBe(1);

    scheduler.advance(39); // t = 99
    expect(expired).toEqual([]);
    scheduler.advance(1); // t = 100: a is due
    expect(expired).toEqual(['a']);
    expect(deadlines.settle(b)).toBe(true); // answered in time: never expires
    scheduler.advance(59); // t = 159
    expect(expired).toEqual(['a']);
    scheduler.advance(1); // t = 160: c is due
    expect(expired).toEqual(['a', 'c']);
    expect(scheduler.live()).toBe(0);
  });

  it('says an expired or settled deadline is taken, so an answer after the timeout is ignored', () => {
    const scheduler = manualScheduler();
    const deadlines = new AttemptDeadlines(scheduler, 50);
    let expiries = 0;
    const late = deadlines.add(() => expiries++);
    scheduler.advance(50);
    expect(expiries).toBe(1);
    expect(deadlines.settle(late)).toBe(false);
    const answered = deadlines.add(() => expiries++);
    expect(deadlines.settle(answered)).toBe(true);
    expect(deadlines.settle(answered)).toBe(false);
    scheduler.advance(1_000);
    expect(expiries).toBe(1);
  });

  it('holds no timer once every deadline is settled, and arms one again for the next', () => {
    const scheduler = manualScheduler();
    const deadlines = new AttemptDeadlines(scheduler, 1_000);
    const first = deadlines.add(() => undefined);
    const second = deadlines.add(() => undefined);
    expect(scheduler.live()).toBe(1);
    deadlines.settle(second); // out of order: the first still waits
    expect(scheduler.live()).toBe(1);
    deadlines.settle(first);
    expect(scheduler.live()).toBe(0);
    let expired = false;
    deadlines.add(() => {
      expired = true;
    });
    expect(scheduler.live()).toBe(1);
    scheduler.advance(1_000);
    expect(expired).toBe(true);
    expect(scheduler.armed).toEqual([1_000, 1_000]);
  });

  it('keeps expiring the right ones when thousands are answered out of order around an old one', () => {
    const scheduler = manualScheduler();
    const deadlines = new AttemptDeadlines(scheduler, 10_000);
    const expired: number[] = [];
    const stuck = deadlines.add(() => expired.push(-1));
    for (let k = 0; k < 5_000; k++) {
      scheduler.advance(1);
      const deadline = deadlines.add(() => expired.push(k));
      if (k % 1_000 !== 999) deadlines.settle(deadline);
    }
    expect(deadlines.settle(stuck)).toBe(true);
    scheduler.advance(10_000);
    expect(expired).toEqual([999, 1_999, 2_999, 3_999, 4_999]);
    expect(scheduler.live()).toBe(0);
  });
});
