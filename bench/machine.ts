import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** One line on the machine a benchmark ran on, printed with every result. */
export function machineLine(dataDir?: string): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  let disk = '';
  if (dataDir !== undefined) {
    try {
      disk = ` · disk: ${execSync(`df -h --output=source,fstype,size ${JSON.stringify(dataDir)} | tail -1`, { encoding: 'utf8' }).trim().replace(/\s+/g, ' ')}`;
    } catch {
      disk = '';
    }
  }
  const v8Flags = process.execArgv.filter((arg) => arg.startsWith('--') && !['--require', '--import'].includes(arg));
  const flags = v8Flags.length > 0 ? ` · this process: ${v8Flags.join(' ')}` : '';
  return `${cpu} × ${cpus().length} cores · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · Node ${process.version} · ${process.platform} ${process.arch}${disk}${flags}`;
}

/** Linux's USER_HZ: /proc/stat counts in hundredths of a second on every architecture Node runs on. */
const PROC_STAT_TICK_MS = 10;
const STEAL_SAMPLE_MS = 1000;

/** Time the hypervisor ran others on this VM's CPUs (all CPUs summed), ms; null where /proc/stat has no steal column. */
function stealMs(): number | null {
  try {
    // Synchronous on purpose: /proc/stat is generated in memory, and a pool thread would compete
    // with the journal writes of the cluster being measured.
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/) ?? [];
    const steal = Number(fields[8]);
    return fields[0] === 'cpu' && Number.isFinite(steal) ? steal * PROC_STAT_TICK_MS : null;
  } catch {
    return null;
  }
}

/** One table cell for a run's steal, as every bench prints it: total / worst second, ms. */
export function stealCell(steal: HostSteal | null): string {
  return steal === null ? 'n/a' : `${steal.totalMs.toFixed(0)} / ${steal.worstSecondMs.toFixed(0)}`;
}

export interface HostSteal {
  /** Over the whole span, all CPUs summed. */
  readonly totalMs: number;
  /** The largest amount in one sampling second. */
  readonly worstSecondMs: number;
}

/**
 * CPU time the host took from this VM while a run went on (the `steal` of /proc/stat, sampled each
 * second): on a shared VM a stall can be neither the node's nor the disk's, and this names it.
 * Returns a stop function; its result is null off Linux.
 */
export function hostStealMeter(): () => HostSteal | null {
  const first = stealMs();
  if (first === null) return () => null;
  let last = first;
  let worst = 0;
  const sample = (): void => {
    const now = stealMs();
    if (now === null) return;
    worst = Math.max(worst, now - last);
    last = now;
  };
  const timer = setInterval(sample, STEAL_SAMPLE_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    return { totalMs: last - first, worstSecondMs: worst };
  };
}
