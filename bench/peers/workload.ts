// The one workload every system gets: N producers, fixed-size records, either an open-loop
// offered rate (latency from the intended send time, so a stalled system is charged for the
// sends it delayed) or the maximum (each producer keeps a fixed number of writes in flight).

import { Worker } from 'node:worker_threads';
import { build, type Histogram } from 'hdr-histogram-js';
import { recordMsSince } from '../stats.ts';

export interface Target {
  /** One record, acknowledged only once the system's durable quorum path has it. */
  send(producer: number, record: Uint8Array): Promise<unknown>;
}

export interface PointSpec {
  readonly recordBytes: number;
  readonly producers: number;
  /** Records per second offered in total, or 'max'. */
  readonly rate: number | 'max';
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Writes in flight per producer in 'max' mode. */
  readonly inflightPerProducer: number;
  /** Open loop: past this many writes outstanding, sends wait (latency still counts from the intended time). */
  readonly outstandingMax: number;
  /**
   * Fixed rates: 'tick' wakes on a 1 ms timer and sends what is due (bursts, each write 0-1.07 ms
   * late); 'even' wakes at each write's intended time (see startPacer): the arrivals a steady
   * producer makes, and no timer share in the latency.
   */
  readonly pacing?: Pacing;
  readonly drainTimeoutMs: number;
}

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  count: number;
}

export type Pacing = 'tick' | 'even';

export interface PointResult {
  recordBytes: number;
  producers: number;
  offeredPerSec: number | null;
  ackedPerSec: number;
  mbPerSec: number;
  latency: LatencySummary;
  /** Fixed rates: from each write's intended send time to its send, the generator's own share of `latency`; null at max. */
  generatorLateness: LatencySummary | null;
  errors: number;
  firstError: string | null;
  unfinished: number;
}

export function newHistogram(): Histogram {
  return build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number): number => us / 1000;
  return {
    p50Ms: ms(h.getValueAtPercentile(50)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
    count: h.totalCount,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runPoint(target: Target, spec: PointSpec): Promise<PointResult> {
  const record = new Uint8Array(spec.recordBytes);
  for (let i = 0; i < record.length; i++) record[i] = (i * 31 + 7) & 0xff;
  const hist = newHistogram();
  const lateness = newHistogram();
  const t0 = performance.now();
  const measureStart = t0 + spec.warmupSeconds * 1000;
  const measureEnd = measureStart + spec.seconds * 1000;
  let ackedInWindow = 0;
  let errors = 0;
  let firstError: string | null = null;
  let outstanding = 0;

  const issue = (producer: number, intendedAt: number): Promise<void> => {
    outstanding++;
    return target.send(producer, record).then(() => {
      const now = performance.now();
      if (intendedAt >= measureStart && intendedAt < measureEnd) recordMsSince(hist, intendedAt, now);
      if (now >= measureStart && now < measureEnd) ackedInWindow++;
    }, (error: unknown) => {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }).finally(() => {
      outstanding--;
    });
  };

  if (spec.rate === 'max') {
    const worker = async (producer: number): Promise<void> => {
      while (performance.now() < measureEnd) await issue(producer, performance.now());
    };
    const workers: Promise<void>[] = [];
    for (let p = 0; p < spec.producers; p++) for (let k = 0; k < spec.inflightPerProducer; k++) workers.push(worker(p));
    await Promise.all(workers);
  } else {
    const rate = spec.rate;
    const intervalMs = 1000 / rate;
    let k = 0;
    // 'tick': timers fire on whole milliseconds, so each write leaves 0-1.07 ms after its intended
    // time (generatorLateness), the same for every system; 'even': woken at each due time.
    const pacer = spec.pacing === 'even' ? startPacer(t0, intervalMs, measureEnd) : null;
    try {
      while (true) {
        const now = performance.now();
        if (now >= measureEnd) break;
        const due = Math.min(Math.floor((now - t0) / intervalMs) + 1, Math.ceil((measureEnd - t0) / intervalMs));
        while (k < due && outstanding < spec.outstandingMax) {
          const intendedAt = t0 + k * intervalMs;
          if (intendedAt >= measureStart && intendedAt < measureEnd) recordMsSince(lateness, intendedAt);
          void issue(k % spec.producers, intendedAt);
          k++;
        }
        await (pacer === null ? sleep(1) : pacer.next());
      }
    } finally {
      await pacer?.stop();
    }
  }
  const drainDeadline = performance.now() + spec.drainTimeoutMs;
  while (outstanding > 0 && performance.now() < drainDeadline) await sleep(10);

  return {
    recordBytes: spec.recordBytes,
    producers: spec.producers,
    offeredPerSec: spec.rate === 'max' ? null : spec.rate,
    ackedPerSec: ackedInWindow / spec.seconds,
    mbPerSec: (ackedInWindow * spec.recordBytes) / spec.seconds / 1e6,
    latency: summarize(hist),
    generatorLateness: spec.rate === 'max' ? null : summarize(lateness),
    errors,
    firstError,
    unfinished: outstanding,
  };
}

interface Pacer {
  /** Resolves at the next due time (at once if it passed since the last call). */
  next(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Wakes the generator at each write's intended time instead of on whole milliseconds: a worker
 * thread sleeps on Atomics.wait (sub-millisecond; it has no event loop to block) and posts at each
 * due time, which wakes this loop within tens of microseconds when it is idle.
 */
function startPacer(t0: number, intervalMs: number, endAt: number): Pacer {
  const origin = performance.timeOrigin;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const { t0Abs, intervalMs, endAbs } = workerData;
    for (let k = 0; ; k++) {
      const due = t0Abs + k * intervalMs;
      if (due >= endAbs) {
        const rest = endAbs - (performance.timeOrigin + performance.now());
        if (rest > 0) Atomics.wait(cell, 0, 0, rest + 0.1);
        break;
      }
      const wait = due - (performance.timeOrigin + performance.now());
      if (wait > 0) Atomics.wait(cell, 0, 0, wait);
      parentPort.postMessage(k);
    }
    parentPort.postMessage(-1);
  `;
  const worker = new Worker(code, { eval: true, workerData: { t0Abs: origin + t0, intervalMs, endAbs: origin + endAt } });
  let waiting: (() => void) | null = null;
  let pending = false;
  // A pacer that died (it should not) must not hang the point: the loop goes back to the tick.
  let ended = false;
  const wake = (): void => {
    if (waiting !== null) {
      const w = waiting;
      waiting = null;
      w();
    } else pending = true;
  };
  worker.on('message', wake);
  worker.on('error', (error) => {
    console.error(`pacer: ${error.message}; back to the 1 ms tick`);
    ended = true;
    wake();
  });
  return {
    next: () => {
      if (ended) return sleep(1);
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => (waiting = resolve));
    },
    stop: async () => {
      await worker.terminate();
    },
  };
}
