import { percentileSpectrum, summary } from '@logscope/telemetry';
import { z } from 'zod';
import type { LatencyMetric } from '../store/histograms.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { ticks } from './live.ts';
import { assertNode, assertPartition, nodeIdSchema, partitionSchema, rangeSchema, resolveRange } from './common.ts';

/** Points a series query returns at most; the resolution is raised to fit. */
export const SERIES_POINTS_MAX = 360;
export const RESOLUTION_MS_MIN = 1_000;

/** 'client' is the load generator's own open-loop latency (node 0). */
const metricSchema = z.enum(['append', 'fsync', 'replication-rtt', 'client']);
const toStoreMetric = (m: z.infer<typeof metricSchema>): LatencyMetric => (m === 'replication-rtt' ? 'replication_rtt' : m);

const filterSchema = z.object({
  range: rangeSchema,
  metric: metricSchema.default('append'),
  node: nodeIdSchema.optional(),
  /** Only the append metric is recorded per partition. */
  partition: partitionSchema.optional(),
});

export const latencyRouter = router({
  /** Exact percentile spectrum (p0…p99.999, max) and count over a range, merged from HDR windows. */
  histogram: viewerProcedure.input(filterSchema).query(({ ctx, input }) => {
    if (input.node !== undefined) assertNode(ctx.services, input.node);
    if (input.partition !== undefined) assertPartition(ctx.services, input.partition);
    const range = resolveRange(input.range);
    const { histogram, parts } = ctx.services.histograms.merge(
      { metric: toStoreMetric(input.metric), node: input.node, partition: input.partition },
      range.fromMs,
      range.toMs,
    );
    return { metric: input.metric, range, windowsMerged: parts, count: histogram.totalCount, summary: summary(histogram), spectrum: percentileSpectrum(histogram) };
  }),
  /** p50/p99/p99.9/max per time bucket at the chosen resolution. */
  series: viewerProcedure
    .input(filterSchema.extend({ resolutionMs: z.number().int().min(RESOLUTION_MS_MIN).max(3_600_000).default(10_000) }))
    .query(({ ctx, input }) => {
      if (input.node !== undefined) assertNode(ctx.services, input.node);
      if (input.partition !== undefined) assertPartition(ctx.services, input.partition);
      const range = resolveRange(input.range);
      const resolutionMs = Math.max(input.resolutionMs, Math.ceil((range.toMs - range.fromMs) / SERIES_POINTS_MAX / 1000) * 1000);
      const from = Math.floor(range.fromMs / resolutionMs) * resolutionMs;
      const filter = { metric: toStoreMetric(input.metric), node: input.node, partition: input.partition };
      const points = ctx.services.histograms
        .bucketSummaries(filter, from, range.toMs, resolutionMs)
        .map(({ tMs, summary: s }) => ({ tMs, count: s.count, p50Micros: s.p50Micros, p99Micros: s.p99Micros, p999Micros: s.p999Micros, maxMicros: s.maxMicros }));
      return { metric: input.metric, range, resolutionMs, points };
    }),
  /** The newest second's summary per scrape (SSE). */
  live: viewerProcedure
    .input(z.object({ metric: metricSchema.default('append'), node: nodeIdSchema.optional() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const filter = { metric: toStoreMetric(input.metric), node: input.node };
      for await (const tMs of ticks(ctx.services, signal)) {
        const endMs = ctx.services.histograms.latestEndMs(filter);
        const s = summary(ctx.services.histograms.merge(filter, endMs - 1_000, endMs).histogram);
        yield { tMs, windowEndMs: endMs, ...s };
      }
    }),
});
