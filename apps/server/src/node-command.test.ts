import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogClient } from '../../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../../packages/log-cluster/src/clock.ts';
import { LogError } from '../../../packages/log-cluster/src/errors.ts';
import { retentionIntervalFor, startNodeProcess, type NodeProcessOptions, type RunningNode } from '../../../packages/log-cluster/src/node-process.ts';
import { TcpConnector } from '../../../packages/log-cluster/src/transport/tcp.ts';
import { run as clusterCommand } from './cluster/command.ts';
import { freeListenPorts } from './cluster/ports.ts';
import { BACKGROUND_READS, nodeOptionsFromArgs, parseBackgroundReads, run } from './node-command.ts';
import { UsageError } from './usage-error.ts';

describe('logscope node --background-reads', () => {
  it('takes each of the journal modes', () => {
    for (const mode of BACKGROUND_READS) expect(parseBackgroundReads(mode)).toBe(mode);
  });

  it('refuses anything else before the node starts, naming the flag and its choices', async () => {
    const args = ['--id', '1', '--peers', '1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3', '--background-reads', 'sometimes'];
    await expect(run(args)).rejects.toThrow(/--background-reads must be one of always, when-slow, never \(got "sometimes"\)/);
    expect(() => parseBackgroundReads('')).toThrow(/--background-reads/);
  });

  it('is checked by cluster up before any node process starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logscope-background-reads-'));
    try {
      const dataDir = join(dir, 'cluster');
      await expect(clusterCommand(['up', '--data-dir', dataDir, '--nodes', '3', '--background-reads', 'pool'])).rejects.toThrow(/--background-reads must be one of always, when-slow, never \(got "pool"\)/);
      expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('logscope node --segment-mib, --retention-mib, --retention-hours', () => {
  const PEERS = ['--id', '1', '--peers', '1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3'];

  it('refuses a value out of range before the node starts, as a usage error naming the flag and what it takes', async () => {
    const refused: [string[], RegExp][] = [
      [['--segment-mib', '0'], /--segment-mib must be a whole number of MiB from 1 to 1024 \(got "0"\)/],
      [['--segment-mib', '1025'], /--segment-mib must be a whole number of MiB from 1 to 1024 \(got "1025"\)/],
      [['--segment-mib', '1.5'], /--segment-mib must be a whole number/],
      [['--retention-mib', '0'], /--retention-mib must be a whole number of MiB, 1 or more \(got "0"\)/],
      [['--retention-mib', 'lots'], /--retention-mib must be a whole number of MiB, 1 or more \(got "lots"\)/],
      [['--retention-mib', '2.5', '--segment-mib', '1'], /--retention-mib must be a whole number/],
      [['--retention-hours', '0'], /--retention-hours must be a number of hours greater than 0 \(got "0"\); fractions are allowed/],
      [['--retention-hours=-1'], /--retention-hours must be a number of hours greater than 0 \(got "-1"\)/],
      [['--retention-hours', ''], /--retention-hours must be a number of hours greater than 0 \(got ""\)/],
      [['--retention-hours', 'Infinity'], /--retention-hours must be a number of hours greater than 0/],
      // Under two segments, against the other flag's default when only one is given.
      [['--segment-mib', '4', '--retention-mib', '7'], /--retention-mib 7 is less than two segments of --segment-mib 4: .* at least 8 MiB/],
      [['--retention-mib', '100'], /--retention-mib 100 is less than two segments of --segment-mib 64/],
      [['--segment-mib', '1024', '--retention-mib', '2047'], /--retention-mib 2047 is less than two segments of --segment-mib 1024/],
    ];
    for (const [flags, message] of refused) {
      const error: unknown = await run([...PEERS, ...flags]).then(() => null, (e: unknown) => e);
      expect(error, flags.join(' ')).toBeInstanceOf(UsageError);
      expect((error as UsageError).message, flags.join(' ')).toMatch(message);
      // The CLI prints the node's own usage with it (cli.test.ts).
      expect((error as UsageError).usage, flags.join(' ')).toMatch(/--retention-hours 24/);
    }
  });

  it('gives the node the journal sizes and times they name, and the defaults without them', () => {
    const defaults = nodeOptionsFromArgs(PEERS);
    expect(defaults).toMatchObject({ segmentBytes: 64 * 2 ** 20, retentionBytes: 4 * 2 ** 30, retentionMs: 24 * 3600_000 });
    const small = nodeOptionsFromArgs([...PEERS, '--segment-mib', '1', '--retention-mib', '2', '--retention-hours', '0.01']);
    expect(small).toMatchObject({ segmentBytes: 2 ** 20, retentionBytes: 2 * 2 ** 20, retentionMs: 36_000 });
    expect(nodeOptionsFromArgs([...PEERS, '--segment-mib', '1024', '--retention-mib', '2048'])).toMatchObject({ segmentBytes: 2 ** 30, retentionBytes: 2 ** 31 });
    // Retention is checked every 10 s, more often for a retention time under 100 s.
    expect(retentionIntervalFor(24 * 3600_000)).toBe(10_000);
    expect(retentionIntervalFor(36_000)).toBe(3_600);
    expect(retentionIntervalFor(1_800)).toBe(1_000);
  });

  it('are checked by cluster up before any node process starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logscope-retention-flags-'));
    try {
      const dataDir = join(dir, 'cluster');
      for (const [flags, message] of [
        [['--segment-mib', '2048'], /--segment-mib must be a whole number of MiB from 1 to 1024 \(got "2048"\)/],
        [['--retention-hours', 'soon'], /--retention-hours must be a number of hours greater than 0 \(got "soon"\)/],
        [['--retention-mib', '10'], /--retention-mib 10 is less than two segments of --segment-mib 64/],
      ] as const) {
        const error: unknown = await clusterCommand(['up', '--data-dir', dataDir, '--nodes', '3', ...flags]).then(() => null, (e: unknown) => e);
        expect(error, flags.join(' ')).toBeInstanceOf(UsageError);
        expect((error as UsageError).message).toMatch(message);
        expect((error as UsageError).usage).toMatch(/logscope cluster up --data-dir D/);
      }
      expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('on a node', () => {
    const RECORD = new Uint8Array(64 << 10).fill(7);

    /** A one-node cluster (RF 1, one partition) in this process, from `logscope node` flags. */
    async function withNode(flags: readonly string[], extra: Partial<NodeProcessOptions>, body: (node: RunningNode, client: LogClient, dataDir: string) => Promise<void>): Promise<void> {
      const dir = mkdtempSync(join(tmpdir(), 'logscope-retention-'));
      const options = nodeOptionsFromArgs(['--id', '1', '--peers', '1=127.0.0.1:0', '--partitions', '1', '--replication-factor', '1', '--data-dir', dir, ...flags]);
      if (options === null) throw new Error('--help?');
      const node = await startNodeProcess({ ...options, ...extra, log: () => undefined });
      const connector = new TcpConnector(new Map([[1, { host: '127.0.0.1', port: node.port }]]));
      const client = new LogClient(connector, realScheduler, { appendTimeoutMs: 10_000 });
      try {
        await body(node, client, dir);
      } finally {
        client.close();
        connector.close();
        await node.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }

    /** The node's segment files, oldest first, and their sizes. */
    function segments(dir: string): { name: string; bytes: number }[] {
      return readdirSync(dir).filter((name) => /^seg-\d+\.log$/.test(name)).sort().map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
    }

    async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return done();
    }

    it('with --segment-mib 1 --retention-mib 2: segments of 1 MiB, the oldest deleted once it holds more than 2 MiB', async () => {
      // A quick retention check instead of every 10 s; the sizes are the flags'.
      await withNode(['--segment-mib', '1', '--retention-mib', '2'], { retentionIntervalMs: 100 }, async (_node, client, dir) => {
        // 5 MiB in records of 64 KiB, 4 at a time.
        for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 4 }, () => client.append({ partition: 0 }, [RECORD])));
        // The first segments are gone (seq 1 up), and at most 2 MiB are kept besides the one written.
        const kept = (): boolean => {
          const left = segments(dir);
          return left[0] !== undefined && left[0].name > 'seg-00000000000000000002.log' && left.reduce((sum, s) => sum + s.bytes, 0) <= 3 * 2 ** 20;
        };
        expect(await until(kept, 10_000), JSON.stringify(segments(dir))).toBe(true);
        const left = segments(dir);
        // 5 MiB made at least 5 segments (the default, 64 MiB, would have made one), each 1 MiB at most.
        expect(Number(/\d+/.exec(left[left.length - 1]?.name ?? '')?.[0])).toBeGreaterThanOrEqual(5);
        for (const segment of left) expect(segment.bytes, segment.name).toBeLessThanOrEqual(2 ** 20);
        // What went is gone for readers too: the log starts later, and a read below it says where.
        const error: unknown = await client.read(0, 0, 1).then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(LogError);
        expect((error as LogError).code).toBe('OffsetOutOfRange');
        const start = (error as LogError).details.earliestOffset ?? 0;
        expect(start).toBeGreaterThan(0);
        const page = await client.read(0, start, 1);
        expect(page.logStartOffset).toBe(start);
        expect(page.records[0]?.offset).toBe(start);
        expect(page.highWatermark).toBe(80);
      });
    }, 30_000);

    it('with --retention-hours 0.0005 (1.8 s): every segment but the one written goes once its last write is that old', async () => {
      // The retention check's own interval for 1.8 s: 1 s (retentionIntervalFor).
      await withNode(['--segment-mib', '1', '--retention-hours', '0.0005'], {}, async (_node, client, dir) => {
        for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 4 }, () => client.append({ partition: 0 }, [RECORD])));
        // 2.5 MiB: far under the 4 GiB retention, so only time deletes.
        expect(segments(dir).length).toBeGreaterThanOrEqual(3);
        expect(await until(() => segments(dir).length === 1, 10_000), JSON.stringify(segments(dir))).toBe(true);
      });
    }, 30_000);
  });
});

