// The typed tRPC client and the small query hooks pages use. The router's type is the contract:
// nothing about the server's shapes is written twice here.
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { keepPreviousData, useQuery, useQueryClient, type QueryClient, type UseQueryResult } from '@tanstack/react-query';
import { useEffect, useSyncExternalStore } from 'react';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@logscope/server/router';
import type { FixedRange, RangeSpec, ViewState } from './url-state.ts';

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

const headers = (): Record<string, string> => {
  const token = getOperatorToken();
  return token ? { authorization: `Bearer ${token}` } : {};
};

/**
 * Unbatched by default, so a fast figure (cluster.overview) never waits behind a slow range query
 * in the same HTTP response; callers that fan out (the heatmap's columns) ask for a batch.
 */
export const trpc = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      // Live data arrives over SSE (EventSource); viewers need no token for it.
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({ url: '/trpc' }),
      false: splitLink({
        condition: (op) => op.context['batch'] === true,
        true: httpBatchLink({ url: '/trpc', headers, maxURLLength: 6_000 }),
        // A call may carry the token to check in its context (the token field asks before storing it).
        false: httpLink({
          url: '/trpc',
          headers: ({ op }) => {
            const token = op.context['token'];
            return typeof token === 'string' ? (token ? { authorization: `Bearer ${token}` } : {}) : headers();
          },
        }),
      }),
    }),
  ],
});

/** Live views refresh on each event of the live stream (one per scrape, every second by default). */
export const LIVE_POLL_MS = 1_000;
/**
 * A paused range that ends this recently may still gain data (the last HDR windows and the 10 s
 * trace windows arrive with later scrapes), so it keeps polling until it is settled, then stops.
 */
export const SETTLE_MS = 15_000;

export function pollIntervalFor(range: RangeSpec, nowMs = Date.now()): number | false {
  if (range.fixed === null) return LIVE_POLL_MS;
  return nowMs - range.fixed.toMs < SETTLE_MS ? LIVE_POLL_MS : false;
}

// ---- the live stream: one SSE subscription drives every live view ----

const LIVE_OVERVIEW: RangeSpec = { windowMs: 0, fixed: null };

/** No event for this long: the stream is silent (stale banner) and is reopened. */
export const STREAM_SILENT_MS = 4_000;
/** Reopening backs off up to this. */
export const STREAM_RETRY_MS_MAX = 10_000;

interface LiveState {
  connected: boolean;
  failing: boolean;
  /** The server's newest successful scrape (server clock). */
  lastScrapeMs: number | null;
  /** When the last event arrived (browser clock). */
  lastEventAtMs: number | null;
  reconnects: number;
}

let liveState: LiveState = { connected: false, failing: false, lastScrapeMs: null, lastEventAtMs: null, reconnects: 0 };
const liveListeners = new Set<() => void>();
const setLive = (patch: Partial<LiveState>): void => {
  liveState = { ...liveState, ...patch };
  for (const l of liveListeners) l();
};
function subscribeLive(listener: () => void): () => void {
  liveListeners.add(listener);
  return () => liveListeners.delete(listener);
}
const getLive = (): LiveState => liveState;

type LiveEvery = () => number | false;
/** Marks a query as live: refetched on stream events once its data is `every()` ms old. */
function liveMeta(every: LiveEvery): { liveEveryMs: LiveEvery } {
  return { liveEveryMs: every };
}

/** Refetches every active live query whose data is due (a little early, so a 1 s view follows each tick). */
function refetchDue(client: QueryClient, nowMs = Date.now()): void {
  void client.refetchQueries(
    {
      type: 'active',
      predicate: (q) => {
        const every = (q.meta?.['liveEveryMs'] as LiveEvery | undefined)?.();
        if (every === undefined || every === false) return false;
        return q.state.fetchStatus === 'idle' && nowMs - q.state.dataUpdatedAt >= every - 250;
      },
    },
    { cancelRefetch: false },
  );
}

/**
 * Opens the live stream (stream.live over SSE) for the app's lifetime: sets the overview from each
 * event and refreshes due live views. A silent or broken stream is reopened with back-off; while
 * it is down the views fall back to refreshing on a 1 s timer so figures keep coming.
 */
