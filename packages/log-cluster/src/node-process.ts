import { mkdirSync } from 'node:fs';
import { NodeTelemetry, serveTelemetry } from '@logscope/telemetry';
import { realScheduler, realWallClock } from './clock.ts';
import { DEFAULT_NODE_CONFIG, LogNode } from './node.ts';
import { nodeObserver, refreshNodeGauges } from './node-telemetry.ts';
import type { NodeId } from './raft/types.ts';
import { FileDisk } from './storage/file-disk.ts';
import { TcpNodeTransport, type PeerAddress } from './transport/tcp.ts';

export interface NodeProcessOptions {
  readonly id: NodeId;
  /** Every node of the cluster, this one included. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly dataDir: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Host to bind the node port to (peers and clients). */
  readonly host: string;
  readonly metricsPort: number;
  readonly metricsHost: string;
}

export interface RunningNode {
  readonly node: LogNode;
  readonly port: number;
  readonly metricsPort: number;
  close(): Promise<void>;
}

/** One node as its own process: real files, TCP to peers and clients, telemetry over HTTP. */
export async function startNodeProcess(options: NodeProcessOptions): Promise<RunningNode> {
  const self = options.peers.get(options.id);
  if (self === undefined) throw new Error(`--peers must include this node's own id ${options.id}`);
  mkdirSync(options.dataDir, { recursive: true });
  const disk = new FileDisk(options.dataDir);
  const telemetry = new NodeTelemetry({ nodeId: options.id });
  const transport = await TcpNodeTransport.listen(options.id, options.peers, options.host, self.port);
  const node = new LogNode(
    { ...DEFAULT_NODE_CONFIG, id: options.id, nodeIds: [...options.peers.keys()].sort((a, b) => a - b), partitionCount: options.partitionCount, replicationFactor: options.replicationFactor },
    { disk, transport, scheduler: realScheduler, random: Math.random, observer: nodeObserver(telemetry, realWallClock, () => realScheduler.now(), Math.random) },
  );
  if (node.recovery.corruption !== null) telemetry.recordRecoveryCorruption();
  if (node.recovery.corruption !== null || node.recovery.faulty.length > 0) {
    console.log(JSON.stringify({ event: 'recovery', node: options.id, corruption: node.recovery.corruption, faulty: node.recovery.faulty, uncertain: node.recovery.uncertain }));
  }
  // Said at once, on the node's own output, besides the logscope_disk_full gauge the console alerts on.
  node.onDiskFull = (full, freeBytes) => console.log(JSON.stringify({ event: full ? 'disk-full' : 'disk-space-back', node: options.id, freeBytes, dataDir: options.dataDir }));
  transport.requestHandler = (request) => node.handle(request);
  telemetry.onCollect(() => refreshNodeGauges(telemetry, node));
  const rotate = setInterval(() => telemetry.rotate(realWallClock()), 1000);
  const metrics = await serveTelemetry(telemetry, { port: options.metricsPort, host: options.metricsHost });
  return {
    node,
    port: transport.port,
    metricsPort: metrics.port,
    async close() {
      clearInterval(rotate);
      await node.shutdown();
      await metrics.close();
    },
  };
}
