// The systems under test, each started on loopback ports in its own temp dir: etcd (3 members),
// NATS JetStream (3 servers, one R3 file stream), Logscope embedded (3 nodes in this process),
// Logscope over TCP (3 node processes), and the quorum floor (3 bare Node processes, see
// floor-node.ts): not a system, the reference for what this machine allows.

import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { connect, StorageType, type NatsConnection } from 'nats';
import { EmbeddedCluster } from '../../packages/log-cluster/src/cluster.ts';
import { LogClient } from '../../packages/log-cluster/src/client.ts';
import { realScheduler } from '../../packages/log-cluster/src/clock.ts';
import { TcpConnector, type PeerAddress } from '../../packages/log-cluster/src/transport/tcp.ts';
import { nodeEntryArgs } from '../../apps/server/src/cluster/node-entry.ts';
import { nodeProcessEnv, nodeProcessV8Flags } from '../../apps/server/src/cluster/node-v8-flags.ts';
import { freePorts, makeTempDir, removeTempDir, sleep, spawnManaged, stopManaged, waitForLine, type Managed } from './procs.ts';
import type { Target } from './workload.ts';
import { decodeHistogram, mergeEncoded, summary, type HistogramsJson } from '../../packages/telemetry/src/index.ts';
import { CLIENT_RECORD, frame, onFrames, send } from './floor-node.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PARTITIONS = 12;
const SEND_TIMEOUT_MS = 10_000;

export interface RunningSystem {
  readonly name: string;
  readonly durability: string;
  readonly target: Target;
  /** Server processes to sample, or 'self' when the system runs inside this process. */
  readonly pids: readonly number[] | 'self';
  /**
   * Logscope only: each node's longest event-loop stall and longest fsync in the windows that
   * overlap [fromMs, toMs) (wall clock), from the nodes' own exact histograms: whether a slow
   * write in that point was a node's own stall or the disk's.
   */
  readonly nodeStalls?: (fromMs: number, toMs: number) => Promise<NodeStalls[]>;
  stop(): Promise<void>;
}

export interface NodeStalls {
  node: number;
  /** null: no window of it in the range. */
  loopMaxMs: number | null;
  fsyncMaxMs: number | null;
  /**
   * p99 of the node's flushes (its writes and their fdatasyncs) over the range: what the disk gave
   * this load, the floor under the append p99 (three nodes share the one disk). null: no flush.
   */
  fsyncP99Ms: number | null;
}

/** The longest event-loop stall and fsync, and the fsync p99, per node from their /histograms answers (windows overlapping [fromMs, toMs)). */
export function stallsOf(answers: readonly HistogramsJson[], fromMs: number, toMs: number): NodeStalls[] {
  return answers.map((h) => {
    const encodedOf = (metric: string): string[] => h.windows.filter((w) => w.metric === metric && w.partition === null && w.endMs > fromMs && w.startMs < toMs).map((w) => w.encoded);
    const loops = encodedOf('event_loop_delay');
    // The fsync windows merged once: their max is the merged histogram's, and so is their p99.
    const fsyncWindows = encodedOf('fsync');
    const fsyncs = mergeEncoded(fsyncWindows);
    return {
      node: h.nodeId,
      loopMaxMs: loops.length === 0 ? null : Math.max(...loops.map((e) => decodeHistogram(e).maxValue)) / 1000,
      fsyncMaxMs: fsyncWindows.length === 0 ? null : fsyncs.maxValue / 1000,
      fsyncP99Ms: fsyncs.totalCount === 0 ? null : summary(fsyncs).p99Micros / 1000,
    };
  });
}

export type SystemName = 'etcd' | 'nats' | 'logscope-embedded' | 'logscope-tcp' | 'floor' | 'floor-2w';
export const ALL_SYSTEMS: readonly SystemName[] = ['etcd', 'nats', 'logscope-embedded', 'logscope-tcp', 'floor', 'floor-2w'];

async function retry<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (error) {
      last = error;
      await sleep(200);
    }
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms (${last instanceof Error ? last.message : String(last)})`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms`)), ms);
  })]).finally(() => clearTimeout(timer));
}

async function stopAll(procs: readonly Managed[], dir: string): Promise<void> {
  await Promise.all(procs.map((m) => stopManaged(m)));
  removeTempDir(dir);
}

/** A system of server processes working in `dir`, driven through `client`: stop() closes the client, then stops them. */
function processSystem(name: string, durability: string, procs: readonly Managed[], dir: string, client: { close(): void }, target: Target): RunningSystem {
  return {
    name,
    durability,
    target,
    pids: procs.map((p) => p.pid),
    stop: async () => {
      client.close();
      await stopAll(procs, dir);
    },
  };
}

