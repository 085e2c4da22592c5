// Child processes in their own process groups, temp dirs, free ports, /proc sampling, and a
// cleanup that runs on success, failure and Ctrl-C alike.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly tail: string[];
  exited: boolean;
  readonly lineListeners: Set<(line: string) => void>;
}

const live = new Set<Managed>();
const tempDirs = new Set<string>();

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Spawns `cmd` detached (its own process group) and keeps the last lines of its output. */
export function spawnManaged(name: string, cmd: string, args: readonly string[], cwd?: string, env: NodeJS.ProcessEnv = process.env): Managed {
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${cmd}`);
  const m: Managed = { name, child, pid: child.pid, tail: [], exited: false, lineListeners: new Set() };
  live.add(m);
  const onData = (buf: Buffer, carry: { s: string }): void => {
    carry.s += buf.toString('utf8');
    const lines = carry.s.split('\n');
    carry.s = lines.pop() ?? '';
    for (const line of lines) {
      m.tail.push(line);
      if (m.tail.length > 40) m.tail.shift();
      for (const l of m.lineListeners) l(line);
    }
  };
  const outCarry = { s: '' };
  const errCarry = { s: '' };
  child.stdout?.on('data', (b: Buffer) => onData(b, outCarry));
  child.stderr?.on('data', (b: Buffer) => onData(b, errCarry));
  child.on('exit', () => {
    m.exited = true;
    live.delete(m);
  });
  child.on('error', () => {
    m.exited = true;
    live.delete(m);
  });
  return m;
}

export function waitForLine(m: Managed, match: (line: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const found = m.tail.find(match);
    if (found !== undefined) return resolve(found);
    const timer = setTimeout(() => done(new Error(`${m.name}: not ready after ${timeoutMs} ms; last output:\n${m.tail.join('\n')}`)), timeoutMs);
    const onExit = (): void => done(new Error(`${m.name} exited during start; last output:\n${m.tail.join('\n')}`));
    const listener = (line: string): void => {
      if (match(line)) done(null, line);
    };
    const done = (error: Error | null, line = ''): void => {
      clearTimeout(timer);
      m.lineListeners.delete(listener);
      m.child.off('exit', onExit);
      if (error !== null) reject(error);
      else resolve(line);
    };
    m.lineListeners.add(listener);
    m.child.once('exit', onExit);
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to the process group, SIGKILL after the grace period. */
export async function stopManaged(m: Managed, graceMs = 3_000): Promise<void> {
  if (!m.exited) {
    killGroup(m.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (!m.exited && Date.now() < deadline) await sleep(25);
  }
  killGroup(m.pid, 'SIGKILL'); // stragglers in the group, if any
  live.delete(m);
}

/** Synchronous last resort (process 'exit', signals): kill every group, remove every temp dir. */
export function cleanupSync(): void {
  for (const m of live) killGroup(m.pid, 'SIGKILL');
  live.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let handlersInstalled = false;
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping every cluster and removing temp dirs…\n`);
      cleanupSync();
      process.exit(130);
    });
  }
}

export { freePorts } from '../../test/support/node-cluster.ts';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** CPU seconds (user+system) and RSS bytes of one process from /proc, or null once it's gone. */
export function readProc(pid: number): { cpuSeconds: number; rssBytes: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuSeconds: ticks / CLK_TCK, rssBytes: rssKb * 1024 };
  } catch {
    return null;
  }
}

/**
 * What wakes a process and what it asks of the kernel, so far: context switches of all its threads
 * (voluntary and not, from each thread's status) and its read and write system calls (/proc/PID/io:
 * syscr + syscw, which count file and socket reads and writes, not epoll or futex). Null once it's
 * gone or off Linux. A thread that exits takes its counts with it (a bench point starts none).
 */
export function readProcWakeups(pid: number | 'self'): { contextSwitches: number; rwSyscalls: number } | null {
  try {
    let contextSwitches = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
        contextSwitches += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const rwSyscalls = Number(/^syscr:\s+(\d+)/m.exec(io)?.[1] ?? 0) + Number(/^syscw:\s+(\d+)/m.exec(io)?.[1] ?? 0);
    return { contextSwitches, rwSyscalls };
  } catch {
    return null;
  }
}

export interface ResourceUse {
  /** CPU time over wall time, in % of one core (summed over the system's processes). */
  cpuPercent: number;
  /** Largest summed RSS seen while sampling. */
  rssMbMax: number;
  /** Context switches per second, summed over the processes' threads (null off Linux; see readProcWakeups). */
  contextSwitchesPerSec: number | null;
  /** Read and write system calls per second, summed (null off Linux). */
  rwSyscallsPerSec: number | null;
}

/** Samples the given processes (or this process when pids is 'self') every 250 ms. */
export class ResourceSampler {
  private cpu0 = 0;
  private selfCpu0: NodeJS.CpuUsage | null = null;
  private t0 = 0;
  private rssMax = 0;
  private timer: NodeJS.Timeout | null = null;

  private wakeups0: { contextSwitches: number; rwSyscalls: number } | null = null;

  constructor(private readonly pids: readonly number[] | 'self') {}

  private wakeupsNow(): { contextSwitches: number; rwSyscalls: number } | null {
    const all = this.pids === 'self' ? [readProcWakeups('self')] : this.pids.map((pid) => readProcWakeups(pid));
    if (all.some((w) => w === null)) return null;
    return all.reduce<{ contextSwitches: number; rwSyscalls: number }>((sum, w) => ({ contextSwitches: sum.contextSwitches + (w?.contextSwitches ?? 0), rwSyscalls: sum.rwSyscalls + (w?.rwSyscalls ?? 0) }), { contextSwitches: 0, rwSyscalls: 0 });
  }

  private cpuNow(): number {
    if (this.pids === 'self') return 0;
    return this.pids.reduce((sum, pid) => sum + (readProc(pid)?.cpuSeconds ?? 0), 0);
  }

  private sampleRss(): void {
    const rss = this.pids === 'self' ? process.memoryUsage().rss : this.pids.reduce((sum, pid) => sum + (readProc(pid)?.rssBytes ?? 0), 0);
    this.rssMax = Math.max(this.rssMax, rss);
  }

  start(): void {
    this.t0 = performance.now();
    this.rssMax = 0;
    if (this.pids === 'self') this.selfCpu0 = process.cpuUsage();
    else this.cpu0 = this.cpuNow();
    this.wakeups0 = this.wakeupsNow();
    this.sampleRss();
    this.timer = setInterval(() => this.sampleRss(), 250);
  }

  stop(): ResourceUse {
    if (this.timer !== null) clearInterval(this.timer);
    this.sampleRss();
    const wallSeconds = (performance.now() - this.t0) / 1000;
    let cpuSeconds: number;
    if (this.pids === 'self') {
      const u = process.cpuUsage(this.selfCpu0 ?? undefined);
      cpuSeconds = (u.user + u.system) / 1e6;
    } else cpuSeconds = this.cpuNow() - this.cpu0;
    const wakeups = this.wakeupsNow();
    const w0 = this.wakeups0;
    return {
      cpuPercent: (cpuSeconds / wallSeconds) * 100,
      rssMbMax: this.rssMax / 2 ** 20,
      contextSwitchesPerSec: wakeups === null || w0 === null ? null : (wakeups.contextSwitches - w0.contextSwitches) / wallSeconds,
      rwSyscallsPerSec: wakeups === null || w0 === null ? null : (wakeups.rwSyscalls - w0.rwSyscalls) / wallSeconds,
    };
  }
}

export function findBinary(name: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/bin', '/usr/sbin', '/usr/local/bin'])) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}
