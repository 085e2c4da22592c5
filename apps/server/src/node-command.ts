import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
// Direct module imports, not the package index (which also loads the simulator): a node process
// starts faster, and restart drills over processes wait on that start.
import { CLUSTER_SECRET_BYTES_MIN } from '../../../packages/log-cluster/src/admin.ts';
import { DEFAULT_NODE_CONFIG } from '../../../packages/log-cluster/src/node.ts';
import { startNodeProcess, type NodeProcessOptions } from '../../../packages/log-cluster/src/node-process.ts';
import { SCRUB_BYTES_PER_SEC, type JournalOptions } from '../../../packages/log-cluster/src/storage/journal.ts';
import { parsePeers } from '../../../packages/log-cluster/src/transport/tcp.ts';
import { loadTls, type TlsMaterial } from '../../../packages/log-cluster/src/transport/tls.ts';
import { nodeProcessEnv, nodeProcessV8Flags, relaunchOrFollow } from './cluster/node-v8-flags.ts';
import { UsageError } from './usage-error.ts';

/** --scrub-mib-per-s, for `logscope node` and for `cluster up`, which passes it on to its nodes. */
export function parseScrubMibPerSec(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > 1024) throw new Error('--scrub-mib-per-s must be a number of MiB/s from 0 to 1024 (0: no scrub; the log is checked only when read)');
  return n;
}

/** --background-reads: where a node reads its log's entries from segments (JournalOptions.backgroundReads). */
export const BACKGROUND_READS = ['always', 'when-slow', 'never'] as const satisfies readonly NonNullable<JournalOptions['backgroundReads']>[];
export type BackgroundReads = (typeof BACKGROUND_READS)[number];

export function parseBackgroundReads(text: string): BackgroundReads {
  const mode = BACKGROUND_READS.find((m) => m === text);
  if (mode === undefined) throw new Error(`--background-reads must be one of ${BACKGROUND_READS.join(', ')} (got ${JSON.stringify(text)}): always reads segments in libuv's pool, never reads them on the event loop, when-slow switches after slow blocking reads`);
  return mode;
}

/** The journal's defaults (DEFAULT_NODE_CONFIG), in the units of the flags that override them. */
export const SEGMENT_MIB_DEFAULT = DEFAULT_NODE_CONFIG.journal.segmentBytes / 2 ** 20;
export const RETENTION_MIB_DEFAULT = DEFAULT_NODE_CONFIG.journal.retentionBytes / 2 ** 20;
export const RETENTION_HOURS_DEFAULT = DEFAULT_NODE_CONFIG.journal.retentionMs / 3600_000;
export const SEGMENT_MIB_MAX = 1024;

// The journal flags are usage errors (exit code 2 and the command's usage: `usage`, or a pointer to
// its --help), for `logscope node` and for `cluster up`, which checks them before any node starts.

/** --segment-mib: the size at which a node's journal starts a new segment file. */
function parseSegmentMib(text: string, usage?: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > SEGMENT_MIB_MAX) throw new UsageError(`--segment-mib must be a whole number of MiB from 1 to ${SEGMENT_MIB_MAX} (got ${JSON.stringify(text)}): the size at which a node starts a new segment file`, usage);
  return n;
}

/** --retention-mib: the segment bytes a node keeps, over all its partitions. */
function parseRetentionMib(text: string, usage?: string): number {
  const n = Number(text);
  // Safe integers of bytes (up to 8 PiB): the journal adds and compares them.
  if (!Number.isInteger(n) || n < 1 || !Number.isSafeInteger(n * 2 ** 20)) throw new UsageError(`--retention-mib must be a whole number of MiB, 1 or more (got ${JSON.stringify(text)}): the log a node keeps over all its partitions before it deletes its oldest segments`, usage);
  return n;
}

