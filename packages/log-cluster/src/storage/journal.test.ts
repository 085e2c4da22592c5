import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { FileDisk } from './file-disk.ts';
import { CHUNK_ENTRIES_DEFAULT } from './entry-table.ts';
import { IDENTIFIER_BYTES } from './identifiers.ts';
import { Journal, type JournalOptions } from './journal.ts';
import { MemDisk } from './mem-disk.ts';
import { untilPreallocated } from './test-helpers.ts';
import { DiskFullError, type Disk, type DiskFile, type IoCallback } from './types.ts';
import { seededRandom } from '../sim/random.ts';

const OPTIONS: JournalOptions = { segmentBytes: 1 << 20, retentionBytes: 1 << 30, retentionMs: 3600_000, now: () => 0, cacheBytes: 1 << 20 };

function payload(index: number, bytes = 16): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (index * 31 + i) & 0xff);
}

/** Entries [from, to] of `term`, each holding 2 records, continuing from `offset`. */
function entries(from: number, to: number, term: number, offset: number, bytes = 16): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push({ index, term, offset: offset + (index - from) * 2, count: 2, data: payload(index * term, bytes) });
  return out;
}

function flush(journal: Journal): Promise<void> {
  return new Promise((resolve, reject) => journal.flush((error) => (error === null ? resolve() : reject(error))));
}

let directory = '';
beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-journal-'));
});
afterEach(() => {
  fs.rmSync(directory, { recursive: true, force: true });
  fs.rmSync(`${directory}-before`, { recursive: true, force: true });
});

/** Each flush of writeTwoPartitions: partition 1's record (4 entries of 100 bytes), then partition 2's (1 of 10). */
const TWO_PARTITIONS_FLUSH = { p1Record: 8 + 5 + 4 + 4 * (32 + 100), p2Record: 8 + 5 + 4 + 32 + 10 };

/** Three flushes of partitions 1 (entries 1..12) and 2 (1..3) into a fresh journal, closed after; returns its segment. */
async function writeTwoPartitions(): Promise<string> {
  const { journal } = Journal.open(new FileDisk(directory), OPTIONS);
  for (let batch = 0; batch < 3; batch++) {
    journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
    journal.appendEntries(2, entries(batch + 1, batch + 1, 1, batch * 2, 10));
    await flush(journal);
  }
  journal.close();
  return segmentFiles()[0]!;
}

function segmentFiles(): string[] {
  return fs.readdirSync(directory).filter((name) => name.startsWith('seg-') && name.endsWith('.log')).sort();
}

