// Open-loop load at a fixed rate, shared by the engine bench and the partition sweep: latency is
// measured from each append's intended send time, so a stall cannot hide its queue (no
// coordinated omission).

import hdr from 'hdr-histogram-js';
import type { LogClient } from '../packages/log-cluster/src/client.ts';
import { recordMsSince } from './stats.ts';

/**
 * How often the loop wakes to issue the appends that are due. Timers fire on whole milliseconds
 * and a little late, so each append leaves 0-1.07 ms after its intended time (`lateness`). A
 * worker thread waking the loop at each due time (Atomics.wait) was tried: it removed that share,
 * but at 4 000/s the appends no longer came in bursts of four or five that share rounds, and each
 * cost 13-55 % more CPU; the tick stays, and its share is reported.
 */
const OPEN_LOOP_TICK_MS = 1;

export const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface OpenLoopResult {
  perSec: number;
  errors: number;
  /** Microseconds from each append's intended send time to its acknowledgement. */
  histogram: ReturnType<typeof newHistogram>;
  /** Microseconds from each append's intended send time to its send: the generator's own share of `histogram`. */
  lateness: ReturnType<typeof newHistogram>;
}

/** Appends `recordBytes` records at `ratePerSec` for `seconds`, round-robin over `partitions`. */
export async function openLoop(client: LogClient, partitions: number, recordBytes: number, ratePerSec: number, seconds: number): Promise<OpenLoopResult> {
  const record = new Uint8Array(recordBytes).fill(42);
  const histogram = newHistogram();
  const lateness = newHistogram();
  let acked = 0;
  let errors = 0;
  let issued = 0;
  const total = Math.floor(ratePerSec * seconds);
  let settled = 0;
  let drained: (() => void) | null = null;
  // Counted, not kept: a promise per append held to the end (~500 k at 100 k/s for 5 s) doubled the
  // heap of the process the embedded cluster runs in, and one Promise.all over them blocked its
  // event loop for 44-81 ms while the last appends were still outstanding: charged to the cluster.
  const settle = (): void => {
    settled++;
    if (settled === total) drained?.();
  };
  const startMs = performance.now();
  while (issued < total) {
    // Append i is due at i / rate: at elapsed t, appends 0 … floor(t · rate) are due. (Without the
    // + 1 each append went out one interval after the time its latency counts from: 1 ms added to
    // every sample at 1 000/s, 5 ms at 200/s.)
    const dueCount = Math.min(total, Math.floor(((performance.now() - startMs) / 1000) * ratePerSec) + 1);
    for (; issued < dueCount; issued++) {
      const intendedMs = startMs + (issued / ratePerSec) * 1000;
      recordMsSince(lateness, intendedMs);
      client.append({ partition: issued % partitions }, [record]).then(
        () => {
          acked++;
          recordMsSince(histogram, intendedMs);
          settle();
        },
        () => {
          errors++;
          settle();
        },
      );
    }
    await sleep(OPEN_LOOP_TICK_MS);
  }
  if (settled < total) await new Promise<void>((resolve) => (drained = resolve));
  return { perSec: acked / ((performance.now() - startMs) / 1000), errors, histogram, lateness };
}
