// `logscope up | node | drill | bench`. `up` starts the embedded cluster (or attaches to
// remote nodes), the load generator, the server and the SPA on one port.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, DEFAULT_HOST, DEFAULT_PORT, type EmbeddedClusterLike } from './app.ts';
import { DEFAULT_KEY_SPREAD, DEFAULT_RATE_PER_SEC, DEFAULT_RECORD_BYTES } from './load/generator.ts';
import { DEFAULT_SLO_P99_MS } from './services.ts';
import type { RemoteCluster } from './cluster/remote-cluster.ts';
import { DRILL_IDLE_ABORT_MS } from './drills/engine.ts';
import { REBALANCE_SETTLE_MS } from './faults/leader-balancer.ts';
import { nodeProcessV8Flags, relaunchOrFollow } from './cluster/node-v8-flags.ts';
import { describeFatal, isParseArgsError, UsageError } from './usage-error.ts';

const USAGE = `usage: logscope <command> [options]

commands:
  up      start the embedded cluster, load generator, server and console on one port
  node    run one cluster node as its own process
  cluster start and supervise node processes on this machine (cluster up --nodes 5 --data-dir D)
  drill   run a failure drill unattended
  bench   run a benchmark

logscope up options:
  --port <n>           HTTP port (default ${DEFAULT_PORT}, or PORT)
  --host <addr>        bind address (default ${DEFAULT_HOST})
  --data-dir <path>    data directory (default ./.logscope)
  --nodes <n>          embedded nodes (default 3)
  --partitions <n>     partitions (default 12)
  --rate <n>           load: appends per second (default ${DEFAULT_RATE_PER_SEC})
  --record-bytes <n>   load: bytes per record (default ${DEFAULT_RECORD_BYTES})
  --key-spread <n>     load: distinct keys (default ${DEFAULT_KEY_SPREAD})
  --slo-p99-ms <n>     append p99 alert threshold (default ${DEFAULT_SLO_P99_MS})
  --attach <urls>      comma-separated metrics URLs of node processes run elsewhere (watch only,
                       unless --cluster-secret-file is given: then faults, load and drills too)
  --cluster <dir>      the node processes of \`logscope cluster up --data-dir <dir>\` (faults incl.
                       real SIGKILL and restart, TCP load, drills)
  --cluster-secret-file <f>  the nodes' admin secret (with --attach)
  --tls-cert/--tls-key/--tls-ca <f>  mutual TLS to the nodes (with --attach; --cluster reads them from its state)
  --prometheus <url>   read ranges older than the console's ring buffers from this Prometheus
  --no-load            do not start the load generator
  --drill-idle-abort-s <n>  a guided drill waiting this long for its next step aborts and heals
                       (default 600, or LOGSCOPE_DRILL_IDLE_ABORT_S)
  --rebalance-after-s <n>  a node back from a restart (or undrained) is handed its preferred
                       leaderships after this long up (default 10; 0: only by hand; drains still move)
`;

/** A clean shutdown that takes longer than this is abandoned. */
const SHUTDOWN_TIMEOUT_MS = 20_000;

