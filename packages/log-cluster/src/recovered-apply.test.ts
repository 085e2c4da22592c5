// A restarted replica takes what re-applying its log would rebuild (producers' newest batches, the
// high watermark) from its recovery, instead of reading its whole log back; and an embedded node's
// recovery pauses so the nodes sharing its loop keep serving.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';
import { encodeBatch } from './payload.ts';
import type { ClientResponse } from './protocol.ts';
import type { Entry } from './raft/types.ts';
import { RecoveredApplies } from './recovered-apply.ts';
import { FileDisk } from './storage/file-disk.ts';
import { Journal, type JournalOptions } from './storage/journal.ts';

const OPTIONS: JournalOptions = { segmentBytes: 1 << 20, retentionBytes: 1 << 30, retentionMs: 3600_000, now: () => 0, cacheBytes: 1 << 20 };

let directory = '';
beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'logscope-recovered-apply-'));
});
let cluster: EmbeddedCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
  fs.rmSync(directory, { recursive: true, force: true });
});

/** Entries from `index` of `term`, one batch of 2 records each, from (producer, sequence) pairs. */
function batches(index: number, term: number, offset: number, of: readonly [producer: number, sequence: number][]): Entry[] {
  return of.map(([producer, sequence], k) => ({ index: index + k, term, offset: offset + 2 * k, count: 2, data: encodeBatch(producer, sequence, [Uint8Array.of(producer), Uint8Array.of(sequence)]) }));
}

function flush(journal: Journal): Promise<void> {
  return new Promise((resolve, reject) => journal.flush((error) => (error === null ? resolve() : reject(error))));
}

/** Partition 1: producer 7's sequences 0..5 and producer 9's 0..1, interleaved, over three flushes; partition 2: one batch. */
async function writeProducers(): Promise<void> {
  const { journal } = Journal.open(new FileDisk(directory), OPTIONS);
  journal.appendEntries(1, batches(1, 1, 0, [[7, 0], [9, 0], [7, 1]]));
  journal.appendEntries(2, batches(1, 1, 0, [[5, 0]]));
  await flush(journal);
  journal.appendEntries(1, batches(4, 1, 6, [[7, 2], [7, 3], [9, 1]]));
  await flush(journal);
  journal.appendEntries(1, batches(7, 2, 12, [[7, 4], [7, 5]]));
  await flush(journal);
  journal.close();
}