export function useLiveStream(): void {
  const client = useQueryClient();
  useEffect(() => {
    let sub: { unsubscribe(): void } | null = null;
    let retryMs = 1_000;
    let openedAtMs = Date.now();
    const open = (): void => {
      sub?.unsubscribe();
      openedAtMs = Date.now();
      sub = trpc.stream.live.subscribe(undefined, {
        onData: (e) => {
          retryMs = 1_000;
          setLive({ connected: true, failing: false, lastScrapeMs: e.lastScrapeMs, lastEventAtMs: Date.now() });
          client.setQueryData(keys.overview(LIVE_OVERVIEW), adaptOverview(e.overview));
          refetchDue(client);
        },
        onConnectionStateChange: (st) => {
          if (st.state === 'pending') setLive({ connected: true });
          else if (st.state === 'connecting' && st.error) setLive({ connected: false });
        },
        onError: () => setLive({ connected: false }),
      });
    };
    open();
    const watchdog = setInterval(() => {
      const now = Date.now();
      const since = liveState.lastEventAtMs ?? openedAtMs;
      if (now - since < STREAM_SILENT_MS) return;
      // Silent: a broken connection is "cannot reach the server"; a connected but silent stream
      // means scraping stopped (the banner then reads the last scrape's age). Keep the views
      // fresh by timer and reopen the stream after a back-off.
      setLive({ failing: !liveState.connected });
      refetchDue(client, now);
      if (now - openedAtMs >= retryMs) {
        retryMs = Math.min(STREAM_RETRY_MS_MAX, retryMs * 2);
        setLive({ reconnects: liveState.reconnects + 1 });
        open();
      }
    }, LIVE_POLL_MS);
    return () => {
      clearInterval(watchdog);
      sub?.unsubscribe();
    };
  }, [client]);
}

/** Query keys, built only here: [concern, params]. A live range is keyed by its window, not by "now". */
export const keys = {
  all: ['logscope'] as const,
  range: (r: RangeSpec) => (r.fixed ? { fromMs: r.fixed.fromMs, toMs: r.fixed.toMs } : { windowMs: r.windowMs }),
  /** The live overview is one key the stream writes; a paused one is fetched once for its range and frozen. */
  overview: (r: RangeSpec) => ['logscope', 'overview', r.fixed ? keys.range(r) : 'live'] as const,
  latency: (kind: 'histogram' | 'series' | 'heatmap', r: RangeSpec, f: object) => ['logscope', 'latency', kind, keys.range(r), f] as const,
  partitions: () => ['logscope', 'partitions'] as const,
  partition: (id: number) => ['logscope', 'partition', id] as const,
  traces: (r: RangeSpec, f: object) => ['logscope', 'traces', keys.range(r), f] as const,
  trace: (id: string) => ['logscope', 'trace', id] as const,
  audit: (before: number) => ['logscope', 'audit', before] as const,
};

/** The router's range input: a live window is resolved by the server's clock ("last N ms"), a paused one is fixed. */
export type RangeInput = { lastMs: number } | FixedRange;

export function rangeInput(r: RangeSpec): RangeInput {
  return r.fixed ? { fromMs: r.fixed.fromMs, toMs: r.fixed.toMs } : { lastMs: r.windowMs };
}

/** A query over a time range: polled every second while live, previous data kept while refetching. */
export function useRangeQuery<T>(
  key: readonly unknown[],
  range: RangeSpec,
  fetch: (r: RangeInput, signal: AbortSignal) => Promise<T>,
  enabled = true,
): UseQueryResult<T> {
  return useQuery({
    queryKey: key,
    queryFn: ({ signal }) => fetch(rangeInput(range), signal),
    meta: liveMeta(() => pollIntervalFor(range)),
    placeholderData: keepPreviousData,
    enabled,
  });
}

// ---- hooks: one per panel concern; each adapts the router's output into a view model (model.ts) ----

import {
  adaptAnnotations,
  adaptEpochs,
  adaptReplicationSummary,
  type Annotation,
  type EpochModel,
  type ReplicationSummaryModel,
  adaptAudit,
  adaptHeatmap,
  adaptOverview,
  adaptPartitionDetail,
  adaptPartitionMap,
  adaptSeries,
  adaptSpectrum,
  adaptTrace,
  adaptTraceSummaries,
  heatmapColumns,
  type AuditPageModel,
  type HeatmapModel,
  type LatencySeriesModel,
  type OverviewModel,
  type PartitionDetailModel,
  type PartitionMapModel,
  type SpectrumModel,
  type TraceDetailModel,
  type TraceSummary,
} from './model.ts';
import type { LatencyMetric } from './url-state.ts';