describe('logscope node --new-cluster', () => {
  it('is off unless given', () => {
    const peers = ['--id', '1', '--peers', '1=127.0.0.1:9001,2=127.0.0.1:9002,3=127.0.0.1:9003'];
    expect(nodeOptionsFromArgs(peers)?.newCluster).toBe(false);
    expect(nodeOptionsFromArgs([...peers, '--new-cluster'])?.newCluster).toBe(true);
  });

  it('lets two nodes of three start a new cluster and take writes a fresh client reads back while the third never comes up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logscope-new-cluster-'));
    const ports = await freeListenPorts('127.0.0.1', 3);
    const peers = ports.map((port, i) => `${i + 1}=127.0.0.1:${port}`).join(',');
    const nodes: RunningNode[] = [];
    const connectors: TcpConnector[] = [];
    const clients: LogClient[] = [];
    const clientOf = (): LogClient => {
      const connector = new TcpConnector(new Map(ports.slice(0, 2).map((port, i) => [i + 1, { host: '127.0.0.1', port }])));
      connectors.push(connector);
      const client = new LogClient(connector, realScheduler, { appendTimeoutMs: 20_000 });
      clients.push(client);
      return client;
    };
    try {
      for (const id of [1, 2]) {
        const options = nodeOptionsFromArgs(['--id', String(id), '--peers', peers, '--partitions', '4', '--data-dir', join(dir, `node-${id}`), '--new-cluster']);
        if (options === null) throw new Error('--help?');
        nodes.push(await startNodeProcess({ ...options, log: () => undefined }));
      }
      const writer = clientOf();
      const offsets = await Promise.all([0, 1, 2, 3].map((partition) => writer.append({ partition }, [new TextEncoder().encode(`first ${partition}`)])));
      const reader = clientOf();
      for (const [partition, result] of offsets.entries()) {
        const read = await reader.read(partition, result.baseOffset, 1);
        expect(read.records[0]?.offset, `partition ${partition}`).toBe(result.baseOffset);
        expect(new TextDecoder().decode(read.records[0]?.value), `partition ${partition}`).toBe(`first ${partition}`);
      }
      // Neither kept the marker of a node that does not know yet whether the cluster is new.
      for (const id of [1, 2]) expect(readdirSync(join(dir, `node-${id}`)), `node ${id}`).not.toContain('fresh.marker');
    } finally {
      for (const client of clients) client.close();
      for (const connector of connectors) connector.close();
      for (const node of nodes) await node.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
