// The tRPC instance and the two base procedures: viewers read, operators mutate. Every call
// of an operator procedure, allowed or refused, lands in the audit trail.

import { initTRPC, TRPCError } from '@trpc/server';
import type { Context } from './context.ts';

/** SSE keep-alive so proxies and the browser keep live subscriptions open. */
const SSE_PING_MS = 10_000;

const t = initTRPC.context<Context>().create({
  // No stack traces in answers: callers get the message and code only.
  isDev: false,
  sse: { ping: { enabled: true, intervalMs: SSE_PING_MS }, client: { reconnectAfterInactivityMs: SSE_PING_MS * 3 } },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

export const viewerProcedure = t.procedure;

export const operatorProcedure = t.procedure.use(async ({ ctx, path, type, getRawInput, next }) => {
  let rawInput: unknown;
  try {
    rawInput = await getRawInput();
  } catch {
    rawInput = '[unreadable input]';
  }
  // Awaited: the answer goes out only once its audit entry is durable.
  const audit = async (outcome: 'ok' | 'refused' | 'error', message: string | null): Promise<void> => {
    await ctx.services.audit.append({ timeMs: Date.now(), role: ctx.role, action: `${type}:${path}`, input: rawInput, outcome, message });
  };
  if (ctx.foreignOrigin !== null) {
    const message = `cross-origin ${type} from ${ctx.foreignOrigin} refused`;
    await audit('refused', message);
    throw new TRPCError({ code: 'FORBIDDEN', message });
  }
  if (ctx.role !== 'operator') {
    const message = `${ctx.authProblem ?? 'not an operator'}: ${path} needs the operator token (authorization: Bearer <token>)`;
    await audit('refused', message);
    throw new TRPCError({ code: 'UNAUTHORIZED', message });
  }
  const result = await next();
  await audit(result.ok ? 'ok' : 'error', result.ok ? null : result.error.message);
  return result;
});
