// Durability verdict: every acknowledged (partition, offset, digest) is read back through the
// client. Lost: the digest is nowhere in the committed log. Misplaced: it is there, but not at
// the acknowledged (partition, offset). Duplicated: an acknowledged digest appears more than once.

import { recordDigest, type LedgerEntry } from '../load/ledger.ts';
import type { DurabilityVerdict } from './model.ts';

export interface ReadBackClient {
  readAll(partition: number, from?: number): Promise<readonly { offset: number; value: Uint8Array }[]>;
}

const EXAMPLES_MAX = 5;

export async function checkDurability(client: ReadBackClient, acked: Iterable<LedgerEntry>, ledgerTruncated = false, settleMs = 10_000): Promise<DurabilityVerdict> {
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
  for (const [partition, list] of byPartition) {
    const from = list.reduce((m, e) => Math.min(m, e.offset), Number.POSITIVE_INFINITY);
    const highest = list.reduce((m, e) => Math.max(m, e.offset), 0);
    // Reads serve a committed prefix, not necessarily the newest one: right after a drill the client
    // may still address a replica that trails (a deposed leader, now a follower, that has not heard
    // the latest commit). Read again until the log reaches the highest acked offset.
    const deadline = Date.now() + settleMs;
    let records = await client.readAll(partition, from);
    while ((records[records.length - 1]?.offset ?? -1) < highest && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      records = await client.readAll(partition, from);
    }
    for (const r of records) {
      const d = recordDigest(r.value);
      atOffset.set(`${partition}:${r.offset}`, d);
      if (ackedDigests.has(d)) seen.set(d, (seen.get(d) ?? 0) + 1);
    }
  }
  let lost = 0;
  let misplaced = 0;
  let duplicated = 0;
  const examples: string[] = [];
  const note = (text: string): void => {
    if (examples.length < EXAMPLES_MAX) examples.push(text);
  };
  for (const [partition, list] of byPartition) {
    for (const e of list) {
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
  }
  return { checked, lost, duplicated, misplaced, ledgerTruncated, examples };
}
