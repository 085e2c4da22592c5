// Background log reads (Journal.fetchInBackground): entries on disk come into memory through the
// thread pool, checked as a blocking read checks them, so a follower far behind or a consumer
// reading history never blocks the event loop that serves appends.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { FileDisk, flipByte } from './file-disk.ts';
import { BACKGROUND_READS_IN_FLIGHT_MAX, Journal, type JournalOptions } from './journal.ts';
import { CorruptReadError, type DiskFile } from './types.ts';

// 'always' (the default, set here to say so): most tests are of the background reads themselves.
const OPTIONS: JournalOptions = { segmentBytes: 1 << 20, retentionBytes: 1 << 30, retentionMs: 3600_000, now: () => 0, cacheBytes: 0, segmentReadBytesPerSec: Number.POSITIVE_INFINITY, backgroundReads: 'always' };

function payload(index: number, term: number, bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (index * 31 + term * 7 + i) & 0xff);
}

/** Entries [from, to] of `term`, one record each, continuing from `offset`. */
function entries(from: number, to: number, term: number, offset: number, bytes = 1000): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push({ index, term, offset: offset + index - from, count: 1, data: payload(index, term, bytes) });
  return out;
}

function flush(journal: Journal): Promise<void> {
  return new Promise((resolve, reject) => journal.flush((error) => (error === null ? resolve() : reject(error))));
}

/** A FileDisk that counts blocking reads (read, readInto) and background ones (readIntoAsync). */
class CountingDisk extends FileDisk {
  blocking = 0;
  background = 0;
  /** Background reads in the pool now, and the most there were at once. */
  inFlight = 0;
  inFlightMax = 0;
  /** Milliseconds each blocking read takes on `clockMs` (as one from the device, not the page cache, would). */
  blockingReadMs = 0;
  /** The journal's read clock (JournalOptions.readClockMs): only blocking reads move it. */
  clockMs = 0;
  private readonly wrapped = new WeakSet<DiskFile>();

  override open(name: string): DiskFile {
    return this.count(super.open(name));
  }

  override openPreallocated(name: string, bytes: number): DiskFile {
    return this.count(super.openPreallocated(name, bytes));
  }

  private count(file: DiskFile): DiskFile {
    if (this.wrapped.has(file)) return file; // openPreallocated may open through open()
    this.wrapped.add(file);
    // (read() reads through readInto.)
    const readInto = file.readInto.bind(file);
    file.readInto = (position, target, length) => {
      this.blocking++;
      this.clockMs += this.blockingReadMs;
      readInto(position, target, length);
    };
    const readIntoAsync = file.readIntoAsync!.bind(file);
    file.readIntoAsync = (position, target, length, done) => {
      this.background++;
      this.inFlightMax = Math.max(this.inFlightMax, ++this.inFlight);
      readIntoAsync(position, target, length, (error) => {
        this.inFlight--;
        done(error);
      });
    };
    return file;
  }
}

let directory = '';
beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-journal-fetch-'));
});
afterEach(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});

/** Opens a journal on `disk` that records what onFetched reports. */
function open(disk: FileDisk, options: Partial<JournalOptions> = {}): { journal: Journal; fetched: { partition: number; failure: Error | null }[]; next: () => Promise<{ partition: number; failure: Error | null }> } {
  const fetched: { partition: number; failure: Error | null }[] = [];
  let waiting: ((event: { partition: number; failure: Error | null }) => void) | null = null;
  const { journal } = Journal.open(disk, {
    ...OPTIONS,
    ...options,
    onFetched: (partition, failure) => {
      const event = { partition, failure };
      fetched.push(event);
      waiting?.(event);
      waiting = null;
    },
  });
  const next = (): Promise<{ partition: number; failure: Error | null }> => new Promise((resolve) => (waiting = resolve));
  return { journal, fetched, next };
}

