// Pins this process's event-loop thread to one CPU (`taskset -p` on the main thread's id; every
// other thread, libuv's I/O threads and V8's, keeps the CPUs it had): a lever for the embedded
// 5 × 256 p99 at 2 000/s, measured and not taken (2026-11-29). In one-off probes the pinned loop
// showed a lower p99 (median 5.7 against 7.5 ms, 11 runs each; pinning the I/O threads to the other
// CPU as well, a higher one), but the engine bench's alternated shapes (--pin-ab, 8 pairs of 10 s)
// showed none: median 5.8 pinned against 5.6 ms free. Kept to measure it again elsewhere.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The CPUs a thread may run on, from its Cpus_allowed_list ("0-1,4" → [0, 1, 4]). */
export function allowedCpus(tid: number = process.pid): number[] {
  const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1];
  if (list === undefined) throw new Error(`no Cpus_allowed_list for thread ${tid}`);
  return list.split(',').flatMap((range) => {
    const [lo, hi] = range.split('-').map(Number) as [number, number | undefined];
    return Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
  });
}

/** Pins the event-loop thread to the first CPU it may use; returns that CPU, checked against what the kernel now says. */
export function pinEventLoop(): number {
  const cpus = allowedCpus();
  const cpu = cpus[0];
  if (cpu === undefined || cpus.length < 2) throw new Error(`pinning the event loop needs two CPUs or more (this process may use ${cpus.join(',') || 'none'})`);
  execFileSync('taskset', ['-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  const now = allowedCpus();
  if (now.length !== 1 || now[0] !== cpu) throw new Error(`taskset left the event loop on CPUs ${now.join(',')}, not ${cpu}`);
  return cpu;
}
