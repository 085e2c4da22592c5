// `logscope bench <name> [args]`: the same benchmarks as `npm run bench -- <name> [args]`
// (bench/run.ts lists them), run as a child with this process's loader so the bench sees a fresh
// process (bench/run.ts relaunches itself with V8 flags for the benches that host clusters).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCH_RUNNER = fileURLToPath(new URL('../../../bench/run.ts', import.meta.url));

export async function run(argv: readonly string[]): Promise<void> {
  // execArgv carries tsx's loader (--import …), which bench/run.ts needs as much as this file did.
  const child = spawn(process.execPath, [...process.execArgv, BENCH_RUNNER, ...argv], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  process.exitCode = code;
}
