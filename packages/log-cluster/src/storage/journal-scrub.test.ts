import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { FileDisk } from './file-disk.ts';
import { Journal, type JournalOptions } from './journal.ts';
import { CorruptReadError, DiskReadError, type Disk, type DiskFile } from './types.ts';

/** Entries [from, to] of term 1 with `bytes` of data each. */
function entries(from: number, to: number, bytes: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push({ index, term: 1, offset: index - 1, count: 1, data: Uint8Array.from({ length: bytes }, (_, i) => (index * 7 + i) & 0xff) });
  return out;
}

function flush(journal: Journal): Promise<void> {
  return new Promise((resolve, reject) => journal.flush((error) => (error === null ? resolve() : reject(error))));
}

let directory = '';
beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-scrub-'));
});
afterEach(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});

function segmentSizes(): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const name of fs.readdirSync(directory).sort()) if (/^seg-\d+\.log$/.test(name)) sizes.set(name, fs.statSync(path.join(directory, name)).size);
  return sizes;
}

function flipByte(name: string, position: number): void {
  const fd = fs.openSync(path.join(directory, name), 'r+');
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, position);
  byte[0] = byte[0]! ^ 0x5a;
  fs.writeSync(fd, byte, 0, 1, position);
  fs.closeSync(fd);
}

