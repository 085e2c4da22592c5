// Quiescence on real nodes (embedded cluster: real files, real timers, in-process network): idle
// partitions stop ticking, and node liveness still fails a dead leader's partitions over.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from './cluster.ts';
import type { NodeId } from './raft/types.ts';

const PARTITIONS = 4;
const WAIT_MS_MAX = 20_000;

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS_MAX;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function quiesced(cluster: EmbeddedCluster, partition: number, replicas: readonly NodeId[]): boolean {
  return replicas.every((id) => cluster.node(id)?.replica(partition)?.raft.isQuiesced() === true);
}

describe('quiescence on an embedded cluster', () => {
  let dir = '';
  let cluster: EmbeddedCluster | null = null;

  afterEach(async () => {
    await cluster?.stop();
    cluster = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a quiesced partition whose leader node crashes elects a new leader and takes appends again', async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-quiesce-'));
    cluster = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount: PARTITIONS });
    const c = cluster;
    expect(await c.waitForLeaders()).toBe(true);
    const client = c.client();
    const first = await client.append({ partition: 0 }, [new TextEncoder().encode('before')]);
    await until('every partition quiesced', () => [...Array(PARTITIONS).keys()].every((p) => quiesced(c, p, c.replicasOf(p))));
    const oldLeader = c.leaderOf(0);
    expect(oldLeader).not.toBe(0);
    c.crash(oldLeader);
    const survivors = c.replicasOf(0).filter((id) => id !== oldLeader);
    await until('a surviving replica leads partition 0', () => survivors.some((id) => c.node(id)?.replica(0)?.isLeader === true));
    const second = await client.append({ partition: 0 }, [new TextEncoder().encode('after')]);
    expect(second.baseOffset).toBe(first.baseOffset + 1);
    client.close();
  });

  it('an append to a quiesced partition wakes it and commits on every replica', async () => {
    dir = mkdtempSync(join(tmpdir(), 'logscope-quiesce-'));
    cluster = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount: PARTITIONS });
    const c = cluster;
    expect(await c.waitForLeaders()).toBe(true);
    const client = c.client();
    await client.append({ partition: 1 }, [new TextEncoder().encode('a')]);
    await until('partition 1 quiesced', () => quiesced(c, 1, c.replicasOf(1)));
    const { baseOffset } = await client.append({ partition: 1 }, [new TextEncoder().encode('b')]);
    const read = await client.read(1, baseOffset, 1);
    expect(new TextDecoder().decode(read.records[0]?.value)).toBe('b');
    // A quiesce round needs every follower caught up, so then every replica holds it.
    await until('partition 1 quiesced again', () => quiesced(c, 1, c.replicasOf(1)));
    for (const id of c.replicasOf(1)) expect(c.node(id)?.replica(1)?.logEndOffset()).toBe(baseOffset + 1);
    client.close();
  });
});
