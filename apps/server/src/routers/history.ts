import { z } from 'zod';
import { seriesRange } from '../store/prometheus-history.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { rangeSchema, resolveRange } from './common.ts';

/** Series keys as the scraper files them (node:N:…, cluster:…, lag_records:P:R, lag_seconds:P:R). */
const seriesKeySchema = z.string().regex(/^(node:\d+:(up|appends_per_s|bytes_per_s|records_appended_total)|cluster:(appends_per_s|bytes_per_s)|lag_(records|seconds):\d+:\d+)$/, 'an unknown series key');

export const historyRouter = router({
  /** One series over any range: the ring buffer where it reaches, Prometheus (--prometheus) before that. */
  series: viewerProcedure
    .input(z.object({ key: seriesKeySchema, range: rangeSchema, stepMs: z.number().int().min(1_000).max(3_600_000).default(1_000) }))
    .query(({ ctx, input }) => {
      const range = resolveRange(input.range);
      return seriesRange(ctx.services.series, ctx.services.prometheus, input.key, range.fromMs, range.toMs, input.stepMs);
    }),
});
