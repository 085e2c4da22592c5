/**
 * Whether a node that stopped on a disk error starts again by itself (the embedded cluster and the
 * process supervisor both ask). A corrupt record, found by a log read or by the scrub, is what a
 * restart repairs: recovery cuts the log at that record and the node's peers send the rest again,
 * as after any crash (PostgreSQL restarts itself after a failed fsync for the same reason: recovery
 * is the tested path back). A failed flush is not: the disk itself is in doubt, so that node stays
 * down for an operator. Nor is a disk that rots again and again: past AUTO_RESTARTS_MAX in
 * AUTO_RESTART_WINDOW_MS the node stays down, saying why.
 */
export const AUTO_RESTART_DELAY_MS = 1_000;
export const AUTO_RESTARTS_MAX = 3;
export const AUTO_RESTART_WINDOW_MS = 10 * 60_000;

/** The error names that a restart repairs (CorruptReadError's name, also what a node process prints). */
const REPAIRED_BY_RESTART = new Set(['CorruptReadError']);

export type AutoRestartDecision =
  | { readonly restart: true; readonly delayMs: number; readonly note: string }
  | { readonly restart: false; readonly note: string };

export class AutoRestart {
  /** Per node, when its automatic restarts were decided (within the window). */
  private readonly history = new Map<number, number[]>();
  /** Per node, the restart granted and not yet run. */
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly enabled: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** Decides for `node`, which stopped on an error named `errorName`, and counts a restart it grants. */
  private decide(node: number, errorName: string | null): AutoRestartDecision {
    if (errorName === null || !REPAIRED_BY_RESTART.has(errorName)) return { restart: false, note: 'not restarted until told (a failed write: check the disk)' };
    if (!this.enabled) return { restart: false, note: 'not restarted until told (automatic restarts are off)' };
    const now = this.now();
    const recent = (this.history.get(node) ?? []).filter((at) => now - at < AUTO_RESTART_WINDOW_MS);
    this.history.set(node, recent);
    const minutes = AUTO_RESTART_WINDOW_MS / 60_000;
    if (recent.length >= AUTO_RESTARTS_MAX) {
      return { restart: false, note: `not restarted: ${recent.length} automatic restarts in ${minutes} min already; the disk may be failing, so it waits to be told` };
    }
    recent.push(now);
    return { restart: true, delayMs: AUTO_RESTART_DELAY_MS, note: `restarting by itself in ${AUTO_RESTART_DELAY_MS / 1000} s to repair it (automatic restart ${recent.length} of at most ${AUTO_RESTARTS_MAX} in ${minutes} min)` };
  }

  /**
   * Decides for `node` (see decide) and, when a restart is granted, runs `restart` after the delay
   * unless stop() comes first; `restart` itself leaves a node that runs again by then alone.
   */
  schedule(node: number, errorName: string | null, restart: () => Promise<void>): AutoRestartDecision {
    const decision = this.decide(node, errorName);
    if (!decision.restart || this.stopped) return decision;
    clearTimeout(this.timers.get(node));
    this.timers.set(node, setTimeout(() => {
      this.timers.delete(node);
      if (!this.stopped) void restart();
    }, decision.delayMs));
    return decision;
  }

  /** No restart runs from now on (the cluster or the supervisor is stopping). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
