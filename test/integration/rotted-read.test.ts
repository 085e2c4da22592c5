import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { EmbeddedCluster } from '../../packages/log-cluster/src/cluster.ts';
import { DEFAULT_NODE_CONFIG } from '../../packages/log-cluster/src/node.ts';
import { corruptNewestSegment } from '../../packages/log-cluster/src/storage/corrupt.ts';
import { FileDisk } from '../../packages/log-cluster/src/storage/file-disk.ts';
import { TcpConnector } from '../../packages/log-cluster/src/transport/tcp.ts';
import { NodeProcessCluster } from '../support/node-cluster.ts';
import { sleep, until } from '../support/until.ts';

const RECORDS = 400;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
    // Left down, so the test sees it down and restarts it itself (the next test has it restart by itself).
    cluster = await EmbeddedCluster.start({ dataDir, nodeCount: 3, partitionCount: 1, node: { journal: { ...DEFAULT_NODE_CONFIG.journal, cacheBytes: 0 } }, autoRestart: false });
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

describe('a byte that rots where nothing reads it (embedded cluster of 5, real files)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-rotted-scrub-'));
  let cluster: EmbeddedCluster | null = null;
  afterAll(async () => {
    vi.restoreAllMocks();
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is found by the scrub; the node restarts by itself, its recovery cuts the record, and nothing is lost when another node dies', async () => {
    const said: string[] = [];
    vi.spyOn(console, 'warn').mockImplementation((line: unknown) => void said.push(String(line)));
    // The default entry cache: every read comes from memory, so only the scrub reads the segments.
    // A fast scrub here (the default reads 4 MiB/s, and starts a pass a minute).
    cluster = await EmbeddedCluster.start({
      dataDir, nodeCount: 5, partitionCount: 4,
      node: { journal: { ...DEFAULT_NODE_CONFIG.journal, scrubBytesPerSec: 1 << 20, scrubPassIntervalMs: 200 } },
    });
    expect(await cluster.waitForLeaders()).toBe(true);
    const producer = cluster.client();
    const values: string[][] = [];
    for (let partition = 0; partition < 4; partition++) {
      values[partition] = [];
      for (let i = 0; i < 160; i += 8) {
        const batch = Array.from({ length: 8 }, (_, k) => `p${partition}-record-${i + k}-${'x'.repeat(100)}`);
        const result = await producer.append({ partition }, batch.map((value) => encoder.encode(value)));
        batch.forEach((value, k) => (values[partition]![result.baseOffset + k] = value));
      }
    }
    const readAll = async (partition: number): Promise<string[]> => (await cluster!.client({ appendTimeoutMs: 15_000 }).readAll(partition, 0)).map((record) => decoder.decode(record.value));

    // Rot in a node that leads nothing of partition 0, under it while it runs.
    const victim = cluster.nodeIds().find((id) => id !== cluster!.leaderOf(0))!;
    const where = await cluster.corruptSegment(victim);
    await until('the scrub found the record and the node restarted by itself to repair it', () => cluster!.node(victim)?.recovery.corruption?.file === where.file, 20_000);
    const line = said.find((text) => text.includes('"disk-error"') && text.includes(`"node":${victim}`));
    expect(line).toContain(`corrupt record in ${where.file}`);
    expect(line).toContain('found by the scrub');
    expect(line).toContain('restarting by itself');

    // Repaired: it catches up on every partition it holds, and with one other node dead every
    // record still reads back intact through a fresh client.
    // (An idle partition it follows learns what it lost only from its leader's probe: Raft.peerRestarted.)
    await until('every replica caught up', () => [0, 1, 2, 3].every((partition) => {
      const hws = cluster!.nodeIds().map((id) => cluster!.node(id)?.replica(partition)?.hw).filter((hw) => hw !== undefined);
      return hws.length === 3 && hws.every((hw) => hw === hws[0]);
    }));
    expect(cluster.health().every((node) => node.up)).toBe(true);
    const other = cluster.nodeIds().find((id) => id !== victim)!;
    await cluster.crash(other);
    for (let partition = 0; partition < 4; partition++) expect(await readAll(partition)).toEqual(values[partition]);
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
