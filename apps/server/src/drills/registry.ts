// One drill engine per server (per cluster), reachable from the routers through Services.

import { TRPCError } from '@trpc/server';
import type { Services } from '../services.ts';
import { DrillEngine, DrillError, isDrillCluster, type DrillEngineOptions, type DrillLoad } from './engine.ts';

const engines = new WeakMap<Services, DrillEngine>();

/** Creates the engine when the server runs the embedded cluster (attach mode has no fault surface). */
export function attachDrillEngine(
  services: Services, cluster: unknown, load: DrillLoad | null, dataDir: string,
  options: Pick<DrillEngineOptions, 'idleAbortMs' | 'sloP99Ms'> = {},
): DrillEngine | null {
  if (!isDrillCluster(cluster)) return null;
  const engine = new DrillEngine({ cluster, load, dataDir, balancer: services.balancer, ...options });
  engines.set(services, engine);
  return engine;
}

export function drillEngineOf(services: Services): DrillEngine | null {
  return engines.get(services) ?? null;
}

export function requireDrillEngine(services: Services): DrillEngine {
  const engine = engines.get(services);
  if (engine === undefined) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'drills need a cluster to act on (this server only watches: --attach without --cluster-secret-file)' });
  return engine;
}

/** Engine refusals become tRPC errors with the engine's message. */
export async function drillCall<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof DrillError) throw new TRPCError({ code: error.code, message: error.message });
    throw error;
  }
}
