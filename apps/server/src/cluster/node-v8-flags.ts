import { spawn } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';

/**
 * V8 flags for a process that hosts `nodesOnHost` log nodes on a host with `cores` cores: node
 * processes the supervisor, the benches and the tests start, and the one process of an embedded
 * cluster (all of its nodes, the server and the load). V8 collects garbage on helper threads
 * (parallel scavenges and marking, concurrent marking and sweeping), which pays when a process has
 * cores to spare. When the host has no more cores than nodes, those threads take the cores that
 * the event loops and the libuv pool's journal writes need, and appends wait for them: so there,
 * a process collects on its own thread.
 *
 * Measured on 2 cores:
 * - 3 node processes over TCP, 1 KiB appends, 6 alternated pairs on fresh clusters at 1 000/s:
 *   p99 10–29 ms against 19–32 ms, lower in all 6 pairs, with the nodes' CPU lower in 5; at
 *   4 000/s, 2 pairs: p99 25 and 26 ms against 41 and 38 ms.
 * - Embedded, 5 nodes × 256 partitions at 2 000 appends/s of 256 B, 7 alternated pairs: p99 median
 *   11.4 ms against 17.4 ms, lower in 6 of 7 (the seventh 14.2 against 13.9).
 *
 * LOGSCOPE_SINGLE_THREADED_GC=1 or 0 overrides the choice (for A/B runs, or a host the rule misjudges).
 *
 * Every such process also starts with room for OLD_SPACE_INITIAL_MB of old generation. A node's live
 * heap is small (~18 MB in a TCP node process), and V8 sizes the old generation's limit from it: at
 * 4 000 appends/s of 1 KiB each node ran a full mark-compact every ~0.9 s, each 17–40 ms of marking
 * steps between I/O callbacks and a 3–6 ms pause. With the room, the first one comes later and the
 * limit V8 sets after it stays high. 3 node processes over TCP, 1 KiB, 2 alternated pairs of 60 s
 * at 4 000/s then the maximum: mark-compacts per 10 s (all 3 nodes) 0–3 against 27–38; p99 in the
 * last five 4 000/s points 5.7–9.5 ms against 9.5–15.4 ms (lower in 10 of 10); the maximum 25.1 k
 * and 27.6 k against 18.3 k and 19.1 k acknowledged/s. (Before the journal's slab cache the live heap
 * was ~50 MB of cached entries and the room only postponed the mark-compacts.) The cost is memory:
 * up to that much garbage before a mark-compact.
 */
export function nodeProcessV8Flags(nodesOnHost: number, cores = availableParallelism(), override = process.env['LOGSCOPE_SINGLE_THREADED_GC']): string[] {
  const single = override === '1' ? true : override === '0' ? false : nodesOnHost >= cores;
  return [...(single ? ['--single-threaded-gc'] : []), `--initial-old-space-size=${OLD_SPACE_INITIAL_MB}`];
}

/** See nodeProcessV8Flags. */
export const OLD_SPACE_INITIAL_MB = 256;

/**
 * libuv pool threads for a process that hosts one node over TCP: its journal's writes (segment and
 * identifiers, each durable), the zero-fill of its next segment and its reads go through the pool.
 * The process of an embedded cluster keeps libuv's default of 4 for all its nodes: 5 × 256
 * partitions at 2 000 appends/s, 6 alternated pairs, p99 5.5–8.2 ms with 4 threads against
 * 7.6–9.6 ms with 16 (lower in 6 of 6; 3 × 12 and 5 × 1 024 lower in 2 of 2 each), at the same
 * maximum (3 × 12, 1 KiB: 242–253 k against 245–257 k appends/s) and for less CPU (71–79 % of a
 * core against 75–84 % at 5 × 256). For node processes, 4 threads against 16 was neither clearly
 * better nor worse (2 pairs of the peers bench's points), so they keep the 16 they were measured with.
 */
export const NODE_PROCESS_THREADPOOL_SIZE = 16;

/** The environment of a node process: this one's, with NODE_PROCESS_THREADPOOL_SIZE unless UV_THREADPOOL_SIZE is set. */
export function nodeProcessEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, UV_THREADPOOL_SIZE: env['UV_THREADPOOL_SIZE'] ?? String(NODE_PROCESS_THREADPOOL_SIZE) };
}

/** Set in the environment of a relaunched process (see relaunchWithV8Flags). */
const RELAUNCHED_ENV = 'LOGSCOPE_V8_RELAUNCHED';
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs this same command again in a child Node process that has `flags`, when this one lacks any
 * of them: V8 fixes its GC threads at start-up (set later with v8.setFlagsFromString, the result is
 * undefined), and `npm start` or a runbook cannot know the flags before the node count is parsed.
 * Resolves to the child's exit code; null when nothing is missing (carry on in this process).
 *
 * The child runs in its own process group, so a terminal's Ctrl-C reaches it once (forwarded from
 * here), not twice (the CLI reads a second signal as "exit now"). If this process dies without
 * forwarding (kill -9), the child sees its IPC channel close and stops as on SIGTERM.
 */
export function relaunchWithV8Flags(flags: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> | null {
  const missing = flags.filter((flag) => !process.execArgv.includes(flag));
  const script = process.argv[1];
  if (missing.length === 0 || process.env[RELAUNCHED_ENV] === '1' || script === undefined) return null;
  const child = spawn(process.execPath, [...missing, ...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...env, [RELAUNCHED_ENV]: '1' },
    detached: true,
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`logscope: could not relaunch with ${missing.join(' ')}: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}

/**
 * In a relaunched child: when the parent dies without forwarding a signal (its IPC channel
 * closes), stop as on SIGTERM, so no server outlives the command that started it.
 */
function followRelaunchingParent(): void {
  if (process.env[RELAUNCHED_ENV] !== '1' || process.channel === undefined) return;
  process.channel.unref(); // the channel alone must not keep this process alive
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * What a command that hosts nodes does first: relaunch with `flags` when this process lacks any
 * (resolves to the child's exit code), or else carry on here (null), following the parent that
 * relaunched it, if one did.
 */
export function relaunchOrFollow(flags: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> | null {
  const relaunched = relaunchWithV8Flags(flags, env);
  if (relaunched === null) followRelaunchingParent();
  return relaunched;
}