export async function startEtcd(binary: string): Promise<RunningSystem> {
  const dir = makeTempDir('logscope-peers-etcd-');
  const ports = await freePorts(6);
  const names = [1, 2, 3].map((i) => `e${i}`);
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[3 + i]}`;
  const clientUrl = (i: number): string => `http://127.0.0.1:${ports[i]}`;
  const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  const procs: Managed[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      procs.push(spawnManaged(`etcd ${names[i]}`, binary, [
        '--name', names[i]!, '--data-dir', join(dir, names[i]!),
        '--listen-client-urls', clientUrl(i), '--advertise-client-urls', clientUrl(i),
        '--listen-peer-urls', peerUrl(i), '--initial-advertise-peer-urls', peerUrl(i),
        '--initial-cluster', initialCluster, '--initial-cluster-token', 'logscope-bench', '--initial-cluster-state', 'new',
        '--logger', 'zap', '--log-level', 'warn',
      ]));
    }
    const client = new Etcd3({ hosts: [0, 1, 2].map(clientUrl) });
    await retry('etcd', 30_000, () => withTimeout(client.put('bench/ready').value('1').exec(), 2_000));
    return {
      name: 'etcd',
      durability: 'put acknowledged after a Raft quorum (2 of 3) has fsynced the entry to its WAL (etcd default; no --unsafe-no-fsync)',
      target: { send: (producer, record) => client.put(`bench/p${producer}`).value(Buffer.from(record.buffer, record.byteOffset, record.byteLength)).exec() },
      pids: procs.map((p) => p.pid),
      stop: async () => {
        client.close();
        await stopAll(procs, dir);
      },
    };
  } catch (error) {
    await stopAll(procs, dir);
    throw error;
  }
}

export async function startNats(binary: string): Promise<RunningSystem> {
  const dir = makeTempDir('logscope-peers-nats-');
  const ports = await freePorts(6);
  const procs: Managed[] = [];
  let nc: NatsConnection | null = null;
  try {
    for (let i = 0; i < 3; i++) {
      const routes = [0, 1, 2].filter((j) => j !== i).map((j) => `"nats-route://127.0.0.1:${ports[3 + j]}"`).join(', ');
      const conf = join(dir, `n${i + 1}.conf`);
      writeFileSync(conf, [
        `server_name: n${i + 1}`,
        `listen: "127.0.0.1:${ports[i]}"`,
        `jetstream { store_dir: "${join(dir, `n${i + 1}`)}" }`,
        `cluster { name: bench, listen: "127.0.0.1:${ports[3 + i]}", routes: [${routes}] }`,
        '',
      ].join('\n'));
      procs.push(spawnManaged(`nats n${i + 1}`, binary, ['-c', conf]));
    }
    await Promise.all(procs.map((m) => waitForLine(m, (l) => l.includes('Server is ready'), 20_000)));
    const conn = await connect({ servers: [0, 1, 2].map((i) => `127.0.0.1:${ports[i]}`), maxReconnectAttempts: -1 });
    nc = conn;
    const jsm = await retry('nats jetstream', 30_000, () => conn.jetstreamManager());
    await retry('nats stream', 30_000, () => jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], num_replicas: 3, storage: StorageType.File }));
    const js = conn.jetstream();
    await retry('nats publish', 30_000, () => js.publish('bench.ready', new Uint8Array(1), { timeout: 2_000 }));
    return {
      name: 'nats',
      durability: 'PubAck after the R3 stream\'s Raft quorum stored the message; JetStream file store (nats-server 2.9) writes to the page cache and fsyncs every 2 min by default — sync_interval (incl. `always`) only exists from 2.10, so the per-message-fsync variant could not be run',
      target: { send: (producer, record) => js.publish(`bench.p${producer}`, record, { timeout: SEND_TIMEOUT_MS }) },
      pids: procs.map((p) => p.pid),
      stop: async () => {
        await conn.close().catch(() => undefined);
        await stopAll(procs, dir);
      },
    };
  } catch (error) {
    await nc?.close().catch(() => undefined);
    await stopAll(procs, dir);
    throw error;
  }
}

const LOGSCOPE_DURABILITY = 'append acknowledged once the batch is committed by a quorum of the RF=3 replicas, each fdatasyncing before it acknowledges (12 partitions, client batches while a batch per partition is in flight, another only once 64 KiB is queued)';

async function warmLogscope(client: LogClient): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) await retry(`logscope partition ${p}`, 30_000, () => client.append({ partition: p }, [new Uint8Array(1)]));
}

export async function startLogscopeEmbedded(): Promise<RunningSystem> {
  const dir = makeTempDir('logscope-peers-embedded-');
  const cluster = await EmbeddedCluster.start({ dataDir: dir, nodeCount: 3, partitionCount: PARTITIONS });
  try {
    await cluster.waitForLeaders(20_000);
    const client = cluster.client({ appendTimeoutMs: SEND_TIMEOUT_MS });
    await warmLogscope(client);
    return {
      name: 'logscope-embedded',
      durability: LOGSCOPE_DURABILITY,
      target: { send: (producer, record) => client.append({ partition: producer % PARTITIONS }, [record]) },
      pids: 'self',
      nodeStalls: async (fromMs, toMs) => stallsOf(cluster.nodeIds().map((id) => cluster.telemetry(id).histogramsJson(fromMs - 1_000)), fromMs, toMs),
      stop: async () => {
        client.close();
        await cluster.stop();
        removeTempDir(dir);
      },
    };
  } catch (error) {
    await cluster.stop();
    removeTempDir(dir);
    throw error;
  }
}