/** 40 flushes, each with 5 entries of partition 1 (1 000 bytes each) and 5 of partition 2 (`otherBytes` each). */
async function writeTwoPartitions(journal: Journal, otherBytes = 300): Promise<void> {
  for (let f = 0; f < 40; f++) {
    journal.appendEntries(1, entries(f * 5 + 1, f * 5 + 5, 1, f * 5));
    journal.appendEntries(2, entries(f * 5 + 1, f * 5 + 5, 1, f * 5, otherBytes));
    await flush(journal);
  }
}

const SIX_PARTITIONS = [1, 2, 3, 4, 5, 6];

/** Entries 1-100 of each of SIX_PARTITIONS (700 + p bytes each, 20 flushes); then a fetch of each, all asked at once. */
async function sixFetchesAtOnce(journal: Journal): Promise<Promise<Error | null>[]> {
  for (let f = 0; f < 20; f++) {
    for (const p of SIX_PARTITIONS) journal.appendEntries(p, entries(f * 5 + 1, f * 5 + 5, 1, f * 5, 700 + p));
    await flush(journal);
  }
  return SIX_PARTITIONS.map((p) => new Promise<Error | null>((resolve) => expect(journal.log(p).prefetch(1, 1 << 20, resolve)).toBe(true)));
}

describe('background log reads', () => {
  it('bring entries on disk into memory in the thread pool, and a log read then takes them without a blocking read, once', async () => {
    const disk = new CountingDisk(directory);
    const { journal, fetched, next } = open(disk);
    await writeTwoPartitions(journal);
    const log = journal.log(1);
    disk.blocking = 0;

    const arrived = next();
    expect(log.fetching(1)).toBe(true);
    expect(log.fetching(1)).toBe(true); // one read at a time per log: asked again, it is the same read
    expect(await arrived).toEqual({ partition: 1, failure: null });
    expect(fetched).toHaveLength(1);
    expect(disk.background).toBeGreaterThan(0);
    expect(log.fetching(1)).toBe(false); // in memory now

    // A leader's append or a client's read (rationed) takes them all, and nothing blocked.
    expect(log.entries(1, 201, 1 << 30, true)).toEqual(entries(1, 200, 1, 0));
    expect(disk.blocking).toBe(0);
    const stats = journal.readStats();
    expect(stats.backgroundBytes).toBeGreaterThanOrEqual(200 * 1000);
    expect(stats.segmentBytes).toBe(stats.backgroundBytes);

    // Taken once: the next read of them goes to the disk again (nothing stays pinned in memory).
    expect(log.fetching(1)).toBe(true);
    await next();
    // The other partition's entries, between them in the segment, were not handed out as partition 1's.
    expect(journal.log(2).fetching(1)).toBe(true);
    await next();
    expect(journal.log(2).entries(1, 201, 1 << 30, true)).toEqual(entries(1, 200, 1, 0, 300));
    expect(disk.blocking).toBe(0);
    journal.close();
  });

  it('stop a rationed read at the first entry past what is in memory and fetch on from there, so a read blocks only for its first entry', async () => {
    const disk = new CountingDisk(directory);
    const { journal, next } = open(disk);
    await writeTwoPartitions(journal);
    const log = journal.log(1);
    // 20 KB asked for: a part of the log comes into memory.
    let arrived = next();
    expect(log.prefetch(1, 20_000, () => {})).toBe(true);
    await arrived;
    disk.blocking = 0;
    arrived = next();
    const first = log.entries(1, 201, 1 << 30, true);
    expect(first.length).toBeGreaterThanOrEqual(20);
    expect(first.length).toBeLessThan(200);
    expect(first).toEqual(entries(1, first.length, 1, 0));
    expect(disk.blocking).toBe(0); // it did not read past what was fetched: it started the next read
    await arrived;
    const rest = log.entries(first.length + 1, 201, 1 << 30, true);
    expect(rest).toEqual(entries(first.length + 1, 200, 1, first.length));
    expect(disk.blocking).toBe(0);
    // An unrationed read (a leader applying) reads what it needs at once, as before.
    expect(log.entries(1, 11, 1 << 30)).toEqual(entries(1, 10, 1, 0));
    expect(disk.blocking).toBeGreaterThan(0);
    journal.close();
  });

  it('tell who waits: a client read given to prefetch is called back once the entries are in memory', async () => {
    const disk = new CountingDisk(directory);
    const { journal } = open(disk);
    await writeTwoPartitions(journal);
    const log = journal.log(2);
    const failure = await new Promise<Error | null>((resolve) => expect(log.prefetch(100, 1 << 20, resolve)).toBe(true));
    expect(failure).toBeNull();
    disk.blocking = 0;
    expect(log.entries(100, 201, 1 << 30, true)).toEqual(entries(100, 200, 1, 99, 300));
    expect(disk.blocking).toBe(0);
    // Nothing to wait for when the entries are pending (in memory): the caller reads at once.
    journal.appendEntries(2, entries(201, 201, 1, 200, 300));
    expect(log.prefetch(201, 1 << 20, () => expect.unreachable('called back'))).toBe(false);
    await flush(journal);
    journal.close();
  });

  it('find a rotted byte as a blocking read does: the read fails with CorruptReadError and hands out nothing', async () => {
    const disk = new CountingDisk(directory);
    const { journal, next } = open(disk);
    await writeTwoPartitions(journal);
    const log = journal.log(1);
    const segment = fs.readdirSync(directory).find((name) => name.startsWith('seg-') && name.endsWith('.log'))!;
    // Entry data sits far inside the first flush's record of partition 1 (5 entries of 1 000 bytes).
    flipByte(path.join(directory, segment), 2_000);
    const arrived = next();
    expect(log.fetching(1)).toBe(true);
    const { failure } = await arrived;
    expect(failure).toBeInstanceOf(CorruptReadError);
    expect((failure as CorruptReadError).partition).toBe(1);
    expect(journal.inMemory(log, 1)).toBe(false);
    journal.close();
  });

  it('keep nothing of a read whose log moved on meanwhile (entries overwritten by a new leader), and fail nothing', async () => {
    const disk = new CountingDisk(directory);
    const { journal, next } = open(disk);
    await writeTwoPartitions(journal);
    const log = journal.log(1);
    const arrived = next();
    expect(log.fetching(150)).toBe(true);
    // Before the read arrives, a new leader's entries replace 151 on (term 2, pending in memory), and
    // more of them than there were: the indexes the read covers all exist again, elsewhere.
    journal.appendEntries(1, entries(151, 220, 2, 150));
    expect(await arrived).toEqual({ partition: 1, failure: null });
    expect(log.entries(150, 221, 1 << 30, true)).toEqual([...entries(150, 150, 1, 149), ...entries(151, 220, 2, 150)]);
    await flush(journal);
    expect(log.entries(145, 221, 1 << 30)).toEqual([...entries(145, 150, 1, 144), ...entries(151, 220, 2, 150)]);
    journal.close();
  });

  it('wait for the read budget: with it spent, the read starts on a later tick (startWaitingFetches), once the budget refilled', async () => {
    let now = 0;
    const disk = new CountingDisk(directory);
    // 64 KiB/s: 1 KiB saved up at most, so the first read (one entry at least) spends it.
    const { journal, fetched, next } = open(disk, { now: () => now, segmentReadBytesPerSec: 64 << 10 });
    await writeTwoPartitions(journal);
    const log = journal.log(1);
    let arrived = next();
    expect(log.fetching(1)).toBe(true);
    await arrived;
    // The first entry came (with the rest of its record, read anyway): 5 entries, 5 KB over the budget…
    const first = log.entries(1, 201, 1 << 30, true);
    expect(first).toEqual(entries(1, 5, 1, 0));
    expect(log.fetching(6)).toBe(true);
    expect(disk.background).toBe(1); // …only once the budget allows
    journal.startWaitingFetches();
    expect(disk.background).toBe(1);
    expect(fetched).toHaveLength(1);
    now += 1000; // 64 KiB later
    arrived = next();
    journal.startWaitingFetches();
    expect(disk.background).toBeGreaterThan(1);
    await arrived;
    expect(log.entries(6, 201, 1 << 30, true)).toEqual(entries(6, 10, 1, 5));
    expect(journal.readStats().throttled).toBeGreaterThan(0);
    journal.close();
  });

  it('are off with backgroundReads never: every log read blocks, as before them', async () => {
    const disk = new CountingDisk(directory);
    const { journal } = open(disk, { backgroundReads: 'never' });
    await writeTwoPartitions(journal);
    const log = journal.log(1);
    expect(log.fetching(1)).toBe(false);
    expect(log.prefetch(1, 1 << 20, () => expect.unreachable('called back'))).toBe(false);
    disk.blocking = 0;
    expect(log.entries(1, 201, 1 << 30, true)).toEqual(entries(1, 200, 1, 0));
    expect(disk.blocking).toBeGreaterThan(0);
    expect(disk.background).toBe(0);
    journal.close();
  });

  it('with backgroundReads when-slow, start once blocking reads were slow (the data came from the device), and stop that read there', async () => {
    const disk = new CountingDisk(directory);
    const { journal, next } = open(disk, { backgroundReads: 'when-slow', readClockMs: () => disk.clockMs });
    // Partition 2's records (10 KB a flush) part partition 1's: a blocking read takes one flush's at a time.
    await writeTwoPartitions(journal, 2_000);
    const log = journal.log(1);
    // Reads from the page cache are quick (here: take no time): they block, which costs the loop less than the pool.
    expect(log.fetching(1)).toBe(false);
    disk.blocking = 0;
    expect(log.entries(1, 201, 1 << 30, true)).toEqual(entries(1, 200, 1, 0));
    expect(disk.background).toBe(0);
    expect(disk.blocking).toBe(40);

    // A slow one: the read stops after it (some entries, not all)…
    disk.blockingReadMs = 20;
    disk.blocking = 0;
    const first = log.entries(1, 201, 1 << 30, true);
    expect(disk.blocking).toBe(1);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(200);
    expect(first).toEqual(entries(1, first.length, 1, 0));
    // …and what follows comes from the pool, with no more blocking reads.
    const arrived = next();
    expect(log.fetching(first.length + 1)).toBe(true);
    await arrived;
    expect(log.entries(first.length + 1, 201, 1 << 30, true)).toEqual(entries(first.length + 1, 200, 1, first.length));
    expect(disk.blocking).toBe(1);
    expect(disk.background).toBeGreaterThan(0);
    // Ten seconds later (background reads that took no time do not hold it), reads block again.
    disk.clockMs += 10_000;
    disk.blockingReadMs = 0;
    expect(log.fetching(1)).toBe(false);
    expect(log.entries(1, 201, 1 << 30, true)).toEqual(entries(1, 200, 1, 0));
    expect(disk.blocking).toBe(41);
    journal.close();
  });

  it('do not hold a client\'s read until the read budget refills: it goes at once, for its first entry at least, and takes a read waiting for the budget with it', async () => {
    let now = 0;
    const disk = new CountingDisk(directory);
    const { journal, next } = open(disk, { now: () => now, segmentReadBytesPerSec: 64 << 10 });
    await writeTwoPartitions(journal);
    const log = journal.log(1);
    let arrived = next();
    expect(log.fetching(1)).toBe(true);
    await arrived;
    expect(log.entries(1, 201, 1 << 30, true)).toHaveLength(5);
    expect(log.fetching(6)).toBe(true); // raft's read waits for the budget…
    expect(disk.background).toBe(1);
    arrived = next();
    const answer = new Promise<Error | null>((resolve) => expect(log.prefetch(6, 1 << 20, resolve)).toBe(true));
    expect(disk.background).toBe(2); // …a client's goes now
    expect(await answer).toBeNull();
    expect(await arrived).toEqual({ partition: 1, failure: null }); // raft is told too
    disk.blocking = 0;
    expect(log.entries(6, 201, 1 << 30, true)).toEqual(entries(6, 10, 1, 5)); // its first entry, with the rest of its record
    expect(disk.blocking).toBe(0);
    journal.close();
  });

  it('take at most BACKGROUND_READS_IN_FLIGHT_MAX places in the thread pool, which the flushes share: the others wait their turn, and every entry arrives', async () => {
    const disk = new CountingDisk(directory);
    const { journal } = open(disk);
    const answers = await sixFetchesAtOnce(journal);
    // Six fetches asked for at once; only the first ones are in the pool yet.
    expect(disk.inFlight).toBe(BACKGROUND_READS_IN_FLIGHT_MAX);
    expect(await Promise.all(answers)).toEqual(SIX_PARTITIONS.map(() => null));
    expect(disk.inFlightMax).toBe(BACKGROUND_READS_IN_FLIGHT_MAX);
    expect(disk.background).toBeGreaterThanOrEqual(SIX_PARTITIONS.length);
    disk.blocking = 0;
    for (const p of SIX_PARTITIONS) expect(journal.log(p).entries(1, 101, 1 << 30, true)).toEqual(entries(1, 100, 1, 0, 700 + p));
    expect(disk.blocking).toBe(0);
    journal.close();
  });

  it('make the scrub read wait its turn with the fetches, so a scrub beside a catch-up takes no extra place in the pool', async () => {
    const disk = new CountingDisk(directory);
    const clock = { ms: 0 };
    const { journal } = open(disk, { now: () => clock.ms, scrubBytesPerSec: 64 << 10, scrubPassIntervalMs: 10_000 });
    const answers = await sixFetchesAtOnce(journal);
    expect(disk.inFlight).toBe(BACKGROUND_READS_IN_FLIGHT_MAX);
    // The pass starts 10 s after the recovery at open; its first read, a second of its rate later.
    clock.ms = 10_000;
    expect(journal.scrub()).toBe(0);
    clock.ms = 11_000;
    expect(journal.scrub()).toBe(64 << 10);
    expect(journal.scrubReading).toBe(true);
    expect(disk.inFlight).toBe(BACKGROUND_READS_IN_FLIGHT_MAX); // it waits behind the fetches
    expect(await Promise.all(answers)).toEqual(SIX_PARTITIONS.map(() => null));
    while (journal.scrubReading) await new Promise((resolve) => setImmediate(resolve));
    expect(disk.inFlightMax).toBe(BACKGROUND_READS_IN_FLIGHT_MAX);
    expect(disk.background).toBeGreaterThanOrEqual(SIX_PARTITIONS.length + 1);
    expect(journal.scrubStats().bytes).toBeGreaterThan(0); // and what it read was checked
    expect(journal.scrub()).toBe(0); // no tokens left until the clock moves
    journal.close();
  });

  it('answer the reads still waiting for a place in the pool when the journal closes, and issue none of them', async () => {
    const disk = new CountingDisk(directory);
    const { journal } = open(disk);
    const answers = await sixFetchesAtOnce(journal);
    const issued = disk.background;
    journal.close();
    expect((await Promise.all(answers)).map((e) => e?.message)).toEqual(SIX_PARTITIONS.map(() => 'journal closed'));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the reads in the pool end
    expect(disk.background).toBe(issued);
    expect(disk.inFlight).toBe(0);
  });

  it('answer waiters when the journal closes first, so no client read is left without an answer', async () => {
    const disk = new CountingDisk(directory);
    const { journal, fetched } = open(disk);
    await writeTwoPartitions(journal);
    const answer = new Promise<Error | null>((resolve) => expect(journal.log(1).prefetch(1, 1 << 20, resolve)).toBe(true));
    journal.close();
    expect((await answer)?.message).toBe('journal closed');
    expect(fetched).toHaveLength(0); // the node that closed it hears nothing more
  });
});
