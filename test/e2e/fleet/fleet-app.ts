// One `logscope up --nodes 5 --partitions 1024` for the fleet-scale specs, started by the spec
// file (not by the suite's webServer) so the big cluster runs only while these specs do. Low load
// rate: the machine has two cores.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request as playwrightRequest, type APIRequestContext } from '@playwright/test';
import { freePort } from '../../support/node-cluster.ts';

export const FLEET_NODES = 5;
export const FLEET_PARTITIONS = 1024;
const FLEET_RATE_PER_SEC = 20;
const FLEET_TOKEN = 'e2e-fleet-operator-token';
/** Elections of 1 024 partitions on a busy 2-core machine can take minutes. */
const START_TIMEOUT_MS = 420_000;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface FleetApp {
  baseUrl: string;
  token: string;
  api: APIRequestContext;
  stop(): Promise<void>;
}

/** E2E_FLEET_URL (+ E2E_FLEET_TOKEN) reuses a running 1 024-partition app, for working on the specs. */
export async function startFleetApp(): Promise<FleetApp> {
  const reuse = process.env['E2E_FLEET_URL'];
  if (reuse !== undefined) {
    const api = await playwrightRequest.newContext({ baseURL: reuse });
    return { baseUrl: reuse, token: process.env['E2E_FLEET_TOKEN'] ?? FLEET_TOKEN, api, stop: () => api.dispose() };
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-e2e-fleet-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'apps/server/src/cli.ts'), 'up', '--port', String(port), '--data-dir', dataDir,
      '--nodes', String(FLEET_NODES), '--partitions', String(FLEET_PARTITIONS), '--rate', String(FLEET_RATE_PER_SEC)],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOGSCOPE_OPERATOR_TOKEN: FLEET_TOKEN } },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`the 1 024-partition app did not become healthy within ${START_TIMEOUT_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const api = await playwrightRequest.newContext({ baseURL: baseUrl });
  return {
    baseUrl,
    token: FLEET_TOKEN,
    api,
    stop: async () => {
      await api.dispose();
      await stop();
    },
  };
}

export interface GridPartition {
  partition: number;
  leader: number;
  term: number;
  replicas: { node: number; state: string }[];
  underReplicated: boolean;
  recentlyElected: boolean;
}