export interface TopologyFilter {
  node: number | null;
  partition: number | null;
}
export interface LatencyFilter extends TopologyFilter {
  metric: LatencyMetric;
}

const opt = <T,>(v: T | null): T | undefined => (v === null ? undefined : v);

function latencyInput(range: RangeInput, f: LatencyFilter): RouterInputs['latency']['histogram'] {
  return { range, metric: f.metric, node: opt(f.node), partition: opt(f.partition) };
}

/**
 * A query of the cluster's current state (no range input: the server keeps no history of it).
 * Polled while live; frozen at its last value while paused.
 */
function useCurrentQuery<T>(key: readonly unknown[], range: RangeSpec, fetch: (signal: AbortSignal) => Promise<T>): UseQueryResult<T> {
  return useQuery({
    queryKey: key,
    queryFn: ({ signal }) => fetch(signal),
    meta: liveMeta(() => (range.fixed ? false : LIVE_POLL_MS)),
    placeholderData: keepPreviousData,
  });
}

export function useOverview(range: RangeSpec): UseQueryResult<OverviewModel> {
  return useCurrentQuery(keys.overview(range), range, async (signal) => adaptOverview(await trpc.cluster.overview.query(undefined, { signal })));
}

/**
 * The newest successful scrape over all targets, for the stale-data banner, from the live stream
 * (also while paused). Failing = the stream has been down longer than STREAM_SILENT_MS.
 */
export function useScrapeStatus(): { lastScrapeMs: number | null; failing: boolean; connected: boolean } {
  const s = useSyncExternalStore(subscribeLive, getLive, getLive);
  return { lastScrapeMs: s.lastScrapeMs, failing: s.failing, connected: s.connected };
}

function partitionMapQuery(atMs: number | null, p99: boolean) {
  return {
    queryKey: [...keys.partitions(), atMs, p99],
    queryFn: async ({ signal }: { signal: AbortSignal }) => adaptPartitionMap(await trpc.partitions.grid.query({ atMs: opt(atMs), p99 }, { signal })),
  };
}

/**
 * The partition map now, or at `atMs` (scrubbing: a past moment never changes, so it is not
 * refreshed). `p99` adds each partition's append p99 (costlier: asked only when sorting by it).
 */
export function usePartitionMap(range: RangeSpec, atMs: number | null = null, p99 = false): UseQueryResult<PartitionMapModel> {
  return useQuery({
    ...partitionMapQuery(atMs, p99),
    meta: liveMeta(() => (atMs !== null || range.fixed ? false : LIVE_POLL_MS)),
    placeholderData: keepPreviousData,
  });
}

function replicationSummaryQuery(range: RangeSpec, f: TopologyFilter, atMs: number | null) {
  return {
    queryKey: ['logscope', 'replication-summary', keys.range(range), f, atMs],
    queryFn: async ({ signal }: { signal: AbortSignal }) =>
      adaptReplicationSummary(
        await trpc.replication.summary.query({ range: rangeInput(range), atMs: opt(atMs), node: opt(f.node), partition: opt(f.partition) }, { signal }),
      ),
  };
}

/**
 * Starts the landing page's main query while its code still loads (the page's own hook then finds
 * it in flight): at 1 024 partitions the chain script → page chunk → render → query cost ~0.3 s.
 */
export function prefetchLandingPage(client: QueryClient, view: ViewState): void {
  if (view.page === 'partitions') void client.prefetchQuery(partitionMapQuery(view.at, false));
  if (view.page === 'replication') void client.prefetchQuery(replicationSummaryQuery(view.range, { node: view.node, partition: view.partition }, view.at));
}

/** Replication at fleet scale: lag heatmap, top laggards, under-replicated list and state counts (now or at `atMs`). */
export function useReplicationSummary(range: RangeSpec, f: TopologyFilter, atMs: number | null): UseQueryResult<ReplicationSummaryModel> {
  const q = replicationSummaryQuery(range, f, atMs);
  return useRangeQuery(q.queryKey, range, (_input, signal) => q.queryFn({ signal }));
}

