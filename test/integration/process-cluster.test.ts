import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../../apps/server/src/app.ts';
import { RemoteCluster } from '../../apps/server/src/cluster/remote-cluster.ts';
import { createContext } from '../../apps/server/src/context.ts';
import { DRAINS_FILE, DRAINS_RESTORED_ACTION, faultControlOf } from '../../apps/server/src/faults/control.ts';
import { createCaller } from '../../apps/server/src/routers/index.ts';
import type { DrillRun } from '../../apps/server/src/drills/model.ts';
import type { LogClient } from '../../packages/log-cluster/src/client.ts';
import { corruptNewestSegment } from '../../packages/log-cluster/src/storage/corrupt.ts';
import { FileDisk } from '../../packages/log-cluster/src/storage/file-disk.ts';
import { runCli, SupervisedCluster } from '../support/supervised-cluster.ts';

/** `logscope drill run NAME --cluster D --json`: its report, once it said nothing on stderr, passed and lost nothing. */
async function passedDrill(name: string, dataDir: string): Promise<DrillRun> {
  const result = await runCli(['drill', 'run', name, '--cluster', dataDir, '--json'], { timeoutMs: 150_000 });
  expect(result.stderr).toBe('');
  const run = JSON.parse(result.stdout) as DrillRun;
  expect(run.status, run.outcome ?? '').toBe('passed');
  expect(run.verdict?.lost).toBe(0);
  expect(run.verdict?.checked).toBeGreaterThan(100);
  return run;
}

