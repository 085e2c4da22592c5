import { computeOverview } from '../overview.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { ticks } from './live.ts';

export const clusterRouter = router({
  /** Nodes, up/down, partitions led, appends/s, bytes/s, append p50/p99/p99.9, under-replicated, alerts. */
  overview: viewerProcedure.query(({ ctx }) => computeOverview(ctx.services)),
  /** Scrape targets: up/down, last error, scrape duration. */
  targets: viewerProcedure.query(({ ctx }) => ctx.services.scraper.statuses()),
  /** The overview again after every scrape (SSE). */
  live: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    yield computeOverview(ctx.services);
    for await (const _ of ticks(ctx.services, signal)) yield computeOverview(ctx.services);
  }),
});
