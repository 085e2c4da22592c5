import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { TcpConnector, type PeerAddress } from '../../packages/log-cluster/src/transport/tcp.ts';

const root = join(import.meta.dirname, '..', '..');
const PARTITIONS = 6;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A real `logscope node` process; resolves once it printed its ready line. */
function startNode(id: number, peersArg: string, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/server/src/cli.ts'), 'node', '--id', String(id), '--peers', peersArg, '--data-dir', join(dataDir, `node-${id}`), '--partitions', String(PARTITIONS)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`node ${id} not ready in 30 s:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"node-ready"')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}:\n${output}`)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('three node processes over TCP', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-tcp-'));
  const children = new Map<number, ChildProcess>();
  afterAll(() => {
    for (const child of children.values()) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('kill -9 of a leader under load loses no acknowledged record, and the restarted node rejoins', async () => {
    const peers = new Map<number, PeerAddress>();
    for (const id of [1, 2, 3]) peers.set(id, { host: '127.0.0.1', port: await freePort() });
    const peersArg = [...peers].map(([id, address]) => `${id}=${address.host}:${address.port}`).join(',');
    for (const id of peers.keys()) children.set(id, await startNode(id, peersArg, dataDir));

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
    children.get(leader)?.kill('SIGKILL');
    await sleep(3_000);
    expect(acked.length).toBeGreaterThan(ackedBeforeKill); // the survivors kept committing
    children.set(leader, await startNode(leader, peersArg, dataDir));
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

    // The restarted node serves the same committed log once caught up (reads go to it directly).
    const restarted = new LogClient(new TcpConnector(new Map([[leader, peers.get(leader)!]])), realScheduler, { appendTimeoutMs: 10_000 });
    let caughtUp = false;
    for (let attempt = 0; attempt < 50 && !caughtUp; attempt++) {
      const response = await connector.request(leader, { kind: 'read', partition: 0, offset: 0, maxRecords: 100_000, maxBytes: 64 << 20 });
      caughtUp = response.kind === 'read' && response.highWatermark === Math.max(...[...(byPartition.get(0)?.keys() ?? [])]) + 1;
      if (!caughtUp) await sleep(100);
    }
    expect(caughtUp).toBe(true);
    restarted.close();
    client.close();
    connector.close();
  }, 120_000);
});