describe('journal on real files', () => {
  it('says so when its hard-state files are gone while segments remain (the votes it gave are lost)', async () => {
    const { journal } = Journal.open(new FileDisk(directory), OPTIONS);
    journal.appendEntries(1, entries(1, 3, 2, 0));
    journal.setHardState(1, { term: 2, vote: 3, commit: 0 });
    await flush(journal);
    journal.close();
    const intact = Journal.open(new FileDisk(directory), OPTIONS);
    expect([intact.report.stateLost, intact.journal.log(1).hardState().vote]).toEqual([false, 3]);
    intact.journal.close();
    for (const name of fs.readdirSync(directory)) if (name.startsWith('state-')) fs.rmSync(path.join(directory, name));
    const lost = Journal.open(new FileDisk(directory), OPTIONS);
    expect([lost.report.stateLost, lost.journal.log(1).hardState().vote, lost.journal.log(1).lastIndex()]).toEqual([true, 0, 3]);
    lost.journal.close();
  });

  it('round-trips entries, hard states, conflict truncation and snapshots across reopen', async () => {
    const { journal, report: fresh } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(fresh).toEqual({ segmentsScanned: 0, recordsRecovered: 0, truncatedBytes: 0, corruption: null, faulty: [], uncertain: false, stateLost: false });
    journal.appendEntries(1, entries(1, 10, 1, 0));
    journal.appendEntries(2, entries(1, 5, 1, 0));
    journal.appendEntries(3, entries(1, 5, 1, 0));
    journal.setHardState(1, { term: 1, vote: 2, commit: 4 });
    await flush(journal);
    // Conflict: a new leader replaces 6..10 of partition 1 with 6..7 of term 2.
    journal.appendEntries(1, entries(6, 7, 2, 10));
    journal.setHardState(1, { term: 2, vote: 3, commit: 6 });
    // Partition 2: a snapshot inside the log keeps what follows; partition 3: one past it drops all.
    journal.applySnapshot(2, { index: 3, term: 1, nextOffset: 6 });
    journal.applySnapshot(3, { index: 20, term: 4, nextOffset: 100 });
    journal.appendEntries(3, entries(21, 22, 4, 100));
    await flush(journal);
    journal.close();

    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report.corruption).toBeNull();
    expect(report.truncatedBytes).toBe(0);
    expect(report.recordsRecovered).toBe(7);
    expect(reopened.partitions()).toEqual([1, 2, 3]);
    const p1 = reopened.log(1);
    expect(p1.hardState()).toEqual({ term: 2, vote: 3, commit: 6 });
    expect(p1.initialState().hardState).toEqual({ term: 2, vote: 3, commit: 6 });
    expect([p1.firstIndex(), p1.lastIndex(), p1.term(5), p1.term(6), p1.term(8)]).toEqual([1, 7, 1, 2, undefined]);
    expect(p1.entries(1, 8, 1 << 20)).toEqual([...entries(1, 5, 1, 0), ...entries(6, 7, 2, 10)]);
    expect(p1.lastOffsetEnd()).toBe(14);
    const p2 = reopened.log(2);
    expect(p2.snapshot()).toEqual({ index: 3, term: 1, nextOffset: 6 });
    expect([p2.firstIndex(), p2.lastIndex(), p2.term(3), p2.term(2)]).toEqual([4, 5, 1, undefined]);
    expect(p2.entries(4, 6, 1 << 20)).toEqual(entries(4, 5, 1, 6));
    const p3 = reopened.log(3);
    expect(p3.snapshot()).toEqual({ index: 20, term: 4, nextOffset: 100 });
    expect(p3.entries(21, 23, 0).map((e) => e.index)).toEqual([21]); // maxBytes bounds all but the first
    expect(p3.entries(21, 23, 1 << 20)).toEqual(entries(21, 22, 4, 100));
    expect(reopened.log(4).lastIndex()).toBe(0); // unknown partitions start empty
    reopened.close();
  });

  it('finds the entry holding a record offset', async () => {
    const { journal } = Journal.open(new FileDisk(directory), OPTIONS);
    journal.applySnapshot(1, { index: 4, term: 1, nextOffset: 10 });
    // 5 holds 10..11, 6 is a no-op holding nothing, 7 holds 12..13.
    journal.appendEntries(1, [
      { index: 5, term: 1, offset: 10, count: 2, data: payload(5) },
      { index: 6, term: 2, offset: 12, count: 0, data: new Uint8Array(0) },
      { index: 7, term: 2, offset: 12, count: 2, data: payload(7) },
    ]);
    const log = journal.log(1);
    expect([9, 10, 11, 12, 13, 14].map((offset) => log.indexForOffset(offset))).toEqual([undefined, 5, 5, 7, 7, undefined]);
    expect(log.lastOffsetEnd()).toBe(14);
    await flush(journal);
    journal.close();
  });

  it('drops a batch cut in half and keeps the ones before it', async () => {
    const { journal } = Journal.open(new FileDisk(directory), OPTIONS);
    for (let batch = 0; batch < 3; batch++) {
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      await flush(journal);
    }
    journal.close();
    const [segment] = segmentFiles();
    const file = path.join(directory, segment!);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 150); // the last record loses its second half
    // ...and, as the flush never completed, its identifier was not written either: a torn write.
    const ids = file.replace(/\.log$/, '.ids');
    fs.truncateSync(ids, fs.statSync(ids).size - IDENTIFIER_BYTES);

    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report.corruption).toBeNull();
    expect(report.truncatedBytes).toBeGreaterThan(0);
    expect(report.recordsRecovered).toBe(2);
    expect(reopened.log(1).lastIndex()).toBe(8);
    expect(reopened.log(1).entries(1, 9, 1 << 20)).toEqual([...entries(1, 4, 1, 0, 100), ...entries(5, 8, 1, 8, 100)]);
    // The cut is durable and the log continues after it.
    reopened.appendEntries(1, entries(9, 9, 2, 16, 100));
    await flush(reopened);
    reopened.close();
    const { journal: third, report: clean } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(clean.truncatedBytes).toBe(0);
    expect(third.log(1).lastIndex()).toBe(9);
    third.close();
  });

  it('reports a flipped byte in a middle record, keeps the records before it and drops the rest', async () => {
    const disk = new FileDisk(directory);
    const { journal } = Journal.open(disk, OPTIONS);
    const recordStarts: number[] = [];
    for (let batch = 0; batch < 3; batch++) {
      // Minus the hard-state records (two copies) and one identifier per earlier batch's record.
      recordStarts.push(journal.usedBytes() - 2 * 32 * batch - IDENTIFIER_BYTES * batch);
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      journal.setHardState(1, { term: 1, vote: 1, commit: batch * 4 });
      await flush(journal);
    }
    journal.close();
    const [segment] = segmentFiles();
    const sizeBytes = fs.statSync(path.join(directory, segment!)).size;
    disk.corruptByte(segment!, recordStarts[1]! + 200);

    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report.corruption).toEqual({ file: segment, position: recordStarts[1] });
    expect(report.recordsRecovered).toBe(1);
    expect(report.truncatedBytes).toBe(sizeBytes - recordStarts[1]!);
    expect(fs.statSync(path.join(directory, segment!)).size).toBe(recordStarts[1]);
    expect(reopened.log(1).lastIndex()).toBe(4);
    expect(reopened.log(1).entries(1, 5, 1 << 20)).toEqual(entries(1, 4, 1, 0, 100));
    // Hard states live apart: the vote survives the corrupt segment.
    expect(reopened.log(1).hardState()).toEqual({ term: 1, vote: 1, commit: 8 });
    // The identifiers name the damaged record and the one after it: acknowledged entries 5..12.
    expect(report.faulty).toEqual([{ partition: 1, tail: { firstIndex: 5, firstTerm: 1, lastIndex: 12, lastTerm: 1 } }]);
    reopened.close();
  });

  it('keeps the valid records of other partitions after a flipped byte: only the bad record\'s partition gets a faulty tail, across more crashes, and a crash before the cut salvages them again', async () => {
    const segment = await writeTwoPartitions();
    const badAt = TWO_PARTITIONS_FLUSH.p1Record + TWO_PARTITIONS_FLUSH.p2Record;
    new FileDisk(directory).corruptByte(segment, badAt + 200);
    const before = `${directory}-before`; // removed with the directory, even when the test fails
    fs.mkdirSync(before);
    for (const name of fs.readdirSync(directory)) fs.copyFileSync(path.join(directory, name), path.join(before, name));

    const p2Entries = [...entries(1, 1, 1, 0, 10), ...entries(2, 2, 1, 2, 10), ...entries(3, 3, 1, 4, 10)];
    // What an earlier recovery's salvage left when a crash cut it short: its temporary segment, and
    // identifiers renamed without their segment. Neither may be read as records or identifiers.
    fs.writeFileSync(path.join(directory, 'salvage-2.log'), Buffer.alloc(300, 0x41));
    fs.writeFileSync(path.join(directory, 'seg-00000000000000000002.ids'), Buffer.alloc(IDENTIFIER_BYTES * 2, 0x42));
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(fs.readdirSync(directory).filter((name) => name.startsWith('salvage-'))).toEqual([]);
    expect(report.corruption).toEqual({ file: segment, position: badAt });
    // Partition 1 lost its damaged record and its own record after it; partition 2 lost nothing.
    expect(report.faulty).toEqual([{ partition: 1, tail: { firstIndex: 5, firstTerm: 1, lastIndex: 12, lastTerm: 1 } }]);
    expect(reopened.log(1).lastIndex()).toBe(4);
    expect(reopened.log(2).lastIndex()).toBe(3);
    expect(reopened.log(2).faultyTail()).toBeNull();
    expect(reopened.log(2).entries(1, 4, 1 << 20)).toEqual(p2Entries);
    // The bad record and what followed it are cut; partition 2's records after it are a new segment.
    expect(segmentFiles()).toHaveLength(2);
    expect(fs.statSync(path.join(directory, segment)).size).toBe(badAt);
    reopened.appendEntries(2, entries(4, 4, 1, 6, 10));
    await flush(reopened);
    reopened.close();

    const { journal: third, report: again } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(again.corruption).toBeNull();
    expect(again.truncatedBytes).toBe(0);
    expect(again.faulty.map((f) => f.partition)).toEqual([1]);
    expect(third.log(2).entries(1, 5, 1 << 20)).toEqual([...p2Entries, ...entries(4, 4, 1, 6, 10)]);
    third.close();

    // A crash after the salvaged segment was written and before the cut: the old files are back
    // beside it. Recovery salvages again, partition 2's records twice over, and replays them in turn.
    for (const name of fs.readdirSync(before)) fs.copyFileSync(path.join(before, name), path.join(directory, name));
    const { journal: fourth, report: twice } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(twice.corruption).toEqual({ file: segment, position: badAt });
    expect(twice.faulty).toEqual([{ partition: 1, tail: { firstIndex: 5, firstTerm: 1, lastIndex: 12, lastTerm: 1 } }]);
    expect(fourth.log(2).entries(1, 5, 1 << 20)).toEqual([...p2Entries, ...entries(4, 4, 1, 6, 10)]);
    fourth.close();
    const { journal: fifth, report: settled } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(settled.corruption).toBeNull();
    expect(fifth.log(2).entries(1, 5, 1 << 20)).toEqual([...p2Entries, ...entries(4, 4, 1, 6, 10)]);
    expect(fifth.log(1).lastIndex()).toBe(4);
    fifth.close();
  });

  it('keeps the bad partition\'s intact records after the lost one aside, with the lost record named, across another crash, until the tail is repaired', async () => {
    const segment = await writeTwoPartitions();
    const badAt = TWO_PARTITIONS_FLUSH.p1Record + TWO_PARTITIONS_FLUSH.p2Record;
    new FileDisk(directory).corruptByte(segment, badAt + 200);

    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report.faulty).toEqual([{ partition: 1, tail: { firstIndex: 5, firstTerm: 1, lastIndex: 12, lastTerm: 1 } }]);
    expect(reopened.log(1).lastIndex()).toBe(4);
    // The log ends before the lost record (5..8); its later record (9..12) is kept aside, intact.
    const aside = reopened.log(1).setAsideTail();
    expect(aside?.hole).toEqual({ firstIndex: 5, firstTerm: 1, lastIndex: 8, lastTerm: 1 });
    expect(aside?.entries).toEqual(entries(9, 12, 1, 16, 100));
    // Only the lost record itself, byte for byte, fills the hole.
    expect(aside?.matchesHole(entries(5, 8, 1, 8, 100))).toBe(true);
    const altered = entries(5, 8, 1, 8, 100);
    altered[2] = { ...altered[2]!, data: payload(99, 100) };
    expect(aside?.matchesHole(altered)).toBe(false);
    expect(aside?.matchesHole(entries(5, 7, 1, 8, 100))).toBe(false);
    expect(reopened.log(2).setAsideTail()).toBeNull();
    reopened.close();

    // Another crash before the repair: the tail and what was kept aside are both still there.
    const { journal: third, report: again } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(again.faulty.map((f) => f.partition)).toEqual([1]);
    expect(third.log(1).setAsideTail()?.entries).toEqual(entries(9, 12, 1, 16, 100));
    // Repaired (here, as when a peer sent the lost record, the entries come back through the log):
    // the marker and the kept records go once those entries are durable.
    third.appendEntries(1, [...entries(5, 8, 1, 8, 100), ...entries(9, 12, 1, 16, 100)]);
    third.clearFaulty(1);
    expect(fs.readdirSync(directory).filter((name) => name.startsWith('aside-'))).toHaveLength(1);
    await flush(third);
    expect(fs.readdirSync(directory).filter((name) => name.startsWith('aside-') || name.startsWith('faulty-'))).toEqual([]);
    third.close();
    const { journal: fourth, report: settled } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(settled.faulty).toEqual([]);
    expect(fourth.log(1).entries(1, 13, 1 << 20)).toEqual([...entries(1, 4, 1, 0, 100), ...entries(5, 8, 1, 8, 100), ...entries(9, 12, 1, 16, 100)]);
    expect(fourth.log(1).setAsideTail()).toBeNull();
    fourth.close();
  });

  it('keeps nothing aside that would not complete the tail: a kept file whose records were damaged is removed, and the tail waits for a leader', async () => {
    const segment = await writeTwoPartitions();
    const badAt = TWO_PARTITIONS_FLUSH.p1Record + TWO_PARTITIONS_FLUSH.p2Record;
    new FileDisk(directory).corruptByte(segment, badAt + 200);
    Journal.open(new FileDisk(directory), OPTIONS).journal.close();
    const [kept] = fs.readdirSync(directory).filter((name) => name.startsWith('aside-'));
    expect(kept).toBeDefined();
    new FileDisk(directory).corruptByte(kept!, 40);
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report.faulty).toEqual([{ partition: 1, tail: { firstIndex: 5, firstTerm: 1, lastIndex: 12, lastTerm: 1 } }]);
    expect(reopened.log(1).setAsideTail()).toBeNull();
    expect(fs.readdirSync(directory).filter((name) => name.startsWith('aside-'))).toEqual([]);
    reopened.close();
  });

  it('keeps an fsynced tail that was cut as a faulty tail, across another crash, until it is cleared', async () => {
    const segment = await writeTwoPartitions();
    const file = path.join(directory, segment);
    // The last flush was durable (acknowledged), then its bytes were lost: cut at a record boundary.
    const lastFlushBytes = TWO_PARTITIONS_FLUSH.p1Record + TWO_PARTITIONS_FLUSH.p2Record;
    fs.truncateSync(file, fs.statSync(file).size - lastFlushBytes);

    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report.faulty).toEqual([
      { partition: 1, tail: { firstIndex: 9, firstTerm: 1, lastIndex: 12, lastTerm: 1 } },
      { partition: 2, tail: { firstIndex: 3, firstTerm: 1, lastIndex: 3, lastTerm: 1 } },
    ]);
    expect(reopened.log(1).lastIndex()).toBe(8);
    expect(reopened.log(1).faultyTail()).toEqual({ firstIndex: 9, firstTerm: 1, lastIndex: 12, lastTerm: 1 });
    // A leader re-sends 9..12; the replica is still faulty until the repair is recorded.
    reopened.appendEntries(1, entries(9, 12, 1, 16, 100));
    await flush(reopened);
    reopened.close();
    const { journal: third, report: again } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(again.faulty.map((f) => f.partition)).toEqual([1, 2]);
    expect(third.log(1).lastIndex()).toBe(12);
    third.clearFaulty(1);
    third.clearFaulty(2);
    await flush(third);
    third.close();
    const { journal: fourth, report: repaired } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(repaired.faulty).toEqual([]);
    expect(fourth.log(1).entries(1, 13, 1 << 20)).toEqual([...entries(1, 4, 1, 0, 100), ...entries(5, 8, 1, 8, 100), ...entries(9, 12, 1, 16, 100)]);
    fourth.close();
  });

  it('keeps term and vote when one copy of the hard state is damaged or cut', async () => {
    const { journal } = Journal.open(new FileDisk(directory), OPTIONS);
    journal.setHardState(1, { term: 1, vote: 2, commit: 0 });
    await flush(journal);
    journal.setHardState(1, { term: 3, vote: 3, commit: 0 });
    await flush(journal);
    journal.close();
    const [state] = fs.readdirSync(directory).filter((name) => name.startsWith('state-') && name.endsWith('.log'));
    const main = path.join(directory, state!);
    const copy = main.replace(/\.log$/, '.copy');
    // A flipped byte in the newest record of one copy: the other still has it.
    new FileDisk(directory).corruptByte(state!, fs.statSync(main).size - 3);
    const { journal: reopened } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(reopened.log(1).hardState()).toMatchObject({ term: 3, vote: 3 });
    // A fresh hard state, then the copy loses its newest record (an fsynced tail cut): the file has it.
    reopened.setHardState(1, { term: 4, vote: 1, commit: 0 });
    await flush(reopened);
    reopened.close();
    fs.truncateSync(copy, fs.statSync(copy).size - 32);
    const { journal: third } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(third.log(1).hardState()).toMatchObject({ term: 4, vote: 1 });
    third.close();
  });

  it('without identifiers (the old recovery) takes the same cut for a torn write and forgets the entries', async () => {
    const options: JournalOptions = { ...OPTIONS, identifiers: false };
    const { journal } = Journal.open(new FileDisk(directory), options);
    for (let batch = 0; batch < 2; batch++) {
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      await flush(journal);
    }
    journal.close();
    const [segment] = segmentFiles();
    const file = path.join(directory, segment!);
    fs.truncateSync(file, fs.statSync(file).size - 100);
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), options);
    expect(report).toMatchObject({ corruption: null, faulty: [], uncertain: false });
    expect(reopened.log(1).lastIndex()).toBe(4);
    reopened.close();
  });

  it('deletes the oldest segments past retentionBytes and moves each log start forward', async () => {
    const options: JournalOptions = { ...OPTIONS, segmentBytes: 1000, retentionBytes: 2500 };
    const { journal } = Journal.open(new FileDisk(directory), options);
    // Partition 2 writes only into the first segment; its log start must survive its deletion.
    journal.appendEntries(2, entries(1, 3, 1, 0, 50));
    for (let batch = 0; batch < 10; batch++) {
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      await flush(journal);
    }
    const before = segmentFiles();
    expect(before.length).toBeGreaterThan(4);
    const usedBefore = journal.usedBytes();
    const deletedBytes = journal.enforceRetention();
    expect(deletedBytes).toBeGreaterThan(0);
    await flush(journal);
    const after = segmentFiles();
    expect(after[after.length - 1]).toBe(before[before.length - 1]); // never the active segment
    expect(after.length).toBeLessThan(before.length);
    expect(journal.usedBytes()).toBeLessThan(usedBefore);
    const p1 = journal.log(1);
    const p2 = journal.log(2);
    expect(p1.firstIndex()).toBeGreaterThan(1);
    expect(p2.snapshot()).toEqual({ index: 3, term: 1, nextOffset: 6 });
    const start = p1.snapshot();
    expect(start.nextOffset).toBe((start.index) * 2);
    expect(p1.entries(p1.firstIndex(), 41, 1 << 20)).toEqual(entries(start.index + 1, 40, 1, start.nextOffset, 100));
    journal.close();

    // Partition 2's log is empty now: its start is also kept in a marker, which changes nothing while the record is there.
    expect(fs.readdirSync(directory).filter((name) => name.startsWith('start-'))).toEqual(['start-2-3-1.marker']);
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), options);
    expect(report.corruption).toBeNull();
    expect(report.faulty).toEqual([]);
    expect(reopened.log(1).snapshot()).toEqual(start);
    expect(reopened.log(1).term(start.index)).toBe(1);
    expect(reopened.log(1).entries(start.index + 1, 41, 1 << 20)).toEqual(entries(start.index + 1, 40, 1, start.nextOffset, 100));
    expect(reopened.log(2).snapshot()).toEqual({ index: 3, term: 1, nextOffset: 6 });
    expect(reopened.log(2).lastIndex()).toBe(3);
    reopened.close();
  });

  /**
   * Partition 1 fills ten segments (and partition 2, when `idle`, writes only into the first), then
   * retention deletes the oldest and records the new log starts in the active segment, and a storage
   * fault cuts that segment back to where it ended before: the start records are lost.
   */
  async function loseRetentionStarts(idle: boolean): Promise<{ options: JournalOptions; start: { index: number } }> {
    // Segments not zero-filled ahead: a file's size is where its records end.
    const options: JournalOptions = { ...OPTIONS, segmentBytes: 1000, retentionBytes: 2500, preallocateBelowBytesPerSec: -1 };
    const { journal } = Journal.open(new FileDisk(directory), options);
    if (idle) journal.appendEntries(2, entries(1, 3, 1, 0, 50));
    for (let batch = 0; batch < 10; batch++) {
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      await flush(journal);
    }
    const active = segmentFiles().at(-1)!;
    const sizeBefore = fs.statSync(path.join(directory, active)).size;
    expect(journal.enforceRetention()).toBeGreaterThan(0);
    await flush(journal);
    expect(segmentFiles().at(-1)).toBe(active); // the start records went into the active segment
    const start = journal.log(1).snapshot();
    expect(start.index).toBeGreaterThan(0);
    if (idle) expect([journal.log(2).snapshot(), journal.log(2).lastIndex()]).toEqual([{ index: 3, term: 1, nextOffset: 6 }, 3]);
    journal.close();
    fs.truncateSync(path.join(directory, active), sizeBefore);
    return { options, start };
  }

  it('a lost start record: the entries it leaves without a start become a faulty tail, durably, instead of vanishing', async () => {
    const { options, start } = await loseRetentionStarts(false);
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), options);
    // The surviving entries follow a gap (retention deleted what came before) and nothing says
    // their start's term: the log starts empty, and what it dropped, 40 being acknowledged, is a
    // faulty tail the replica votes with and gets back from a peer.
    expect(reopened.log(1).lastIndex()).toBe(0);
    const tail = report.faulty.find((f) => f.partition === 1)?.tail;
    expect(tail).toMatchObject({ firstTerm: 1, lastIndex: 40, lastTerm: 1 });
    expect(tail!.firstIndex).toBeGreaterThan(1);
    expect(tail!.firstIndex).toBeLessThanOrEqual(start.index + 1);
    reopened.close();
    // Durably: a crash before any repair finds it again.
    expect(fs.readdirSync(directory).filter((name) => name.startsWith('faulty-1-'))).toHaveLength(1);
    const { journal: again, report: againReport } = Journal.open(new FileDisk(directory), options);
    expect(againReport.faulty).toEqual(report.faulty);
    again.close();
  });

  it('a lost start record of a log retention emptied: its marker makes the last entry it held a faulty tail', async () => {
    // Nothing left in the segments says partition 2 held entries, but its start marker.
    const { options } = await loseRetentionStarts(true);
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), options);
    expect(reopened.log(2).lastIndex()).toBe(0);
    expect(report.faulty.find((f) => f.partition === 2)?.tail).toEqual({ firstIndex: 3, firstTerm: 1, lastIndex: 3, lastTerm: 1 });
    reopened.close();
  });

  it('never deletes entries above what the caller says is applied, even past retentionBytes', async () => {
    const options: JournalOptions = { ...OPTIONS, segmentBytes: 1000, retentionBytes: 1 };
    const { journal } = Journal.open(new FileDisk(directory), options);
    for (let batch = 0; batch < 10; batch++) {
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      await flush(journal);
    }
    // Nothing applied: nothing may go.
    expect(journal.enforceRetention(() => 0)).toBe(0);
    expect(journal.log(1).firstIndex()).toBe(1);
    // Applied up to 10: the log may start after at most index 10.
    expect(journal.enforceRetention(() => 10)).toBeGreaterThan(0);
    await flush(journal);
    const start = journal.log(1).snapshot();
    expect(start.index).toBeGreaterThan(0);
    expect(start.index).toBeLessThanOrEqual(10);
    expect(journal.log(1).lastIndex()).toBe(40);
    journal.close();
  });

  it('deletes segments older than retentionMs', async () => {
    let nowMs = 0;
    const options: JournalOptions = { ...OPTIONS, segmentBytes: 500, retentionMs: 1000, now: () => nowMs };
    const { journal } = Journal.open(new FileDisk(directory), options);
    for (let batch = 0; batch < 4; batch++) {
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      await flush(journal);
    }
    expect(journal.enforceRetention()).toBe(0);
    nowMs = 5000;
    const before = segmentFiles();
    expect(before.length).toBeGreaterThan(2);
    expect(journal.enforceRetention()).toBeGreaterThan(0);
    await flush(journal);
    // Every segment but the active one went (the new log start may have rolled a new segment).
    const after = segmentFiles();
    expect(after.filter((name) => before.includes(name))).toEqual([before[before.length - 1]]);
    expect(journal.log(1).lastIndex()).toBe(16);
    journal.close();
  });

  it('serves old entries from disk once they leave the cache', async () => {
    const { journal } = Journal.open(new FileDisk(directory), { ...OPTIONS, cacheBytes: 300 });
    for (let batch = 0; batch < 5; batch++) {
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      await flush(journal);
    }
    expect(journal.log(1).entries(1, 21, 1 << 20)).toEqual(entries(1, 20, 1, 0, 100));
    journal.close();
  });

  it('shrinks the index of entries past the cache and still reads them whole, after a conflict truncates into them and after reopen', async () => {
    const options = { ...OPTIONS, cacheBytes: 64 << 10, segmentBytes: 256 << 10, segmentReadBytesPerSec: Number.POSITIVE_INFINITY };
    let { journal } = Journal.open(new FileDisk(directory), options);
    const n = 10_000;
    for (let from = 1; from <= n; from += 500) {
      journal.appendEntries(1, entries(from, from + 499, 1, (from - 1) * 2, 100));
      await flush(journal);
    }
    // Every chunk but the last sealed (at most 13 bytes an entry), the last plain (52).
    const chunk = CHUNK_ENTRIES_DEFAULT;
    const bound = (entries: number): number => (Math.ceil(entries / chunk) - 1) * chunk * 13 + chunk * 52;
    expect(Math.ceil(n / chunk)).toBeGreaterThan(2);
    expect(journal.indexStats()).toEqual({ entries: n, bytes: expect.any(Number) });
    expect(journal.indexStats().bytes).toBeLessThanOrEqual(bound(n));
    expect(journal.log(1).entries(1, n + 1, 1 << 30)).toEqual(entries(1, n, 1, 0, 100));
    expect(journal.log(1).indexForOffset(2 * 4321 + 1)).toBe(4322);

    // A new leader's entries replace 3 000… (inside a sealed chunk).
    journal.appendEntries(1, entries(3000, 3010, 2, 2 * 2999, 100));
    await flush(journal);
    const expected = [...entries(1, 2999, 1, 0, 100), ...entries(3000, 3010, 2, 2 * 2999, 100)];
    expect(journal.log(1).lastIndex()).toBe(3010);
    expect(journal.log(1).entries(1, 3011, 1 << 30)).toEqual(expected);
    journal.close();

    ({ journal } = Journal.open(new FileDisk(directory), options));
    expect(journal.indexStats().bytes).toBeLessThanOrEqual(bound(3010));
    expect(journal.log(1).entries(1, 3011, 1 << 30)).toEqual(expected);
    journal.close();
  });

  it('hands out entry data that stays intact after the cache reuses its memory', async () => {
    // A cache of a few slabs wraps many times below; entries read early must keep their bytes
    // (they wait in messages and read answers), though the cache's slabs now hold newer entries.
    const { journal } = Journal.open(new FileDisk(directory), { ...OPTIONS, cacheBytes: 64 << 10 });
    const kept: Entry[] = [];
    for (let batch = 0; batch < 40; batch++) {
      journal.appendEntries(1, entries(batch * 16 + 1, batch * 16 + 16, 1, batch * 32, 1000));
      await flush(journal);
      kept.push(...journal.log(1).entries(batch * 16 + 1, batch * 16 + 17, 1 << 20));
    }
    expect(kept).toEqual(entries(1, 640, 1, 0, 1000));
    expect(journal.log(1).entries(600, 641, 1 << 20)).toEqual(entries(600, 640, 1, 599 * 2, 1000));
    journal.close();
  });

  it('reads runs of old entries from a segment at once, partitions interleaved, every byte intact', async () => {
    let reads = 0;
    const wrapped = new WeakSet<DiskFile>();
    const counted = (file: DiskFile): DiskFile => {
      if (wrapped.has(file)) return file; // openPreallocated may open through open()
      wrapped.add(file);
      const read = file.read.bind(file);
      file.read = (position, length) => {
        reads++;
        return read(position, length);
      };
      return file;
    };
    class CountingDisk extends FileDisk {
      override open(name: string): DiskFile {
        return counted(super.open(name));
      }
      override openPreallocated(name: string, bytes: number): DiskFile {
        return counted(super.openPreallocated(name, bytes));
      }
    }
    // Nothing cached: every read below goes to the segments.
    const { journal } = Journal.open(new CountingDisk(directory), { ...OPTIONS, cacheBytes: 0, segmentReadBytesPerSec: Number.POSITIVE_INFINITY });
    const flushes = 50;
    for (let f = 0; f < flushes; f++) {
      journal.appendEntries(1, entries(f * 8 + 1, f * 8 + 8, 1, f * 16, 100)); // a run of 8 in each flush
      journal.appendEntries(2, entries(f + 1, f + 1, 1, f * 2, 20_000)); // a gap no read spans
      await flush(journal);
    }
    for (let f = 0; f < flushes; f++) {
      journal.appendEntries(3, entries(f + 1, f + 1, 1, f * 2, 10)); // 10 bytes…
      journal.appendEntries(4, entries(f + 1, f + 1, 1, f * 2, 4000)); // …then 4 000 of another partition's
      await flush(journal);
    }
    const read = (partition: number, last: number): Entry[] => {
      reads = 0;
      return journal.log(partition).entries(1, last + 1, 1 << 30);
    };
    expect(read(1, flushes * 8)).toEqual(entries(1, flushes * 8, 1, 0, 100));
    // One per flush's run, not one per entry (and one more where the run crosses into the next segment).
    expect(reads).toBeGreaterThanOrEqual(flushes);
    expect(reads).toBeLessThanOrEqual(flushes + 2);
    const sparse = read(3, flushes);
    expect(sparse).toEqual(entries(1, flushes, 1, 0, 10));
    // Partition 3's entries are joined across flushes through partition 4's (gaps under 8 KiB)…
    expect(reads).toBeLessThanOrEqual(2);
    // …but each is handed out as its own copy, not as a view pinning the span around it.
    for (const entry of sparse) expect(entry.data.buffer.byteLength).toBe(10);
    journal.close();
  });

  it('rations reads within its read budget, at least one entry at a time, charging what it read from disk; entries in memory and unrationed reads (a leader applying) cost nothing', async () => {
    let now = 0;
    // 64 KiB/s: 1 KiB saved up at most.
    const { journal } = Journal.open(new FileDisk(directory), { ...OPTIONS, now: () => now, cacheBytes: 0, segmentReadBytesPerSec: 64 << 10 });
    // One record per entry: a read of k of them reads k × (100 bytes of data and 49 of headers).
    for (let index = 1; index <= 100; index++) journal.appendEntries(1, entries(index, index, 1, (index - 1) * 2, 100));
    const onDisk = 100 + 49;
    await flush(journal);
    const log = journal.log(1);
    expect(log.readDeferred(1)).toBe(false);
    expect(log.entries(1, 101, 1 << 20, true)).toEqual(entries(1, 10, 1, 0, 100)); // 1 000 bytes of data within 1 024…
    expect(journal.readStats()).toEqual({ segmentBytes: 10 * onDisk, backgroundBytes: 0, throttled: 1 }); // …and 1 490 charged: 466 in debt
    expect(log.readDeferred(11)).toBe(true);
    expect(log.entries(11, 101, 1 << 20, true)).toEqual(entries(11, 11, 1, 20, 100)); // in debt: one entry
    now += 1000 / 64; // 1 KiB later: 409 to read
    expect(log.readDeferred(12)).toBe(false);
    expect(log.entries(12, 101, 1 << 20, true)).toEqual(entries(12, 15, 1, 22, 100));
    // Pending entries are in memory: neither deferred nor cut short, though the budget is spent.
    journal.appendEntries(1, entries(101, 130, 1, 200, 100));
    expect(log.readDeferred(101)).toBe(false);
    expect(log.entries(101, 131, 1 << 20, true)).toEqual(entries(101, 130, 1, 200, 100));
    // Counted for the node's metrics: 15 entries came from the segment; three reads were cut short
    // and one leader was told to wait.
    expect(journal.readStats()).toEqual({ segmentBytes: 15 * onDisk, backgroundBytes: 0, throttled: 4 });
    // An unrationed read (a leader applying) takes all it asks for, and leaves the budget as it was
    // (in debt: the next rationed read still waits).
    expect(log.entries(16, 101, 1 << 20)).toEqual(entries(16, 100, 1, 30, 100));
    expect(log.readDeferred(16)).toBe(true);
    expect(journal.readStats()).toEqual({ segmentBytes: 100 * onDisk, backgroundBytes: 0, throttled: 5 });
    await flush(journal);
    journal.close();
  });

  it('checks every record a read touches: a byte changed on disk since recovery is never served, and a log start inside a record still reads', async () => {
    const disk = new FileDisk(directory);
    const { journal } = Journal.open(disk, { ...OPTIONS, cacheBytes: 0 });
    // Records, back to back: partition 1's entries 1-4 at 0 (17 + 4 × 132 bytes), partition 2's 1-2 at 545, partition 1's 5-6 at 726.
    journal.appendEntries(1, entries(1, 4, 1, 0, 100));
    journal.appendEntries(2, entries(1, 2, 1, 0, 50));
    journal.appendEntries(1, entries(5, 6, 1, 8, 100));
    await flush(journal);
    const [segment] = segmentFiles();
    const log = journal.log(1);
    expect(log.entries(1, 7, 1 << 20)).toEqual(entries(1, 6, 1, 0, 100));
    // The log now starts inside the first record: entries 3-6 still read, from that record's start.
    journal.applySnapshot(1, { index: 2, term: 1, nextOffset: 4 });
    await flush(journal);
    expect(log.entries(3, 7, 1 << 20)).toEqual(entries(3, 6, 1, 4, 100));
    const corruptAt = (position: number): unknown => {
      disk.corruptByte(segment!, position);
      try {
        log.entries(3, 7, 1 << 20);
        return null;
      } catch (error) {
        return error;
      } finally {
        disk.corruptByte(segment!, position); // flipped back
      }
    };
    // Entry 1's data: below the log start, but in the record entry 3 is read from.
    expect(corruptAt(17 + 32 + 5)).toMatchObject({ name: 'CorruptReadError', file: segment, position: 0, partition: 1, index: 3 });
    // Partition 2's record, which the read of partition 1's run spans.
    expect(corruptAt(545 + 20)).toMatchObject({ name: 'CorruptReadError', position: 545, partition: 1, index: 3 });
    // The length of the record holding entries 5-6.
    expect(corruptAt(726 + 1)).toMatchObject({ name: 'CorruptReadError', position: 726 });
    // Entry 6's data, the last byte the read wants.
    expect(corruptAt(726 + 17 + 2 * 132 - 1)).toMatchObject({ name: 'CorruptReadError', position: 726, index: 3 });
    // Nothing was kept of the failed reads.
    expect(log.entries(3, 7, 1 << 20)).toEqual(entries(3, 6, 1, 4, 100));
    expect(journal.log(2).entries(1, 3, 1 << 20)).toEqual(entries(1, 2, 1, 0, 50));
    journal.close();
  });

  it('holds a flush on a full disk, writing nothing half, and completes it whole once space is back', async () => {
    const disk = new FileDisk(directory);
    const fullEvents: boolean[] = [];
    const { journal } = Journal.open(disk, { ...OPTIONS, onDiskFull: (full) => fullEvents.push(full) });
    journal.appendEntries(1, entries(1, 4, 1, 0));
    journal.setHardState(1, { term: 1, vote: 1, commit: 2 });
    await flush(journal);
    // The journal's files; a spare being zero-filled in the background grows on its own.
    const sizes = (): number[] => fs.readdirSync(directory).filter((name) => !name.startsWith('preallocating-')).sort().map((name) => fs.statSync(path.join(directory, name)).size);
    const sizesBefore = sizes();
    disk.capacityBytes = disk.usedBytes() + 10;
    journal.appendEntries(1, entries(5, 8, 1, 8));
    journal.setHardState(1, { term: 2, vote: 2, commit: 4 });
    let flushed: Error | null | undefined;
    journal.flush((error) => (flushed = error));
    while (!journal.isBlocked()) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fullEvents).toEqual([true]);
    // Not acknowledged, nothing written half: every file is as it was.
    expect(flushed).toBeUndefined();
    expect(sizes()).toEqual(sizesBefore);
    // A retry on a still full disk waits again.
    expect(journal.retryBlockedFlush()).toBe(true);
    while (!journal.isBlocked()) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(flushed).toBeUndefined();
    // Space comes back: the same flush completes, whole.
    disk.capacityBytes = Number.POSITIVE_INFINITY;
    journal.retryBlockedFlush();
    while (flushed === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(flushed).toBeNull();
    expect(fullEvents).toEqual([true, false]);
    journal.close();
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report).toMatchObject({ truncatedBytes: 0, corruption: null, faulty: [] });
    expect(reopened.log(1).entries(1, 9, 1 << 20)).toEqual([...entries(1, 4, 1, 0), ...entries(5, 8, 1, 8)]);
    expect(reopened.log(1).hardState()).toEqual({ term: 2, vote: 2, commit: 4 });
    reopened.close();
  });
});

