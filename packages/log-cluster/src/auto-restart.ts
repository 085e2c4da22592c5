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

/** What became of a node that stopped on a disk error: the audit trail and the console's timeline show it. */
export interface AutoRestartEvent {
  /** Per AutoRestart, from 1: a consumer remembers the last it took. */
  readonly seq: number;
  readonly node: number;
  /** When the node stopped (ms, wall clock). */
  readonly stoppedAtMs: number;
  /** The error it stopped on. */
  readonly reason: string;
  /** The decision, as the down reason gives it. */
  readonly note: string;
  readonly restart: boolean;
  /** When the restart ran and whether it worked; null while it is pending, and for good when none was granted. */
  readonly restarted: { readonly atMs: number; readonly error: string | null } | null;
}

/** Events kept (oldest dropped first): enough for a console that polls every second or so. */
const EVENTS_KEPT = 100;

export type AutoRestartDecision =
  | { readonly restart: true; readonly delayMs: number; readonly note: string }
  | { readonly restart: false; readonly note: string };

export class AutoRestart {
  /** Per node, when its automatic restarts were decided (within the window). */
  private readonly history = new Map<number, number[]>();
  /** Per node, the restart granted and not yet run. */
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private stopped = false;
  private events: AutoRestartEvent[] = [];
  private nextSeq = 1;

  constructor(
    private readonly enabled: boolean,
    private readonly now: () => number = Date.now,
    /** Called after an event is recorded or its restart settles (the supervisor rewrites cluster.json). */
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Decides for `node`, which stopped on an error named `errorName`, and counts a restart it grants. */
  private decide(node: number, errorName: string | null): AutoRestartDecision {
    if (errorName === null || !REPAIRED_BY_RESTART.has(errorName)) return { restart: false, note: 'not restarted until told (a failed write or read: check the disk)' };
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
   * Decides for `node`, which stopped on `reason` (an error named `errorName`; see decide), records
   * the event, and, when a restart is granted, runs `restart` after the delay unless stop() comes
   * first; `restart` itself leaves a node that runs again by then alone, and rejects if it failed.
   */
  schedule(node: number, errorName: string | null, reason: string, restart: () => Promise<void>): AutoRestartDecision {
    const decision = this.decide(node, errorName);
    const event: AutoRestartEvent = { seq: this.nextSeq++, node, stoppedAtMs: this.now(), reason, note: decision.note, restart: decision.restart, restarted: null };
    this.events.push(event);
    if (this.events.length > EVENTS_KEPT) this.events = this.events.slice(-EVENTS_KEPT);
    this.onChange();
    if (!decision.restart || this.stopped) return decision;
    clearTimeout(this.timers.get(node));
    this.timers.set(node, setTimeout(() => {
      this.timers.delete(node);
      if (this.stopped) return;
      const settle = (error: string | null): void => {
        const i = this.events.findIndex((e) => e.seq === event.seq);
        if (i >= 0) this.events[i] = { ...event, restarted: { atMs: this.now(), error } };
        this.onChange();
      };
      restart().then(() => settle(null), (error: unknown) => settle(error instanceof Error ? error.message : String(error)));
    }, decision.delayMs));
    return decision;
  }

  /** The nodes that stopped on a disk error and what became of each, oldest first (the last EVENTS_KEPT). */
  recorded(): readonly AutoRestartEvent[] {
    return this.events;
  }

  /** No restart runs from now on (the cluster or the supervisor is stopping). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
