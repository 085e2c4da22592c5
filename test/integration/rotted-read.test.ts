import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from '../../packages/log-cluster/src/cluster.ts';
import { DEFAULT_NODE_CONFIG } from '../../packages/log-cluster/src/node.ts';

const RECORDS = 400;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe('a byte that rots under a running leader (embedded cluster, real files)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-rotted-read-'));
  let cluster: EmbeddedCluster | null = null;
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is never served: the leader stops on the read, a fresh client reads every record intact, and the restarted node is repaired and serves them again', async () => {
    // No entry cache: every read of a durable entry comes from its segment, as for a consumer far behind.
    cluster = await EmbeddedCluster.start({ dataDir, nodeCount: 3, partitionCount: 1, node: { journal: { ...DEFAULT_NODE_CONFIG.journal, cacheBytes: 0 } } });
    expect(await cluster.waitForLeaders()).toBe(true);
    const producer = cluster.client();
    const values: string[] = [];
    for (let i = 0; i < RECORDS; i += 8) {
      const batch = Array.from({ length: 8 }, (_, k) => `record-${i + k}-${'x'.repeat(100)}`);
      const result = await producer.append({ partition: 0 }, batch.map((value) => encoder.encode(value)));
      batch.forEach((value, k) => (values[result.baseOffset + k] = value));
    }
    const readAll = async (): Promise<string[]> => (await cluster!.client({ appendTimeoutMs: 15_000 }).readAll(0, 0)).map((record) => decoder.decode(record.value));
    expect(await readAll()).toEqual(values);

    const leader = cluster.leaderOf(0);
    const where = await cluster.corruptSegment(leader);
    // A fresh client's read reaches the rotted record on the leader: the leader stops instead of
    // answering with it, and the client's retry finds the new leader, whose copy is intact.
    expect(await readAll()).toEqual(values);
    const down = cluster.health().find((node) => node.node === leader);
    expect(down?.up).toBe(false);
    expect(down?.reason).toContain(`corrupt record in ${where.file}`);

    // Restarted, it finds the record in recovery, and what it lost there comes back from the others.
    await cluster.restart(leader);
    const others = cluster.nodeIds().filter((id) => id !== leader);
    await until('the restarted node caught up', () => {
      const hw = cluster!.node(leader)?.replica(0)?.hw ?? -1;
      return others.every((id) => cluster!.node(id)?.replica(0)?.hw === hw) && hw >= RECORDS;
    });
    expect(cluster.node(leader)?.recovery.corruption?.file).toBe(where.file);
    cluster.transferLeadership(0, leader);
    await until('the repaired node leads again', () => cluster!.leaderOf(0) === leader);
    expect(await readAll()).toEqual(values);
    expect(cluster.health().every((node) => node.up)).toBe(true);
  });
});