/** Counts appends and syncs per file. */
class CountingDisk implements Disk {
  readonly syncs = new Map<string, number>();
  readonly appends = new Map<string, number>();
  constructor(private readonly inner: Disk) {}
  open(name: string): DiskFile {
    const file = this.inner.open(name);
    const bump = (map: Map<string, number>): void => void map.set(name, (map.get(name) ?? 0) + 1);
    return {
      name,
      size: () => file.size(),
      append: (data: Uint8Array, done: IoCallback) => {
        bump(this.appends);
        file.append(data, done);
      },
      sync: (done: IoCallback) => {
        bump(this.syncs);
        file.sync(done);
      },
      read: (position: number, length: number) => file.read(position, length),
      readInto: (position: number, target: Uint8Array, length: number) => file.readInto(position, target, length),
      truncate: (length: number) => file.truncate(length),
      appendDurably: (data: Uint8Array) => file.appendDurably(data),
      close: () => file.close(),
    };
  }
  list(): string[] {
    return this.inner.list();
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
  }
  remove(name: string): void {
    this.inner.remove(name);
  }
  usedBytes(): number {
    return this.inner.usedBytes();
  }
  freeBytes(): number {
    return this.inner.freeBytes();
  }
}

describe('group commit', () => {
  it('makes one flush of many partitions cost one append and one sync per touched file', async () => {
    const disk = new CountingDisk(new FileDisk(directory));
    const { journal } = Journal.open(disk, OPTIONS);
    for (let partition = 0; partition < 8; partition++) {
      for (let k = 0; k < 5; k++) journal.appendEntries(partition, entries(k * 2 + 1, k * 2 + 2, 1, k * 4));
      journal.setHardState(partition, { term: 1, vote: 1, commit: 3 });
    }
    expect(journal.pendingBytes()).toBeGreaterThan(0);
    await flush(journal);
    expect(journal.pendingBytes()).toBe(0);
    expect([...disk.syncs.values()]).toEqual([1, 1, 1, 1]); // the segment, its identifiers, the hard-state file and its copy
    expect([...disk.appends.values()]).toEqual([1, 1, 1, 1]);
    journal.close();
  });

  it('batches flushes requested while one runs into the next', async () => {
    const disk = new CountingDisk(new FileDisk(directory));
    const flushed: number[] = [];
    const { journal } = Journal.open(disk, { ...OPTIONS, onFlushed: (_durationMs, bytes) => flushed.push(bytes) });
    journal.appendEntries(1, entries(1, 1, 1, 0));
    const first = flush(journal);
    const later: Promise<void>[] = [];
    for (let index = 2; index <= 10; index++) {
      journal.appendEntries(index % 3, entries(Math.ceil(index / 3), Math.ceil(index / 3), 1, (Math.ceil(index / 3) - 1) * 2));
      later.push(flush(journal));
    }
    await Promise.all([first, ...later]);
    const segment = segmentFiles()[0]!;
    expect(disk.syncs.get(segment)).toBe(2);
    // Each physical flush is reported once, with what it wrote.
    expect(flushed.length).toBe(2);
    expect(flushed.every((bytes) => bytes > 0)).toBe(true);
    journal.close();
  });
});

