// A producer's committed batches outlive the entries that held them: retention keeps them with the
// log start it records, a snapshot carries them to a replica behind that start, and a replica that
// restarted or caught up that way still takes the producer's batches in sequence order, once each.
// Raw append requests, so producer ids and sequences are explicit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommittedBatches } from './committed-batches.ts';
import { decodeProducerState, encodeProducerState, producersFromState } from './producer-state.ts';
import { encodeBatch } from './payload.ts';
import type { ClientResponse } from './protocol.ts';
import type { Entry, NodeId } from './raft/types.ts';
import { RecoveredApplies } from './recovered-apply.ts';
import { smallRetentionCluster, until } from './small-retention-cluster.ts';
import { FileDisk } from './storage/file-disk.ts';
import { Journal } from './storage/journal.ts';

let cluster: Awaited<ReturnType<typeof smallRetentionCluster>> | null = null;
let dir = '';
afterEach(async () => {
  await cluster?.stop();
  cluster?.removeDirectory();
  cluster = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function batches(lastCommittedMs: number, ...of: [sequence: number, offset: number, count: number][]): CommittedBatches {
  const committed = new CommittedBatches(4);
  for (const [sequence, offset, count] of of) committed.add(sequence, offset, count);
  committed.lastCommittedMs = lastCommittedMs;
  return committed;
}

describe('producer state', () => {
  it('keeps the batches wholly before the start, oldest first, and reads back what it wrote', () => {
    const producers = new Map([
      [7, batches(400, [3, 0, 2], [4, 2, 2], [5, 10, 1])],
      [2 ** 40 + 3, batches(900, [0, 4, 6])],
      [9, batches(950, [1, 12, 1])],
    ]);
    const state = encodeProducerState(producers, 10, 1_000);
    expect([...decodeProducerState(state)]).toEqual([
      [7, { idleMs: 600, batches: [{ sequence: 3, offset: 0, count: 2 }, { sequence: 4, offset: 2, count: 2 }] }],
      [2 ** 40 + 3, { idleMs: 100, batches: [{ sequence: 0, offset: 4, count: 6 }] }],
    ]);
    // A batch that straddles the start is still in the log: it is not kept, nor those after it.
    expect([...decodeProducerState(encodeProducerState(producers, 9, 1_000)).keys()]).toEqual([7]);
    expect(encodeProducerState(producers, 1, 1_000)).toBeUndefined();
    // Past its bound, the producers whose newest batch is oldest are left out: 7 (newest at 2) and
    // 2^40 + 3 (at 4) need 4 + 45 + 29 bytes; a byte less keeps only 2^40 + 3.
    expect([...decodeProducerState(encodeProducerState(producers, 10, 1_000, 4 + 45 + 29)).keys()]).toEqual([7, 2 ** 40 + 3]);
    expect([...decodeProducerState(encodeProducerState(producers, 10, 1_000, 4 + 45 + 28)).keys()]).toEqual([2 ** 40 + 3]);
    // Read back on another clock, each producer has been idle as long as when the state was made.
    const remembered = producersFromState(state, 5_000).get(7)!;
    expect([remembered.lastSequence(), remembered.offsetAt(remembered.find(3)), remembered.lastCommittedMs]).toEqual([4, 0, 4_400]);
    expect(() => decodeProducerState(state!.subarray(0, state!.byteLength - 1))).toThrow(RangeError);
    expect(() => decodeProducerState(Uint8Array.of(...state!, 0))).toThrow(RangeError);
  });

  it('a start record keeps the state through recovery, under the batches the log still holds', async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-producer-state-journal-'));
    const options = { segmentBytes: 1000, retentionBytes: 2500, retentionMs: 3_600_000, now: () => 0, cacheBytes: 1 << 20 };
    // Partition 1: producer 7's batch k (k = 0..39) at index k + 1, offset k; ten flushes of four.
    const entry = (k: number): Entry => ({ index: k + 1, term: 1, offset: k, count: 1, data: encodeBatch(7, k, [new Uint8Array(60)]) });
    const { journal } = Journal.open(new FileDisk(dir), options);
    for (let flush = 0; flush < 10; flush++) {
      journal.appendEntries(1, Array.from({ length: 4 }, (_, k) => entry(flush * 4 + k)));
      await new Promise<void>((resolve, reject) => journal.flush((error) => (error === null ? resolve() : reject(error))));
    }
    // What a replica would keep before the new start, producer 3 (in no entry the log still holds) among it.
    let keptAt = -1;
    journal.enforceRetention(undefined, (_partition, start) => {
      keptAt = start.nextOffset;
      return encodeProducerState(new Map([[3, batches(-250, [8, 0, 1])], [7, batches(-10, [keptAt - 1, keptAt - 1, 1])]]), start.nextOffset, 0);
    });
    await new Promise<void>((resolve, reject) => journal.flush((error) => (error === null ? resolve() : reject(error))));
    journal.close();
    expect(keptAt).toBeGreaterThan(0);

    const applies = new RecoveredApplies();
    const reopened = Journal.open(new FileDisk(dir), options, applies.observe).journal;
    expect(reopened.log(1).snapshot().nextOffset).toBe(keptAt);
    const recovered = applies.take(1, reopened.log(1))!;
    // Producer 3 comes from the state, idle since 250 ms before it was made; producer 7's newest
    // batches are those the log holds after the start, committed as late as the recovery (0).
    const three = recovered.producers.get(3)!;
    expect([three.lastSequence(), three.lastCommittedMs]).toEqual([8, -250]);
    const seven = recovered.producers.get(7)!;
    expect([seven.size, [36, 37, 38, 39].every((k) => seven.find(k) >= 0), seven.lastCommittedMs]).toEqual([4, true, 0]);
    reopened.close();
  });

  it('a replica that restarted, or caught up from a snapshot, after retention deleted a producer\'s batches keeps its order and answers its retries', async () => {
    // Small segments and retention, checked often: a few hundred KiB cut a producer's batches.
    const c = (cluster = await smallRetentionCluster('producer-state'));
    expect(await c.waitForLeaders(20_000)).toBe(true);
    const request = (producerId: number, sequence: number, to: NodeId, records = 1): Promise<ClientResponse> =>
      c.connector.request(to, { kind: 'append', partition: 0, producerId, sequence, records: Array.from({ length: records }, () => new Uint8Array(1024).fill(sequence & 0xff)) });
    const append = async (producerId: number, sequence: number, to = c.leaderOf(0), records = 1): Promise<number> => {
      const response = await request(producerId, sequence, to, records);
      if (response.kind !== 'append') throw new Error(`append ${producerId}/${sequence}: ${JSON.stringify(response)}`);
      return response.baseOffset;
    };
    // Another producer writes 256 KiB, so that retention moves every live replica's start past `offset`.
    let fillerSequence = 0;
    const fillPast = async (offset: number): Promise<void> => {
      for (let k = 0; k < 32; k++) await append(12, fillerSequence++, c.leaderOf(0), 8);
      await until(() => c.replicasOf(0).every((id) => { const replica = c.node(id)?.replica(0); return replica === undefined || replica.logStartOffset() > offset; }), 10_000);
    };
    const leadOn = async (node: NodeId): Promise<void> => {
      c.transferLeadership(0, node);
      await until(() => c.leaderOf(0) === node, 10_000);
    };

    const producer = 11;
    const offsets = [0, 1, 2, 3].map(() => -1);
    for (let sequence = 0; sequence < 4; sequence++) offsets[sequence] = await append(producer, sequence);
    await fillPast(offsets[3]!);

    // A follower restarts: its log holds none of the producer's batches, only its start record does.
    const [first, second] = c.replicasOf(0).filter((id) => id !== c.leaderOf(0)) as [NodeId, NodeId];
    await c.crash(first);
    await c.restart(first);
    const leaderHw = c.node(c.leaderOf(0))!.replica(0)!.hw;
    await until(() => c.node(first)?.replica(0)?.hw === leaderHw, 10_000);
    // The other follower goes down before the producer's next batch, so that it never holds it.
    await c.crash(second);
    await leadOn(first);
    // A later batch before the next one is refused (retry shortly); a retry of a committed one is
    // answered with its offset; the next one is appended.
    const early = await request(producer, 5, first);
    expect(early.kind === 'error' ? early.error.code : early.kind).toBe('Unavailable');
    expect(await append(producer, 3, first)).toBe(offsets[3]);
    const fourth = await append(producer, 4, first);
    expect(fourth).toBeGreaterThan(offsets[3]!);

    // Retention moves the start past that batch: the leader catches the other follower up with a
    // snapshot, the only place that batch is known to it.
    await fillPast(fourth);
    const leaderStart = c.node(c.leaderOf(0))!.replica(0)!.logStartOffset();
    await c.restart(second);
    await until(() => c.node(second)?.replica(0)?.hw === c.node(c.leaderOf(0))!.replica(0)!.hw, 10_000);
    expect(c.node(second)!.replica(0)!.logStartOffset()).toBeGreaterThanOrEqual(leaderStart);
    await leadOn(second);
    expect(await append(producer, 4, second)).toBe(fourth);
    const late = await request(producer, 6, second);
    expect(late.kind === 'error' ? late.error.code : late.kind).toBe('Unavailable');
    expect(await append(producer, 5, second)).toBeGreaterThan(fourth);
  });
  it('a producer known only from a start goes on ageing across a restart, and expires on time', async () => {
    const expiryMs = 4_000;
    const c = (cluster = await smallRetentionCluster('producer-state-expiry', { producerExpiryMs: expiryMs }));
    expect(await c.waitForLeaders(20_000)).toBe(true);
    const append = async (producerId: number, sequence: number, records = 1): Promise<number> => {
      const response = await c.connector.request(c.leaderOf(0), { kind: 'append', partition: 0, producerId, sequence, records: Array.from({ length: records }, () => new Uint8Array(1024)) });
      if (response.kind !== 'append') throw new Error(`append ${producerId}/${sequence}: ${JSON.stringify(response)}`);
      return response.baseOffset;
    };
    const idleSince = Date.now();
    const offset = await append(11, 0);
    // Another producer keeps committing (expiry is swept as commits apply) and moves every start past producer 11's batch.
    let sequence = 0;
    let filling = true;
    const filler = (async () => {
      while (filling) {
        await append(12, sequence++, 8);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await until(() => c.replicasOf(0).every((id) => (c.node(id)?.replica(0)?.logStartOffset() ?? 0) > offset), 10_000);
      const follower = c.replicasOf(0).find((id) => id !== c.leaderOf(0))!;
      await until(() => Date.now() - idleSince > expiryMs / 2, 10_000);
      await c.crash(follower);
      await c.restart(follower);
      // Producer 11 from its start's state, producer 12 once it applies the log again.
      await until(() => c.node(follower)?.replica(0)?.producerCount() === 2, 10_000);
      // Forgotten once idle past the expiry (found by a sweep, every quarter of it), counted from
      // its batch, 4–5 s: a clock started at the restart kept it until 6–7 s.
      await until(() => c.node(follower)?.replica(0)?.producerCount() === 1, 10_000);
      expect(Date.now() - idleSince).toBeLessThan(expiryMs * 1.25 + 500);
    } finally {
      filling = false;
      await filler;
    }
  });
});
