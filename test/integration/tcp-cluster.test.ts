import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { TcpConnector } from '../../packages/log-cluster/src/transport/tcp.ts';
import { NodeProcessCluster } from '../support/node-cluster.ts';
import { sleep } from '../support/until.ts';

const PARTITIONS = 6;

describe('three node processes over TCP', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-tcp-'));
  let nodes: NodeProcessCluster | null = null;
  afterAll(() => {
    nodes?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('kill -9 of a leader under load loses no acknowledged record, and after it restarts and another node dies every record is still read back', async () => {
    nodes = await NodeProcessCluster.start(dataDir, { partitionCount: PARTITIONS });
    const peers = nodes.peers;

    const connector = new TcpConnector(peers);
    const client = new LogClient(connector, realScheduler, { appendTimeoutMs: 15_000 });
    const acked: { partition: number; offset: number; value: string }[] = [];
    let failed = 0;
    let running = true;
    let n = 0;
    const producer = async (): Promise<void> => {
      while (running) {
        const partition = n % PARTITIONS;
        const value = `record-${n++}`;
        try {
          const result = await client.append({ partition }, [new TextEncoder().encode(value)]);
          acked.push({ partition, offset: result.baseOffset, value });
        } catch {
          failed++; // not acknowledged: allowed to be missing
        }
      }
    };
    const producers = Array.from({ length: 8 }, () => producer());

    // Under load, find partition 0's leader and kill -9 its process.
    while (acked.length < 300) await sleep(50);
    const leader = client.leaderOf(0);
    expect(leader).toBeGreaterThan(0);
    const ackedBeforeKill = acked.length;
    nodes.kill(leader);
    await sleep(3_000);
    expect(acked.length).toBeGreaterThan(ackedBeforeKill); // the survivors kept committing
    await nodes.startNode(leader);
    await sleep(2_000);
    running = false;
    await Promise.all(producers);

    // Every acknowledged record is read back at the offset it was acknowledged with.
    const byPartition = new Map<number, Map<number, string>>();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const records = await client.readAll(partition);
      byPartition.set(partition, new Map(records.map((record) => [record.offset, new TextDecoder().decode(record.value)])));
    }
    const lost = acked.filter((ack) => byPartition.get(ack.partition)?.get(ack.offset) !== ack.value);
    expect(lost).toEqual([]);
    expect(acked.length).toBeGreaterThan(500);

    // The restarted node rejoined: with another node killed it is needed in every quorum, and a fresh
    // client still reads every acknowledged record (a stale restarted replica would answer with less).
    const other = [...peers.keys()].find((id) => id !== leader) ?? 0;
    nodes.kill(other);
    const fresh = new LogClient(new TcpConnector(peers), realScheduler, { appendTimeoutMs: 15_000 });
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const records = await fresh.readAll(partition);
      const log = new Map(records.map((record) => [record.offset, new TextDecoder().decode(record.value)]));
      expect(acked.filter((ack) => ack.partition === partition && log.get(ack.offset) !== ack.value)).toEqual([]);
    }
    fresh.close();
    client.close();
    connector.close();
  }, 120_000);
});