/** Holds every sync of the identifier files until released (or failed), to see when a flush ends. */
class GatedIdentifiersDisk extends CountingDisk {
  private held: { done: IoCallback; run: (done: IoCallback) => void }[] = [];
  constructor(inner: Disk) {
    super(inner);
  }
  override open(name: string): DiskFile {
    const file = super.open(name);
    if (!name.endsWith('.ids')) return file;
    return { ...file, sync: (done: IoCallback) => void this.held.push({ done, run: (d) => file.sync(d) }) };
  }
  get waiting(): number {
    return this.held.length;
  }
  release(error: Error | null = null): void {
    const held = this.held;
    this.held = [];
    for (const h of held) {
      if (error === null) h.run(h.done);
      else setImmediate(() => h.done(error));
    }
  }
}

describe('identifiers in the same flush as their records', () => {
  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
  };

  it('a flush ends only once its records and their identifiers are both durable; the next one starts after it', async () => {
    const disk = new GatedIdentifiersDisk(new FileDisk(directory));
    const { journal } = Journal.open(disk, OPTIONS);
    const done: string[] = [];
    journal.appendEntries(1, entries(1, 2, 1, 0));
    journal.flush((error) => done.push(`a ${String(error)}`));
    const segment = segmentFiles()[0]!;
    // One step: the records' sync and the identifiers' sync were both issued at once.
    await until(() => disk.waiting === 1 && disk.syncs.get(segment) === 1);
    journal.appendEntries(1, entries(3, 4, 1, 4));
    journal.flush((error) => done.push(`b ${String(error)}`));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Records durable, identifiers not: nothing is acknowledged, and b has not started.
    expect(done).toEqual([]);
    expect(disk.syncs.get(segment)).toBe(1);
    disk.release();
    await until(() => disk.waiting === 1 && disk.syncs.get(segment) === 2);
    expect(done).toEqual(['a null']);
    disk.release();
    await until(() => done.length === 2);
    expect(done).toEqual(['a null', 'b null']);
    journal.close();
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report).toMatchObject({ truncatedBytes: 0, corruption: null, faulty: [] });
    expect(reopened.log(1).entries(1, 5, 1 << 20)).toEqual(entries(1, 4, 1, 0));
    reopened.close();
  });

  it('a failed identifier sync fails its flush and what was staged after it, and takes both back', async () => {
    const disk = new GatedIdentifiersDisk(new FileDisk(directory));
    const { journal } = Journal.open(disk, OPTIONS);
    journal.appendEntries(1, entries(1, 2, 1, 0));
    await Promise.all([flush(journal), until(() => disk.waiting === 1).then(() => disk.release())]);
    const done: string[] = [];
    journal.appendEntries(1, entries(3, 4, 1, 4));
    journal.flush((error) => done.push(`b ${error?.message ?? 'ok'}`));
    await until(() => disk.waiting === 1);
    journal.appendEntries(1, entries(5, 6, 1, 8));
    journal.flush((error) => done.push(`c ${error?.message ?? 'ok'}`));
    disk.release(new Error('EIO'));
    await until(() => done.length === 2);
    expect(done).toEqual(['b EIO', 'c EIO']);
    // In memory and on disk, only the first batch is left; the journal goes on from there.
    expect(journal.log(1).lastIndex()).toBe(2);
    journal.appendEntries(1, entries(3, 3, 2, 4));
    await Promise.all([flush(journal), until(() => disk.waiting === 1).then(() => disk.release())]);
    journal.close();
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report).toMatchObject({ truncatedBytes: 0, corruption: null, faulty: [] });
    expect(reopened.log(1).entries(1, 4, 1 << 20)).toEqual([...entries(1, 2, 1, 0), ...entries(3, 3, 2, 4)]);
    reopened.close();
  });

  /** Three flushes, one record each, for partitions 1, 2 and 3; returns the segment's `.ids` path. */
  const writeThreeRecords = async (): Promise<string> => {
    const { journal } = Journal.open(new FileDisk(directory), OPTIONS);
    for (let batch = 0; batch < 3; batch++) {
      journal.appendEntries(1 + batch, entries(1, 4, 1, 0, 100));
      await flush(journal);
    }
    journal.close();
    return path.join(directory, segmentFiles()[0]!.replace(/\.log$/, '.ids'));
  };
  /** Cuts the fsynced tail of the last record (partition 3's): named, it must come back as a faulty tail. */
  const expectCutTailFaulty = (): void => {
    const segment = path.join(directory, segmentFiles()[0]!);
    fs.truncateSync(segment, fs.statSync(segment).size - 10);
    const { journal, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report.faulty).toEqual([{ partition: 3, tail: { firstIndex: 1, firstTerm: 1, lastIndex: 4, lastTerm: 1 } }]);
    journal.close();
  };

  it('names again, durably, the records a crash left without identifiers, so a later fault in them is still found', async () => {
    const ids = await writeThreeRecords();
    fs.truncateSync(ids, fs.statSync(ids).size - IDENTIFIER_BYTES); // the last flush's identifier is lost
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report).toMatchObject({ recordsRecovered: 3, truncatedBytes: 0, corruption: null, faulty: [], uncertain: false });
    expect([1, 2, 3].map((p) => reopened.log(p).lastIndex())).toEqual([4, 4, 4]);
    expect(fs.statSync(ids).size).toBe(3 * IDENTIFIER_BYTES);
    reopened.close();
    expectCutTailFaulty();
  });

  it('a damaged identifier loses nothing: the records after it are named again', async () => {
    const ids = await writeThreeRecords();
    const bytes = fs.readFileSync(ids);
    bytes[10]! ^= 0xff; // inside the first identifier: the two after it no longer decode
    fs.writeFileSync(ids, bytes);
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report).toMatchObject({ recordsRecovered: 3, truncatedBytes: 0, corruption: null, faulty: [] });
    expect([1, 2, 3].map((p) => reopened.log(p).entries(1, 5, 1 << 20))).toEqual([1, 2, 3].map(() => entries(1, 4, 1, 0, 100)));
    reopened.close();
    expectCutTailFaulty();
  });

  it('keeps every record of a journal written before identifiers existed (no identifier file anywhere)', async () => {
    const { journal } = Journal.open(new FileDisk(directory), { ...OPTIONS, identifiers: false });
    for (let batch = 0; batch < 3; batch++) {
      journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 100));
      await flush(journal);
    }
    journal.close();
    expect(fs.readdirSync(directory).filter((name) => name.endsWith('.ids'))).toEqual([]);
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(report).toMatchObject({ recordsRecovered: 3, truncatedBytes: 0, corruption: null, faulty: [] });
    expect(reopened.log(1).lastIndex()).toBe(12);
    // Records written from now on are named, and the old ones after a restart are still kept.
    reopened.appendEntries(1, entries(13, 14, 1, 24, 100));
    await flush(reopened);
    reopened.close();
    const { journal: third, report: again } = Journal.open(new FileDisk(directory), OPTIONS);
    expect(again).toMatchObject({ recordsRecovered: 4, truncatedBytes: 0 });
    expect(third.log(1).entries(1, 15, 1 << 20)).toEqual([...entries(1, 12, 1, 0, 100).map((e, k) => ({ ...e, offset: k * 2 })), ...entries(13, 14, 1, 24, 100)]);
    third.close();
  });
});