function intOption(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max} (got "${value}")`);
  return n;
}

async function up(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      nodes: { type: 'string' },
      partitions: { type: 'string' },
      rate: { type: 'string' },
      'record-bytes': { type: 'string' },
      'key-spread': { type: 'string' },
      'slo-p99-ms': { type: 'string' },
      attach: { type: 'string' },
      cluster: { type: 'string' },
      'cluster-secret-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      prometheus: { type: 'string' },
      'no-load': { type: 'boolean', default: false },
      'drill-idle-abort-s': { type: 'string' },
      'rebalance-after-s': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = intOption(values.port ?? process.env['PORT'], 'port', DEFAULT_PORT, 0, 65_535);
  const host = values.host ?? DEFAULT_HOST;
  const dataDir = resolve(values['data-dir'] ?? '.logscope');
  const nodeCount = intOption(values.nodes, 'nodes', 3, 1, 9);
  const partitionCount = intOption(values.partitions, 'partitions', 12, 1, 4_096);
  const ratePerSec = intOption(values.rate, 'rate', DEFAULT_RATE_PER_SEC, 1, 50_000);
  const recordBytes = intOption(values['record-bytes'], 'record-bytes', DEFAULT_RECORD_BYTES, 16, 64 << 10);
  const keySpread = intOption(values['key-spread'], 'key-spread', DEFAULT_KEY_SPREAD, 1, 1_000_000);
  const sloP99Ms = intOption(values['slo-p99-ms'], 'slo-p99-ms', DEFAULT_SLO_P99_MS, 1, 600_000);
  const drillIdleAbortS = intOption(values['drill-idle-abort-s'] ?? process.env['LOGSCOPE_DRILL_IDLE_ABORT_S'], 'drill-idle-abort-s', DRILL_IDLE_ABORT_MS / 1000, 1, 86_400);
  const rebalanceAfterS = intOption(values['rebalance-after-s'], 'rebalance-after-s', REBALANCE_SETTLE_MS / 1000, 0, 86_400);
  const attachUrls = values.attach?.split(',').map((u) => u.trim()).filter((u) => u.length > 0) ?? [];
  for (const u of attachUrls) {
    if (!/^https?:\/\//.test(u)) throw new UsageError(`--attach takes http(s) URLs (got "${u}")`);
  }
  if (values.prometheus !== undefined && !/^https?:\/\//.test(values.prometheus)) throw new UsageError(`--prometheus takes an http(s) URL (got "${values.prometheus}")`);
  if (values.cluster !== undefined && attachUrls.length > 0) throw new UsageError('--cluster and --attach exclude each other');
  if (values.cluster === undefined && attachUrls.length === 0) {
    // Every embedded node shares this process: it needs the V8 flags a node process would get.
    const relaunched = relaunchOrFollow(nodeProcessV8Flags(nodeCount));
    if (relaunched !== null) {
      process.exitCode = await relaunched;
      return;
    }
  }
  mkdirSync(dataDir, { recursive: true });

  let cluster: (EmbeddedClusterLike & { stop(): Promise<void>; waitForLeaders(timeoutMs?: number): Promise<boolean> }) | null = null;
  let remote: RemoteCluster | null = null;
  if (values.cluster !== undefined) {
    const { RemoteCluster: Remote } = await import('./cluster/remote-cluster.ts');
    remote = await Remote.fromStateFile(resolve(values.cluster));
  } else if (attachUrls.length > 0 && values['cluster-secret-file'] !== undefined) {
    const { RemoteCluster: Remote } = await import('./cluster/remote-cluster.ts');
    const { readClusterSecret, tlsOptions } = await import('./node-command.ts');
    remote = await Remote.fromAdminUrls(attachUrls, readClusterSecret(values['cluster-secret-file']), tlsOptions(values));
  }
  if (remote !== null) {
    if (!(await remote.waitForLeaders(15_000))) console.warn('warning: not every partition has a leader yet; starting anyway');
  } else if (attachUrls.length === 0) {
    // Loaded lazily: attach mode must not need the engine's modules.
    const { EmbeddedCluster } = await import('../../../packages/log-cluster/src/cluster.ts');
    cluster = await EmbeddedCluster.start({ dataDir: join(dataDir, 'cluster'), nodeCount, partitionCount, replicationFactor: 3 });
    if (!(await cluster.waitForLeaders(15_000))) console.warn('warning: not every partition has a leader yet; starting anyway');
  }
  const token = process.env['LOGSCOPE_OPERATOR_TOKEN'];
  const app = await createApp({
    ...(cluster !== null ? { cluster } : remote !== null ? { remoteCluster: remote } : { attachUrls }),
    ...(values.prometheus !== undefined ? { prometheusUrl: values.prometheus } : {}),
    dataDir,
    ...(token !== undefined && token !== '' ? { operatorToken: token } : {}),
    port,
    host,
    load: { enabled: !values['no-load'], ratePerSec, recordBytes, keySpread },
    sloP99Ms,
    drillIdleAbortMs: drillIdleAbortS * 1000,
    rebalanceSettleMs: rebalanceAfterS * 1000,
  });

  process.stdout.write(`Logscope console: ${app.url}/\n`);
  if (token === undefined || token === '') process.stdout.write(`Operator token (shown once; set LOGSCOPE_OPERATOR_TOKEN to choose it): ${app.operatorToken}\n`);
  else process.stdout.write('Operator token: from LOGSCOPE_OPERATOR_TOKEN\n');
  const loadText = values['no-load'] ? 'off' : `${ratePerSec} appends/s of ${recordBytes} B`;
  process.stdout.write(cluster !== null
    ? `Embedded cluster: ${nodeCount} nodes, ${partitionCount} partitions, RF 3, data in ${dataDir}; load ${loadText}\n`
    : remote !== null
      ? `Node processes ${remote.nodeIds().join(', ')} (${remote.partitionCount} partitions): faults, drills and load (${loadText}) over their admin APIs and TCP\n`
      : `Attached to (watching only): ${attachUrls.join(', ')}\n`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      process.stderr.write('second signal: exiting now\n');
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping load, finishing in-flight appends, stopping the cluster…\n`);
    const timer = setTimeout(() => {
      process.stderr.write('shutdown timed out\n');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    void (async () => {
      await app.close();
      await cluster?.stop();
      await remote?.stop(); // stops polling; the node processes keep running
      process.stdout.write('stopped cleanly\n');
      process.exit(0);
    })().catch((error: unknown) => {
      process.stderr.write(`shutdown failed: ${String(error)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** Commands whose modules other parts of the project provide; absent until built. */
const DELEGATED: Record<string, string> = {
  node: './node-command.ts',
  cluster: './cluster/command.ts',
  drill: './drills/command.ts',
  bench: './bench-command.ts',
};

async function delegate(command: string, module: string, argv: string[]): Promise<void> {
  let mod: { run?: (argv: string[]) => Promise<void> | void };
  try {
    mod = (await import(module)) as typeof mod;
  } catch (error) {
    const code = (error as { code?: string }).code; // Node's module-resolution error code
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(module.slice(2))) {
      process.stderr.write(`logscope ${command}: not built yet (${module} does not exist)\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  if (typeof mod.run !== 'function') {
    process.stderr.write(`logscope ${command}: not built yet (${module} exports no run(argv))\n`);
    process.exitCode = 2;
    return;
  }
  await mod.run(argv);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === 'up') await up(rest);
    else if (command !== undefined && command in DELEGATED) await delegate(command, DELEGATED[command] ?? '', rest);
    else {
      process.stdout.write(USAGE);
      if (command !== undefined && command !== 'help' && command !== '--help' && command !== '-h') process.exitCode = 2;
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      const delegated = command !== undefined && command in DELEGATED;
      // A delegated command's parseArgs error: that command's own --help, not `up`'s options.
      const usage = error instanceof UsageError && error.usage !== undefined ? error.usage : delegated ? `see: logscope ${command} --help\n` : USAGE;
      process.stderr.write(`logscope${delegated ? ` ${command}` : ''}: ${error.message}\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`logscope: ${describeFatal(error)}\n`);
    process.exit(1);
  });
}
