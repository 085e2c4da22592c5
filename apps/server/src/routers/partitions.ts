import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { router, viewerProcedure } from '../trpc.ts';
import { assertPartition, partitionSchema } from './common.ts';

export const partitionsRouter = router({
  /** Every partition: leader, replicas, in-sync set, term, commit index, high watermark, lag. */
  map: viewerProcedure.query(({ ctx }) => ({
    partitionCount: ctx.services.view.partitionCount,
    partitions: ctx.services.view.partitions().map((p) => ({ ...p, elections: p.elections.slice(0, 1) })),
  })),
  /** One partition with its recent elections. */
  get: viewerProcedure.input(z.object({ partition: partitionSchema })).query(({ ctx, input }) => {
    assertPartition(ctx.services, input.partition);
    const view = ctx.services.view.partition(input.partition);
    if (view === undefined) throw new TRPCError({ code: 'NOT_FOUND', message: `partition ${input.partition} has not been scraped yet` });
    return view;
  }),
});
