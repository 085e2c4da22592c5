import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { groupStalls } from '../store/stalls.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { partitionSchema, rangeSchema, resolveRange } from './common.ts';

export const TRACES_LIMIT_MAX = 200;

export const tracesRouter = router({
  /** The slowest writes in the range (span lists omitted: open one with traces.get). */
  slowest: viewerProcedure
    .input(z.object({ range: rangeSchema, partition: partitionSchema.optional(), limit: z.number().int().min(1).max(TRACES_LIMIT_MAX).default(20) }))
    .query(({ ctx, input }) => {
      const range = resolveRange(input.range);
      return ctx.services.traces.slowest({ ...range, partition: input.partition, limit: input.limit }).map(({ spans, ...t }) => ({ ...t, spanCount: spans.length }));
    }),
  /** Slow writes that overlapped in time, grouped into stall events with the node they stalled on. */
  stalls: viewerProcedure.input(z.object({ range: rangeSchema })).query(({ ctx, input }) => {
    const range = resolveRange(input.range);
    return groupStalls(ctx.services.traces.inRange(range.fromMs, range.toMs));
  }),
  /** Every span of one write. */
  get: viewerProcedure.input(z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/, 'a trace id is 32 lowercase hex characters (like 4bf92f3577b34da6a3ce929d0e0e4736)') })).query(({ ctx, input }) => {
    const trace = ctx.services.traces.get(input.traceId);
    if (trace === undefined) throw new TRPCError({ code: 'NOT_FOUND', message: `trace ${input.traceId} is not (or no longer) stored` });
    return trace;
  }),
});
