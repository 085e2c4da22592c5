// "Which node?": per-node latency (worst first) and a node table like a brokers page — leaders
// led, append / fsync / replication-RTT p99, its event loop's longest stall, disk used, the worst
// lag of its replicas — with a leader-skew figure (one node leading nothing while another leads
// half is a finding).

import { summary } from '@logscope/telemetry';
import { z } from 'zod';
import type { LatencyMetric } from '../store/histograms.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { knownNodeIds, rangeSchema, resolveRange } from './common.ts';
import { RESOLUTION_MS_MIN, SERIES_POINTS_MAX } from './latency.ts';

const metricSchema = z.enum(['append', 'fsync', 'replication-rtt']);
const toStoreMetric = (m: z.infer<typeof metricSchema>): LatencyMetric => (m === 'replication-rtt' ? 'replication_rtt' : m);

/** Leaders spread this unevenly (max − min leaders per node, above the ideal's rounding) raise a skew warning. */
export const LEADER_SKEW_WARN = 2;

export const nodesRouter = router({
  /** One row per node, worst first by the chosen metric's p99 over the range. */
  table: viewerProcedure.input(z.object({ range: rangeSchema, metric: metricSchema.default('append') })).query(({ ctx, input }) => {
    const { histograms, view, scraper } = ctx.services;
    const range = resolveRange(input.range);
    const partitions = view.partitions();
    const health = ctx.services.cluster?.health() ?? [];
    const statuses = scraper.statuses();
    /** One figure (ms) of a node's merged windows over the range; null when it has none. */
    const ms = (node: number, metric: LatencyMetric, pick: 'p99Micros' | 'maxMicros'): number | null => {
      const s = summary(histograms.merge({ metric, node }, range.fromMs, range.toMs).histogram);
      return s.count === 0 ? null : s[pick] / 1000;
    };
    const p99 = (node: number, metric: LatencyMetric): number | null => ms(node, metric, 'p99Micros');
    const rows = knownNodeIds(ctx.services).map((node) => {
      const h = health.find((x) => x.node === node);
      const status = statuses.find((s) => s.nodeId === node);
      const snap = scraper.snapshots().find((s) => s.nodeId === node);
      const lags = partitions.flatMap((p) => p.replicaLag.filter((r) => r.replica === node && !r.isLeader).map((r) => r.lagSeconds));
      const known = lags.filter((l): l is number => l !== null && Number.isFinite(l));
      return {
        node,
        up: h !== undefined ? h.up : (status?.up ?? false),
        leadersLed: partitions.filter((p) => p.leader === node).length,
        replicas: partitions.filter((p) => p.replicas.includes(node)).length,
        appendP99Ms: p99(node, 'append'),
        fsyncP99Ms: p99(node, 'fsync'),
        rttP99Ms: p99(node, 'replication_rtt'),
        /**
         * The longest its event loop was held over the range (a long task, a collection, a blocking
         * call, no CPU for it): a write that stalled at every step together is the node's own when
         * this is high, the disk's when fsync p99 is. Null when the node does not report it.
         */
        loopStallMaxMs: ms(node, 'event_loop_delay', 'maxMicros'),
        diskUsedBytes: snap?.snapshot.diskUsedBytes ?? null,
        /** Memory of its per-entry log index: what grows with the entries it keeps (null: not reported). */
        indexBytes: snap !== undefined && snap.snapshot.journalIndexBytes >= 0 ? snap.snapshot.journalIndexBytes : null,
        /**
         * Feeding followers that catch up (and consumers reading history): bytes a second its reads
         * take from segments, how often its read budget holds them back, and entry bytes in flight
         * to followers. Null when the node does not report them.
         */
        catchUp: snap !== undefined && snap.snapshot.segmentReadBytesTotal >= 0
          ? { segmentReadBytesPerSec: snap.segmentReadBytesPerSec, throttledPerSec: snap.readsThrottledPerSec, inflightBytes: Math.max(0, snap.snapshot.replicationInflightBytes) }
          : null,
        /**
         * Its scrub, reading its whole log back to find rot nothing reads: record bytes a second it
         * checks now, and passes over the whole log since the node started. Null when not reported.
         */
        scrub: snap !== undefined && snap.snapshot.scrubBytesTotal >= 0
          ? { bytesPerSec: snap.scrubBytesPerSec, passes: Math.max(0, snap.snapshot.scrubPassesTotal) }
          : null,
        /**
         * What retention did on it: segment bytes it deleted, and snapshots it sent to replicas
         * behind its log start (totals since its counters began). Null when not reported.
         */
        retention: snap !== undefined && snap.snapshot.retentionDeletedBytesTotal >= 0
          ? { deletedBytes: snap.snapshot.retentionDeletedBytesTotal, snapshotsSent: Math.max(0, snap.snapshot.snapshotsSentTotal) }
          : null,
        /** Worst lag of this node's follower replicas; null when unknown (no leader has heard from it). */
        maxLagSeconds: known.length === 0 ? (lags.length > 0 ? null : 0) : Math.max(...known),
        fsyncDelayMs: h?.fsyncDelayMs ?? 0,
        /** Drained: it leads nothing while another replica can (faults: drain). */
        drained: ctx.services.balancer?.isDrained(node) ?? false,
        /** Its replicas let the others win elections first (a drained node; the console says it again after the node restarts). */
        campaignsDeferred: h?.campaignsDeferred ?? false,
      };
    });
    const key = input.metric === 'fsync' ? 'fsyncP99Ms' : input.metric === 'replication-rtt' ? 'rttP99Ms' : 'appendP99Ms';
    rows.sort((a, b) => (b[key] ?? -1) - (a[key] ?? -1) || a.node - b.node);
    const up = rows.filter((r) => r.up);
    const led = up.map((r) => r.leadersLed);
    const spread = led.length === 0 ? 0 : Math.max(...led) - Math.min(...led);
    const most = up.reduce<(typeof rows)[number] | null>((m, r) => (m === null || r.leadersLed > m.leadersLed ? r : m), null);
    const least = up.reduce<(typeof rows)[number] | null>((m, r) => (m === null || r.leadersLed < m.leadersLed ? r : m), null);
    const skew = spread >= LEADER_SKEW_WARN && most !== null && least !== null
      ? `leadership is skewed: node ${least.node} leads ${least.leadersLed}, node ${most.node} leads ${most.leadersLed} of ${partitions.length}`
      : null;
    // Automatic leadership placement: returns waiting to settle, the last move, what holds them (null: no cluster to act on).
    return { range, metric: input.metric, rows, skew, leadership: ctx.services.balancer?.status() ?? null };
  }),
  /**
   * Acknowledged records per second over time (bucket mean of the per-scrape rate): the one
   * throughput unit of the console. A mean of the samples a bucket has so far, so the newest,
   * still-filling bucket is not drawn as a drop.
   */
  throughput: viewerProcedure
    .input(z.object({ range: rangeSchema, resolutionMs: z.number().int().min(RESOLUTION_MS_MIN).max(3_600_000).default(10_000) }))
    .query(({ ctx, input }) => {
      const range = resolveRange(input.range);
      const resolutionMs = Math.max(input.resolutionMs, Math.ceil((range.toMs - range.fromMs) / SERIES_POINTS_MAX / 1000) * 1000);
      const buckets = new Map<number, { sum: number; n: number }>();
      for (const pt of ctx.services.series.range('cluster:appends_per_s', range.fromMs, range.toMs)) {
        const t = Math.floor(pt.tMs / resolutionMs) * resolutionMs;
        const b = buckets.get(t) ?? { sum: 0, n: 0 };
        b.sum += pt.value;
        b.n++;
        buckets.set(t, b);
      }
      const points = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([tMs, b]) => ({ tMs, recordsPerSec: b.sum / b.n }));
      return { range, resolutionMs, points };
    }),
  /** p99 per node per time bucket for one metric; nodes ordered worst first over the range. */
  series: viewerProcedure
    .input(z.object({ range: rangeSchema, metric: metricSchema.default('append'), resolutionMs: z.number().int().min(RESOLUTION_MS_MIN).max(3_600_000).default(10_000) }))
    .query(({ ctx, input }) => {
      const { histograms } = ctx.services;
      const range = resolveRange(input.range);
      const resolutionMs = Math.max(input.resolutionMs, Math.ceil((range.toMs - range.fromMs) / SERIES_POINTS_MAX / 1000) * 1000);
      const from = Math.floor(range.fromMs / resolutionMs) * resolutionMs;
      const metric = toStoreMetric(input.metric);
      const nodes = knownNodeIds(ctx.services).map((node) => {
        const overall = summary(histograms.merge({ metric, node }, range.fromMs, range.toMs).histogram);
        const points = histograms
          .bucketSummaries({ metric, node }, from, range.toMs, resolutionMs)
          .filter((b) => b.summary.count > 0)
          .map((b) => ({ tMs: b.tMs, p99Ms: b.summary.p99Micros / 1000 }));
        return { node, p99Ms: overall.count === 0 ? null : overall.p99Micros / 1000, points };
      });
      nodes.sort((a, b) => (b.p99Ms ?? -1) - (a.p99Ms ?? -1) || a.node - b.node);
      return { range, metric: input.metric, resolutionMs, nodes };
    }),
});
