import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { leaderEpochs, partitionGrid } from '../partition-map.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { assertPartition, partitionSchema, rangeSchema, resolveRange } from './common.ts';

const atMsSchema = z.number().int().nonnegative().optional();

export const partitionsRouter = router({
  /** Every partition: leader, replicas, in-sync set, term, commit index, high watermark, lag. */
  map: viewerProcedure.query(({ ctx }) => ({
    partitionCount: ctx.services.view.partitionCount,
    partitions: ctx.services.view.partitions().map((p) => ({ ...p, elections: p.elections.slice(0, 1) })),
  })),
  /**
   * The compact map the console's grid draws: per partition leader, term, replica states, worst
   * lag, elections; now, or at `atMs` within the retained hour (time scrubbing). `p99` adds each
   * partition's append p99 over the trailing minute.
   */
  grid: viewerProcedure
    .input(z.object({ atMs: atMsSchema, p99: z.boolean().default(false) }).default({ p99: false }))
    .query(({ ctx, input }) => partitionGrid(ctx.services, { atMs: input.atMs, p99: input.p99 })),
  /** One partition with its recent elections. */
  get: viewerProcedure.input(z.object({ partition: partitionSchema })).query(({ ctx, input }) => {
    assertPartition(ctx.services, input.partition);
    const view = ctx.services.view.partition(input.partition);
    if (view === undefined) throw new TRPCError({ code: 'NOT_FOUND', message: `partition ${input.partition} has not been scraped yet` });
    return view;
  }),
  /** The leader-epoch track of one partition: which node led, in which term, over the range. */
  epochs: viewerProcedure.input(z.object({ partition: partitionSchema, range: rangeSchema })).query(({ ctx, input }) => {
    assertPartition(ctx.services, input.partition);
    const range = resolveRange(input.range);
    return { range, epochs: leaderEpochs(ctx.services, input.partition, range.fromMs, range.toMs) };
  }),
});
