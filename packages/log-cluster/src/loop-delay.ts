// How late the event loop runs a periodic timer: the stalls of a node itself (a long task, a
// collection, a blocking call, no CPU for its thread), told apart from the disk's (fsync duration)
// and the network's (replication round trip). A write that stalled at every step together is the
// loop's when this shows it, the disk's when the fsync histogram does. Real processes only: the
// simulator's nodes run on a virtual clock with no loop to be late.

/** How often the sampler's timer is due. A stall of S ms shows as one tick at least S − this late. */
export const LOOP_DELAY_INTERVAL_MS = 20;

/**
 * Calls `record` with each tick's delay in seconds (how long after it was due the timer ran; Node's
 * timers run up to ~1 ms late on an idle loop). Returns a function that stops it. The timer does
 * not keep the process alive.
 */
export function startLoopDelaySampler(record: (delaySeconds: number) => void, intervalMs = LOOP_DELAY_INTERVAL_MS, now: () => number = () => performance.now()): () => void {
  let timer: NodeJS.Timeout | null = null;
  const schedule = (): void => {
    const dueMs = now() + intervalMs;
    timer = setTimeout(() => {
      record(Math.max(0, now() - dueMs) / 1000);
      schedule();
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
}