/** Five `logscope node` processes under `logscope cluster up`, as an operator would run them. */
describe('a supervised cluster of five node processes', () => {
  // Made in beforeAll, not here: a run filtered to other tests (-t) runs no afterAll to remove it.
  let dataDir = '';
  let cluster: SupervisedCluster;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'logscope-procs-'));
    cluster = await SupervisedCluster.start(dataDir, ['--nodes', '5', '--partitions', '64']);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
  });

  it('logscope drill run leader-failover --cluster SIGKILLs the leader process and loses no acknowledged write', async () => {
    const before = cluster.state();
    expect(before.nodes).toHaveLength(5);
    const run = await passedDrill('leader-failover', dataDir);
    expect(run.outcome).toMatch(/0 lost/);
    const victim = run.bindings.victim;
    expect(run.steps[0]?.did).toBe(`crashed node ${victim ?? '?'}`);

    // The crash was a real SIGKILL of that process: the supervisor logged it, the old pid is gone, a new process runs.
    const oldPid = before.nodes.find((n) => n.id === victim)?.pid;
    const newPid = cluster.state().nodes.find((n) => n.id === victim)?.pid;
    expect(cluster.output()).toContain(`"event":"node-crashed","node":${victim ?? 0},"signal":"SIGKILL"`);
    expect(oldPid).toBeTypeOf('number');
    expect(newPid).toBeTypeOf('number');
    expect(newPid).not.toBe(oldPid);
    expect(() => process.kill(oldPid ?? 0, 0)).toThrow(); // no such process
    // Every node of the new data directory started with --new-cluster; the restart, without.
    const starts = cluster.output().split('\n').filter((line) => line.includes('"event":"node-starting"')).map((line) => JSON.parse(line) as { node: number; newCluster?: boolean });
    expect(starts.slice(0, 5).map((s) => [s.node, s.newCluster]).sort()).toEqual([1, 2, 3, 4, 5].map((id) => [id, true]));
    expect(starts.slice(5).map((s) => [s.node, s.newCluster ?? false])).toContainEqual([victim, false]);
    expect(starts.slice(5).some((s) => s.newCluster === true)).toBe(false);
  }, 180_000);

  it('logscope drill run bit-rot --cluster: the scrub finds a byte rotted under a running follower process, which restarts by itself and loses nothing', async () => {
    // What an operator runs after a disk alert: the node checks its whole log now, and says how much.
    const scrub = await runCli(['cluster', 'scrub', '2', '--data-dir', dataDir]);
    expect(scrub.code).toBe(0);
    expect(JSON.parse(scrub.stdout)).toMatchObject({ ok: true, result: { bytesPerSec: 4 << 20 } });
    expect((JSON.parse(scrub.stdout) as { result: { bytes: number } }).result.bytes).toBeGreaterThan(0);
    const unknown = await runCli(['cluster', 'scrub', '9', '--data-dir', dataDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^logscope cluster: no node 9 in .*cluster\.json \(nodes: 1, 2, 3, 4, 5\)/);
    const unnamed = await runCli(['cluster', 'scrub', '--data-dir', dataDir]);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toMatch(/^logscope cluster: which node\? \(logscope cluster scrub N --data-dir D\)\n\nUsage:/);

    const before = cluster.state();
    const run = await passedDrill('bit-rot', dataDir);
    const victim = run.bindings.victim ?? 0;
    expect(run.steps[0]?.did).toMatch(new RegExp(`^flipped the byte at \\d+ of seg-\\d+\\.log under running node ${victim}; started a scrub pass`));
    expect(run.steps[0]?.figure).toMatch(new RegExp(`^node ${victim}: stopped on the rotted record and restarted by itself`));
    // A real exit of that process, found by the scrub, and a new process the supervisor started by itself.
    expect(cluster.output()).toMatch(new RegExp(`"event":"node-exited","node":${victim},.*found by the scrub`));
    expect(cluster.output()).toContain(`"event":"node-restarting","node":${victim}`);
    expect(cluster.state().nodes.find((n) => n.id === victim)?.pid).not.toBe(before.nodes.find((n) => n.id === victim)?.pid);
  }, 180_000);

  it('logscope drill run disk-rollback --cluster: the supervisor copies a follower process\'s disk and puts it back later; a peer process tells it, and nothing is lost', async () => {
    const run = await passedDrill('disk-rollback', dataDir);
    const victim = run.bindings.victim ?? 0;
    expect(run.steps[0]?.did).toMatch(new RegExp(`^crashed node ${victim}, copied its disk aside \\(\\d+ files, [\\d.]+ MiB\\), restarted it$`));
    expect(run.steps[1]?.did).toMatch(new RegExp(`^crashed node ${victim}, put back the copy of its disk taken .* ago`));
    // Told over TCP by another process, which its own status (polled by the console) and log say.
    expect(run.steps[1]?.figure).toMatch(new RegExp(`^node ${victim}: node (?!${victim}\\b)\\d found its disk put back to an older copy`));
    expect(readFileSync(join(dataDir, `node-${victim}.log`), 'utf8')).toMatch(/"event":"disk-rolled-back"/);
    // The copy sits beside the node's directory (inside, the node would take it for its own files).
    expect(readdirSync(join(dataDir, `node-${victim}.copy`)).some((name) => name.startsWith('seg-'))).toBe(true);
  }, 180_000);

  it('logscope drill run slow-disk --cluster drains the slow node process, undrains it, and its leaderships come back by themselves', async () => {
    const run = await passedDrill('slow-disk', dataDir);
    expect(run.verdict?.staleReads).toBe(0);
    const slow = run.bindings.identified ?? 0;
    expect(slow).toBe(run.bindings.victim);
    expect(run.steps[2]?.did).toMatch(new RegExp(`^drained node ${slow}: moving its leaderships away \\((p\\d+→\\d, )*p\\d+→\\d\\)`));
    expect(run.steps[2]?.figure).toBe(`node ${slow} leads 0 partitions`);
    // The drained node process was told to let the others win elections first.
    expect(run.steps[2]?.reason).toBe(`node ${slow} leads no partition, and its replicas campaign last`);
    expect(run.steps[5]?.figure).toBe('64/64 partitions led by their preferred replica');
    // After the drill, every partition of the 64 has a leader again, some of them on the node that was slow.
    const remote = await RemoteCluster.fromStateFile(dataDir);
    try {
      await vi.waitFor(() => expect(Array.from({ length: 64 }, (_, p) => remote.leaderOf(p)).filter((l) => l === slow).length).toBeGreaterThan(0), { timeout: 15_000, interval: 250 });
      // Undrained, its replicas campaign as soon as any other again.
      expect(remote.health().filter((h) => h.campaignsDeferred).map((h) => h.node)).toEqual([]);
    } finally {
      await remote.stop();
    }
  }, 180_000);

  it('a drain outlives its console: the next console takes it up again, and healing it gives the node its leaderships back', async () => {
    const consoleDir = mkdtempSync(join(tmpdir(), 'logscope-console-'));
    const openConsole = async (): Promise<{ remote: RemoteCluster; app: App; operator: ReturnType<typeof createCaller> }> => {
      const remote = await RemoteCluster.fromStateFile(dataDir);
      expect(await remote.waitForLeaders(20_000)).toBe(true);
      const app = await createApp({ remoteCluster: remote, dataDir: consoleDir, port: 0, staticDir: null, load: { enabled: false }, scrapeIntervalMs: 500, rebalanceSettleMs: 1_000 });
      const operator = createCaller(createContext(app.services, { headers: { authorization: `Bearer ${app.operatorToken}` }, ownOrigins: new Set([app.url]) }));
      return { remote, app, operator };
    };
    const ledBy = (remote: RemoteCluster, node: number): number => Array.from({ length: 64 }, (_, p) => remote.leaderOf(p)).filter((l) => l === node).length;
    const deferred = (remote: RemoteCluster, node: number): boolean => remote.health().find((h) => h.node === node)?.campaignsDeferred === true;
    const node = 4;
    let c = await openConsole();
    try {
      const { fault } = await c.operator.faults.inject({ action: { kind: 'drain', node }, timeLimitMs: 20 * 60_000 });
      await vi.waitFor(() => expect([ledBy(c.remote, node), deferred(c.remote, node)]).toEqual([0, true]), { timeout: 20_000, interval: 250 });
      await c.app.close();
      await c.remote.stop();

      // The next console (an upgrade, a crash): the drain is in force again, under the same fault.
      c = await openConsole();
      await faultControlOf(c.app.services)?.restored;
      const active = await c.operator.faults.operatorFaults();
      expect(active.active.map((f) => [f.id, f.action, f.expiresMs])).toEqual([[fault.id, { kind: 'drain', node }, fault.expiresMs]]);
      expect(active.active[0]?.blast.notes[0]).toBe('taken up again after the console restarted (its time limit unchanged)');
      expect(c.app.services.balancer?.status().drained).toEqual([node]);
      const audit = await c.operator.audit.list({ action: 'cluster', limit: 10 });
      expect(audit.entries.find((e) => e.action === DRAINS_RESTORED_ACTION)?.text).toMatch(new RegExp(`^drains kept across the console's restart taken up again: node ${node} \\(until `));
      await vi.waitFor(() => expect([ledBy(c.remote, node), deferred(c.remote, node)]).toEqual([0, true]), { timeout: 20_000, interval: 250 });

      // Healed: no drain is kept, the node campaigns again and is handed its preferred leaderships.
      await c.operator.faults.heal({ id: fault.id });
      expect(JSON.parse(readFileSync(join(consoleDir, DRAINS_FILE), 'utf8'))).toEqual({ drains: [] });
      await vi.waitFor(() => expect(deferred(c.remote, node)).toBe(false), { timeout: 20_000, interval: 250 });
      await vi.waitFor(() => expect(ledBy(c.remote, node)).toBeGreaterThan(0), { timeout: 30_000, interval: 250 });

      // A drains file it cannot read is kept aside for the operator, and drains nothing.
      await c.app.close();
      await c.remote.stop();
      writeFileSync(join(consoleDir, DRAINS_FILE), '{"drains": [{"id": "x", "node": "four"');
      c = await openConsole();
      await faultControlOf(c.app.services)?.restored;
      expect((await c.operator.faults.operatorFaults()).active).toEqual([]);
      expect(readdirSync(consoleDir).filter((f) => f.startsWith(`${DRAINS_FILE}.unreadable-`))).toHaveLength(1);
    } finally {
      await c.app.close();
      await c.remote.stop();
      rmSync(consoleDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('the admin API refuses a missing or wrong cluster secret, answers the right one, and the node logs every attempt', async () => {
    const node = cluster.state().nodes[0];
    if (node === undefined) throw new Error('no node');
    const secret = readFileSync(cluster.state().secretFile, 'utf8').trim();
    const missing = await fetch(`${node.metricsUrl}/admin/status`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ ok: false, error: { message: 'missing cluster secret' } });
    const wrong = await fetch(`${node.metricsUrl}/admin/pause`, { method: 'POST', headers: { authorization: `Bearer ${secret.slice(0, -1)}x` }, body: JSON.stringify({ node: node.id, durationMs: 60_000 }) });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ ok: false, error: { message: 'wrong cluster secret' } });
    const right = await fetch(`${node.metricsUrl}/admin/status`, { headers: { authorization: `Bearer ${secret}` } });
    expect(right.status).toBe(200);
    const status = (await right.json()) as { node: number; partitions: unknown[]; activeFaults: unknown[] };
    expect(status.node).toBe(node.id);
    expect(status.activeFaults).toEqual([]); // the refused pause did not happen
    expect(status.partitions.length).toBeGreaterThan(0);

    // A drain's deferral reaches the process's replicas through the same API, and its health says so.
    const deferred = async (value: boolean): Promise<boolean | undefined> => {
      const answer = await fetch(`${node.metricsUrl}/admin/deferCampaigns`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: JSON.stringify({ node: node.id, deferred: value }) });
      expect(answer.status).toBe(200);
      const after = await fetch(`${node.metricsUrl}/admin/status`, { headers: { authorization: `Bearer ${secret}` } });
      return ((await after.json()) as { health: { campaignsDeferred?: boolean } }).health.campaignsDeferred;
    };
    expect(await deferred(true)).toBe(true);
    expect(await deferred(false)).toBe(false);

    // The node's output reaches its log file through the supervisor's pipe, a moment after the answer.
    await vi.waitFor(() => {
      const log = readFileSync(node.logFile, 'utf8');
      expect(log).toMatch(/"call":"status","status":401,"outcome":"refused: missing cluster secret"/);
      expect(log).toMatch(/"call":"pause","status":401,"outcome":"refused: wrong cluster secret"/);
    }, { timeout: 10_000, interval: 100 });
  });

  it('every node\'s /metrics passes promtool check metrics', async () => {
    for (const node of cluster.state().nodes) {
      const text = await (await fetch(`${node.metricsUrl}/metrics`)).text();
      expect(text).toContain('logscope_records_appended_total');
      // The node process samples its own event loop (its stalls, apart from the disk's).
      expect(Number(/^logscope_event_loop_delay_seconds_count (\d+)$/m.exec(text)?.[1] ?? 0)).toBeGreaterThan(0);
      // promtool exits non-zero (execFileSync throws) on a format or naming problem.
      execFileSync('promtool', ['check', 'metrics'], { input: text });
    }
  });
});

