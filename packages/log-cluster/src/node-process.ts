import { mkdirSync } from 'node:fs';
import { NodeTelemetry, serveTelemetry } from '@logscope/telemetry';
import { adminRoutes } from './admin.ts';
import { realScheduler, realWallClock } from './clock.ts';
import { DEFAULT_NODE_CONFIG, LogNode, type NodeObserver } from './node.ts';
import { nodeObserver, refreshNodeGauges } from './node-telemetry.ts';
import { FaultyTransport, ProcessFaults } from './process-faults.ts';
import type { NodeId } from './raft/types.ts';
import { FileDisk } from './storage/file-disk.ts';
import type { JournalOptions } from './storage/journal.ts';
import { PLAIN_SOCKETS, TcpNodeTransport, type PeerAddress } from './transport/tcp.ts';
import { tlsSockets, type TlsMaterial } from './transport/tls.ts';
import { startLoopDelaySampler } from './loop-delay.ts';

export interface NodeProcessOptions {
  readonly id: NodeId;
  /** Every node of the cluster, this one included. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly dataDir: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Bytes of recent entries kept in memory for reads and appends (default: DEFAULT_NODE_CONFIG's 64 MiB). */
  readonly cacheBytes?: number;
  /** What the journal's scrub reads per second (default: SCRUB_BYTES_PER_SEC; 0: no scrub). */
  readonly scrubBytesPerSec?: number;
  /** Where log reads from segments run (default: the journal's, 'always' in libuv's pool; see JournalOptions.backgroundReads). */
  readonly backgroundReads?: JournalOptions['backgroundReads'];
  /** Size at which the journal starts a new segment file (default: DEFAULT_NODE_CONFIG's 64 MiB). */
  readonly segmentBytes?: number;
  /** Segment bytes kept over all partitions before the oldest segments go (default: DEFAULT_NODE_CONFIG's 4 GiB). */
  readonly retentionBytes?: number;
  /** A segment whose last write is older than this goes (default: DEFAULT_NODE_CONFIG's 24 h). */
  readonly retentionMs?: number;
  /** How often retention runs (default: retentionIntervalFor(retentionMs)). */
  readonly retentionIntervalMs?: number;
  /** Host to bind the node port to (peers and clients). */
  readonly host: string;
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** The cluster secret guarding the admin API; null turns the admin API off (every call refused). */
  readonly clusterSecret?: Buffer | null;
  /** Mutual TLS for peers, clients and the metrics/admin port; null: plain TCP and HTTP. */
  readonly tls?: TlsMaterial | null;
  /** Where admin calls are logged (default: stdout, one JSON line each). */
  readonly log?: (line: string) => void;
  /** This start creates the cluster (NodeConfig.newCluster): only at a cluster's first start. */
  readonly newCluster?: boolean;
}

export interface RunningNode {
  readonly node: LogNode;
  readonly port: number;
  readonly metricsPort: number;
  readonly faults: ProcessFaults;
  close(): Promise<void>;
}

/**
 * How often a node looks for segments to delete: DEFAULT_NODE_CONFIG's 10 s, or a tenth of a
 * retention time under 100 s (at least 1 s), so a segment outlives a short retention by at most
 * about a tenth of it instead of up to 10 s. A byte retention keeps the 10 s: between two checks a
 * node holds at most what it wrote in those 10 s beyond it.
 */
export function retentionIntervalFor(retentionMs: number): number {
  return Math.min(DEFAULT_NODE_CONFIG.retentionIntervalMs, Math.max(1_000, Math.round(retentionMs / 10)));
}

/** Time for the admin API's answer to a crash call to leave before the process kills itself. */
const CRASH_AFTER_ANSWER_MS = 50;

/** The telemetry observer, and a line on the node's output for what an operator must hear of at once. */
function processObserver(observer: NodeObserver, id: NodeId, dataDir: string): NodeObserver {
  return {
    ...observer,
    diskRolledBack(by) {
      observer.diskRolledBack?.(by);
      console.log(JSON.stringify({ event: 'disk-rolled-back', node: id, toldBy: by, dataDir }));
    },
  };
}

