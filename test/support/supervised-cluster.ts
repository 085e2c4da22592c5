import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readClusterState, type ClusterState } from '../../apps/server/src/cluster/state.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI compiles its modules on start (tsx), slowly on a busy 2-core machine. */
const CLUSTER_READY_TIMEOUT_MS = 90_000;

/** Runs the real CLI (`npx tsx apps/server/src/cli.ts …`) and collects its output. */
export function runCli(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/server/src/cli.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`logscope ${args.join(' ')} did not finish in ${options.timeoutMs ?? 120_000} ms:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `logscope cluster up …` as a child process: the supervisor with its node processes. */
export class SupervisedCluster {
  private constructor(
    readonly dataDir: string,
    private readonly child: ChildProcess,
    readonly output: () => string,
  ) {}

  static async start(dataDir: string, args: readonly string[]): Promise<SupervisedCluster> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/server/src/cli.ts'), 'cluster', 'up', '--data-dir', dataDir, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const cluster = new SupervisedCluster(dataDir, child, () => output);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cluster not ready in ${CLUSTER_READY_TIMEOUT_MS} ms:\n${output}`)), CLUSTER_READY_TIMEOUT_MS);
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('"cluster-ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`cluster up exited with ${code}:\n${output}`));
      });
    });
    return cluster;
  }

  state(): ClusterState {
    return readClusterState(this.dataDir);
  }

  /** SIGTERM to the supervisor: it stops its nodes cleanly. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}