/** The simulator's scheduler in miniature: callbacks run only when the test says. */
class ManualScheduler {
  private queue: { atMs: number; seq: number; fn: () => void }[] = [];
  private nowMs = 0;
  private seq = 0;
  schedule = (delayMs: number, fn: () => void): void => {
    this.queue.push({ atMs: this.nowMs + delayMs, seq: this.seq++, fn });
  };
  runAll(): void {
    while (this.queue.length > 0) {
      this.queue.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
      const next = this.queue.shift()!;
      this.nowMs = next.atMs;
      next.fn();
    }
  }
}


describe('journal on the memory disk', () => {
  it('never calls back synchronously', () => {
    const scheduler = new ManualScheduler();
    const disk = new MemDisk({ random: seededRandom(1), schedule: scheduler.schedule, fsyncLatencyMs: () => 2 });
    const { journal } = Journal.open(disk, OPTIONS);
    journal.appendEntries(1, entries(1, 3, 1, 0));
    let done = false;
    journal.flush(() => (done = true));
    expect(done).toBe(false);
    scheduler.runAll();
    expect(done).toBe(true);
  });

  it('loses unsynced data in a crash but keeps everything whose sync completed', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const scheduler = new ManualScheduler();
      const random = seededRandom(seed);
      const disk = new MemDisk({ random, schedule: scheduler.schedule, fsyncLatencyMs: () => 1 + random() * 5, writeLatencyMs: () => random() });
      const { journal } = Journal.open(disk, OPTIONS);
      const acknowledged: number[] = [];
      for (let batch = 0; batch < 3; batch++) {
        journal.appendEntries(1, entries(batch * 4 + 1, batch * 4 + 4, 1, batch * 8, 64));
        journal.setHardState(1, { term: batch + 1, vote: 1, commit: batch * 4 });
        journal.flush((error) => {
          expect(error).toBeNull();
          acknowledged.push(batch);
        });
        scheduler.runAll();
      }
      // Two more batches: written, their syncs never complete before the power goes.
      journal.appendEntries(1, entries(13, 16, 1, 24, 64));
      journal.setHardState(1, { term: 9, vote: 2, commit: 12 });
      let lateCalled = false;
      journal.flush(() => (lateCalled = true));
      disk.crash();
      scheduler.runAll();
      expect(lateCalled).toBe(false); // in-flight callbacks die with the process
      expect(acknowledged).toEqual([0, 1, 2]);

      const { journal: reopened, report } = Journal.open(disk, OPTIONS);
      const log = reopened.log(1);
      expect(log.lastIndex() === 12 || log.lastIndex() === 16, `seed ${seed}: last ${log.lastIndex()}`).toBe(true);
      expect(log.entries(1, 13, 1 << 20), `seed ${seed}`).toEqual(entries(1, 12, 1, 0, 64));
      const hard = log.hardState();
      expect(hard.term === 3 || hard.term === 9, `seed ${seed}`).toBe(true);
      if (log.lastIndex() === 12) expect(report.recordsRecovered).toBe(3);
    }
  });

  it('after a crash with nothing synced, the journal is empty and usable', () => {
    const scheduler = new ManualScheduler();
    const disk = new MemDisk({ random: seededRandom(7), schedule: scheduler.schedule });
    const { journal } = Journal.open(disk, OPTIONS);
    journal.appendEntries(1, entries(1, 2, 1, 0));
    journal.flush(() => {});
    disk.crash();
    const { journal: reopened } = Journal.open(disk, OPTIONS);
    expect(reopened.log(1).lastIndex() === 0 || reopened.log(1).lastIndex() === 2).toBe(true);
    reopened.applySnapshot(1, { index: 5, term: 2, nextOffset: 10 });
    reopened.appendEntries(1, entries(6, 6, 2, 10));
    let durable = false;
    reopened.flush((error) => (durable = error === null));
    scheduler.runAll();
    expect(durable).toBe(true);
  });
});

