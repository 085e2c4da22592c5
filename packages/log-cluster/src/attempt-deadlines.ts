import type { Scheduler } from './clock.ts';

/** One attempt's deadline: settled by its answer, or expired by AttemptDeadlines. */
export interface Deadline {
  readonly atMs: number;
  settled: boolean;
  readonly expire: () => void;
}

/**
 * The deadlines of a client's attempts. All are of one length, so they fall due in the order they
 * were set: a queue with one timer, for its oldest unsettled deadline, instead of a timer per
 * attempt (a Timeout object and closures, set and cleared for every request). The timer is
 * cancelled whenever nothing is left to wait for, so an idle client holds no timer.
 */
export class AttemptDeadlines {
  private queue: Deadline[] = [];
  /** queue[head] is the oldest deadline that may still be unsettled. */
  private head = 0;
  private cancelTimer: (() => void) | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly timeoutMs: number,
  ) {}

  /** `expire` runs once timeoutMs from now unless settle() comes first. */
  add(expire: () => void): Deadline {
    const deadline: Deadline = { atMs: this.scheduler.now() + this.timeoutMs, settled: false, expire };
    this.queue.push(deadline);
    if (this.cancelTimer === null) this.arm(this.timeoutMs);
    return deadline;
  }

  /** Settles `deadline`; false when it had expired or settled already (its outcome is taken). */
  settle(deadline: Deadline): boolean {
    if (deadline.settled) return false;
    deadline.settled = true;
    this.dropSettled();
    return true;
  }

  private arm(delayMs: number): void {
    this.cancelTimer = this.scheduler.setTimer(delayMs, () => this.fire());
  }

  private fire(): void {
    this.cancelTimer = null;
    const now = this.scheduler.now();
    while (this.head < this.queue.length) {
      const deadline = this.queue[this.head]!;
      if (!deadline.settled) {
        if (deadline.atMs > now) break;
        deadline.settled = true;
        deadline.expire();
      }
      this.head++;
    }
    this.dropSettled();
    const oldest = this.queue[this.head];
    if (oldest !== undefined && this.cancelTimer === null) this.arm(oldest.atMs - now);
  }

  /** Moves past settled deadlines at the front; once none is left, the timer goes too. */
  private dropSettled(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.settled) this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.cancelTimer?.();
      this.cancelTimer = null;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      // Answers out of order can keep one old attempt at the front: drop what is behind it.
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
