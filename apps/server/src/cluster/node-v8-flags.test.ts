import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../../../../test/support/node-cluster.ts';
import { NODE_PROCESS_THREADPOOL_SIZE, OLD_SPACE_INITIAL_MB, nodeProcessEnv, nodeProcessV8Flags } from './node-v8-flags.ts';

const CLI = join(import.meta.dirname, '..', 'cli.ts');

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

describe('nodeProcessEnv', () => {
  it('gives a node process its own libuv pool size unless one is set, and keeps the rest', () => {
    expect(nodeProcessEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', UV_THREADPOOL_SIZE: String(NODE_PROCESS_THREADPOOL_SIZE) });
    expect(nodeProcessEnv({ PATH: '/bin', UV_THREADPOOL_SIZE: '6' })).toEqual({ PATH: '/bin', UV_THREADPOOL_SIZE: '6' });
  });
});

describe('nodeProcessV8Flags', () => {
  const room = `--initial-old-space-size=${OLD_SPACE_INITIAL_MB}`;

  it('collects garbage on the main thread only when node processes have no core to spare', () => {
    expect(nodeProcessV8Flags(3, 2, undefined)).toEqual(['--single-threaded-gc', room]);
    expect(nodeProcessV8Flags(2, 2, undefined)).toEqual(['--single-threaded-gc', room]);
    expect(nodeProcessV8Flags(3, 8, undefined)).toEqual([room]);
    expect(nodeProcessV8Flags(1, 2, undefined)).toEqual([room]);
  });

  it('lets LOGSCOPE_SINGLE_THREADED_GC override the rule either way', () => {
    expect(nodeProcessV8Flags(3, 8, '1')).toEqual(['--single-threaded-gc', room]);
    expect(nodeProcessV8Flags(5, 2, '0')).toEqual([room]);
  });

  it('starts the old generation with room, so a small live heap is not marked again and again', () => {
    // Objects that outlive the young generation and then die, as a log's in-flight state does.
    const churn = 'let kept = []; for (let i = 0; i < 4e6; i++) { kept.push({ i }); if (kept.length > 3e5) kept = []; }';
    const markCompacts = (flags: string[]): number => execFileSync(process.execPath, [...flags, '--trace-gc', '-e', churn], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('Mark-Compact')).length;
    expect(markCompacts(['--single-threaded-gc'])).toBeGreaterThan(0);
    expect(markCompacts(nodeProcessV8Flags(3, 2, undefined))).toBe(0);
  });

  it('gives flags this Node accepts', () => {
    const out = execFileSync(process.execPath, [...nodeProcessV8Flags(3, 2, undefined), '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
    expect(out).toBe('ok');
  });
});

describe('logscope up relaunches itself with the flags its embedded nodes need', () => {
  it('serves from a child that has them, which stops when the command is killed -9', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logscope-relaunch-'));
    const parent = spawn(process.execPath, ['--import', 'tsx', CLI, 'up', '--port', '0', '--data-dir', dataDir, '--no-load'], {
      env: { ...process.env, LOGSCOPE_SINGLE_THREADED_GC: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    parent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      expect(await until(() => /Logscope console: (http:\/\/\S+)\//.test(out), 60_000)).toBe(true);
      const url = /Logscope console: (http:\/\/\S+)\//.exec(out)?.[1];
      expect((await fetch(`${url}/`)).status).toBe(200);
      // The parent's children that run this command again (with a cold tsx cache, esbuild's service is another child).
      const children = execFileSync('pgrep', ['-P', String(parent.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number)
        .filter((pid) => existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(CLI));
      expect(children).toHaveLength(1);
      const child = children[0] ?? 0;
      expect(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['--single-threaded-gc', `--initial-old-space-size=${OLD_SPACE_INITIAL_MB}`]));
      parent.kill('SIGKILL');
      // Its IPC channel closed: the child shuts down cleanly on its own, and frees the port.
      expect(await until(() => !alive(child), 20_000)).toBe(true);
      await expect(fetch(`${url}/`)).rejects.toThrow();
    } finally {
      parent.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('logscope node started by hand relaunches itself with a node process\'s flags', () => {
  it('serves from a child that has them, which stops when the command is killed -9', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logscope-node-relaunch-'));
    const [port] = await freePorts(1);
    const parent = spawn(process.execPath, ['--import', 'tsx', CLI, 'node', '--id', '1', '--peers', `1=127.0.0.1:${port}`, '--data-dir', dataDir, '--partitions', '2', '--replication-factor', '1'], {
      env: { ...process.env, LOGSCOPE_SINGLE_THREADED_GC: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    parent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      expect(await until(() => out.includes('"node-ready"'), 60_000)).toBe(true);
      const ready = JSON.parse(out.slice(out.indexOf('{'), out.indexOf('}', out.indexOf('"node-ready"')) + 1)) as { pid: number; port: number };
      expect(ready.pid).not.toBe(parent.pid);
      expect(ready.port).toBe(port);
      expect(readFileSync(`/proc/${ready.pid}/cmdline`, 'utf8').split('\0')).toContain(`--initial-old-space-size=${OLD_SPACE_INITIAL_MB}`);
      parent.kill('SIGKILL');
      expect(await until(() => !alive(ready.pid), 20_000)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