/** Fault windows and drill steps overlapping the range, for every time chart. */
export function useAnnotations(range: RangeSpec): UseQueryResult<Annotation[]> {
  return useRangeQuery(['logscope', 'annotations', keys.range(range)], range, async (input, signal) =>
    adaptAnnotations(await trpc.annotations.list.query({ range: input }, { signal })),
  );
}

/** Which node led the partition, per term, over the range. */
export function usePartitionEpochs(id: number, range: RangeSpec): UseQueryResult<EpochModel> {
  return useRangeQuery(['logscope', 'epochs', id, keys.range(range)], range, async (input, signal) =>
    adaptEpochs(await trpc.partitions.epochs.query({ partition: id, range: input }, { signal })),
  );
}

export function useNodesAndPartitions(range: RangeSpec): { data: { nodes: number[]; partitions: number[] } | undefined } {
  const m = usePartitionMap(range).data;
  return { data: m && { nodes: m.nodes.map((n) => n.id), partitions: m.partitions.map((p) => p.id) } };
}

export function usePartitionDetail(id: number, range: RangeSpec): UseQueryResult<PartitionDetailModel> {
  return useCurrentQuery(keys.partition(id), range, async (signal) =>
    adaptPartitionDetail(await trpc.partitions.get.query({ partition: id }, { signal })),
  );
}

export function useSpectrum(range: RangeSpec | null, f: LatencyFilter): UseQueryResult<SpectrumModel> {
  const r = range ?? { windowMs: 60_000, fixed: null };
  return useRangeQuery(
    keys.latency('histogram', r, f),
    r,
    async (input, signal) => adaptSpectrum(await trpc.latency.histogram.query(latencyInput(input, f), { signal })),
    range !== null,
  );
}

export function useLatencySeries(range: RangeSpec, f: LatencyFilter): UseQueryResult<LatencySeriesModel> {
  const resolutionMs = seriesResolutionMs(range);
  return useQuery({
    queryKey: keys.latency('series', range, f),
    queryFn: async ({ signal }) =>
      adaptSeries(await trpc.latency.series.query({ ...latencyInput(rangeInput(range), f), resolutionMs }, { signal })),
    // A new point appears once per bucket: refreshing faster would only re-merge the same windows.
    meta: liveMeta(() => (pollIntervalFor(range) === false ? false : Math.max(LIVE_POLL_MS, resolutionMs))),
    placeholderData: keepPreviousData,
  });
}

/** About 60 points per chart, never finer than the 1 s scrape. */
export function seriesResolutionMs(range: RangeSpec): number {
  const spanMs = range.fixed ? range.fixed.toMs - range.fixed.fromMs : range.windowMs;
  return Math.max(1_000, Math.ceil(spanMs / 60 / 1_000) * 1_000);
}

/** One exact histogram per time column (batched into one HTTP request), spread over log buckets. */
export function useLatencyHeatmap(range: RangeSpec, f: LatencyFilter): UseQueryResult<HeatmapModel> {
  return useQuery({
    queryKey: keys.latency('heatmap', range, f),
    queryFn: async ({ signal }) => {
      const r = range.fixed ?? { fromMs: Date.now() - range.windowMs, toMs: Date.now() };
      const columns = heatmapColumns(r);
      const hists = await Promise.all(
        columns.map((c) => trpc.latency.histogram.query(latencyInput(c, f), { signal, context: { batch: true } })),
      );
      return adaptHeatmap(columns, hists);
    },
    // Columns are 10 s or wider: a 5 s refresh keeps up without re-merging every second.
    meta: liveMeta(() => (pollIntervalFor(range) === false ? false : 5 * LIVE_POLL_MS)),
    placeholderData: keepPreviousData,
  });
}

export const SLOWEST_TRACES = 20;

export function useSlowTraces(range: RangeSpec, f: TopologyFilter): UseQueryResult<TraceSummary[]> {
  return useRangeQuery(keys.traces(range, f), range, async (input, signal) =>
    adaptTraceSummaries(await trpc.traces.slowest.query({ range: input, partition: opt(f.partition), limit: SLOWEST_TRACES }, { signal })),
  );
}

