import { execSync } from 'node:child_process';
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
