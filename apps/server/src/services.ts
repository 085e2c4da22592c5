// Everything the routers read or act on, built once by createApp.

import type { Fault, FaultSurface, NodeHealth } from '../../../packages/log-cluster/src/faults.ts';
import type { AutoRestartEvent } from '../../../packages/log-cluster/src/auto-restart.ts';
import type { AuditTrail } from './auth.ts';
import type { LeaderBalancer } from './faults/leader-balancer.ts';
import type { LoadGenerator } from './load/generator.ts';
import type { Scraper } from './scrape/scraper.ts';
import type { ClusterView } from './scrape/view.ts';
import type { HistogramStore } from './store/histograms.ts';
import type { PrometheusHistory } from './store/prometheus-history.ts';
import type { SeriesStore } from './store/series.ts';
import type { TraceStore } from './store/traces.ts';

export type { Fault, NodeHealth };

/** What the server uses of an EmbeddedCluster (kept narrow so tests and attach mode need less). */export interface ClusterHandle extends FaultSurface {
  readonly partitionCount: number;
  /** Nodes that stopped on a disk error and whether each restarted by itself (none on a cluster that cannot say). */
  autoRestarts?(): readonly AutoRestartEvent[];
  leaderOf(partition: number): number;
  replicasOf(partition: number): number[];
}

export const DEFAULT_SLO_P99_MS = 50;

export interface Services {
  scraper: Scraper;
  view: ClusterView;
  series: SeriesStore;
  histograms: HistogramStore;
  traces: TraceStore;
  audit: AuditTrail;
  /** null when only watching (`--attach` without a cluster secret): faults and load need a cluster to act on. */
  cluster: ClusterHandle | null;
  /** Leadership placement: drains, and leaderships handed back to returned nodes (null without a cluster). */
  balancer: LeaderBalancer | null;
  load: LoadGenerator | null;
  operatorToken: string;
  sloP99Ms: number;
  /** History older than the ring buffers (`--prometheus`); null when not configured. */
  prometheus: PrometheusHistory | null;
  /** Called after every scrape tick (live subscriptions listen here). */
  tickListeners: Set<(tMs: number) => void>;
}
