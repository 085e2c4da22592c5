// `logscope cluster up|status|crash|restart|scrub`: the supervisor of node processes on this machine.

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBackgroundReads, parseJournalFlags, parseScrubMibPerSec, readClusterSecret } from '../node-command.ts';
import { HttpClient } from './http-client.ts';
import { readClusterState } from './state.ts';
import { Supervisor } from './supervisor.ts';
import { loadTls } from '../../../../packages/log-cluster/src/transport/tls.ts';
import { UsageError } from '../usage-error.ts';

const SUBCOMMANDS = ['up', 'status', 'crash', 'restart', 'scrub'] as const;

const USAGE = `Usage:
  logscope cluster up --data-dir D [--nodes 5] [--partitions 64] [--replication-factor 3] [--host 127.0.0.1]
                      [--base-port P] [--cache-mib 64] [--scrub-mib-per-s 4] [--background-reads always]
                      [--segment-mib 64] [--retention-mib 4096] [--retention-hours 24] [--no-auto-restart]
                      [--cluster-secret-file F] [--tls-cert C --tls-key K --tls-ca A]
  logscope cluster status  --data-dir D
  logscope cluster crash N --data-dir D       (SIGKILL of node N's process)
  logscope cluster restart N --data-dir D
  logscope cluster scrub N --data-dir D       (node N checks its whole log now, at its scrub rate)

up starts the node processes and stays in the foreground (Ctrl-C stops them); it writes
D/cluster.json (nodes, ports, pids, secret file) for \`logscope up --cluster D\` and
\`logscope drill run NAME --cluster D\`. With --base-port P: node ports P..P+n-1, metrics and admin
P+n..P+2n-1, the supervisor's control API P+2n; otherwise free ports. Without
--cluster-secret-file a secret is generated in D/cluster.secret (mode 0600). A node that exits on a
corrupt record (a read or the scrub found one) is started again after 1 s, at most 3 times in 10
min, since its recovery repairs it; --no-auto-restart leaves it down. Other exits wait to be told.
Each node's scrub reads its log back in the background (--scrub-mib-per-s, default 4; 0: off);
scrub N starts a pass at once, e.g. after a disk alert, and prints what it will read.
--background-reads always|when-slow|never: where the nodes read their log from segments (default
always: libuv's pool, so a read from the device never holds a node's event loop).
--segment-mib, --retention-mib, --retention-hours: each node's segment size (1 to 1024 MiB) and
how much log it keeps over all its partitions (whole MiB, at least two segments; and hours,
fractions allowed) before it deletes its oldest segments (see logscope node --help). Every node,
and every restart of one, gets the same; D/cluster.json records them.
`;

export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      nodes: { type: 'string', default: '5' },
      partitions: { type: 'string', default: '64' },
      'replication-factor': { type: 'string', default: '3' },
      host: { type: 'string', default: '127.0.0.1' },
      'base-port': { type: 'string' },
      'cache-mib': { type: 'string' },
      'scrub-mib-per-s': { type: 'string' },
      'background-reads': { type: 'string' },
      'segment-mib': { type: 'string' },
      'retention-mib': { type: 'string' },
      'retention-hours': { type: 'string' },
      'no-auto-restart': { type: 'boolean' },
      'cluster-secret-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [sub, nodeArg] = positionals;
  if (values.help === true || sub === undefined || values['data-dir'] === undefined) {
    process.stdout.write(USAGE);
    if (values.help !== true) process.exitCode = 2;
    return;
  }
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown subcommand "${sub}" (${SUBCOMMANDS.join(', ')})`, USAGE);
  const dataDir = resolve(values['data-dir']);
  if (sub === 'up') {
    const count = (name: string, text: string | undefined, min: number, max: number): number => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max} (got "${text}")`, USAGE);
      return n;
    };
    const tlsGiven = [values['tls-cert'], values['tls-key'], values['tls-ca']].filter((v) => v !== undefined).length;
    if (tlsGiven !== 0 && tlsGiven !== 3) throw new UsageError('--tls-cert, --tls-key and --tls-ca go together', USAGE);
    const nodeCount = count('nodes', values.nodes, 1, 9);
    const replicationFactor = count('replication-factor', values['replication-factor'], 1, 9);
    // Checked here: each node would otherwise exit on it at start, one log file each.
    if (replicationFactor > nodeCount) throw new UsageError(`--replication-factor ${replicationFactor} needs at least as many nodes (--nodes ${nodeCount})`, USAGE);
    // The same checks as each node's, against the node's defaults for a flag not given.
    const journal = parseJournalFlags(values, USAGE);
    const supervisor = await Supervisor.start({
      dataDir,
      nodeCount,
      partitionCount: count('partitions', values.partitions, 1, 4_096),
      replicationFactor,
      host: values.host ?? '127.0.0.1',
      basePort: values['base-port'] === undefined ? null : count('base-port', values['base-port'], 1, 65_000),
      cacheMib: values['cache-mib'] === undefined ? null : count('cache-mib', values['cache-mib'], 0, 1 << 20),
      // Checked here, so a bad value fails `up` at once instead of every node's start.
      scrubMibPerSec: values['scrub-mib-per-s'] === undefined ? null : parseScrubMibPerSec(values['scrub-mib-per-s']),
      backgroundReads: values['background-reads'] === undefined ? null : parseBackgroundReads(values['background-reads']),
      journal,
      autoRestart: values['no-auto-restart'] !== true,
      secretFile: values['cluster-secret-file'] ?? null,
      tls: tlsGiven === 3 ? { certFile: values['tls-cert'] ?? '', keyFile: values['tls-key'] ?? '', caFile: values['tls-ca'] ?? '' } : null,
    });
    const state = supervisor.state();
    process.stdout.write(`${JSON.stringify({ event: 'cluster-ready', stateFile: `${dataDir}/cluster.json`, supervisor: state.supervisor.url, nodes: state.nodes.map((n) => ({ id: n.id, port: n.port, metricsUrl: n.metricsUrl, pid: n.pid })) })}\n`);
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      void supervisor.stop().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return;
  }
  if (sub !== 'status' && nodeArg === undefined) throw new UsageError(`which node? (logscope cluster ${sub} N --data-dir D)`, USAGE);
  const state = readClusterState(dataDir);
  const http = new HttpClient(state.tls === null ? null : loadTls(state.tls));
  const secret = readClusterSecret(state.secretFile).toString('utf8');
  try {
    if (sub === 'status') {
      const reply = await http.request(`${state.supervisor.url}/supervisor/state`, { headers: { authorization: `Bearer ${secret}` } });
      process.stdout.write(reply.text + '\n');
      if (reply.status !== 200) process.exitCode = 1;
      return;
    }
    const node = state.nodes.find((n) => String(n.id) === nodeArg);
    if (node === undefined) throw new UsageError(`no node ${nodeArg} in ${dataDir}/cluster.json (nodes: ${state.nodes.map((n) => n.id).join(', ')})`, USAGE);
    if (sub === 'scrub') {
      const reply = await http.request(`${node.metricsUrl.replace(/\/+$/, '')}/admin/startScrub`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify({ node: node.id }), timeoutMs: 10_000 });
      process.stdout.write(reply.text + '\n');
      if (reply.status !== 200) process.exitCode = 1;
      return;
    }
    const reply = await http.request(`${state.supervisor.url}/supervisor/${sub}`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify({ node: node.id }), timeoutMs: 60_000 });
    process.stdout.write(reply.text + '\n');
    if (reply.status !== 200) process.exitCode = 1;
  } finally {
    http.close();
  }
}
