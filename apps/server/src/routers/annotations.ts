import { z } from 'zod';
import { annotations } from '../annotations.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { rangeSchema, resolveRange } from './common.ts';

export const annotationsRouter = router({
  /** Fault windows (what, by whom, when healed) and drill steps overlapping the range, for every time chart. */
  list: viewerProcedure.input(z.object({ range: rangeSchema })).query(({ ctx, input }) => {
    const range = resolveRange(input.range);
    return annotations(ctx.services, range.fromMs, range.toMs);
  }),
});