export async function startLogscopeTcp(): Promise<RunningSystem> {
  const dir = makeTempDir('logscope-peers-tcp-');
  const ports = await freePorts(3);
  const peersArg = ports.map((p, i) => `${i + 1}=127.0.0.1:${p}`).join(',');
  const procs: Managed[] = [];
  let client: LogClient | null = null;
  try {
    for (let i = 0; i < 3; i++) {
      procs.push(spawnManaged(`logscope node ${i + 1}`, process.execPath, [
        ...nodeProcessV8Flags(3),
        ...nodeEntryArgs(), '--id', String(i + 1), '--peers', peersArg,
        '--data-dir', join(dir, `node-${i + 1}`), '--partitions', String(PARTITIONS),
      ], REPO_ROOT, nodeProcessEnv()));
    }
    const ready = await Promise.all(procs.map((m) => waitForLine(m, (l) => l.includes('"node-ready"'), 60_000)));
    const metricsUrls = ready.map((line) => (JSON.parse(line) as { metricsUrl: string }).metricsUrl);
    const peers = new Map<number, PeerAddress>(ports.map((port, i) => [i + 1, { host: '127.0.0.1', port }]));
    const c = new LogClient(new TcpConnector(peers), realScheduler, { appendTimeoutMs: SEND_TIMEOUT_MS });
    client = c;
    await warmLogscope(c);
    return {
      ...processSystem('logscope-tcp', LOGSCOPE_DURABILITY, procs, dir, c, { send: (producer, record) => c.append({ partition: producer % PARTITIONS }, [record]) }),
      nodeStalls: async (fromMs, toMs) => stallsOf(await Promise.all(metricsUrls.map(async (url) => (await (await fetch(`${url}/histograms?since=${fromMs - 1_000}`)).json()) as HistogramsJson)), fromMs, toMs),
    };
  } catch (error) {
    client?.close();
    await stopAll(procs, dir);
    throw error;
  }
}

export const FLOOR_DURABILITY = 'a reference, not a system: each of 3 bare Node processes writes a batch with one O_DSYNC pwrite (zero-filled file, group commit) before it counts; acknowledged once the leader and one follower have (2 of 3); one fixed leader, one log, no consensus, checksums, indexes or recovery';

/** The client of the quorum floor: one connection to its leader, records acknowledged in order. */
class FloorClient {
  private nextRecord = 0;
  private readonly waiting: { record: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  private failure: Error | null = null;

  constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    onFrames(socket, (_type, lastRecord) => {
      while (this.waiting.length > 0 && this.waiting[0]!.record <= lastRecord) this.waiting.shift()!.resolve();
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const w of this.waiting.splice(0)) w.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('floor leader closed the connection')));
  }

  send(record: Uint8Array): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = ++this.nextRecord;
    send(this.socket, frame(CLIENT_RECORD, id, record));
    return new Promise((resolve, reject) => this.waiting.push({ record: id, resolve, reject }));
  }

  close(): void {
    this.socket.destroy();
  }
}

export const FLOOR_2W_DURABILITY = 'the quorum floor with a second O_DSYNC pwrite per batch (52 B, to a second zero-filled file, in parallel), counted once both are done: the shape of Logscope\'s flush with its record identifiers';

/** The quorum floor; `secondWrite`: with one more durable write per batch, as Logscope's identifiers. */
export async function startFloor(secondWrite = false): Promise<RunningSystem> {
  const dir = makeTempDir('logscope-peers-floor-');
  const ports = await freePorts(3);
  const procs: Managed[] = [];
  let client: FloorClient | null = null;
  try {
    const spawnNode = (i: number, extra: string[]): Managed => {
      const nodeDir = join(dir, `node-${i + 1}`);
      mkdirSync(nodeDir);
      const args = ['--import', 'tsx', 'bench/peers/floor-node.ts', '--id', String(i + 1), '--port', String(ports[i]), '--dir', nodeDir, ...(secondWrite ? ['--second-write'] : []), ...extra];
      return spawnManaged(`floor node ${i + 1}`, process.execPath, args, REPO_ROOT, nodeProcessEnv());
    };
    procs.push(spawnNode(1, []), spawnNode(2, []));
    await Promise.all(procs.map((m) => waitForLine(m, (l) => l.includes('"floor-ready"'), 60_000)));
    const leader = spawnNode(0, ['--followers', `${ports[1]},${ports[2]}`]);
    procs.unshift(leader);
    await waitForLine(leader, (l) => l.includes('"floor-ready"'), 60_000);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(ports[0]!, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const c = new FloorClient(socket);
    client = c;
    await withTimeout(c.send(new Uint8Array(1)), SEND_TIMEOUT_MS);
    return processSystem(secondWrite ? 'floor-2w' : 'floor', secondWrite ? FLOOR_2W_DURABILITY : FLOOR_DURABILITY, procs, dir, c, { send: (_producer, record) => c.send(record) });
  } catch (error) {
    client?.close();
    await stopAll(procs, dir);
    throw error;
  }
}
