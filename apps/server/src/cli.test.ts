// What an operator sees when a command line is wrong: the CLI run as a real process, its exit code
// and its error output (a message, no stack trace; the command's own usage for a usage error).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeFatal } from './usage-error.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function logscope(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const STACK_LINE = /^\s+at /m;

describe('logscope command lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logscope-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports usage errors with exit code 2, the command\'s own usage, and no stack', async () => {
    const [ambiguous, unknownSub, noNode, rfOverNodes, nodeOption, nodeRetention, clusterRetention] = await Promise.all([
      logscope(['up', '--partitions', '-3']),
      logscope(['cluster', 'bogus', '--data-dir', dir]),
      logscope(['cluster', 'crash', '--data-dir', dir]),
      logscope(['cluster', 'up', '--nodes', '2', '--replication-factor', '5', '--data-dir', dir]),
      logscope(['node', '--bogus']),
      logscope(['node', '--id', '1', '--peers', '1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3', '--segment-mib', '8', '--retention-mib', '15']),
      logscope(['cluster', 'up', '--nodes', '3', '--retention-hours', '0', '--data-dir', dir]),
    ]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/--partitions' argument is ambiguous/);
    expect(ambiguous.stderr).toMatch(/logscope up options:/);
    expect(unknownSub.code).toBe(2);
    expect(unknownSub.stderr).toMatch(/^logscope cluster: unknown subcommand "bogus" \(up, status, crash, restart, scrub\)/);
    expect(unknownSub.stderr).toMatch(/logscope cluster up --data-dir D/);
    expect(noNode.code).toBe(2);
    expect(noNode.stderr).toMatch(/which node\?/);
    // Refused before any node process starts (each would otherwise exit on it with a log of its own).
    expect(rfOverNodes.code).toBe(2);
    expect(rfOverNodes.stderr).toMatch(/--replication-factor 5 needs at least as many nodes \(--nodes 2\)/);
    expect(rfOverNodes.stdout).not.toMatch(/node-starting/);
    expect(nodeOption.code).toBe(2);
    expect(nodeOption.stderr).toMatch(/Unknown option '--bogus'[\s\S]*logscope node --help/);
    // The journal flags, with the command's own usage (its retention flags among them).
    expect(nodeRetention.code).toBe(2);
    expect(nodeRetention.stderr).toMatch(/^logscope node: --retention-mib 15 is less than two segments of --segment-mib 8: .*at least 16 MiB/);
    expect(nodeRetention.stderr).toMatch(/logscope node --id N --peers[\s\S]*\[--segment-mib 64\] \[--retention-mib 4096\] \[--retention-hours 24\]/);
    expect(clusterRetention.code).toBe(2);
    expect(clusterRetention.stderr).toMatch(/^logscope cluster: --retention-hours must be a number of hours greater than 0 \(got "0"\)/);
    expect(clusterRetention.stderr).toMatch(/logscope cluster up --data-dir D[\s\S]*--retention-hours 24/);
    expect(clusterRetention.stdout).not.toMatch(/node-starting/);
    for (const outcome of [ambiguous, unknownSub, noNode, rfOverNodes, nodeOption, nodeRetention, clusterRetention]) expect(outcome.stderr).not.toMatch(STACK_LINE);
  }, 90_000);

  it('reports an operator error as its message, exit code 1, no stack', async () => {
    const [noState, noPeers] = await Promise.all([
      logscope(['cluster', 'crash', '1', '--data-dir', join(dir, 'nothing-here')]),
      logscope(['node', '--id', '1']),
    ]);
    expect(noState.code).toBe(1);
    expect(noState.stderr).toMatch(/^logscope: no cluster state in .*cluster\.json: start the cluster with `logscope cluster up/);
    expect(noPeers.code).toBe(1);
    expect(noPeers.stderr).toMatch(/^logscope: --peers is required/);
    for (const outcome of [noState, noPeers]) expect(outcome.stderr).not.toMatch(STACK_LINE);
  }, 90_000);

  it('prints every command\'s help and runs the benches it lists', async () => {
    const [node, cluster, bench] = await Promise.all([logscope(['node', '--help']), logscope(['cluster', '--help']), logscope(['bench'])]);
    expect(node.code).toBe(0);
    expect(node.stdout).toMatch(/logscope node --id N --peers/);
    expect(node.stdout).toMatch(/--segment-mib\s+MiB \(1 to 1024\)/);
    expect(cluster.code).toBe(0);
    expect(cluster.stdout).toMatch(/logscope cluster up/);
    // `logscope bench` without a name: bench/run.ts's own list, so the command exists.
    expect(bench.code).toBe(2);
    expect(bench.stderr).toMatch(/usage: npm run bench -- <[a-z-|]*engine[a-z-|]*peers[a-z-|]*>[\s\S]*logscope bench <name>/);
  }, 90_000);

  it('keeps the stack of an error that is a bug', () => {
    const bug = new TypeError('x is not a function');
    expect(describeFatal(bug)).toMatch(STACK_LINE);
    expect(describeFatal(new Error('no cluster state'))).toBe('no cluster state');
    expect(describeFatal(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))).toBe('EACCES: permission denied');
  });
});
