// The disk alone under a cluster's flush load: the reference a sweep row is read against. The
// embedded nodes share this machine's one disk, so a tail the disk causes at that load is not the
// nodes' own; what the cluster adds above this is (event loop, CPU, GC, raft round trips).
import { closeSync, constants, fdatasyncSync, openSync, rmSync, write, writeSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_NAMES } from '@logscope/telemetry';
import { IDENTIFIER_BYTES } from '../packages/log-cluster/src/storage/identifiers.ts';
import { ENTRY_HEADER_BYTES } from '../packages/log-cluster/src/storage/journal.ts';
import { newHistogram } from './open-loop.ts';
import { recordMsSince } from './stats.ts';

export interface FlushLoad {
  /** Writers, one per node: each has its own segment and identifiers file, as each node has. */
  readonly writers: number;
  /** Flushes per second, all writers together. */
  readonly flushesPerSec: number;
  /** Record bytes a flush writes to its segment. */
  readonly recordBytesPerFlush: number;
  /** Records a flush names in its identifiers file. */
  readonly recordsPerFlush: number;
}

/** A node's flushes so far: the fsync counter in its Prometheus text (0 when absent). */
export function flushesIn(metricsText: string): number {
  const line = metricsText.split('\n').find((l) => l.startsWith(`${METRIC_NAMES.fsyncs} `));
  return Number(line?.split(' ')[1] ?? 0);
}

/**
 * The flush load a run made: `writers` journals flushing `flushesPerSec` together, carrying
 * `appendsPerSec` single-record appends of `recordBytes`, each on `replicationFactor` journals.
 */
export function flushLoadOf(writers: number, flushesPerSec: number, appendsPerSec: number, replicationFactor: number, recordBytes: number): FlushLoad {
  const entriesPerFlush = flushesPerSec > 0 ? (appendsPerSec * replicationFactor) / flushesPerSec : 0;
  return { writers, flushesPerSec, recordBytesPerFlush: entriesPerFlush * (recordBytes + ENTRY_HEADER_BYTES), recordsPerFlush: entriesPerFlush };
}

export interface DiskReplay {
  readonly flushesPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const FILE_BYTES = 16 << 20;
/** How long a run's flush load is replayed on the disk alone (after the run, the cluster idle). */
export const DISK_REPLAY_SECONDS = 3;
const ZERO_CHUNK = Buffer.alloc(1 << 20);

/** Creates `path` zero-filled to `bytes` and synced, like the journal's preallocated segments: writes then only overwrite. */
export function zeroFilledFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  for (let at = 0; at < bytes; at += ZERO_CHUNK.length) writeSync(fd, ZERO_CHUNK, 0, Math.min(ZERO_CHUNK.length, bytes - at), at);
  fdatasyncSync(fd);
  closeSync(fd);
}

/** One positional write through the libuv pool, as the journal's. */
export const writeAt = (fd: number, data: Buffer, position: number): Promise<void> =>
  new Promise((resolve, reject) => write(fd, data, 0, data.length, position, (error) => (error === null ? resolve() : reject(error))));

function preallocated(path: string): number {
  zeroFilledFile(path, FILE_BYTES);
  return openSync(path, constants.O_RDWR | constants.O_DSYNC);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Replays `load` on the disk under `dir` for `seconds`: every writer paced at its share of the
 * flushes (open loop: one behind schedule starts the next at once), each flush the journal's shape
 * (the records and their identifiers, two O_DSYNC writes to two files, issued together through
 * the libuv pool). Latency is per flush, until both writes are durable.
 */
export async function replayFlushLoad(dir: string, load: FlushLoad, seconds: number): Promise<DiskReplay> {
  const writers = Math.max(1, load.writers);
  const perWriterPerSec = load.flushesPerSec / writers;
  if (!(perWriterPerSec > 0)) return { flushesPerSec: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  const records = Buffer.alloc(Math.max(1, Math.round(load.recordBytesPerFlush)), 7);
  const identifiers = Buffer.alloc(Math.max(1, Math.round(load.recordsPerFlush)) * IDENTIFIER_BYTES, 9);
  const files = Array.from({ length: writers }, (_, w) => ({
    segment: preallocated(join(dir, `replay-${w}.log`)),
    identifiers: preallocated(join(dir, `replay-${w}.ids`)),
  }));
  const histogram = newHistogram();
  let flushes = 0;
  const intervalMs = 1000 / perWriterPerSec;
  const start = performance.now();
  const end = start + seconds * 1000;
  try {
    await Promise.all(
      files.map(async (file, w) => {
        let due = start + (w * intervalMs) / writers;
        let segmentAt = 0;
        let identifiersAt = 0;
        while (due < end) {
          // On schedule, a flush counts from when it starts (a timer fires up to a millisecond off,
          // which is not the disk's); behind schedule, from when it was due (the disk made it late).
          let begin = due;
          const wait = due - performance.now();
          if (wait > 0) {
            await sleep(wait);
            begin = performance.now();
          }
          await Promise.all([writeAt(file.segment, records, segmentAt), writeAt(file.identifiers, identifiers, identifiersAt)]);
          recordMsSince(histogram, begin);
          flushes++;
          segmentAt = (segmentAt + records.length) % (FILE_BYTES - records.length);
          identifiersAt = (identifiersAt + identifiers.length) % (FILE_BYTES - identifiers.length);
          due += intervalMs;
        }
      }),
    );
  } finally {
    for (const [w, file] of files.entries()) {
      closeSync(file.segment);
      closeSync(file.identifiers);
      rmSync(join(dir, `replay-${w}.log`), { force: true });
      rmSync(join(dir, `replay-${w}.ids`), { force: true });
    }
  }
  return {
    flushesPerSec: flushes / ((performance.now() - start) / 1000),
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    maxMs: histogram.maxValue / 1000,
  };
}
