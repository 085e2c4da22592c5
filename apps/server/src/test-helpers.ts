// Test helpers: a real embedded cluster with the app on a free port, and callers by role.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedCluster } from '../../../packages/log-cluster/src/cluster.ts';
import { createApp, type App } from './app.ts';
import { createContext } from './context.ts';
import { createCaller } from './routers/index.ts';

export interface Harness {
  cluster: EmbeddedCluster;
  app: App;
  dataDir: string;
  caller(headers?: Record<string, string>): ReturnType<typeof createCaller>;
  operator(): ReturnType<typeof createCaller>;
  close(): Promise<void>;
}

/**
 * `rebalanceSettleMs` defaults to 0 here (returned nodes get no leadership back by themselves):
 * tests that crash and restart nodes for other reasons must not see leadership move seconds later,
 * in the middle of a later test. The balancer's own tests turn it on.
 */
export async function startHarness(options: { nodeCount?: number; partitionCount?: number; ratePerSec?: number; load?: boolean; dataDir?: string; rebalanceSettleMs?: number } = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'logscope-server-'));
  const cluster = await EmbeddedCluster.start({ dataDir: join(dataDir, 'cluster'), nodeCount: options.nodeCount ?? 3, partitionCount: options.partitionCount ?? 6, replicationFactor: 3 });
  await cluster.waitForLeaders(10_000);
  const app = await createApp({
    cluster,
    dataDir,
    operatorToken: 'test-operator-token',
    port: 0,
    staticDir: null,
    scrapeIntervalMs: 250,
    rebalanceSettleMs: options.rebalanceSettleMs ?? 0,
    load: { enabled: options.load ?? true, ratePerSec: options.ratePerSec ?? 100, recordBytes: 64 },
  });
  const ownOrigins = new Set([app.url]);
  const caller = (headers: Record<string, string> = {}) => createCaller(createContext(app.services, { headers, ownOrigins }));
  return {
    cluster,
    app,
    dataDir,
    caller,
    operator: () => caller({ authorization: `Bearer ${app.operatorToken}` }),
    async close() {
      await app.close();
      await cluster.stop();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until check returns a value (not undefined), bounded. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 8_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
