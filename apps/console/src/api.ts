// The typed tRPC client and the small query hooks pages use. The router's type is the contract:
// nothing about the server's shapes is written twice here.
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { keepPreviousData, useQuery, type UseQueryResult } from '@tanstack/react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@logscope/server/router';
import { resolveRange, type FixedRange, type RangeSpec } from './url-state.ts';

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

const TOKEN_KEY = 'logscope.operatorToken';

export function getOperatorToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setOperatorToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export const trpc = createTRPCClient<AppRouter>({
  links: [
    httpBatchLink({
      url: '/trpc',
      headers() {
        const token = getOperatorToken();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
    }),
  ],
});

/** Live views poll every second; a paused (fixed) range never changes, so it never refetches. */
export const LIVE_POLL_MS = 1_000;

/** Query keys, built only here: [concern, params]. A live range is keyed by its window, not by "now". */
export const keys = {
  all: ['logscope'] as const,
  range: (r: RangeSpec) => (r.fixed ? { fromMs: r.fixed.fromMs, toMs: r.fixed.toMs } : { windowMs: r.windowMs }),
  overview: (r: RangeSpec) => ['logscope', 'overview', keys.range(r)] as const,
  latency: (r: RangeSpec, f: object) => ['logscope', 'latency', keys.range(r), f] as const,
  replication: (r: RangeSpec, f: object) => ['logscope', 'replication', keys.range(r), f] as const,
  partitions: (r: RangeSpec) => ['logscope', 'partitions', keys.range(r)] as const,
  partition: (id: number, r: RangeSpec) => ['logscope', 'partition', id, keys.range(r)] as const,
  traces: (r: RangeSpec, f: object) => ['logscope', 'traces', keys.range(r), f] as const,
  trace: (id: string) => ['logscope', 'trace', id] as const,
  audit: (page: number) => ['logscope', 'audit', page] as const,
};

/** A query over a time range: resolved at fetch time, polled while live, previous data kept while refetching. */
export function useRangeQuery<T>(
  key: readonly unknown[],
  range: RangeSpec,
  fetch: (r: FixedRange, signal: AbortSignal) => Promise<T>,
  enabled = true,
): UseQueryResult<T> {
  return useQuery({
    queryKey: key,
    queryFn: ({ signal }) => fetch(resolveRange(range, Date.now()), signal),
    refetchInterval: range.fixed ? false : LIVE_POLL_MS,
    placeholderData: keepPreviousData,
    enabled,
  });
}

// ---- hooks: one per panel concern; each adapts the router's output into a view model (model.ts) ----

import type {
  AuditPageModel,
  LatencyModel,
  OverviewModel,
  PartitionDetailModel,
  PartitionMapModel,
  ReplicationModel,
  SpectrumModel,
  TraceDetailModel,
  TraceSummary,
} from './model.ts';
import type { LatencyMetric } from './url-state.ts';

export interface TopologyFilter {
  node: number | null;
  partition: number | null;
}
export interface LatencyFilter extends TopologyFilter {
  metric: LatencyMetric;
}

function notServed(proc: string): Promise<never> {
  return Promise.reject(new Error(`${proc} is not served by this server version yet`));
}

export function useOverview(range: RangeSpec): UseQueryResult<OverviewModel> {
  return useRangeQuery(keys.overview(range), range, () => notServed('cluster.overview'));
}

export function useScrapeStatus(live: boolean): { lastScrapeMs: number | null; failing: boolean } {
  // Shares the Overview's cache entry: one request per second feeds both the banner and the page.
  const q = useOverview({ windowMs: 60_000, fixed: null });
  void live;
  return { lastScrapeMs: q.data?.lastScrapeMs ?? null, failing: q.isError && q.failureCount > 1 };
}

export function usePartitionMap(range: RangeSpec): UseQueryResult<PartitionMapModel> {
  return useRangeQuery(keys.partitions(range), range, () => notServed('partitions.map'));
}

export function useNodesAndPartitions(range: RangeSpec): { data: { nodes: number[]; partitions: number[] } | undefined } {
  const q = usePartitionMap(range);
  const m = q.data;
  return { data: m && { nodes: m.nodes.map((n) => n.id), partitions: m.partitions.map((p) => p.id) } };
}

export function usePartitionDetail(id: number, range: RangeSpec): UseQueryResult<PartitionDetailModel> {
  return useRangeQuery(keys.partition(id, range), range, () => notServed('partitions.detail'));
}

export function useLatency(range: RangeSpec, f: LatencyFilter): UseQueryResult<LatencyModel> {
  return useRangeQuery(keys.latency(range, f), range, () => notServed('latency.view'));
}

export function useSpectrum(range: RangeSpec | null, f: LatencyFilter): UseQueryResult<SpectrumModel> {
  const r = range ?? { windowMs: 60_000, fixed: null };
  return useRangeQuery(['logscope', 'spectrum', keys.range(r), f], r, () => notServed('latency.spectrum'), range !== null);
}

export function useReplication(range: RangeSpec, f: TopologyFilter): UseQueryResult<ReplicationModel> {
  return useRangeQuery(keys.replication(range, f), range, () => notServed('replication.lag'));
}

export function useSlowTraces(range: RangeSpec, f: TopologyFilter): UseQueryResult<TraceSummary[]> {
  return useRangeQuery(keys.traces(range, f), range, () => notServed('traces.slowest'));
}

export function useTrace(id: string): UseQueryResult<TraceDetailModel | null> {
  return useQuery({ queryKey: keys.trace(id), queryFn: () => notServed('traces.get') });
}

export function useAudit(page: number): UseQueryResult<AuditPageModel> {
  return useQuery({ queryKey: keys.audit(page), queryFn: () => notServed('audit.list'), placeholderData: keepPreviousData });
}