export function useTrace(id: string): UseQueryResult<TraceDetailModel | null> {
  return useQuery({
    queryKey: keys.trace(id),
    queryFn: async ({ signal }) => adaptTrace(await trpc.traces.get.query({ traceId: id }, { signal })),
    staleTime: Infinity,
    retry: false,
  });
}

export const AUDIT_PAGE_SIZE = 25;

export function useAudit(before: number | null, live: boolean): UseQueryResult<AuditPageModel> {
  return useQuery({
    queryKey: keys.audit(before ?? 0),
    queryFn: async ({ signal }) =>
      adaptAudit(await trpc.audit.list.query({ before: opt(before), limit: AUDIT_PAGE_SIZE }, { signal })),
    // Only the newest page grows.
    meta: liveMeta(() => (live && before === null ? 2 * LIVE_POLL_MS : false)),
    placeholderData: keepPreviousData,
  });
}

// ---- drills ----

export type DrillRunView = NonNullable<RouterOutputs['drills']['run']>;
export type DrillListView = RouterOutputs['drills']['list'];

export const drillKeys = {
  list: () => ['logscope', 'drills', 'list'] as const,
  run: (id: string | null) => ['logscope', 'drills', 'run', id] as const,
};

/** Every drill with its last result, and the running drill; polled every second. */
export function useDrills(): UseQueryResult<DrillListView> {
  return useQuery({
    queryKey: drillKeys.list(),
    queryFn: ({ signal }) => trpc.drills.list.query(undefined, { signal }),
    meta: liveMeta(() => LIVE_POLL_MS),
  });
}

/** One run; polled twice a second while it runs, then frozen. */
export function useDrillRun(id: string | null): UseQueryResult<DrillRunView | null> {
  return useQuery({
    queryKey: drillKeys.run(id),
    queryFn: ({ signal }) => (id === null ? null : trpc.drills.run.query({ id }, { signal })),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data === undefined || q.state.data?.status === 'running' ? LIVE_POLL_MS / 2 : false),
  });
}

/** Operator actions on drills (the server audits each). */
export const drillActions = {
  start: (name: string, mode: 'guided' | 'unattended', force = false) => trpc.drills.start.mutate({ name, mode, force }),
  runStep: (index: number) => trpc.drills.runStep.mutate({ index }),
  abort: () => trpc.drills.abort.mutate(),
  report: (id: string, format: 'json' | 'markdown') => trpc.drills.report.query({ id, format }),
};

// ---- runbook faults, the activity banner and the node table (issue 15) ----

export type FaultActionInput = RouterInputs['faults']['inject']['action'];
export type OperatorFaultView = RouterOutputs['faults']['operatorFaults']['active'][number];
export type FaultPreviewView = RouterOutputs['faults']['preview'];
export type NodeTableView = RouterOutputs['nodes']['table'];
export type NodeSeriesView = RouterOutputs['nodes']['series'];
export type NodeMetric = NonNullable<RouterInputs['nodes']['table']['metric']>;

export const faultKeys = {
  operatorFaults: () => ['logscope', 'faults', 'operator'] as const,
  preview: (action: FaultActionInput | null) => ['logscope', 'faults', 'preview', action] as const,
  skew: () => ['logscope', 'faults', 'skew'] as const,
  nodes: (kind: 'table' | 'series', r: RangeSpec, metric: string) => ['logscope', 'nodes', kind, keys.range(r), metric] as const,
  whoami: (token: string) => ['logscope', 'whoami', token] as const,
};

/** Faults injected from the console (active and recently healed); polled every second. */
export function useOperatorFaults(): UseQueryResult<RouterOutputs['faults']['operatorFaults']> {
  return useQuery({ queryKey: faultKeys.operatorFaults(), queryFn: ({ signal }) => trpc.faults.operatorFaults.query(undefined, { signal }), refetchInterval: LIVE_POLL_MS });
}

/** The blast radius of an action from the current map; refreshed while the confirm step is open. */
export function useFaultPreview(action: FaultActionInput | null): UseQueryResult<FaultPreviewView> {
  return useQuery({
    queryKey: faultKeys.preview(action),
    queryFn: ({ signal }) => trpc.faults.preview.query({ action: action as FaultActionInput }, { signal }),
    enabled: action !== null,
    refetchInterval: LIVE_POLL_MS,
    retry: false,
  });
}

