import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { EmbeddedCluster } from '../../packages/log-cluster/src/cluster.ts';
import { DEFAULT_NODE_CONFIG } from '../../packages/log-cluster/src/node.ts';
import { corruptNewestSegment } from '../../packages/log-cluster/src/storage/corrupt.ts';
import { FileDisk } from '../../packages/log-cluster/src/storage/file-disk.ts';
import { TcpConnector } from '../../packages/log-cluster/src/transport/tcp.ts';
import { NodeProcessCluster } from '../support/node-cluster.ts';

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

/** RECORDS records of ~110 bytes to partition 0, 8 an append; returns them by offset. */
async function appendRecords(producer: LogClient): Promise<string[]> {
  const values: string[] = [];
  for (let i = 0; i < RECORDS; i += 8) {
    const batch = Array.from({ length: 8 }, (_, k) => `record-${i + k}-${'x'.repeat(100)}`);
    const result = await producer.append({ partition: 0 }, batch.map((value) => encoder.encode(value)));
    batch.forEach((value, k) => (values[result.baseOffset + k] = value));
  }
  return values;
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
    const values = await appendRecords(cluster.client());
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

describe('a byte that rots under a running leader process (real node processes over TCP, real files)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-rotted-read-tcp-'));
  let nodes: NodeProcessCluster | null = null;
  afterAll(() => {
    nodes?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('makes the leader process say why and exit; a fresh client reads every record intact, and so it does once the node restarted and another died', async () => {
    nodes = await NodeProcessCluster.start(dataDir, { partitionCount: 1, nodeArgs: ['--cache-mib', '0'] });
    const client = (): LogClient => new LogClient(new TcpConnector(nodes!.peers), realScheduler, { appendTimeoutMs: 15_000 });
    const producer = client();
    const values = await appendRecords(producer);
    const readAll = async (): Promise<string[]> => (await client().readAll(0, 0)).map((record) => decoder.decode(record.value));
    const leader = producer.leaderOf(0);
    expect(leader).toBeGreaterThan(0);
    const child = nodes.children.get(leader)!;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // The byte flips on disk under the running process, as rot would (the supervisor's corruptSegment code).
    const where = corruptNewestSegment(new FileDisk(join(dataDir, `node-${leader}`)), leader, false);

    expect(await readAll()).toEqual(values);
    expect(await exited).toBe(1);
    const said = nodes.outputs.get(leader) ?? '';
    expect(said).toContain('"event":"disk-error"');
    expect(said).toContain(`corrupt record in ${where.file}`);
    producer.close();

    // Restarted, recovery finds the record and the others repair what followed it; then another node
    // dies, and the restarted one is half of what is left.
    await nodes.startNode(leader);
    await sleep(2_000);
    const other = [...nodes.peers.keys()].find((id) => id !== leader)!;
    nodes.kill(other);
    expect(await readAll()).toEqual(values);
  });
});
