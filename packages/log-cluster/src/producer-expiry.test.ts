// Producer state expires: a producer with no batch committed on a partition for producerExpiryMs
// is forgotten on every replica, while one that keeps appending is remembered (its retries still
// answered from what committed). Raw append requests, so producer ids and sequences are explicit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';
import type { ClientResponse } from './protocol.ts';

const EXPIRY_MS = 600;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: EmbeddedCluster | null = null;
let dir = '';
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
  rmSync(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

describe('producer expiry', () => {
  it('forgets idle producers on every replica and keeps one that appends', async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-producer-expiry-'));
    const c = (cluster = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount: 1, node: { producerExpiryMs: EXPIRY_MS } }));
    await c.waitForLeaders(20_000);
    const append = async (producerId: number, sequence: number): Promise<number> => {
      const response: ClientResponse = await c.connector.request(c.leaderOf(0), { kind: 'append', partition: 0, producerId, sequence, records: [Uint8Array.of(producerId & 0xff, sequence & 0xff)] });
      if (response.kind !== 'append') throw new Error(`append ${producerId}/${sequence}: ${JSON.stringify(response)}`);
      return response.baseOffset;
    };
    const counts = (): number[] => c.replicasOf(0).map((id) => c.node(id)!.replica(0)!.producerCount());

    const kept = 7;
    const first = await append(kept, 0);
    expect(await append(kept, 0)).toBe(first); // a retry: answered from what committed
    const idle = Array.from({ length: 40 }, (_, i) => 100 + i);
    const idleOffsets = new Map<number, number>();
    for (const producerId of idle) idleOffsets.set(producerId, await append(producerId, 0));
    await until(() => counts().every((n) => n === 41), 5_000);

    // The kept producer appends every 100 ms; the others say nothing past the expiry.
    let sequence = 0;
    const started = Date.now();
    while (Date.now() - started < EXPIRY_MS * 3 && !counts().every((n) => n === 1)) {
      await append(kept, ++sequence);
      await sleep(100);
    }
    expect(counts()).toEqual([1, 1, 1]);

    // The kept producer's newest batch is still answered on a retry, not appended again.
    const last = await append(kept, sequence + 1);
    expect(await append(kept, sequence + 1)).toBe(last);
    // A forgotten producer carries on with its next sequence (not refused as out of order)…
    expect(await append(idle[0]!, 1)).toBeGreaterThan(last);
    // …and its old batch is no longer recognized: a retry this late would be appended again.
    expect(await append(idle[1]!, 0)).not.toBe(idleOffsets.get(idle[1]!));
  });
});
