import { z } from 'zod';
import { downsampleMax } from '../store/series.ts';
import { LAGGARDS_MAX, replicationSummary } from '../replication-summary.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { assertNode, assertPartition, nodeIdSchema, partitionSchema, rangeSchema, resolveRange } from './common.ts';
import { ticks } from './live.ts';

export const LAG_POINTS_MAX = 360;

export const replicationRouter = router({
  /**
   * The page at fleet scale: lag heatmap (partition × time), top-N laggards, under-replicated
   * partitions and replica states, now or at `atMs` (scrubbing).
   */
  summary: viewerProcedure
    .input(z.object({
      range: rangeSchema,
      atMs: z.number().int().nonnegative().optional(),
      top: z.number().int().min(1).max(LAGGARDS_MAX).default(8),
      node: nodeIdSchema.optional(),
      partition: partitionSchema.optional(),
    }))
    .query(({ ctx, input }) => {
      if (input.partition !== undefined) assertPartition(ctx.services, input.partition);
      if (input.node !== undefined) assertNode(ctx.services, input.node);
      const range = resolveRange(input.range);
      return replicationSummary(ctx.services, { ...range, atMs: input.atMs ?? null, top: input.top, node: input.node ?? null, partition: input.partition ?? null });
    }),
  /** Per partition and replica: lag in records and seconds over time (bucket max), plus now. */
  lag: viewerProcedure
    .input(z.object({ range: rangeSchema, partition: partitionSchema.optional(), resolutionMs: z.number().int().min(1_000).max(3_600_000).default(1_000) }))
    .query(({ ctx, input }) => {
      if (input.partition !== undefined) assertPartition(ctx.services, input.partition);
      const range = resolveRange(input.range);
      const resolutionMs = Math.max(input.resolutionMs, Math.ceil((range.toMs - range.fromMs) / LAG_POINTS_MAX / 1000) * 1000);
      const { series, view } = ctx.services;
      const replicas = [];
      for (const p of view.partitions()) {
        if (input.partition !== undefined && p.partition !== input.partition) continue;
        for (const r of p.replicaLag) {
          if (r.isLeader) continue;
          const records = downsampleMax(series.range(`lag_records:${p.partition}:${r.replica}`, range.fromMs, range.toMs), range.fromMs, resolutionMs);
          const seconds = downsampleMax(series.range(`lag_seconds:${p.partition}:${r.replica}`, range.fromMs, range.toMs), range.fromMs, resolutionMs);
          replicas.push({
            partition: p.partition,
            replica: r.replica,
            leader: p.leader,
            inSync: r.inSync,
            state: r.state,
            lagRecords: r.lagRecords,
            lagSeconds: r.lagSeconds,
            points: records.map((pt, i) => ({ tMs: pt.tMs, lagRecords: pt.value, lagSeconds: seconds[i]?.value ?? 0 })),
          });
        }
      }
      return { range, resolutionMs, replicas };
    }),
  /** Current lag of every follower, after every scrape (SSE). */
  live: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    for await (const tMs of ticks(ctx.services, signal)) {
      yield {
        tMs,
        replicas: ctx.services.view.partitions().flatMap((p) =>
          p.replicaLag.filter((r) => !r.isLeader).map((r) => ({ partition: p.partition, replica: r.replica, state: r.state, inSync: r.inSync, lagRecords: r.lagRecords, lagSeconds: r.lagSeconds })),
        ),
      };
    }
  }),
});
