/**
 * Time as the node sees it. Real time in production; the simulator's virtual clock in
 * simulation, so the same node code runs deterministically under a seed.
 */
export interface Scheduler {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs fn after delayMs (0 = as soon as possible, but never synchronously). Returns a cancel function. */
  setTimer(delayMs: number, fn: () => void): () => void;
  /**
   * Runs fn once the current turn's code and every promise reaction it set off are done, before
   * the event loop goes on to timers or I/O. Returns a cancel function. Optional: without it,
   * callers use setTimer(0).
   */
  soon?(fn: () => void): () => void;
}

export const realScheduler: Scheduler = {
  now: () => performance.now(),
  setTimer(delayMs, fn) {
    if (delayMs <= 0) {
      const handle = setImmediate(fn);
      return () => clearImmediate(handle);
    }
    const handle = setTimeout(fn, delayMs);
    return () => clearTimeout(handle);
  },
  soon(fn) {
    // A tick queued from a promise reaction runs after every reaction queued meanwhile.
    let cancelled = false;
    process.nextTick(() => {
      if (!cancelled) fn();
    });
    return () => {
      cancelled = true;
    };
  },
};

/** Wall-clock milliseconds for spans and windows; the simulator passes its own. */
export type WallClock = () => number;
export const realWallClock: WallClock = () => Date.now();
