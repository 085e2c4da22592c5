import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { TcpConnector } from '../../packages/log-cluster/src/transport/tcp.ts';
import { NodeProcessCluster } from '../support/node-cluster.ts';
import { sleep } from '../support/until.ts';

const NODES = 5;
const PARTITIONS = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Ack {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

describe('five node processes, RF 3', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-five-'));
  let nodes: NodeProcessCluster | null = null;
  afterAll(() => {
    nodes?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('with each node killed -9 in turn under load, a fresh client reads back every acknowledged record, and no read ever misses an acknowledged one', async () => {
    nodes = await NodeProcessCluster.start(dataDir, { nodeCount: NODES, partitionCount: PARTITIONS });
    const peers = nodes.peers;
    const producerClient = new LogClient(new TcpConnector(peers), realScheduler, { appendTimeoutMs: 15_000 });
    const acked: Ack[] = [];
    const ackedByPartition = new Map<number, number[]>();
    let running = true;
    let n = 0;
    const producer = async (): Promise<void> => {
      while (running) {
        const partition = n % PARTITIONS;
        const value = `record-${n++}`;
        try {
          const result = await producerClient.append({ partition }, [encoder.encode(value)]);
          acked.push({ partition, offset: result.baseOffset, value });
          const offsets = ackedByPartition.get(partition) ?? [];
          offsets.push(result.baseOffset);
          ackedByPartition.set(partition, offsets);
        } catch {
          // not acknowledged: allowed to be missing
        }
      }
    };
    // Readers read offsets acknowledged before their read began: each must come back (not stale).
    const stale: string[] = [];
    let readsChecked = 0;
    const reader = async (seed: number): Promise<void> => {
      const client = new LogClient(new TcpConnector(peers), realScheduler, { appendTimeoutMs: 15_000 });
      let i = seed;
      while (running) {
        const partition = i++ % PARTITIONS;
        const offsets = ackedByPartition.get(partition) ?? [];
        const target = offsets.length === 0 ? null : Math.max(...offsets.slice(-4));
        if (target === null) {
          await sleep(5);
          continue;
        }
        try {
          const page = await client.read(partition, target, 1);
          readsChecked++;
          if (page.highWatermark <= target || page.records[0]?.offset !== target) {
            stale.push(`partition ${partition} offset ${target}: high watermark ${page.highWatermark}, first record ${page.records[0]?.offset ?? 'none'}`);
          }
        } catch {
          // no answer within the deadline: not a wrong answer
        }
      }
      client.close();
    };
    const workers = [...Array.from({ length: 6 }, () => producer()), reader(0), reader(7)];

    const readEverything = async (): Promise<Ack[]> => {
      const snapshot = acked.slice();
      const fresh = new LogClient(new TcpConnector(peers), realScheduler, { appendTimeoutMs: 15_000 });
      const logs = new Map<number, Map<number, string>>();
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const records = await fresh.readAll(partition);
        logs.set(partition, new Map(records.map((record) => [record.offset, decoder.decode(record.value)])));
      }
      fresh.close();
      return snapshot.filter((ack) => logs.get(ack.partition)?.get(ack.offset) !== ack.value);
    };

    while (acked.length < 200) await sleep(50);
    for (let victim = 1; victim <= NODES; victim++) {
      nodes.kill(victim);
      const before = acked.length;
      // With the victim down, everything acknowledged so far is read back by a fresh client.
      expect(await readEverything(), `lost with node ${victim} down`).toEqual([]);
      await sleep(500);
      expect(acked.length, `appends continue with node ${victim} down`).toBeGreaterThan(before);
      await nodes.startNode(victim);
      await sleep(300);
    }
    running = false;
    await Promise.all(workers);
    expect(await readEverything()).toEqual([]);
    expect(stale).toEqual([]);
    expect(readsChecked).toBeGreaterThan(100);
    expect(acked.length).toBeGreaterThan(1_000);
    producerClient.close();
  }, 240_000);
});
