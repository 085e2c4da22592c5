/**
 * Time as the node sees it. Real time in production; the simulator's virtual clock in
 * simulation, so the same node code runs deterministically under a seed.
 */
export interface Scheduler {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs fn after delayMs (0 = as soon as possible, but never synchronously). Returns a cancel function. */
  setTimer(delayMs: number, fn: () => void): () => void;
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
};

/** Wall-clock milliseconds for spans and windows; the simulator passes its own. */
export type WallClock = () => number;
export const realWallClock: WallClock = () => Date.now();
