// Two replicas of a partition each find a rotted byte at recovery, each in a record of *another*
// partition, while the third replica never had the partition's newest entries. Recovery once cut
// every partition's records after a bad one: both replicas then lost those entries, and a fault
// soak of real processes lost acknowledged records this way (seed 21). What a user checks: a
// fresh client reads every acknowledged record back.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from '../../packages/log-cluster/src/cluster.ts';
import { flipByte } from '../../packages/log-cluster/src/storage/file-disk.ts';
import { decodeIdentifiers } from '../../packages/log-cluster/src/storage/identifiers.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Flips a byte in the middle of the first record of `partition` in a stopped node's first segment. */
function rotFirstRecordOf(nodeDir: string, partition: number): { file: string; position: number } {
  const ids = readdirSync(nodeDir).filter((name) => /^seg-\d+\.ids$/.test(name)).sort()[0];
  if (ids === undefined) throw new Error(`no identifiers in ${nodeDir}`);
  const record = decodeIdentifiers(readFileSync(join(nodeDir, ids))).ids.find((id) => id.partition === partition);
  if (record === undefined) throw new Error(`no record of partition ${partition} in ${ids}`);
  const file = ids.replace(/\.ids$/, '.log');
  const position = record.position + Math.floor(record.length / 2);
  flipByte(join(nodeDir, file), position);
  return { file, position };
}

describe('bytes that rot under two replicas, each in another partition\'s record (embedded cluster of 3, real files)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-two-rotted-'));
  let cluster: EmbeddedCluster | null = null;
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lose no acknowledged record of a partition whose own records are intact, though its third replica never had them', async () => {
    // Restarts are the test's own: it rots the files of stopped nodes and starts them itself.
    cluster = await EmbeddedCluster.start({ dataDir, nodeCount: 3, partitionCount: 3, autoRestart: false });
    expect(await cluster.waitForLeaders()).toBe(true);
    const client = cluster.client({ appendTimeoutMs: 15_000 });
    // Partitions 1 and 2 get the first records of every node's segment.
    for (let i = 0; i < 10; i++) for (const partition of [1, 2]) await client.append({ partition }, [encoder.encode(`p${partition}-${i}`)]);

    // Node 3 misses what follows: partition 0's records are on nodes 1 and 2 only, after theirs.
    cluster.isolate(3);
    const values: string[] = [];
    for (let i = 0; i < 60; i++) {
      const value = `p0-${i}-${'x'.repeat(64)}`;
      const { baseOffset } = await client.append({ partition: 0 }, [encoder.encode(value)]);
      values[baseOffset] = value;
    }
    expect(values.filter((v) => v !== undefined)).toHaveLength(60);

    await cluster.crash(1);
    await cluster.crash(2);
    const rot1 = rotFirstRecordOf(join(dataDir, 'node-1'), 1);
    const rot2 = rotFirstRecordOf(join(dataDir, 'node-2'), 2);
    await cluster.healAll();
    expect(await cluster.waitForLeaders(30_000)).toBe(true);

    // Each found its rotted byte, and only the rotted record's partition lost anything there.
    expect(cluster.node(1)?.recovery.corruption).toEqual({ file: rot1.file, position: expect.any(Number) as number });
    expect(cluster.node(2)?.recovery.corruption).toEqual({ file: rot2.file, position: expect.any(Number) as number });
    expect(cluster.node(1)?.recovery.faulty.map((f) => f.partition)).toEqual([1]);
    expect(cluster.node(2)?.recovery.faulty.map((f) => f.partition)).toEqual([2]);

    const fresh = cluster.client({ appendTimeoutMs: 15_000 });
    expect((await fresh.readAll(0, 0)).map((record) => decoder.decode(record.value))).toEqual(values.filter((v) => v !== undefined));
    for (const partition of [1, 2]) {
      expect((await fresh.readAll(partition, 0)).map((record) => decoder.decode(record.value))).toEqual(Array.from({ length: 10 }, (_, i) => `p${partition}-${i}`));
    }
  }, 120_000);
});
