import type { Scheduler } from '../clock.ts';
import { invariant } from '../invariant.ts';

interface Event {
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Binary min-heap on (atMs, seq): events at the same time run in the order they were scheduled. */
class EventHeap {
  private readonly items: Event[] = [];

  get size(): number {
    return this.items.length;
  }

  push(event: Event): void {
    const items = this.items;
    items.push(event);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (p === undefined || !before(event, p)) break;
      items[i] = p;
      items[parent] = event;
      i = parent;
    }
  }

  pop(): Event | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      const l = items[left];
      const r = items[right];
      const s = items[smallest];
      if (l !== undefined && s !== undefined && before(l, s)) smallest = left;
      const s2 = items[smallest];
      if (r !== undefined && s2 !== undefined && before(r, s2)) smallest = right;
      if (smallest === i) break;
      const a = items[i];
      const b = items[smallest];
      if (a === undefined || b === undefined) break;
      items[i] = b;
      items[smallest] = a;
      i = smallest;
    }
    return top;
  }
}

const before = (a: Event, b: Event): boolean => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);

/** Waits until every promise continuation queued so far has run (setImmediate runs after the microtask queue drains). */
const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Virtual time. Nothing in a simulated run reads the real clock: the node, disks, network
 * and clients all schedule here, and the loop jumps from event to event.
 */
export class SimScheduler implements Scheduler {
  private readonly heap = new EventHeap();
  private seq = 0;
  private nowMs = 0;
  eventsRun = 0;

  now(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    invariant(Number.isFinite(delayMs), 'timer delay must be finite');
    const event: Event = { atMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.heap.push(event);
    return () => {
      event.cancelled = true;
    };
  }

  /** Runs events until virtual time reaches untilMs (or nothing is left, or stop() says so). */
  async runUntil(untilMs: number, stop?: () => boolean): Promise<void> {
    while (this.heap.size > 0) {
      const event = this.heap.pop();
      if (event === undefined) break;
      if (event.atMs > untilMs) {
        this.heap.push(event);
        break;
      }
      if (event.cancelled) continue;
      this.nowMs = event.atMs;
      this.eventsRun++;
      event.fn();
      // Client code awaits promises; let their continuations run before the next event.
      await drainMicrotasks();
      if (stop?.()) return;
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }
}
