// The console's one live stream (SSE): after every scrape tick, the overview and when a target
// last answered. The SPA sets the overview from it and refetches its live views on each event,
// so nothing polls; when events stop, it shows the stale banner and reconnects.

import { computeOverview } from '../overview.ts';
import type { Services } from '../services.ts';
import { router, viewerProcedure } from '../trpc.ts';
import { ticks } from './live.ts';

function event(services: Services, tMs: number) {
  const lastScrapeMs = services.scraper.statuses().reduce((m, s) => Math.max(m, s.lastSuccessMs), 0);
  return { tMs, lastScrapeMs: lastScrapeMs === 0 ? null : lastScrapeMs, overview: computeOverview(services) };
}

export const streamRouter = router({
  live: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    yield event(ctx.services, Date.now());
    for await (const tMs of ticks(ctx.services, signal)) yield event(ctx.services, tMs);
  }),
});
