import { TRPCError } from '@trpc/server';
import { z } from 'zod';
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
  /** Every span of one write. */
  get: viewerProcedure.input(z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/, 'traceId is 32 lowercase hex characters') })).query(({ ctx, input }) => {
    const trace = ctx.services.traces.get(input.traceId);
    if (trace === undefined) throw new TRPCError({ code: 'NOT_FOUND', message: `trace ${input.traceId} is not (or no longer) stored` });
    return trace;
  }),
});
