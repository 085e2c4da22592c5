// Durability verdict: every acknowledged (partition, offset, digest) is read back through the
// client. Lost: the digest is nowhere in the committed log. Misplaced: it is there, but not at
// the acknowledged (partition, offset). Duplicated: an acknowledged digest appears more than once.
// Deleted by retention: below the partition's log start when read back (a small retention on a
// busy cluster deletes records a drill acknowledged minutes before); everything from the start on
// is checked as above.

import { LogError } from '../../../../packages/log-cluster/src/errors.ts';
import { recordDigest, type LedgerEntry } from '../load/ledger.ts';
import type { DurabilityVerdict } from './model.ts';

export interface ReadBackClient {
  readAll(partition: number, from?: number): Promise<readonly { offset: number; value: Uint8Array }[]>;
}

const EXAMPLES_MAX = 5;

/** The write half of the verdict (the read half, stale reads, comes from the drill's ConsistencyReader). */
export type WriteVerdict = Omit<DurabilityVerdict, 'readsChecked' | 'staleReads'>;

export async function checkDurability(client: ReadBackClient, acked: Iterable<LedgerEntry>, ledgerTruncated = false): Promise<WriteVerdict> {
  const byPartition = new Map<number, LedgerEntry[]>();
  let checked = 0;
  for (const entry of acked) {
    let list = byPartition.get(entry.partition);
    if (list === undefined) byPartition.set(entry.partition, (list = []));
    list.push(entry);
    checked++;
  }
  const ackedDigests = new Set<string>();
  for (const list of byPartition.values()) for (const e of list) ackedDigests.add(e.digest);
  // Read every partition that holds an acked write, from its lowest acked offset.
  const atOffset = new Map<string, string>(); // `${p}:${offset}` → digest
  const seen = new Map<string, number>(); // acked digest → occurrences in the log
  const logStarts = new Map<number, number>();
  for (const [partition, list] of byPartition) {
    const lowest = list.reduce((m, e) => Math.min(m, e.offset), Number.POSITIVE_INFINITY);
    // Reads are linearizable (only a confirmed leader answers), so one read-back through a fresh
    // client sees every acknowledged write; a missing one is lost, not late.
    const { start, records } = await readFromLogStart(client, partition, lowest);
    logStarts.set(partition, start);
    for (const r of records) {
      const d = recordDigest(r.value);
      atOffset.set(`${partition}:${r.offset}`, d);
      if (ackedDigests.has(d)) seen.set(d, (seen.get(d) ?? 0) + 1);
    }
  }
  let lost = 0;
  let misplaced = 0;
  let duplicated = 0;
  let deletedByRetention = 0;
  const examples: string[] = [];
  const note = (text: string): void => {
    if (examples.length < EXAMPLES_MAX) examples.push(text);
  };
  for (const [partition, list] of byPartition) {
    const start = logStarts.get(partition) ?? 0;
    let below = 0;
    for (const e of list) {
      if (e.offset < start) {
        below++;
        continue;
      }
      const found = atOffset.get(`${partition}:${e.offset}`);
      const count = seen.get(e.digest) ?? 0;
      if (found === e.digest) {
        // in place
      } else if (count === 0) {
        lost++;
        note(`lost: partition ${partition} offset ${e.offset} (digest ${e.digest}) is not in the log`);
      } else {
        misplaced++;
        note(`misplaced: partition ${partition} offset ${e.offset} holds ${found ?? 'nothing'}, digest ${e.digest} is elsewhere`);
      }
      if (count > 1) {
        duplicated++;
        note(`duplicated: digest ${e.digest} (partition ${partition} offset ${e.offset}) appears ${count} times`);
      }
    }
    if (below > 0) note(`deleted by retention: ${below} acknowledged writes of partition ${partition} lie below its log start ${start}`);
    deletedByRetention += below;
  }
  return { checked, lost, duplicated, misplaced, deletedByRetention, ledgerTruncated, examples };
}

/** Attempts to find where a partition's log starts while retention may be moving it on. */
const LOG_START_ATTEMPTS = 5;

/**
 * A partition's committed log from `from`, or from where the log starts now when retention has
 * deleted the records before it: the leader names that start (OffsetOutOfRange, earliestOffset),
 * and it may move on again while the pages are read.
 */
export async function readFromLogStart(client: ReadBackClient, partition: number, from: number): Promise<{ start: number; records: readonly { offset: number; value: Uint8Array }[] }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { start: from, records: await client.readAll(partition, from) };
    } catch (error) {
      const earliest = error instanceof LogError && error.code === 'OffsetOutOfRange' ? error.details.earliestOffset : undefined;
      if (earliest === undefined || earliest <= from || attempt >= LOG_START_ATTEMPTS) throw error;
      from = earliest;
    }
  }
}