/** 200 small records appended to partition 0, by offset, and the producer that appended them (it knows the leader). */
async function appendRecords(remote: RemoteCluster): Promise<{ producer: LogClient; values: string[] }> {
  const producer = remote.client({ appendTimeoutMs: 15_000 });
  const values: string[] = [];
  for (let i = 0; i < 200; i += 8) {
    const batch = Array.from({ length: 8 }, (_, k) => `record-${i + k}`);
    const result = await producer.append({ partition: 0 }, batch.map((value) => new TextEncoder().encode(value)));
    batch.forEach((value, k) => (values[result.baseOffset + k] = value));
  }
  return { producer, values };
}

/**
 * Three node processes under `logscope cluster up --cache-mib 0`: every read of a durable entry
 * comes from its segment. First with --no-auto-restart, to see the node down and why, and with
 * blocking segment reads (--background-reads never); the next runs them in the pool, the default.
 */
describe('a supervised node process that reads a rotted byte', () => {
  // Made in beforeAll, not here: a run filtered to other tests (-t) runs no afterAll to remove it.
  let dataDir = '';
  let cluster: SupervisedCluster;
  let remote: RemoteCluster | null = null;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'logscope-procs-rot-'));
    cluster = await SupervisedCluster.start(dataDir, ['--nodes', '3', '--partitions', '1', '--cache-mib', '0', '--no-auto-restart', '--background-reads', 'never']);
  }, 120_000);

  afterAll(async () => {
    await remote?.stop();
    await cluster?.stop();
    if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits, the supervisor and the console say it was a corrupt record and where, and a fresh client reads every record intact', async () => {
    remote = await RemoteCluster.fromStateFile(dataDir);
    expect(await remote.waitForLeaders(20_000)).toBe(true);
    const { producer, values } = await appendRecords(remote);
    const leader = producer.leaderOf(0);
    const node = cluster.state().nodes.find((n) => n.id === leader);
    if (node === undefined || node.pid === null) throw new Error(`no running leader node ${leader}`);
    // cluster up handed the read mode on to its node processes.
    expect(readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').split('\0').join(' ')).toContain('--background-reads never');
    // Rot under the running process, where the supervisor's corruptSegment would flip it on a stopped one.
    const where = corruptNewestSegment(new FileDisk(node.dataDir), leader, false);

    const read = await remote.client({ appendTimeoutMs: 15_000 }).readAll(0, 0);
    expect(read.map((record) => new TextDecoder().decode(record.value))).toEqual(values);
    await vi.waitFor(() => expect(cluster.state().nodes.find((n) => n.id === leader)?.exited?.reason).toContain(`corrupt record in ${where.file}`), { timeout: 10_000, interval: 100 });
    expect(cluster.state().nodes.find((n) => n.id === leader)).toMatchObject({ pid: null, exited: { code: 1, signal: null } });
    await remote.refreshNow();
    const health = remote.health().find((h) => h.node === leader);
    expect(health?.up).toBe(false);
    expect(health?.reason).toMatch(new RegExp(`^process exited \\(code 1\\): disk error: corrupt record in ${where.file} at \\d+ \\(partition 0, entry \\d+\\): CRC32C mismatch; not restarted until told \\(automatic restarts are off\\)$`));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(cluster.state().nodes.find((n) => n.id === leader)?.pid).toBeNull(); // still down

    // Restarted through the supervisor, it runs again and the reason is gone.
    await runCli(['cluster', 'restart', String(leader), '--data-dir', dataDir], { timeoutMs: 60_000 });
    expect(cluster.state().nodes.find((n) => n.id === leader)?.exited).toBeNull();
  }, 120_000);
});