/** One node as its own process: real files, TCP to peers and clients, telemetry over HTTP. */
export async function startNodeProcess(options: NodeProcessOptions): Promise<RunningNode> {
  const self = options.peers.get(options.id);
  if (self === undefined) throw new Error(`--peers must include this node's own id ${options.id}`);
  mkdirSync(options.dataDir, { recursive: true });
  const disk = new FileDisk(options.dataDir);
  const telemetry = new NodeTelemetry({ nodeId: options.id });
  const tls = options.tls ?? null;
  const tcp = await TcpNodeTransport.listen(options.id, options.peers, options.host, self.port, tls === null ? PLAIN_SOCKETS : tlsSockets(tls));
  const transport = new FaultyTransport(tcp);
  const nodeIds = [...options.peers.keys()].sort((a, b) => a - b);
  const retentionMs = options.retentionMs ?? DEFAULT_NODE_CONFIG.journal.retentionMs;
  const node = new LogNode(
    {
      ...DEFAULT_NODE_CONFIG,
      id: options.id,
      nodeIds,
      partitionCount: options.partitionCount,
      replicationFactor: options.replicationFactor,
      journal: {
        ...DEFAULT_NODE_CONFIG.journal,
        segmentBytes: options.segmentBytes ?? DEFAULT_NODE_CONFIG.journal.segmentBytes,
        retentionBytes: options.retentionBytes ?? DEFAULT_NODE_CONFIG.journal.retentionBytes,
        retentionMs,
        cacheBytes: options.cacheBytes ?? DEFAULT_NODE_CONFIG.journal.cacheBytes,
        ...(options.scrubBytesPerSec === undefined ? {} : { scrubBytesPerSec: options.scrubBytesPerSec }),
        ...(options.backgroundReads === undefined ? {} : { backgroundReads: options.backgroundReads }),
      },
      retentionIntervalMs: options.retentionIntervalMs ?? retentionIntervalFor(retentionMs),
      newCluster: options.newCluster === true,
    },
    { disk, transport, scheduler: realScheduler, random: Math.random, observer: processObserver(nodeObserver(telemetry, realWallClock, () => realScheduler.now(), Math.random), options.id, options.dataDir) },
  );
  if (node.recovery.corruption !== null) telemetry.recordRecoveryCorruption();
  if (node.recovery.corruption !== null || node.recovery.faulty.length > 0) {
    console.log(JSON.stringify({ event: 'recovery', node: options.id, corruption: node.recovery.corruption, faulty: node.recovery.faulty, uncertain: node.recovery.uncertain }));
  }
  // Said at once, on the node's own output, besides the logscope_disk_full gauge the console alerts on.
  node.onDiskFull = (full, freeBytes) => console.log(JSON.stringify({ event: full ? 'disk-full' : 'disk-space-back', node: options.id, freeBytes, dataDir: options.dataDir }));
  tcp.requestHandler = (request) => node.handle(request);
  telemetry.onCollect(() => refreshNodeGauges(telemetry, node));
  const rotate = setInterval(() => telemetry.rotate(realWallClock()), 1000);
  const stopLoopDelay = startLoopDelaySampler((seconds) => telemetry.recordEventLoopDelay(seconds));
  const faults = new ProcessFaults({
    self: options.id,
    nodeIds,
    node,
    disk,
    transport,
    // After the admin answer is on its way: a real crash, no shutdown, unsynced state gone with the process.
    die: () => setTimeout(() => process.kill(process.pid, 'SIGKILL'), CRASH_AFTER_ANSWER_MS),
  });
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const metrics = await serveTelemetry(telemetry, {
    port: options.metricsPort,
    host: options.metricsHost,
    tls,
    routes: adminRoutes({ node, faults, peers: options.peers, secret: options.clusterSecret ?? null, log }),
  });
  return {
    node,
    port: tcp.port,
    metricsPort: metrics.port,
    faults,
    async close() {
      clearInterval(rotate);
      stopLoopDelay();
      await node.shutdown();
      await metrics.close();
    },
  };
}
