import { z } from 'zod';
import { AUDIT_PAGE_MAX } from '../auth.ts';
import { router, viewerProcedure } from '../trpc.ts';

export const auditRouter = router({
  /** Newest first; pass `nextCursor` back as `before` for older entries. */
  list: viewerProcedure
    .input(z.object({ before: z.number().int().positive().optional(), limit: z.number().int().min(1).max(AUDIT_PAGE_MAX).default(50) }).default({ limit: 50 }))
    .query(({ ctx, input }) => ctx.services.audit.list(input.before, input.limit)),
});
