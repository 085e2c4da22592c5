import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.ts';
import { Journal, type JournalOptions, type PartitionLog } from './journal.ts';
import { MemDisk } from './mem-disk.ts';
import { seededRandom } from '../sim/random.ts';

/** Runs scheduled callbacks in time order, like the simulator. */
function scheduler(): { schedule: (delayMs: number, fn: () => void) => void; runAll: () => void } {
  const queue: { atMs: number; seq: number; fn: () => void }[] = [];
  let nowMs = 0;
  let seq = 0;
  return {
    schedule: (delayMs, fn) => void queue.push({ atMs: nowMs + delayMs, seq: seq++, fn }),
    runAll: () => {
      while (queue.length > 0) {
        queue.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
        const next = queue.shift()!;
        nowMs = next.atMs;
        next.fn();
      }
    },
  };
}


function describeLog(log: PartitionLog): unknown {
  const first = log.firstIndex();
  const last = log.lastIndex();
  return {
    snapshot: log.snapshot(),
    hardState: log.hardState(),
    startTerm: log.term(first - 1),
    entries: last >= first ? log.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [],
  };
}

describe('journal replay matches the live view', () => {
  it('after random appends, conflicts, snapshots, hard states and retention, reopening rebuilds every log exactly', () => {
    // SEED=n replays one seed.
    for (let seed = Number(process.env.SEED ?? 1); seed <= Number(process.env.SEED ?? 25); seed++) {
      const random = seededRandom(seed);
      const clock = scheduler();
      let nowMs = 0;
      const options: JournalOptions = { segmentBytes: 600, retentionBytes: 2000, retentionMs: 50_000, now: () => nowMs, cacheBytes: 512 };
      const disk = new MemDisk({ random, schedule: clock.schedule, fsyncLatencyMs: () => random() * 3 });
      const { journal } = Journal.open(disk, options);
      const terms = new Map<number, number>();
      for (let step = 0; step < 150; step++) {
        nowMs += 1000;
        const partition = Math.floor(random() * 4);
        const log = journal.log(partition);
        const term = (terms.get(partition) ?? 1) + (random() < 0.1 ? 1 : 0);
        terms.set(partition, term);
        const roll = random();
        if (roll < 0.7) {
          // Append, sometimes overwriting a suffix (never below the log start).
          let from = log.lastIndex() + 1;
          if (random() < 0.25 && log.lastIndex() > log.firstIndex()) from = log.firstIndex() + 1 + Math.floor(random() * (log.lastIndex() - log.firstIndex()));
          const previousTerm = log.term(from - 1) ?? 0;
          const entryTerm = Math.max(term, previousTerm);
          terms.set(partition, entryTerm);
          let offset = from - 1 === log.lastIndex() ? log.lastOffsetEnd() : log.entries(from, from + 1, 0)[0]!.offset;
          const batch: Entry[] = [];
          const n = 1 + Math.floor(random() * 4);
          for (let k = 0; k < n; k++) {
            const count = Math.floor(random() * 3);
            batch.push({ index: from + k, term: entryTerm, offset, count, data: Uint8Array.from({ length: Math.floor(random() * 60) }, () => Math.floor(random() * 256)) });
            offset += count;
          }
          journal.appendEntries(partition, batch);
        } else if (roll < 0.8) {
          journal.setHardState(partition, { term, vote: 1 + Math.floor(random() * 3), commit: Math.floor(random() * 10) });
        } else if (roll < 0.85) {
          // A snapshot past the end (follower reset) or inside the log (kept).
          const inside = random() < 0.5 && log.lastIndex() > log.firstIndex();
          if (inside) {
            const index = log.firstIndex() + Math.floor(random() * (log.lastIndex() - log.firstIndex()));
            const next = log.entries(index + 1, index + 2, 0)[0]!;
            journal.applySnapshot(partition, { index, term: log.term(index)!, nextOffset: next.offset });
          } else {
            const index = log.lastIndex() + 1 + Math.floor(random() * 5);
            const snapTerm = Math.max(term, log.term(log.lastIndex()) ?? 0);
            terms.set(partition, snapTerm);
            journal.applySnapshot(partition, { index, term: snapTerm, nextOffset: log.lastOffsetEnd() + 7 });
          }
        } else if (roll < 0.9) {
          journal.enforceRetention();
        }
        if (random() < 0.3) {
          let error: Error | null | undefined;
          journal.flush((e) => (error = e));
          clock.runAll();
          expect(error, `seed ${seed} step ${step}`).toBeNull();
          const { journal: replayed, report } = Journal.open(disk, options);
          expect(report.corruption, `seed ${seed}`).toBeNull();
          expect(report.truncatedBytes, `seed ${seed}`).toBe(0);
          for (const p of journal.partitions()) {
            expect(describeLog(replayed.log(p)), `seed ${seed} step ${step} partition ${p}`).toEqual(describeLog(journal.log(p)));
          }
        }
      }
    }
  });

  it('compacts the hard-state file and keeps the latest hard state of every partition', () => {
    const clock = scheduler();
    const disk = new MemDisk({ random: seededRandom(3), schedule: clock.schedule });
    const options: JournalOptions = { segmentBytes: 1 << 20, retentionBytes: 1 << 30, retentionMs: 1e9, now: () => 0, cacheBytes: 0 };
    const { journal } = Journal.open(disk, options);
    const rounds = (1 << 20) / 32 / 3 + 10; // past the bound with 3 records a flush
    for (let round = 1; round <= rounds; round++) {
      for (let partition = 0; partition < 3; partition++) journal.setHardState(partition, { term: round, vote: partition, commit: round * 2 });
      journal.flush((error) => expect(error).toBeNull());
      clock.runAll();
    }
    const stateFiles = disk.list().filter((name) => name.startsWith('state-') && name.endsWith('.log'));
    expect(stateFiles.length).toBe(1);
    expect(stateFiles[0]).not.toBe('state-00000000000000000001.log');
    expect(journal.usedBytes()).toBeLessThan(1 << 20);
    const { journal: reopened } = Journal.open(disk, options);
    for (let partition = 0; partition < 3; partition++) {
      expect(reopened.log(partition).hardState()).toEqual({ term: Math.floor(rounds), vote: partition, commit: Math.floor(rounds) * 2 });
    }
  });
});
