import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { KEY_SPREAD_MAX, RATE_MAX_PER_SEC, RECORD_BYTES_MAX, type LoadGenerator } from '../load/generator.ts';
import type { Services } from '../services.ts';
import { operatorProcedure, router, viewerProcedure } from '../trpc.ts';

const configSchema = z.object({
  ratePerSec: z.number().positive().max(RATE_MAX_PER_SEC).optional(),
  recordBytes: z.number().int().min(16).max(RECORD_BYTES_MAX).optional(),
  /** Distinct keys the records are spread over (keys hash to partitions). */
  keySpread: z.number().int().min(1).max(KEY_SPREAD_MAX).optional(),
});

function generator(services: Services): LoadGenerator {
  if (services.load === null) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'no load generator: it needs the embedded cluster' });
  return services.load;
}

export const loadRouter = router({
  status: viewerProcedure.query(({ ctx }) => ctx.services.load?.status() ?? null),
  start: operatorProcedure.input(configSchema.default({})).mutation(({ ctx, input }) => {
    const load = generator(ctx.services);
    load.configure(input);
    load.start();
    return load.status();
  }),
  stop: operatorProcedure.mutation(async ({ ctx }) => {
    const load = generator(ctx.services);
    await load.stop();
    return load.status();
  }),
  configure: operatorProcedure.input(configSchema).mutation(({ ctx, input }) => {
    const load = generator(ctx.services);
    load.configure(input);
    return load.status();
  }),
});
