import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PeerAddress } from '../../packages/log-cluster/src/transport/tcp.ts';
import { nodeEntryArgs } from '../../apps/server/src/cluster/node-entry.ts';
import { freeListenPorts } from '../../apps/server/src/cluster/ports.ts';
import { nodeProcessEnv, nodeProcessV8Flags } from '../../apps/server/src/cluster/node-v8-flags.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Ports free on loopback, below the ephemeral range (see freeListenPorts): a killed node restarts on its own. */
export function freePorts(count: number): Promise<number[]> {
  return freeListenPorts('127.0.0.1', count);
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/** Three (or more) real `logscope node` processes over TCP, for integration tests and benchmarks. */
export class NodeProcessCluster {
  readonly children = new Map<number, ChildProcess>();
  /** Everything each node printed on stdout since it was last started (its log lines). */
  readonly outputs = new Map<number, string>();

  private constructor(
    readonly peers: ReadonlyMap<number, PeerAddress>,
    private readonly dataDir: string,
    private readonly partitionCount: number,
    /** More `logscope node` flags for every node. */
    private readonly nodeArgs: readonly string[],
  ) {}

  static async start(dataDir: string, options: { nodeCount?: number; partitionCount: number; nodeArgs?: readonly string[] }): Promise<NodeProcessCluster> {
    const ports = await freePorts(options.nodeCount ?? 3);
    const peers = new Map<number, PeerAddress>(ports.map((port, i) => [i + 1, { host: '127.0.0.1', port }]));
    const cluster = new NodeProcessCluster(peers, dataDir, options.partitionCount, options.nodeArgs ?? []);
    await Promise.all([...peers.keys()].map((id) => cluster.startNode(id)));
    return cluster;
  }

  get peersArg(): string {
    return [...this.peers].map(([id, address]) => `${id}=${address.host}:${address.port}`).join(',');
  }

  /** Starts node `id` (again); resolves once it printed its ready line. */
  startNode(id: number): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      [...nodeProcessV8Flags(this.peers.size), ...nodeEntryArgs(), '--id', String(id), '--peers', this.peersArg, '--data-dir', join(this.dataDir, `node-${id}`), '--partitions', String(this.partitionCount), ...this.nodeArgs],
      // A node's flushes (segment, hard-state file, directory, background preallocation) run in the libuv pool.
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: nodeProcessEnv() },
    );
    this.children.set(id, child);
    this.outputs.set(id, '');
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.children.get(id) === child) this.outputs.set(id, (this.outputs.get(id) ?? '') + chunk.toString());
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
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`node ${id} exited with ${code}:\n${output}`));
      });
    });
  }

  /** The base URL of node `id`'s telemetry (/metrics, /histograms), from the ready line it printed when it last started. */
  telemetryUrl(id: number): string {
    const output = this.outputs.get(id) ?? '';
    const url = /"metricsUrl":"([^"]+)"/.exec(output)?.[1];
    if (url === undefined) throw new Error(`node ${id} printed no metrics URL:\n${output}`);
    return url;
  }

  /** kill -9: no clean shutdown, the OS keeps what was written. */
  kill(id: number): void {
    this.children.get(id)?.kill('SIGKILL');
    this.children.delete(id);
  }

  stop(): void {
    for (const id of [...this.children.keys()]) this.kill(id);
  }
}