describe('recovered apply', () => {
  it('keeps each producer\'s newest batches and the last entry, as re-applying the log would', async () => {
    await writeProducers();
    const applies = new RecoveredApplies();
    const { journal } = Journal.open(new FileDisk(directory), OPTIONS, applies.observe);
    const recovered = applies.take(1, journal.log(1));
    expect(recovered).not.toBeNull();
    expect(recovered!.index).toBe(8);
    expect(recovered!.term).toBe(2);
    expect(recovered!.offsetEnd).toBe(16);
    // Producer 7 committed six batches: the newest four are remembered (offsets 4, 8, 12, 14).
    const seven = recovered!.producers.get(7)!;
    expect(seven.size).toBe(4);
    expect([0, 1].map((sequence) => seven.find(sequence))).toEqual([-1, -1]);
    expect([2, 3, 4, 5].map((sequence) => seven.offsetAt(seven.find(sequence)))).toEqual([6, 8, 12, 14]);
    const nine = recovered!.producers.get(9)!;
    expect(nine.size).toBe(2);
    expect(nine.offsetAt(nine.find(1))).toBe(10);
    expect(applies.take(2, journal.log(2))!.producers.get(5)!.lastSequence()).toBe(0);
    journal.close();
  });

  it('after a rewrite of the tail, keeps the batches before it; gives nothing when it cannot know them all', async () => {
    await writeProducers();
    const rewrite = async (from: number, term: number, offset: number, of: readonly [number, number][]): Promise<void> => {
      const { journal } = Journal.open(new FileDisk(directory), OPTIONS);
      journal.appendEntries(1, batches(from, term, offset, of));
      await flush(journal);
      journal.close();
    };
    // A new leader's entry replaces 6..8 (term 3): producer 7's batches 4 and 5, and 9's batch 1, go.
    await rewrite(6, 3, 10, [[9, 2]]);
    {
      const applies = new RecoveredApplies();
      const { journal } = Journal.open(new FileDisk(directory), OPTIONS, applies.observe);
      const recovered = applies.take(1, journal.log(1))!;
      expect([recovered.index, recovered.term, recovered.offsetEnd]).toEqual([6, 3, 12]);
      const seven = recovered.producers.get(7)!;
      expect([0, 1, 2, 3].map((sequence) => seven.offsetAt(seven.find(sequence)))).toEqual([0, 4, 6, 8]);
      expect(seven.find(4)).toBe(-1);
      const nine = recovered.producers.get(9)!;
      expect([nine.find(1), nine.offsetAt(nine.find(2))]).toEqual([-1, 10]);
      expect(applies.take(3, journal.log(3))).toBeNull();
      journal.close();
    }
    // Producer 7 commits 10 more (its ring holds 8), then a rewrite takes 6 of them: the newest 4
    // before the rewrite include batches that were pushed out of the ring.
    await rewrite(7, 3, 12, Array.from({ length: 10 }, (_, k): [number, number] => [7, 10 + k]));
    await rewrite(11, 4, 20, [[9, 3]]);
    const applies = new RecoveredApplies();
    const { journal } = Journal.open(new FileDisk(directory), OPTIONS, applies.observe);
    expect(journal.log(1).lastIndex()).toBe(11);
    expect(applies.take(1, journal.log(1))).toBeNull();
    journal.close();
  });

  it('opens paced: the same journal as an open at once, with pauses; a pause that throws closes it', async () => {
    await writeProducers();
    const direct = Journal.open(new FileDisk(directory), OPTIONS);
    let pauses = 0;
    const paced = await Journal.openPaced(new FileDisk(directory), OPTIONS, async () => {
      pauses++;
    }, null, 0);
    expect(pauses).toBeGreaterThan(0);
    expect(paced.report).toEqual(direct.report);
    for (const partition of [1, 2]) {
      const [a, b] = [direct.journal.log(partition), paced.journal.log(partition)];
      expect(b.lastIndex()).toBe(a.lastIndex());
      expect(b.entries(1, b.lastIndex() + 1, Infinity).map((entry) => [entry.index, entry.term, entry.offset, Array.from(entry.data)])).toEqual(a.entries(1, a.lastIndex() + 1, Infinity).map((entry) => [entry.index, entry.term, entry.offset, Array.from(entry.data)]));
    }
    direct.journal.close();
    paced.journal.close();
    await expect(Journal.openPaced(new FileDisk(directory), OPTIONS, () => Promise.reject(new Error('crashed')), null, 0)).rejects.toThrow('crashed');
  });

  it('a restarted follower reads none of its log back, and answers retries from what it recovered once it leads', async () => {
    const c = (cluster = await EmbeddedCluster.start({ dataDir: directory, nodeCount: 3, partitionCount: 2 }));
    expect(await c.waitForLeaders(20_000)).toBe(true);
    const append = async (producerId: number, sequence: number, to = c.leaderOf(0)): Promise<number> => {
      const response: ClientResponse = await c.connector.request(to, { kind: 'append', partition: 0, producerId, sequence, records: [Uint8Array.of(producerId & 0xff, sequence & 0xff)] });
      if (response.kind !== 'append') throw new Error(`append ${producerId}/${sequence}: ${JSON.stringify(response)}`);
      return response.baseOffset;
    };
    // Two producers, 40 batches each, interleaved with partition 1's appends.
    const offsets = new Map<string, number>();
    for (let sequence = 0; sequence < 40; sequence++) {
      for (const producer of [11, 12]) offsets.set(`${producer}/${sequence}`, await append(producer, sequence));
      await c.connector.request(c.leaderOf(1), { kind: 'append', partition: 1, producerId: 13, sequence, records: [Uint8Array.of(sequence)] });
    }
    const follower = c.replicasOf(0).find((id) => id !== c.leaderOf(0))!;
    await c.crash(follower);
    await c.restart(follower);
    const restarted = c.node(follower)!;
    const replica = restarted.replica(0)!;
    const leaderHw = c.node(c.leaderOf(0))!.replica(0)!.hw;
    await until(() => replica.hw === leaderHw, 10_000);
    // Re-applying read the whole log back, entry by entry, from disk; the recovery had read it already.
    expect(restarted.catchUpStats().segmentReadBytes).toBe(0);

    c.transferLeadership(0, follower);
    await until(() => c.leaderOf(0) === follower, 10_000);
    // Each producer's newest batches are answered with their offsets, not appended again…
    for (const producer of [11, 12]) for (const sequence of [36, 37, 38, 39]) expect(await append(producer, sequence, follower)).toBe(offsets.get(`${producer}/${sequence}`));
    // …and each carries on with its next sequence.
    expect(await append(11, 40, follower)).toBeGreaterThan(offsets.get('12/39')!);
  });
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