/** Operator actions on faults (each audited by the server). */
export const faultActions = {
  inject: (action: FaultActionInput, timeLimitMs: number, idempotencyKey: string, force: boolean) => trpc.faults.inject.mutate({ action, timeLimitMs, idempotencyKey, force }),
  heal: (id: string) => trpc.faults.heal.mutate({ id }),
  healAll: () => trpc.faults.healAll.mutate(),
  preferredLeaders: () => trpc.faults.preferredLeaders.mutate(),
};

/** The running drill (any page shows a banner for it). */
export function useCurrentDrill(): UseQueryResult<RouterOutputs['drills']['current']> {
  return useQuery({ queryKey: ['logscope', 'drills', 'current'], queryFn: ({ signal }) => trpc.drills.current.query(undefined, { signal }), refetchInterval: LIVE_POLL_MS });
}

export function useNodeTable(range: RangeSpec, metric: NodeMetric): UseQueryResult<NodeTableView> {
  return useRangeQuery(faultKeys.nodes('table', range, metric), range, (input, signal) => trpc.nodes.table.query({ range: input, metric }, { signal }));
}

export function useNodeSeries(range: RangeSpec, metric: NodeMetric): UseQueryResult<NodeSeriesView> {
  return useRangeQuery(faultKeys.nodes('series', range, metric), range, (input, signal) =>
    trpc.nodes.series.query({ range: input, metric, resolutionMs: seriesResolutionMs(range) }, { signal }),
  );
}

/** Who the entered token makes us: checked by the server as soon as it is entered. */
export function useWhoAmI(token: string): UseQueryResult<RouterOutputs['audit']['whoami']> {
  return useQuery({ queryKey: faultKeys.whoami(token), queryFn: ({ signal }) => trpc.audit.whoami.query(undefined, { signal, context: { token } }), staleTime: 30_000, retry: false });
}

export interface AuditFilter {
  action: string | null;
  outcome: 'ok' | 'refused' | 'error' | null;
  fromMs: number | null;
  toMs: number | null;
}

/** The audit trail filtered by action, outcome and time (the server scans newest first). */
export function useAuditFiltered(before: number | null, f: AuditFilter): UseQueryResult<AuditPageModel> {
  return useQuery({
    queryKey: [...keys.audit(before ?? 0), f],
    queryFn: async ({ signal }) =>
      adaptAudit(await trpc.audit.list.query({ before: opt(before), limit: AUDIT_PAGE_SIZE, action: opt(f.action), outcome: opt(f.outcome), fromMs: opt(f.fromMs), toMs: opt(f.toMs) }, { signal })),
    refetchInterval: before === null && f.toMs === null ? 2 * LIVE_POLL_MS : false,
    placeholderData: keepPreviousData,
  });
}

export type StallEventView = RouterOutputs['traces']['stalls'][number];

/** Overlapping slow writes grouped into stall events (with the node they stalled on). */
export function useStalls(range: RangeSpec): UseQueryResult<StallEventView[]> {
  return useRangeQuery(['logscope', 'stalls', keys.range(range)], range, (input, signal) => trpc.traces.stalls.query({ range: input }, { signal }));
}

/**
 * A tRPC error as a sentence: zod's validation errors arrive as a JSON array of issues in the
 * message; show their messages, not the JSON.
 */
export function friendlyError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (!message.startsWith('[')) return message;
  try {
    const issues = JSON.parse(message) as { message?: string; path?: (string | number)[] }[];
    const parts = issues.map((i) => `${i.path !== undefined && i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message ?? 'invalid'}`);
    return parts.length > 0 ? parts.join('; ') : message;
  } catch {
    return message;
  }
}

/** Acknowledged records per second over the range (the console's one throughput unit). */
export function useThroughput(range: RangeSpec): UseQueryResult<RouterOutputs['nodes']['throughput']> {
  return useRangeQuery(['logscope', 'throughput', keys.range(range)], range, (input, signal) =>
    trpc.nodes.throughput.query({ range: input, resolutionMs: seriesResolutionMs(range) }, { signal }),
  );
}