/** --retention-hours: how long a node keeps a segment after its last write; fractions allowed. */
function parseRetentionHours(text: string, usage?: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--retention-hours must be a number of hours greater than 0 (got ${JSON.stringify(text)}); fractions are allowed, e.g. 0.5 for 30 minutes`, usage);
  return n;
}

/**
 * Retention deletes whole segments and never the one being written, so a retention under two
 * segments keeps little more than the segment being written, and deletes the one before as it
 * closes.
 */
function checkRetentionCoversSegments(retentionMib: number, segmentMib: number, usage?: string): void {
  if (retentionMib < 2 * segmentMib) throw new UsageError(`--retention-mib ${retentionMib} is less than two segments of --segment-mib ${segmentMib}: retention deletes whole segments and never the one being written, so it needs at least ${2 * segmentMib} MiB (or smaller segments)`, usage);
}

/** --segment-mib, --retention-mib and --retention-hours, checked. */
export interface JournalFlags {
  readonly segmentMib: number;
  readonly retentionMib: number;
  readonly retentionHours: number;
}

/**
 * --segment-mib, --retention-mib and --retention-hours as given (absent: the node's defaults), each
 * checked, and the retention against the segment size: for `logscope node`, for `cluster up`, which
 * checks them before any node starts, and for the soak.
 */
export function parseJournalFlags(values: { readonly 'segment-mib'?: string | undefined; readonly 'retention-mib'?: string | undefined; readonly 'retention-hours'?: string | undefined }, usage?: string): JournalFlags {
  const segment = values['segment-mib'];
  const retention = values['retention-mib'];
  const hours = values['retention-hours'];
  const flags: JournalFlags = {
    segmentMib: segment === undefined ? SEGMENT_MIB_DEFAULT : parseSegmentMib(segment, usage),
    retentionMib: retention === undefined ? RETENTION_MIB_DEFAULT : parseRetentionMib(retention, usage),
    retentionHours: hours === undefined ? RETENTION_HOURS_DEFAULT : parseRetentionHours(hours, usage),
  };
  checkRetentionCoversSegments(flags.retentionMib, flags.segmentMib, usage);
  return flags;
}

/** Retention in the journal's units, from the flags' (hours to ms: at least 1 ms, the journal's resolution). */
export function journalRetention(flags: JournalFlags): { segmentBytes: number; retentionBytes: number; retentionMs: number } {
  return { segmentBytes: flags.segmentMib * 2 ** 20, retentionBytes: flags.retentionMib * 2 ** 20, retentionMs: Math.max(1, Math.round(flags.retentionHours * 3600_000)) };
}

const USAGE = `Usage:
  logscope node --id N --peers 1=host:port,2=host:port,3=host:port [--data-dir D] [--partitions 12]
                [--replication-factor 3] [--host 127.0.0.1] [--metrics-host 127.0.0.1] [--metrics-port 0]
                [--cache-mib 64] [--scrub-mib-per-s 4] [--background-reads always]
                [--segment-mib 64] [--retention-mib 4096] [--retention-hours 24]
                [--cluster-secret-file F] [--tls-cert C --tls-key K --tls-ca A] [--new-cluster]

Runs one cluster node as its own process: --id is this node's id in --peers, whose addresses every
node is given alike. --host/--metrics-host bind the node's TCP port and its metrics and admin API
(/metrics, /histograms, /spans, /admin). The admin API (status, faults, crash) answers only
calls that present the secret in --cluster-secret-file; without that flag it is off. \`logscope cluster up\` starts and supervises such processes on one machine.

Retention: the node writes its log (every partition it holds) into segment files of --segment-mib
MiB (1 to ${SEGMENT_MIB_MAX}) and deletes its oldest segments while it holds more than --retention-mib
MiB of them (whole MiB, at least two segments), or once their last write is older than
--retention-hours (fractions allowed, e.g. 0.25); checked every 10 s (more often for a retention
under 100 s). It never deletes the segment being written, nor entries not yet committed and
applied. A read below a partition's log start then fails with OffsetOutOfRange, naming the start.

First start: a node that finds no log waits to be caught up by a leader before it votes (its disk
may have been replaced: voting with nothing, it could lose acknowledged writes), unless every other
node says it holds nothing either: then the cluster is new. --new-cluster is the operator's word
that this start creates the cluster: the node then needs only a majority of the nodes, itself
included, to say they hold nothing (and none to hold something), so one node down at the first
start does not hold the others back. Give it only at a cluster's first start, never to a node
whose disk was replaced (\`logscope cluster up\` gives it to the nodes of a new data directory).
`;

/**
 * `logscope node`'s command line as the options of the node it starts (null for --help), every
 * flag checked: what run() starts, and what the tests check flags against without a process.
 */
export function nodeOptionsFromArgs(argv: readonly string[]): NodeProcessOptions | null {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      id: { type: 'string' },
      peers: { type: 'string' },
      'data-dir': { type: 'string' },
      partitions: { type: 'string', default: '12' },
      'replication-factor': { type: 'string', default: '3' },
      host: { type: 'string', default: '127.0.0.1' },
      'metrics-port': { type: 'string', default: '0' },
      'metrics-host': { type: 'string', default: '127.0.0.1' },
      'cache-mib': { type: 'string', default: '64' },
      'scrub-mib-per-s': { type: 'string', default: String(SCRUB_BYTES_PER_SEC / 2 ** 20) },
      'background-reads': { type: 'string', default: 'always' },
      'segment-mib': { type: 'string' },
      'retention-mib': { type: 'string' },
      'retention-hours': { type: 'string' },
      'cluster-secret-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'new-cluster': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return null;
  const id = Number(values.id);
  if (!Number.isInteger(id) || id < 1) throw new Error('--id must be a positive integer (this node\'s id in --peers)');
  if (values.peers === undefined) throw new Error('--peers is required, e.g. 1=127.0.0.1:9001,2=127.0.0.1:9002,3=127.0.0.1:9003');
  const peers = parsePeers(values.peers);
  const partitionCount = Number(values.partitions);
  const replicationFactor = Number(values['replication-factor']);
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new Error('--partitions must be a positive integer');
  const cacheMib = Number(values['cache-mib']);
  if (!Number.isInteger(cacheMib) || cacheMib < 0) throw new Error('--cache-mib must be a whole number of MiB, 0 or more (0: every read of a durable entry from disk)');
  const scrubMibPerSec = parseScrubMibPerSec(String(values['scrub-mib-per-s']));
  const backgroundReads = parseBackgroundReads(String(values['background-reads']));
  const journal = parseJournalFlags(values, USAGE);
  const clusterSecret = values['cluster-secret-file'] === undefined ? null : readClusterSecret(values['cluster-secret-file']);
  const tls = tlsOptions(values);
  return {
    id,
    peers,
    dataDir: values['data-dir'] ?? `.logscope/node-${id}`,
    partitionCount,
    replicationFactor,
    cacheBytes: cacheMib * 2 ** 20,
    scrubBytesPerSec: Math.round(scrubMibPerSec * 2 ** 20),
    backgroundReads,
    ...journalRetention(journal),
    host: values.host ?? '127.0.0.1',
    metricsPort: Number(values['metrics-port']),
    metricsHost: values['metrics-host'] ?? '127.0.0.1',
    clusterSecret,
    tls,
    newCluster: values['new-cluster'] === true,
  };
}

/**
 * `logscope node --id N --peers 1=h:p,2=h:p,3=h:p [--data-dir D] [--partitions 12] [--metrics-port 9100]
 *  [--cache-mib 64] [--scrub-mib-per-s 4] [--background-reads always] [--segment-mib 64] [--retention-mib 4096]
 *  [--retention-hours 24] [--cluster-secret-file F] [--tls-cert C --tls-key K --tls-ca A] [--new-cluster]`
 */
export async function run(argv: readonly string[]): Promise<void> {
  const options = nodeOptionsFromArgs(argv);
  if (options === null) {
    process.stdout.write(USAGE);
    return;
  }
  const { id } = options;
  const tls = options.tls ?? null;
  // Started by hand (one node per machine, as "Run a real cluster" shows), the node runs again as a
  // child with the V8 flags and the libuv pool the supervisor, the tests and the benches start node
  // processes with.
  const relaunched = relaunchOrFollow(nodeProcessV8Flags(1), nodeProcessEnv());
  if (relaunched !== null) {
    process.exitCode = await relaunched;
    return;
  }
  const running = await startNodeProcess(options);
  // A node stopped by a disk error (a failed flush, a corrupt record read) serves nothing more: it
  // says why and exits, so the supervisor shows it down, and a restart runs recovery, which repairs.
  running.node.onDiskError = (error) => {
    process.stdout.write(JSON.stringify({ event: 'disk-error', node: id, error: error.message, kind: error.name }) + '\n', () => process.exit(1));
  };
  // One machine-readable line so scripts (the supervisor, the integration tests) know the ports.
  const metricsUrl = `${tls === null ? 'http' : 'https'}://${options.metricsHost}:${running.metricsPort}`;
  console.log(JSON.stringify({ event: 'node-ready', id, pid: process.pid, port: running.port, metricsUrl, admin: options.clusterSecret !== null && options.clusterSecret !== undefined, tls: tls !== null }));
  const stop = (): void => {
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The cluster secret: the file's contents without surrounding whitespace. */
export function readClusterSecret(file: string): Buffer {
  const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
  if (secret.length < CLUSTER_SECRET_BYTES_MIN) throw new Error(`the cluster secret in ${file} is shorter than ${CLUSTER_SECRET_BYTES_MIN} bytes`);
  return secret;
}

/** `--tls-cert/--tls-key/--tls-ca`: all three or none. */
export function tlsOptions(values: { 'tls-cert'?: string | undefined; 'tls-key'?: string | undefined; 'tls-ca'?: string | undefined }): TlsMaterial | null {
  const given = [values['tls-cert'], values['tls-key'], values['tls-ca']].filter((v) => v !== undefined).length;
  if (given === 0) return null;
  if (given !== 3 || values['tls-cert'] === undefined || values['tls-key'] === undefined || values['tls-ca'] === undefined) throw new Error('--tls-cert, --tls-key and --tls-ca go together');
  return loadTls({ certFile: values['tls-cert'], keyFile: values['tls-key'], caFile: values['tls-ca'] });
}
