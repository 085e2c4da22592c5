// The app router: one router per concern. The SPA imports only `type AppRouter`.

import { createCallerFactory, router } from '../trpc.ts';
import { annotationsRouter } from './annotations.ts';
import { auditRouter } from './audit.ts';
import { clusterRouter } from './cluster.ts';
import { drillsRouter } from './drills.ts';
import { faultsRouter } from './faults.ts';
import { historyRouter } from './history.ts';
import { latencyRouter } from './latency.ts';
import { loadRouter } from './load.ts';
import { nodesRouter } from './nodes.ts';
import { partitionsRouter } from './partitions.ts';
import { replicationRouter } from './replication.ts';
import { streamRouter } from './stream.ts';
import { tracesRouter } from './traces.ts';

export const appRouter = router({
  cluster: clusterRouter,
  partitions: partitionsRouter,
  latency: latencyRouter,
  replication: replicationRouter,
  traces: tracesRouter,
  faults: faultsRouter,
  load: loadRouter,
  audit: auditRouter,
  drills: drillsRouter,
  history: historyRouter,
  annotations: annotationsRouter,
  stream: streamRouter,
  nodes: nodesRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
