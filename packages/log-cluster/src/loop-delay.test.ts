import { afterEach, describe, expect, it } from 'vitest';
import { startLoopDelaySampler } from './loop-delay.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let stop: () => void = () => undefined;
afterEach(() => stop());

describe('loop delay sampler', () => {
  it('sees the event loop held by a blocking task, as one late tick at least that long less the interval, and stops', async () => {
    const delays: number[] = [];
    stop = startLoopDelaySampler((seconds) => delays.push(seconds), 10);
    await sleep(50);
    const before = delays.length;
    expect(before).toBeGreaterThan(0); // it ticks on its own
    // Hold the loop for 80 ms, as a long synchronous call would.
    const until = performance.now() + 80;
    while (performance.now() < until) {
      // busy: nothing else on this loop runs meanwhile
    }
    await sleep(30);
    expect(delays.length).toBeGreaterThan(before);
    expect(Math.max(...delays.slice(before))).toBeGreaterThanOrEqual(0.065); // 80 ms less the 10 ms interval, less rounding
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0); // a tick is never early
    stop();
    const stopped = delays.length;
    await sleep(40);
    expect(delays.length).toBe(stopped);
  });
});
