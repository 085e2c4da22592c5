// Journal.durableProgress: how far a journal's durable writes have come, which peers remember to
// tell a node restarted on an older copy of its disk (see LogNode.checkProgress). It must never go
// back across what a crash or a storage fault recovery can name leaves, and must go back when the
// files are an older copy. Real files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { FileDisk } from './file-disk.ts';
import { Journal, type DurableProgress, type JournalOptions } from './journal.ts';

const OPTIONS: JournalOptions = { segmentBytes: 1 << 20, retentionBytes: 1 << 30, retentionMs: 3600_000, now: () => 0, cacheBytes: 1 << 20 };

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push({ index, term, offset: (index - 1) * 2, count: 2, data: Uint8Array.from({ length: 64 }, (_, i) => (index + i) & 0xff) });
  return out;
}

function flush(journal: Journal): Promise<void> {
  return new Promise((resolve, reject) => journal.flush((error) => (error === null ? resolve() : reject(error))));
}

let directory = '';
let backup = '';
beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-progress-'));
  backup = `${directory}-backup`;
});
afterEach(() => {
  fs.rmSync(directory, { recursive: true, force: true });
  fs.rmSync(backup, { recursive: true, force: true });
});

/** Opens the journal in `directory`, runs `work` on it, closes it; its progress after `work`. */
async function withJournal(work: (journal: Journal) => Promise<void> = async () => undefined): Promise<{ progress: DurableProgress; faulty: number }> {
  const { journal, report } = Journal.open(new FileDisk(directory), OPTIONS);
  await work(journal);
  const progress = { ...journal.durableProgress() };
  journal.close();
  return { progress, faulty: report.faulty.length };
}

const newestSegment = (): string => path.join(directory, fs.readdirSync(directory).filter((name) => /^seg-\d+\.log$/.test(name)).sort().at(-1)!);

describe('a journal\'s durable progress', () => {
  it('grows with each flush, stays across a crash\'s torn write and a cut the identifiers name, and goes back on an older copy', async () => {
    const first = await withJournal(async (journal) => {
      journal.appendEntries(1, entries(1, 4, 1));
      journal.setHardState(1, { term: 1, vote: 1, commit: 0 });
      await flush(journal);
    });
    expect(first.progress.segments).toBeGreaterThan(0);
    expect(first.progress.states).toBeGreaterThan(0);
    fs.cpSync(directory, backup, { recursive: true });

    const second = await withJournal(async (journal) => {
      expect(journal.durableProgress()).toEqual(first.progress); // recovery finds what the flushes left
      journal.appendEntries(1, entries(5, 8, 1));
      await flush(journal);
      expect(journal.durableProgress().segments).toBeGreaterThan(first.progress.segments);
      expect(journal.durableProgress().states).toBe(first.progress.states);
      journal.setHardState(1, { term: 2, vote: 2, commit: 4 });
      await flush(journal);
    });
    expect(second.progress.states).toBeGreaterThan(first.progress.states);

    // A crash tore a write after the last flush: garbage past the records.
    fs.appendFileSync(newestSegment(), Uint8Array.from({ length: 100 }, (_, i) => (i * 7 + 3) & 0xff));
    const afterTear = await withJournal();
    expect(afterTear.progress.segments).toBeGreaterThanOrEqual(second.progress.segments);
    expect(afterTear.progress.states).toBeGreaterThanOrEqual(second.progress.states);

    // A storage fault cut fsynced, acknowledged records: identifiers name them (a faulty tail), so
    // the progress stays; the repair is the faulty tail's, not a rollback's.
    const segment = newestSegment();
    fs.truncateSync(segment, fs.statSync(segment).size - 40);
    const afterCut = await withJournal();
    expect(afterCut.faulty).toBe(1);
    expect(afterCut.progress.segments).toBeGreaterThanOrEqual(second.progress.segments);
    // That recovery cut the named records: restarted again, with a small write in between or none,
    // it still finds as much (what follows a cut goes to a new segment; without it the next
    // recovery found less than this run had reported, and peers took the node for rolled back).
    const afterWrite = await withJournal(async (journal) => {
      journal.appendEntries(2, entries(1, 1, 1));
      await flush(journal);
    });
    expect(afterWrite.progress.segments).toBeGreaterThanOrEqual(afterCut.progress.segments);
    const again = await withJournal();
    expect(again.progress.segments).toBeGreaterThanOrEqual(afterWrite.progress.segments);

    // The older copy put back: whole, consistent, and behind what the node had reported.
    fs.rmSync(directory, { recursive: true, force: true });
    fs.cpSync(backup, directory, { recursive: true });
    const restored = await withJournal();
    expect(restored.faulty).toBe(0);
    expect(restored.progress).toEqual(first.progress);
    expect(restored.progress.segments).toBeLessThan(second.progress.segments);
    expect(restored.progress.states).toBeLessThan(second.progress.states);
  });
});