/** Until the scrub's read in the thread pool is delivered (it reads a FileDisk asynchronously); the clock stands still meanwhile. */
async function readDelivered(journal: Journal): Promise<void> {
  while (journal.scrubReading) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Scrubs with the clock moving 10 ms a call until `stop` says so (or 100 000 calls), each call's
 * read delivered before the next; the bytes read.
 */
async function scrubUntil(journal: Journal, clock: { ms: number }, stop: () => boolean): Promise<number> {
  let read = 0;
  for (let calls = 0; calls < 100_000 && !stop(); calls++) {
    clock.ms += 10;
    read += journal.scrub();
    await readDelivered(journal);
  }
  return read;
}

/** What the scrub throws before `stop()` holds (null when it throws nothing). */
async function scrubFailure(journal: Journal, clock: { ms: number }, stop: () => boolean): Promise<unknown> {
  try {
    await scrubUntil(journal, clock, stop);
    return null;
  } catch (thrown) {
    return thrown;
  }
}

/**
 * A journal over 64 KiB segments, scrubbing 64 KiB/s with passes 10 s apart on its own clock, after
 * 20 flushes of a record per partition for three partitions (4 entries of 1 000 B each): several segments.
 */
async function threePartitionLog(): Promise<{ journal: Journal; clock: { ms: number } }> {
  const clock = { ms: 0 };
  const options: JournalOptions = { segmentBytes: 64 << 10, retentionBytes: 1 << 30, retentionMs: 3600_000, now: () => clock.ms, cacheBytes: 1 << 20, scrubBytesPerSec: 64 << 10, scrubPassIntervalMs: 10_000 };
  const { journal } = Journal.open(new FileDisk(directory), options);
  for (let round = 0; round < 20; round++) {
    for (const partition of [1, 2, 3]) journal.appendEntries(partition, entries(round * 4 + 1, round * 4 + 4, 1000));
    await flush(journal);
  }
  return { journal, clock };
}

describe('journal scrub', () => {
  it('reads every durable record once a pass, at its rate, and names the record a rotted byte is in', async () => {
    const { journal, clock } = await threePartitionLog();
    const sizes = segmentSizes();
    const recordBytes = 8 + 5 + 4 + 4 * (32 + 1000); // prefix, header, count, 4 entries
    const total = 20 * 3 * recordBytes; // segments are zero-filled ahead: their files are larger
    expect(sizes.size).toBeGreaterThanOrEqual(4);

    // Recovery at open checked every record: the first pass waits the interval (10 s) from there.
    // A pass checks each durable record once, reading 64 KiB (a second of its rate) at a time; a
    // read that ends inside a record leaves it to the next.
    let read = 0;
    let reads = 0;
    let passStarted = -1;
    while (journal.scrubStats().passes === 0) {
      clock.ms += 10;
      const n = journal.scrub();
      await readDelivered(journal);
      if (n > 0 && passStarted < 0) passStarted = clock.ms;
      if (n > 0) reads++;
      expect(n).toBeLessThanOrEqual((64 << 10) + recordBytes); // a step, and at most one record it ended inside
      read += n;
      expect(clock.ms).toBeLessThan(30_000);
    }
    // The pass began at 10 s; its first read waited a step's worth of its rate (64 KiB: 1 s).
    expect(passStarted).toBe(11_000);
    expect(journal.scrubStats()).toEqual({ bytes: total, passes: 1 });
    expect(read).toBeGreaterThanOrEqual(total);
    expect(read).toBeLessThanOrEqual(total + reads * recordBytes);
    expect(clock.ms - passStarted).toBeGreaterThanOrEqual(Math.floor(total / (64 << 10)) * 1000 - 1000);

    // The next pass waits for the interval: nothing is read before 10 s after this one began.
    expect(await scrubUntil(journal, clock, () => clock.ms >= 20_000 - 10)).toBe(0);

    // A byte rots in the second segment, inside its third record: the pass stops there.
    const [, second] = [...sizes.keys()];
    flipByte(second!, 2 * recordBytes + 100);
    const error = await scrubFailure(journal, clock, () => journal.scrubStats().passes === 2);
    expect(error).toBeInstanceOf(CorruptReadError);
    expect(error).toMatchObject({ file: second, position: 2 * recordBytes, index: -1 });
    expect([1, 2, 3]).toContain((error as CorruptReadError).partition);
    expect((error as Error).message).toMatch(new RegExp(`^corrupt record in ${second} at ${2 * recordBytes} \\(partition \\d\\): CRC32C mismatch \\(found by the scrub\\)$`));

    // The same byte back as it was: the pass goes on from that record and ends.
    flipByte(second!, 2 * recordBytes + 100);
    await scrubUntil(journal, clock, () => journal.scrubStats().passes === 2);
    expect(journal.scrubStats().passes).toBe(2);
    journal.close();
  });

  it('names the partition of a record whose own partition field rotted, from the index', async () => {
    const { journal, clock } = await threePartitionLog();
    const recordBytes = 8 + 5 + 4 + 4 * (32 + 1000); // prefix, header, count, 4 entries
    const [, second] = [...segmentSizes().keys()];
    // The third record of the second segment: its partition field (after the 8-byte prefix and the
    // header's first byte) is a u32 of 1, 2 or 3, whose low byte rots into one no partition has.
    const field = 2 * recordBytes + 8 + 1;
    const owner = fs.readFileSync(path.join(directory, second!))[field]!;
    expect([1, 2, 3]).toContain(owner);
    flipByte(second!, field);
    const error = await scrubFailure(journal, clock, () => journal.scrubStats().passes === 1);
    expect(error).toBeInstanceOf(CorruptReadError);
    expect(error).toMatchObject({ file: second, position: 2 * recordBytes, partition: owner });
    expect((error as Error).message).toBe(`corrupt record in ${second} at ${2 * recordBytes} (partition ${owner}): CRC32C mismatch (found by the scrub)`);
    journal.close();
  });

  it('names the partition of a record whose length field rotted, from the index entry at its start', async () => {
    const { journal, clock } = await threePartitionLog();
    const recordBytes = 8 + 5 + 4 + 4 * (32 + 1000);
    const [, second] = [...segmentSizes().keys()];
    // The fourth record of the second segment: the high byte of its length (the prefix's first
    // u32) rots, so the record seems to run far past the segment; its partition field is intact.
    const start = 3 * recordBytes;
    const bytes = fs.readFileSync(path.join(directory, second!));
    const owner = bytes.readUInt32LE(start + 8 + 1);
    expect([1, 2, 3]).toContain(owner);
    flipByte(second!, start + 3);
    const error = await scrubFailure(journal, clock, () => journal.scrubStats().passes === 1);
    expect(error).toBeInstanceOf(CorruptReadError);
    expect(error).toMatchObject({ file: second, position: start, partition: owner });
    expect((error as Error).message).toMatch(new RegExp(`^corrupt record in ${second} at ${start} \\(partition ${owner}\\): record length \\d+ .*\\(found by the scrub\\)$`));
    journal.close();
  });

  it('starts a pass at once when asked, from the oldest segment, even over one under way', async () => {
    const { journal, clock } = await threePartitionLog();
    const total = 20 * 3 * (8 + 5 + 4 + 4 * (32 + 1000));
    // Right after recovery the next pass would wait 10 s; asked, it starts now, at its rate.
    expect(journal.startScrubPass()).toEqual({ bytes: total, bytesPerSec: 64 << 10 });
    await scrubUntil(journal, clock, () => journal.scrubStats().passes === 1);
    expect(journal.scrubStats()).toEqual({ bytes: total, passes: 1 });
    expect(clock.ms).toBeLessThan(Math.ceil(total / (64 << 10)) * 1000 + 1000);
    // Asked again halfway through the next pass: it starts over at the oldest segment.
    journal.startScrubPass();
    await scrubUntil(journal, clock, () => journal.scrubStats().bytes >= 1.5 * total);
    const halfway = journal.scrubStats().bytes - total;
    expect(journal.scrubStats().passes).toBe(1);
    journal.startScrubPass();
    await scrubUntil(journal, clock, () => journal.scrubStats().passes === 2);
    expect(journal.scrubStats().bytes).toBe(2 * total + halfway);
    journal.close();
  });

  it('never reads past what a completed flush made durable, and follows retention', async () => {
    const clock = { ms: 0 };
    const options: JournalOptions = { segmentBytes: 16 << 10, retentionBytes: 48 << 10, retentionMs: 3600_000, now: () => clock.ms, cacheBytes: 1 << 20, scrubBytesPerSec: 64 << 20, scrubPassIntervalMs: 0 };
    const { journal } = Journal.open(new FileDisk(directory), options);
    let index = 1;
    for (let round = 0; round < 40; round++) {
      journal.appendEntries(1, entries(index, index + 3, 1000));
      index += 4;
      // Staged and being written: the scrub sees none of it until the flush completes.
      const flushed = flush(journal);
      const before = journal.scrubStats().passes;
      await scrubUntil(journal, clock, () => journal.scrubStats().passes >= before + 2);
      await flushed;
      // Retention deletes old segments as the log grows; a pass goes on with what is left.
      if (round % 8 === 7) journal.enforceRetention();
    }
    const passes = journal.scrubStats().passes;
    await scrubUntil(journal, clock, () => journal.scrubStats().passes >= passes + 1);
    expect(journal.scrubStats().passes).toBe(passes + 1);
    expect(segmentSizes().size).toBeLessThan(10);
    journal.close();
  });

  it('reports a read the device failed as a DiskReadError naming the file and position, and serves nothing from it', async () => {
    const clock = { ms: 0 };
    const disk = new FileDisk(directory);
    // The device fails every asynchronous read (EIO), as a latent sector error would.
    const failing = (file: DiskFile): DiskFile =>
      new Proxy(file, {
        get: (target, key) =>
          key === 'readIntoAsync'
            ? (_position: number, _into: Uint8Array, _length: number, done: (error: Error | null) => void) => setImmediate(() => done(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })))
            : (Reflect.get(target, key, target) as unknown),
      });
    const wrapped: Disk = new Proxy(disk, {
      get: (target, key) => {
        const value = Reflect.get(target, key, target) as unknown;
        if (key === 'open' || key === 'openPreallocated') return (...args: Parameters<FileDisk['open']>) => failing((value as (...a: Parameters<FileDisk['open']>) => DiskFile).apply(target, args));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { journal } = Journal.open(wrapped, { segmentBytes: 1 << 20, retentionBytes: 1 << 30, retentionMs: 3600_000, now: () => clock.ms, cacheBytes: 1 << 20, scrubBytesPerSec: 64 << 10, scrubPassIntervalMs: 0 });
    journal.appendEntries(1, entries(1, 10, 100));
    await flush(journal);
    const error = await scrubFailure(journal, clock, () => journal.scrubStats().passes > 0);
    expect(error).toBeInstanceOf(DiskReadError);
    expect((error as Error).message).toMatch(/^read of seg-\d+\.log at 0 failed: EIO: i\/o error, read$/);
    expect(journal.scrubStats()).toEqual({ bytes: 0, passes: 0 });
    journal.close();
  });

  it('is off at rate 0', async () => {
    const clock = { ms: 0 };
    const { journal } = Journal.open(new FileDisk(directory), { segmentBytes: 1 << 20, retentionBytes: 1 << 30, retentionMs: 3600_000, now: () => clock.ms, cacheBytes: 1 << 20, scrubBytesPerSec: 0 });
    journal.appendEntries(1, entries(1, 10, 100));
    await flush(journal);
    expect(await scrubUntil(journal, clock, () => clock.ms > 120_000)).toBe(0);
    expect(journal.scrubStats()).toEqual({ bytes: 0, passes: 0 });
    expect(() => journal.startScrubPass()).toThrow('the scrub is off on this node (its rate is 0)');
    journal.close();
  });
});
