// A producer's committed batches outlive the entries that held them: retention keeps them with the
// log start it records, a snapshot carries them to a replica behind that start, and a replica that
// restarted or caught up that way still takes the producer's batches in sequence order, once each.
// Raw append requests, so producer ids and sequences are explicit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';
import { CommittedBatches } from './committed-batches.ts';
import { decodeProducerState, encodeProducerState, producersFromState } from './producer-state.ts';
import type { ClientResponse } from './protocol.ts';
import type { NodeId } from './raft/types.ts';

let cluster: EmbeddedCluster | null = null;
let dir = '';
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function batches(...of: [sequence: number, offset: number, count: number][]): CommittedBatches {
  const committed = new CommittedBatches(4);
  for (const [sequence, offset, count] of of) committed.add(sequence, offset, count);
  return committed;
}

describe('producer state', () => {
  it('keeps the batches wholly before the start, oldest first, and reads back what it wrote', () => {
    const producers = new Map([
      [7, batches([3, 0, 2], [4, 2, 2], [5, 10, 1])],
      [2 ** 40 + 3, batches([0, 4, 6])],
      [9, batches([1, 12, 1])],
    ]);
    const state = encodeProducerState(producers, 10);
    expect([...decodeProducerState(state)]).toEqual([
      [7, [{ sequence: 3, offset: 0, count: 2 }, { sequence: 4, offset: 2, count: 2 }]],
      [2 ** 40 + 3, [{ sequence: 0, offset: 4, count: 6 }]],
    ]);
    // A batch that straddles the start is still in the log: it is not kept, nor those after it.
    expect([...decodeProducerState(encodeProducerState(producers, 9)).keys()]).toEqual([7]);
    expect(encodeProducerState(producers, 1)).toBeUndefined();
    // Past its bound, the producers whose newest batch is oldest are left out: 7 (newest at 2) and
    // 2^40 + 3 (at 4) need 4 + 41 + 25 bytes; a byte less keeps only 2^40 + 3.
    expect([...decodeProducerState(encodeProducerState(producers, 10, 4 + 41 + 25)).keys()]).toEqual([7, 2 ** 40 + 3]);
    expect([...decodeProducerState(encodeProducerState(producers, 10, 4 + 41 + 24)).keys()]).toEqual([2 ** 40 + 3]);
    const remembered = producersFromState(state, 5).get(7)!;
    expect([remembered.lastSequence(), remembered.offsetAt(remembered.find(3)), remembered.lastCommittedMs]).toEqual([4, 0, 5]);
    expect(() => decodeProducerState(state!.subarray(0, state!.byteLength - 1))).toThrow(RangeError);
    expect(() => decodeProducerState(Uint8Array.of(...state!, 0))).toThrow(RangeError);
  });

  it('a replica that restarted, or caught up from a snapshot, after retention deleted a producer\'s batches keeps its order and answers its retries', async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-producer-state-'));
    // Small segments and retention, checked often: a few hundred KiB cut a producer's batches.
    const c = (cluster = await EmbeddedCluster.start({
      dataDir: dir,
      nodeCount: 3,
      partitionCount: 1,
      node: { journal: { segmentBytes: 32 << 10, retentionBytes: 64 << 10, retentionMs: 3_600_000, cacheBytes: 1 << 20 }, retentionIntervalMs: 20 },
    }));
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
});