describe('journal on preallocated segments', () => {
  const SEGMENT_BYTES = 256 << 10;
  const ENTRY_BYTES = 4000;
  const options: JournalOptions = { ...OPTIONS, segmentBytes: SEGMENT_BYTES };

  /** Appends entries of partition 1 (one flush each) until the journal rolls to a second segment, then `extra` more. */
  async function fillPastFirstRoll(journal: Journal, extra: number): Promise<number> {
    let index = 0;
    while (segmentFiles().length < 2) {
      index++;
      journal.appendEntries(1, entries(index, index, 1, (index - 1) * 2, ENTRY_BYTES));
      await flush(journal);
    }
    for (let k = 0; k < extra; k++) {
      index++;
      journal.appendEntries(1, entries(index, index, 1, (index - 1) * 2, ENTRY_BYTES));
      await flush(journal);
    }
    return index;
  }

  it('writes into a zero-filled segment and recovers every synced entry after a crash, its unused zero tail being neither corruption nor a cut', async () => {
    const disk = new FileDisk(directory);
    const { journal } = Journal.open(disk, options);
    await untilPreallocated(disk, [SEGMENT_BYTES]);
    const last = await fillPastFirstRoll(journal, 5);
    const [, second] = segmentFiles();
    // The new segment is already at full size: appends only overwrite zeros.
    expect(fs.statSync(path.join(directory, second ?? '')).size).toBe(SEGMENT_BYTES);

    // Crash: no close; a new process opens the same directory.
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), options);
    expect(report.corruption).toBeNull();
    expect(report.truncatedBytes).toBe(0);
    const log = reopened.log(1);
    expect(log.lastIndex()).toBe(last);
    expect(log.entries(1, last + 1, 1 << 30)).toEqual(Array.from({ length: last }, (_, i) => entries(i + 1, i + 1, 1, i * 2, ENTRY_BYTES)[0]));

    // And it keeps appending where the data ended, not after the zeros.
    reopened.appendEntries(1, entries(last + 1, last + 1, 1, last * 2, ENTRY_BYTES));
    await flush(reopened);
    reopened.close();
    const { journal: third, report: again } = Journal.open(new FileDisk(directory), options);
    expect(again.corruption).toBeNull();
    expect(third.log(1).lastIndex()).toBe(last + 1);
    third.close();
  });

  it('leaves a plain active segment (a fresh journal\'s first, and the one a restart reopened) for a zero-filled one once one is ready, identifiers included, and loses nothing', async () => {
    let nowMs = 0;
    const clocked: JournalOptions = { ...options, now: () => nowMs };
    const disk = new FileDisk(directory);
    const { journal } = Journal.open(disk, clocked);
    let last = 0;
    const appendOne = async (into: Journal): Promise<void> => {
      last++;
      into.appendEntries(1, entries(last, last, 1, (last - 1) * 2, ENTRY_BYTES));
      await flush(into);
    };
    await appendOne(journal);
    await appendOne(journal);
    // Nothing was ready when the journal started: its first segment is a plain, growing file.
    expect(segmentFiles()).toEqual(['seg-00000000000000000001.log']);
    expect(fs.statSync(path.join(directory, 'seg-00000000000000000001.log')).size).toBeLessThan(SEGMENT_BYTES);
    await untilPreallocated(disk, [SEGMENT_BYTES, SEGMENT_BYTES / 8]);
    nowMs += 2000;
    await appendOne(journal);
    expect(segmentFiles()).toEqual(['seg-00000000000000000001.log', 'seg-00000000000000000002.log']);
    expect(fs.statSync(path.join(directory, 'seg-00000000000000000002.log')).size).toBe(SEGMENT_BYTES);
    expect(fs.statSync(path.join(directory, 'seg-00000000000000000002.ids')).size).toBe(SEGMENT_BYTES / 8);

    // Crash and restart: recovery cuts the zeros of the active segment, so it is plain again and
    // is left for a zero-filled one the same way.
    const restartedDisk = new FileDisk(directory);
    const { journal: reopened, report } = Journal.open(restartedDisk, clocked);
    expect(report.corruption).toBeNull();
    expect(report.faulty).toEqual([]);
    expect(reopened.log(1).lastIndex()).toBe(last);
    await appendOne(reopened);
    await appendOne(reopened);
    await untilPreallocated(restartedDisk, [SEGMENT_BYTES, SEGMENT_BYTES / 8]);
    nowMs += 2000;
    await appendOne(reopened);
    expect(segmentFiles()).toHaveLength(3);
    expect(fs.statSync(path.join(directory, segmentFiles()[2]!)).size).toBe(SEGMENT_BYTES);
    reopened.close();

    const { journal: third, report: again } = Journal.open(new FileDisk(directory), clocked);
    expect(again.corruption).toBeNull();
    expect(again.truncatedBytes).toBe(0);
    expect(third.log(1).entries(1, last + 1, 1 << 30)).toEqual(Array.from({ length: last }, (_, i) => entries(i + 1, i + 1, 1, i * 2, ENTRY_BYTES)[0]));
    third.close();
  });

  it('appends faster than preallocateBelowBytesPerSec into plain segments and identifier files, leaves the plain one for a zero-filled one once appends slow down, and loses nothing', async () => {
    let nowMs = 0;
    const clocked: JournalOptions = { ...options, now: () => nowMs, preallocateBelowBytesPerSec: 100_000 };
    const disk = new FileDisk(directory);
    // Spares ready before the journal opens: from then on only the append rate keeps them unused.
    await untilPreallocated(disk, [SEGMENT_BYTES, SEGMENT_BYTES / 8]);
    const { journal } = Journal.open(disk, clocked);
    let last = 0;
    const appendOne = async (afterMs: number): Promise<void> => {
      nowMs += afterMs;
      last++;
      journal.appendEntries(1, entries(last, last, 1, (last - 1) * 2, ENTRY_BYTES));
      await flush(journal);
    };
    const size = (name: string): number => fs.statSync(path.join(directory, name)).size;

    // A flush every 20 ms: 200 kB/s, past the limit from the first whole second on. The first
    // segment was opened before any rate was known.
    await appendOne(20);
    expect(size(segmentFiles()[0]!)).toBe(SEGMENT_BYTES);
    while (segmentFiles().length < 3) await appendOne(20);
    const [, second, third] = segmentFiles();
    // The second filled while appends ran fast: plain files, their size what was written, and not
    // left early for a zero-filled one.
    expect(size(second!)).toBeLessThan(SEGMENT_BYTES);
    expect(size(second!)).toBeGreaterThan(SEGMENT_BYTES / 2);
    expect(size(second!.replace('.log', '.ids'))).toBeLessThan(SEGMENT_BYTES / 8);
    expect(size(third!)).toBeLessThan(SEGMENT_BYTES / 4);

    // A flush every 300 ms: 13 kB/s. Within a few seconds the plain third segment is left.
    await untilPreallocated(disk, [SEGMENT_BYTES, SEGMENT_BYTES / 8]);
    for (let i = 0; i < 20 && segmentFiles().length < 4; i++) await appendOne(300);
    const fourth = segmentFiles()[3];
    expect(fourth).toBeDefined();
    expect(size(third!)).toBeLessThan(SEGMENT_BYTES / 2);
    expect(size(fourth!)).toBe(SEGMENT_BYTES);
    expect(size(fourth!.replace('.log', '.ids'))).toBe(SEGMENT_BYTES / 8);

    // Crash: every synced entry comes back, across plain and zero-filled segments.
    const { journal: reopened, report } = Journal.open(new FileDisk(directory), clocked);
    expect(report.corruption).toBeNull();
    expect(report.faulty).toEqual([]);
    expect(reopened.log(1).entries(1, last + 1, 1 << 30)).toEqual(Array.from({ length: last }, (_, i) => entries(i + 1, i + 1, 1, i * 2, ENTRY_BYTES)[0]));
    reopened.close();
  });

  it('rolls the segment when small records would run its identifiers past their zero-filled file (no identifier write grows a file), gives back the unused zeros, and loses nothing', async () => {
    const IDS_BYTES = SEGMENT_BYTES / 8;
    const disk = new FileDisk(directory);
    // Both spares ready before the journal opens: its first segment and identifier file are zero-filled.
    await untilPreallocated(disk, [SEGMENT_BYTES, IDS_BYTES]);
    const { journal } = Journal.open(disk, options);
    let last = 0;
    while (segmentFiles().length < 2) {
      last++;
      journal.appendEntries(1, entries(last, last, 1, (last - 1) * 2, 8));
      await flush(journal);
    }
    const idsPath = path.join(directory, 'seg-00000000000000000001.ids');
    // The first identifier file never grew past its zeros, and it is what ended the segment: the
    // records took a fraction of it (52 identifier bytes per record of about 60).
    expect(fs.statSync(idsPath).size).toBe(IDS_BYTES);
    expect(last - 1).toBe(Math.floor(IDS_BYTES / IDENTIFIER_BYTES));
    // ...and the segment, left with most of its zeros unused, gives them back (in the background).
    const firstSegment = path.join(directory, 'seg-00000000000000000001.log');
    for (let i = 0; i < 100 && fs.statSync(firstSegment).size === SEGMENT_BYTES; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fs.statSync(firstSegment).size).toBeLessThan(SEGMENT_BYTES / 2);
    journal.close();

    const { journal: reopened, report } = Journal.open(new FileDisk(directory), options);
    expect(report.corruption).toBeNull();
    expect(report.faulty).toEqual([]);
    expect(reopened.log(1).entries(1, last + 1, 1 << 30)).toEqual(Array.from({ length: last }, (_, i) => entries(i + 1, i + 1, 1, i * 2, 8)[0]));
    reopened.close();
  });

  it('treats a torn record followed by the zeros of a preallocated segment as a torn tail, not corruption', async () => {
    const disk = new FileDisk(directory);
    const { journal } = Journal.open(disk, options);
    await untilPreallocated(disk, [SEGMENT_BYTES]);
    const last = await fillPastFirstRoll(journal, 2);
    const [, second] = segmentFiles();
    const secondPath = path.join(directory, second ?? '');
    // The logical end: where the zeros start.
    const bytes = fs.readFileSync(secondPath);
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    // A power cut mid-write: a record's header and some of its body landed, the rest is still zeros.
    const torn = Buffer.alloc(64, 0xab);
    torn.writeUInt32LE(ENTRY_BYTES + 100, 0);
    const fd = fs.openSync(secondPath, 'r+');
    fs.writeSync(fd, torn, 0, torn.length, end + 8);
    fs.closeSync(fd);

    const { journal: reopened, report } = Journal.open(new FileDisk(directory), options);
    expect(report.corruption).toBeNull();
    expect(report.truncatedBytes).toBeGreaterThan(0);
    expect(reopened.log(1).lastIndex()).toBe(last);
    reopened.close();
  });
});