/** The same, as `logscope cluster up` runs by default: the node that stopped on the corrupt record restarts by itself. */
describe('a supervised node process that reads a rotted byte, with automatic restarts', () => {
  // Made in beforeAll, not here: a run filtered to other tests (-t) runs no afterAll to remove it.
  let dataDir = '';
  let cluster: SupervisedCluster;
  let remote: RemoteCluster | null = null;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'logscope-procs-rot-auto-'));
    cluster = await SupervisedCluster.start(dataDir, ['--nodes', '3', '--partitions', '1', '--cache-mib', '0']);
  }, 120_000);

  afterAll(async () => {
    await remote?.stop();
    await cluster?.stop();
    if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
  });

  it('comes back by itself within seconds, repaired: with another node killed, a fresh client still reads every record', async () => {
    remote = await RemoteCluster.fromStateFile(dataDir);
    expect(await remote.waitForLeaders(20_000)).toBe(true);
    const { producer, values } = await appendRecords(remote);
    const readAll = async (): Promise<string[]> => (await remote!.client({ appendTimeoutMs: 15_000 }).readAll(0, 0)).map((record) => new TextDecoder().decode(record.value));
    const leader = producer.leaderOf(0);
    const before = cluster.state().nodes.find((n) => n.id === leader);
    if (before === undefined || before.pid === null) throw new Error(`no leader node ${leader}`);
    const where = corruptNewestSegment(new FileDisk(before.dataDir), leader, false);

    expect(await readAll()).toEqual(values);
    // The supervisor saw it exit on the corrupt record, said it would restart it, and did.
    await vi.waitFor(() => expect(cluster.output()).toContain(`"event":"node-restarting","node":${leader}`), { timeout: 20_000, interval: 100 });
    const exitLine = cluster.output().split('\n').find((line) => line.includes('"event":"node-exited"') && line.includes(`"node":${leader}`));
    expect(exitLine).toContain(`corrupt record in ${where.file}`);
    expect(exitLine).toContain('restarting by itself in 1 s to repair it (automatic restart 1 of at most 3 in 10 min)');
    await vi.waitFor(() => {
      const now = cluster.state().nodes.find((n) => n.id === leader);
      expect(now?.pid).toBeTypeOf('number');
      expect(now?.pid).not.toBe(before.pid);
      expect(now?.exited ?? null).toBeNull();
    }, { timeout: 60_000, interval: 200 });
    // cluster.json lists the restart, and the console reads it from the supervisor for its audit trail.
    await vi.waitFor(() => {
      const recorded = cluster.state().autoRestarts?.find((e) => e.node === leader);
      expect(recorded).toMatchObject({ restart: true, restarted: { error: null } });
      expect(recorded?.reason).toContain(`corrupt record in ${where.file}`);
    }, { timeout: 10_000, interval: 100 });
    await vi.waitFor(async () => {
      await remote?.refreshNow();
      expect(remote?.autoRestarts().find((e) => e.node === leader)?.restarted?.error).toBeNull();
    }, { timeout: 10_000, interval: 200 });
    // Its recovery found the record (the node's log says so); let it catch up, then kill another node:
    // the restarted one is half of what is left, and every record reads back intact.
    await vi.waitFor(() => expect(readFileSync(before.logFile, 'utf8')).toMatch(new RegExp(`"corruption":\\{"file":"${where.file}"`)), { timeout: 20_000, interval: 200 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const other = cluster.state().nodes.find((n) => n.id !== leader);
    await runCli(['cluster', 'crash', String(other?.id ?? 0), '--data-dir', dataDir], { timeoutMs: 30_000 });
    expect(await readAll()).toEqual(values);
  }, 120_000);
});
