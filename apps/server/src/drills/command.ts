// `logscope drill list|run NAME [--json] [--url http://127.0.0.1:7070 --token T]`.
// With --url it drives a running server over tRPC (the token is the operator token); without,
// it starts its own embedded cluster with load in a temporary directory and runs unattended.
// Exit code 1 when the drill fails, 2 on a usage error.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUILTIN_DRILLS, findDrill } from './builtin.ts';
import type { LoadGenerator } from '../load/generator.ts';
import type { DrillCluster } from './engine.ts';
import type { DrillRun } from './model.ts';
import { reportJson, reportMarkdown } from './report.ts';

const USAGE = `Usage:
  logscope drill list [--json] [--url URL]
  logscope drill run NAME [--json] [--url URL --token TOKEN | --cluster DATA_DIR]

Without --url or --cluster, run starts an embedded 3-node cluster with load in a temporary
directory. With --cluster it runs against the node processes of \`logscope cluster up --data-dir
DATA_DIR\` (real SIGKILL, TCP load); its report is kept in DATA_DIR/console/drills.
The token defaults to LOGSCOPE_OPERATOR_TOKEN.
`;

export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, url: { type: 'string' }, token: { type: 'string' }, cluster: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [sub, name] = positionals;
  const json = values.json ?? false;
  if (values.help || sub === undefined) {
    process.stdout.write(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  if (sub === 'list') {
    const drills = BUILTIN_DRILLS.map((d) => ({ name: d.name, title: d.title, summary: d.summary, steps: d.steps.map((s) => s.title) }));
    if (json) process.stdout.write(JSON.stringify(drills, null, 2) + '\n');
    else for (const d of drills) process.stdout.write(`${d.name.padEnd(20)} ${d.title} — ${d.summary}\n`);
    return;
  }
  if (sub !== 'run' || name === undefined) {
    process.stderr.write(`logscope drill: ${sub === 'run' ? 'run needs a drill NAME' : `unknown subcommand "${sub}"`}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (findDrill(name) === undefined) {
    process.stderr.write(`logscope drill: no drill named "${name}" (drills: ${BUILTIN_DRILLS.map((d) => d.name).join(', ')})\n`);
    process.exitCode = 2;
    return;
  }
  let result: DrillRun;
  try {
    result = values.url !== undefined
      ? await runRemote(values.url, values.token ?? process.env.LOGSCOPE_OPERATOR_TOKEN ?? '', name, json)
      : values.cluster !== undefined
        ? await runOnProcesses(values.cluster, name, json)
        : await runEmbedded(name, json);
  } catch (error) {
    process.stderr.write(`logscope drill: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(json ? reportJson(result) + '\n' : reportMarkdown(result));
  if (result.status !== 'passed') process.exitCode = 1;
}

async function runEmbedded(name: string, quiet: boolean): Promise<DrillRun> {
  const { EmbeddedCluster } = await import('../../../../packages/log-cluster/src/cluster.ts');
  const { LoadGenerator } = await import('../load/generator.ts');
  const dir = mkdtempSync(join(tmpdir(), 'logscope-drill-'));
  const log = (text: string): void => {
    if (!quiet) process.stderr.write(text);
  };
  const cluster = await EmbeddedCluster.start({ dataDir: join(dir, 'cluster'), nodeCount: 3, partitionCount: 12 });
  log(`embedded cluster in ${dir}; waiting for leaders…\n`);
  try {
    return await runUnattended(cluster, new LoadGenerator(cluster.client(), { ratePerSec: 200 }), dir, name, log);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Against `logscope cluster up`'s node processes: the same engine, over their admin APIs and the supervisor. */
async function runOnProcesses(clusterDir: string, name: string, quiet: boolean): Promise<DrillRun> {
  const { RemoteCluster } = await import('../cluster/remote-cluster.ts');
  const { LoadGenerator } = await import('../load/generator.ts');
  const log = (text: string): void => {
    if (!quiet) process.stderr.write(text);
  };
  const cluster = await RemoteCluster.fromStateFile(clusterDir);
  log(`node processes ${cluster.nodeIds().join(', ')} of ${clusterDir}; waiting for leaders…\n`);
  try {
    return await runUnattended(cluster, new LoadGenerator(cluster.client(), { ratePerSec: 200 }), join(clusterDir, 'console'), name, log);
  } finally {
    await cluster.stop();
  }
}

/** How often a standalone run's leader balancer looks at the map (the server's scrape interval). */
const BALANCER_TICK_MS = 1_000;

async function runUnattended(cluster: DrillCluster, load: LoadGenerator, dataDir: string, name: string, log: (text: string) => void): Promise<DrillRun> {
  const { DrillEngine } = await import('./engine.ts');
  const { LeaderBalancer } = await import('../faults/leader-balancer.ts');
  // The server polls its balancer on every scrape tick; here nothing scrapes, so it gets its own tick
  // (drills that drain need it, and a drill's restarted node gets its leaderships back after it).
  const balancer = new LeaderBalancer(cluster, null);
  const tick = setInterval(() => void balancer.poll().catch((error: unknown) => log(`leader balancer: ${error instanceof Error ? error.message : String(error)}\n`)), BALANCER_TICK_MS);
  const engine = new DrillEngine({ cluster, load, dataDir, balancer });
  try {
    if (!(await cluster.waitForLeaders(30_000))) log('warning: not every partition has a leader yet\n');
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // a latency baseline
    const started = await engine.start(name, 'unattended');
    log(`running ${name} (run ${started.id})…\n`);
    return await engine.wait(started.id);
  } finally {
    clearInterval(tick);
    await engine.close();
    await load.close();
  }
}

async function runRemote(base: string, token: string, name: string, quiet: boolean): Promise<DrillRun> {
  const url = base.replace(/\/+$/, '');
  const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const call = async <T>(method: 'GET' | 'POST', proc: string, input?: unknown): Promise<T> => {
    const res = method === 'GET'
      ? await fetch(`${url}/trpc/${proc}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`, { headers })
      : await fetch(`${url}/trpc/${proc}`, { method, headers, body: JSON.stringify(input ?? {}) });
    const body = (await res.json()) as { result?: { data: T }; error?: { message?: string } };
    if (!res.ok || body.result === undefined) throw new Error(`${proc}: ${body.error?.message ?? `HTTP ${res.status}`}`);
    return body.result.data;
  };
  const started = await call<DrillRun>('POST', 'drills.start', { name, mode: 'unattended' });
  if (!quiet) process.stderr.write(`running ${name} on ${url} (run ${started.id})…\n`);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const run = await call<DrillRun | null>('GET', 'drills.run', { id: started.id });
    if (run !== null && run.status !== 'running') return run;
  }
}
